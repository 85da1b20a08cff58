"""CSV onboarding: every line checked and reported; nothing stored while a line is wrong."""

import pytest

from port2port.access.csv_import import csv_import
from port2port.access.models import Badge, Identity, PortBan
from port2port.cli import main as cli
from port2port.core.errors import Invalid
from port2port.core.models import OrganisationKind, Person
from port2port.core.visibility import OrganisationActor

from ..core.factories import OrganisationFactory, PortFactory

pytestmark = pytest.mark.django_db

PEOPLE = """organisation,given_name,family_name,birth_date,nationality,national_number,email,job_title
Flanders Haulage,Yusuf,Demir,1985-07-30,BE,85.07.30-033.28,yusuf@example.org,Driver
Flanders Haulage,Anna,Vos,1990-01-01,BE,85.07.30-033.29,,Planner
Nowhere Ltd,Jan,Smet,,,,,
Flanders Haulage,Lotte,Maes,01/01/1990,NL,,,
"""


@pytest.fixture
def orgs():
    port = PortFactory()
    return {
        "haulier": OrganisationFactory(name="Flanders Haulage", ports=[port]),
        "authority": OrganisationFactory(
            name="Port of Antwerp-Bruges", kind=OrganisationKind.PORT_AUTHORITY, ports=[port]
        ),
    }


def test_each_bad_line_is_named_and_nothing_is_stored(orgs):
    report = csv_import(actor=OrganisationActor(orgs["haulier"]), kind="people", text=PEOPLE)
    problems = {line.number: line.message for line in report.errors}
    assert set(problems) == {3, 4, 5}
    assert (
        "check digits" in problems[3]
        and "unknown organisation" in problems[4]
        and "not a date" in problems[5]
    )
    assert not Person.objects.filter(family_name="Demir").exists()


def test_dry_run_stores_nothing_and_valid_only_stores_the_valid_lines(orgs):
    actor = OrganisationActor(orgs["haulier"])
    report = csv_import(actor=actor, kind="people", text=PEOPLE, dry_run=True, valid_only=True)
    assert report.stored == 0 and not Person.objects.exists()
    report = csv_import(actor=actor, kind="people", text=PEOPLE, valid_only=True)
    assert report.stored == 1
    assert Identity.objects.get(national_number="85073003328").person.family_name == "Demir"


def test_badges_and_bans_by_national_number_through_the_cli(orgs, tmp_path, capsys):
    csv_import(
        actor=OrganisationActor(orgs["haulier"]), kind="people", text=PEOPLE, valid_only=True
    )
    badges = tmp_path / "badges.csv"
    badges.write_text(
        "national_number,number,kind\n85073003328,AP-900001,alfapass\n85073003328,AP-900001,alfapass\n"
    )
    assert cli(["access", "import", "badges", str(badges), "--org", "Flanders Haulage"]) == 1
    assert "already issued" in capsys.readouterr().out and not Badge.objects.exists()
    assert (
        cli(
            ["access", "import", "badges", str(badges), "--org", "Flanders Haulage", "--valid-only"]
        )
        == 0
    )
    assert Badge.objects.filter(number="AP-900001").exists()
    bans = tmp_path / "bans.csv"
    bans.write_text(
        "national_number,starts_on,ends_on,source\n85073003328,2026-01-01,2030-01-01,Court of Antwerp\n"
    )
    assert (
        cli(["access", "import", "bans", str(bans), "--org", "Flanders Haulage"]) == 2
    )  # a company registers no bans
    assert (
        cli(["access", "import", "bans", str(bans), "--org", "Port of Antwerp-Bruges", "--dry-run"])
        == 0
    )
    assert not PortBan.objects.exists()
    assert cli(["access", "import", "bans", str(bans), "--org", "Port of Antwerp-Bruges"]) == 0
    assert PortBan.objects.count() == 1


def test_missing_or_unknown_columns_are_refused(orgs):
    with pytest.raises(Invalid, match="missing columns"):
        csv_import(actor=OrganisationActor(orgs["haulier"]), kind="people", text="given_name\nX\n")
    with pytest.raises(Invalid, match="unknown columns"):
        csv_import(
            actor=OrganisationActor(orgs["haulier"]),
            kind="bans",
            text="national_number,starts_on,ends_on,source,extra\n",
        )
