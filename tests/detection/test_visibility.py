"""The one visibility rule of alarms, against a brute-force oracle (issue 6): an alarm is seen by
whoever has the control-room permission in an organisation of its port (a national body, with no
port of its own, in every port; platform admins everywhere), and by the organisation that keeps
the hotlist that raised it; by nobody else. Events follow the port part of the rule."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from port2port.core.models import Membership, User
from port2port.core.roles import Role
from port2port.detection import selectors
from port2port.detection.models import Alarm, Hotlist, RuleKind
from port2port.sites.models import Device

from ..core.factories import OrganisationFactory, PortFactory, user_in, users_with

pytestmark = pytest.mark.django_db

ROLES = [
    Role.CONTROL_ROOM_OPERATOR,  # watches its ports
    Role.PORT_SECURITY_OFFICER,  # watches and sets up
    Role.POLICE_LIAISON,  # keeps hotlists, does not watch
    Role.PFSO,  # a terminal's officer: not the port's control room
    Role.EMPLOYEE,
    Role.PLATFORM_ADMIN,
]


def oracle(user: User, alarm: Alarm) -> bool:
    """Written from the rule of issue 6, independently of the selector."""
    if not user.is_active:
        return False
    memberships = list(Membership.objects.filter(user=user).select_related("organisation"))
    if any("platform_admin" in m.roles for m in memberships):
        return True
    for m in memberships:
        ports = set(m.organisation.ports.values_list("pk", flat=True))
        if "detection:alarm:view" in m.perms() and (not ports or alarm.port_id in ports):
            return True
        if (
            "detection:hotlist:manage" in m.perms()
            and alarm.hotlist_id
            and alarm.hotlist.owner_id == m.organisation_id
        ):
            return True
    return False


world_strategy = st.fixed_dictionaries(
    {
        "ports": st.integers(1, 3),
        # each organisation: the ports it belongs to (empty: a national body)
        "orgs": st.lists(st.sets(st.integers(0, 2), max_size=2), min_size=1, max_size=4),
        "users": st.lists(
            st.tuples(
                st.lists(
                    st.tuples(st.integers(0, 3), st.sampled_from(ROLES)), min_size=1, max_size=2
                ),
                st.booleans(),
            ),
            min_size=1,
            max_size=5,
        ),
        # each alarm: its port, and the organisation keeping the hotlist that raised it (-1: none)
        "alarms": st.lists(
            st.tuples(st.integers(0, 2), st.integers(-1, 3)), min_size=1, max_size=6
        ),
    }
)


class _Rollback(Exception):
    pass


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world_strategy)
def test_selector_matches_the_oracle(data):
    try:
        with transaction.atomic():
            ports = [PortFactory() for _ in range(data["ports"])]
            orgs = [
                OrganisationFactory(ports=[ports[i % len(ports)] for i in sorted(members)])
                for members in data["orgs"]
            ]
            users = users_with(orgs, data["users"])
            now = timezone.now()
            alarms = []
            for n, (port_ix, owner_ix) in enumerate(data["alarms"]):
                hotlist = None
                if owner_ix >= 0:
                    hotlist = Hotlist.objects.create(
                        owner=orgs[owner_ix % len(orgs)], name=f"l{n}", priority=10
                    )
                alarms.append(
                    Alarm.objects.create(
                        port=ports[port_ix % len(ports)],
                        kind=RuleKind.HOTLIST if hotlist else RuleKind.PERIMETER,
                        hotlist=hotlist,
                        key=f"k{n}",
                        priority=10,
                        first_at=now,
                        last_at=now + timedelta(seconds=n),
                    )
                )
            for user in users:
                expected = {a.pk for a in alarms if oracle(user, a)}
                got = set(selectors.alarms_visible_to(user).values_list("pk", flat=True))
                assert got == expected, user.username
                for alarm in alarms:
                    if alarm.pk not in expected:  # outside the rule: 404, as if missing
                        with pytest.raises(Exception) as caught:
                            selectors.alarm_get(user, alarm.pk)
                        assert getattr(caught.value, "status", 404) == 404
            raise _Rollback
    except _Rollback:
        pass


def test_devices_and_events_of_another_port_stay_out():
    from port2port.detection.ingest import Message, pipeline

    from .factories import sensor, world

    mine, theirs = world(), world()
    operator = user_in(mine.authority, Role.CONTROL_ROOM_OPERATOR)
    for w, ident in ((mine, "m"), (theirs, "t")):
        pipeline.ingest(
            "sensor", [Message(sensor("fence", w.devices["FENCE1"].code, timezone.now(), ident))]
        )
    visible = selectors.events_visible_to(operator)
    assert set(visible.values_list("device_code", flat=True)) == {mine.devices["FENCE1"].code}
    assert Device.objects.count() == 12
