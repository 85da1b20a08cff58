"""Dead letters by port (issue 6 review): platform admins read all; whoever may set up detection
in a port reads the dead letters of that port; one of no known port stays with the admins. A port
security officer never reads another port's, in the API, on the page or through the selector."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from port2port.core.models import Membership, User
from port2port.core.roles import Role
from port2port.detection import selectors
from port2port.detection.models import DeadLetter
from tests.core.factories import OrganisationFactory, PortFactory, sign_in, user_in, users_with

from .factories import world

pytestmark = pytest.mark.django_db

ROLES = [
    Role.PORT_SECURITY_OFFICER,  # sets up detection in its ports
    Role.PORT_AUTHORITY_OFFICER,  # too
    Role.CONTROL_ROOM_OPERATOR,  # watches, does not set up
    Role.POLICE_LIAISON,  # keeps hotlists, does not set up
    Role.EMPLOYEE,
    Role.PLATFORM_ADMIN,
]


def oracle(user: User, letter: DeadLetter) -> bool:
    """Written from the rule, independently of the selector."""
    if not user.is_active:
        return False
    memberships = list(Membership.objects.filter(user=user).select_related("organisation"))
    if any("platform_admin" in m.roles for m in memberships):
        return True
    if letter.port_id is None:
        return False
    for m in memberships:
        if "detection:rule:manage" not in m.perms():
            continue
        ports = set(m.organisation.ports.values_list("pk", flat=True))
        if not ports or letter.port_id in ports:  # a national body: every port
            return True
    return False


class _Rollback(Exception):
    pass


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.fixed_dictionaries(
        {
            "ports": st.integers(1, 3),
            # each organisation: the ports it belongs to (empty: a national body)
            "orgs": st.lists(st.sets(st.integers(0, 2), max_size=2), min_size=1, max_size=4),
            "users": st.lists(
                st.tuples(
                    st.lists(
                        st.tuples(st.integers(0, 3), st.sampled_from(ROLES)),
                        min_size=1,
                        max_size=2,
                    ),
                    st.booleans(),
                ),
                min_size=1,
                max_size=5,
            ),
            # each dead letter: the index of its port, -1 for none
            "letters": st.lists(st.integers(-1, 2), min_size=1, max_size=6),
        }
    )
)
def test_the_selector_matches_the_oracle(data):
    try:
        with transaction.atomic():
            ports = [PortFactory() for _ in range(data["ports"])]
            orgs = [
                OrganisationFactory(ports=[ports[i % len(ports)] for i in sorted(members)])
                for members in data["orgs"]
            ]
            users = users_with(orgs, data["users"])
            letters = [
                DeadLetter.objects.create(
                    format="sensor",
                    reason=f"r{n}",
                    digest=f"d{n}",
                    port=ports[ix % len(ports)] if ix >= 0 else None,
                )
                for n, ix in enumerate(data["letters"])
            ]
            for user in users:
                expected = {d.pk for d in letters if oracle(user, d)}
                got = set(selectors.dead_letters_visible_to(user).values_list("pk", flat=True))
                assert got == expected, user.username
            raise _Rollback
    except _Rollback:
        pass


@pytest.mark.parametrize(
    "role", [Role.PORT_SECURITY_OFFICER, Role.PORT_AUTHORITY_OFFICER, Role.PLATFORM_ADMIN]
)
def test_a_port_a_officer_never_reads_port_bs_dead_letters(client, role):
    a, b = world(), world()
    for n, port in enumerate((a.port, b.port, None)):
        DeadLetter.objects.create(
            format="sensor",
            sender=f"sender {n}",
            reason=f"reason of {port.locode if port else 'no port'}",
            payload="{",
            digest=str(n),
            port=port,
        )
    sign_in(client, user_in(a.authority, role))
    page = client.get("/detection/dead-letters/")
    assert page.status_code == 200
    shown = {letter.reason for letter in page.context["page"].object_list}
    api = {row["reason"] for row in client.get("/api/v1/detection/dead-letters").json()["items"]}
    if role == Role.PLATFORM_ADMIN:
        assert shown == api == {f"reason of {a.port.locode}", f"reason of {b.port.locode}",
                                "reason of no port"}  # fmt: skip
        assert 'data-testid="retention"' in page.content.decode()
    else:
        assert shown == api == {f"reason of {a.port.locode}"}
        html = page.content.decode()
        assert "sender 0" in html and "sender 1" not in html
        # The retention of events is platform-wide: admins only.
        assert 'data-testid="retention"' not in html
        refused = client.post("/detection/dead-letters/", {"kind": "plate_read", "days": "3"})
        assert refused.status_code == 302
        from port2port.detection.models import Retention

        assert not Retention.objects.exists()
    assert 'href="/detection/dead-letters/"' in page.content.decode()  # in the detection menu


def test_the_control_room_reads_no_dead_letters(client):
    a = world()
    DeadLetter.objects.create(format="sensor", reason="x", digest="1", port=a.port)
    sign_in(client, user_in(a.authority, Role.CONTROL_ROOM_OPERATOR))
    assert client.get("/detection/dead-letters/").status_code == 403
    assert client.get("/api/v1/detection/dead-letters").json()["count"] == 0
