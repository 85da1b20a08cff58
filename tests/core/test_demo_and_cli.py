"""`port2port` commands and the demo network."""

import pytest

from port2port.cli import main as cli
from port2port.core.demo import ACCOUNTS, demo_logins, demo_totp_code, seed_demo
from port2port.core.models import ApiToken, Membership, Organisation, Person, Port, User
from port2port.core.roles import Role

pytestmark = pytest.mark.django_db


def _counts():
    return [m.objects.count() for m in (Port, Organisation, Person, User, Membership)]


def test_seed_is_idempotent_and_complete():
    seed_demo()
    first = _counts()
    summary = seed_demo()
    assert _counts() == first
    assert summary.created == 0
    assert set(Port.objects.values_list("locode", flat=True)) >= {
        "BEANR",
        "BEZEE",
        "BEGNE",
        "BEOST",
        "BEBRU",
        "BELGG",
    }
    kinds = set(Organisation.objects.values_list("kind", flat=True))
    assert kinds >= {
        "port_authority",
        "facility_operator",
        "company",
        "police",
        "customs",
        "authority_namb",
        "authority_cmb",
        "authority_lcmb",
        "national_service",
    }
    roles_in_use = {
        role for roles in Membership.objects.values_list("roles", flat=True) for role in roles
    }
    assert roles_in_use == set(Role.values)
    assert Organisation.objects.filter(name="National Drug Commissariat").exists()


def test_demo_accounts_with_clearance_have_an_authenticator():
    seed_demo()
    rows, password = demo_logins()
    assert password
    assert len(rows) == len(ACCOUNTS)
    for row in rows:
        user = User.objects.get(username=row["username"])
        assert bool(row["totp"]) == user.requires_second_factor
    assert demo_totp_code("pso.antwerp").isdigit()
    assert demo_totp_code("harbour.antwerp") is None  # no authenticator needed
    assert demo_totp_code("not-a-demo-user") is None


def test_demo_password_from_environment(settings):
    settings.PORT2PORT_DEMO_PASSWORD = "another demo passphrase"
    seed_demo()
    assert User.objects.get(username="pso.liege").check_password("another demo passphrase")


def test_cli_token_create(capsys):
    seed_demo()
    code = cli(
        [
            "token",
            "create",
            "--organisation",
            "Port of Antwerp-Bruges",
            "--name",
            "anpr",
            "--scope",
            "core:person:view",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("p2p_")
    assert ApiToken.objects.get(name="anpr").scopes == ["core:person:view"]
    assert (
        cli(
            [
                "token",
                "create",
                "--organisation",
                "Port of Antwerp-Bruges",
                "--name",
                "x",
                "--scope",
                "bad",
            ]
        )
        == 2
    )
    assert (
        cli(
            [
                "token",
                "create",
                "--organisation",
                "Nowhere",
                "--name",
                "x",
                "--scope",
                "core:port:view",
            ]
        )
        == 2
    )


def test_cli_createadmin(monkeypatch, capsys):
    monkeypatch.setenv("PORT2PORT_ADMIN_PASSWORD", "a long admin passphrase")
    assert cli(["createadmin", "--username", "root.admin"]) == 0
    user = User.objects.get(username="root.admin")
    assert user.is_platform_admin and user.requires_second_factor
    monkeypatch.setenv("PORT2PORT_ADMIN_PASSWORD", "short")
    assert cli(["createadmin", "--username", "second.admin"]) == 2
    assert not User.objects.filter(username="second.admin").exists()


def test_cli_demo_code(capsys):
    seed_demo()
    assert cli(["demo-code", "admin"]) == 0
    assert capsys.readouterr().out.strip().isdigit()
    assert cli(["demo-code", "nobody"]) == 1
