"""The decision engine against the slow reference, the ban flow, the gate API and CLI."""

import json
from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from port2port.access import engine, services
from port2port.access.identifiers import normalise_national_number, normalise_plate
from port2port.access.models import (
    AccessGroup,
    AccessRight,
    Badge,
    GateDecision,
    Identity,
    Plate,
    PortBan,
    Schedule,
    Verification,
    Visit,
    Visitor,
)
from port2port.access.reference import reference_decide
from port2port.access.snapshot import build_snapshot
from port2port.core import services as core_services
from port2port.core.models import OrganisationKind
from port2port.core.roles import Role
from port2port.core.visibility import SYSTEM
from port2port.sites.models import Facility, Gate, Zone

from ..core.factories import OrganisationFactory, PersonFactory, PortFactory, sign_in, user_in

POINT = {"type": "Point", "coordinates": [4.3, 51.28]}


def test_national_register_numbers():
    assert normalise_national_number("85.07.30-033.28") == "85073003328"
    assert normalise_national_number("00012556777") == "00012556777"  # born 2000: the 2 is prefixed
    with pytest.raises(ValidationError, match="check digits"):
        normalise_national_number("85.07.30-033.29")
    with pytest.raises(ValidationError, match="11 digits"):
        normalise_national_number("1234")


@pytest.mark.parametrize(
    ("raw", "plate"),
    [("1-abc-123", "1ABC123"), ("NL 12-ABC-3", "NL12ABC3"), ("b xy 123", "BXY123")],
)
def test_plates_are_normalised(raw, plate):
    assert normalise_plate(raw) == plate


@given(st.text(max_size=20))
def test_plate_parser_never_crashes(text):
    try:
        assert normalise_plate(normalise_plate(text)) == normalise_plate(text)
    except ValidationError as error:
        assert error.messages


# Property: engine == reference --------------------------------------------------------------

LOCAL = timezone.get_default_timezone()
# Relative to the real day: the snapshot keeps only visits that have not ended a day ago, as a
# gate only ever asks about now.
TODAY = timezone.localdate()


def _at(day_offset: int, hour: int) -> datetime:
    start = datetime(TODAY.year, TODAY.month, TODAY.day, hour, 0)
    return timezone.make_aware(start + timedelta(days=day_offset), LOCAL)


world = st.fixed_dictionaries(
    {
        "zones": st.lists(
            st.tuples(st.integers(-1, 3), st.booleans()), min_size=2, max_size=5
        ),  # parent index, critical
        "gates": st.lists(
            st.sets(st.integers(0, 4), min_size=1, max_size=2), min_size=1, max_size=3
        ),
        "groups": st.lists(
            st.lists(
                st.tuples(
                    st.integers(0, 4),
                    st.sampled_from(["grant", "deny"]),
                    st.booleans(),
                    st.sampled_from([None, (-2, 2), (1, 5), (-9, -1)]),
                ),
                max_size=2,
            ),
            max_size=2,
        ),
        # announced, not approved: (zone index, status, first day, last day)
        "pending_plates": st.lists(
            st.tuples(
                st.integers(0, 4),
                st.sampled_from(["announced", "rejected", "approved"]),
                st.integers(-2, 0),
                st.integers(0, 2),
            ),
            max_size=2,
        ),
        "people": st.lists(
            st.fixed_dictionaries(
                {
                    "badge_state": st.sampled_from(list(Badge.State.values)),
                    "badge_expiry": st.sampled_from([None, -10, 10]),
                    "plate": st.booleans(),
                    "identity": st.booleans(),
                    "ban": st.sampled_from([None, (-5, 5), (-30, -10), (3, 30)]),
                    "verification": st.sampled_from([None, "positive", "positive-old", "negative"]),
                    "in_groups": st.sets(st.integers(0, 1), max_size=2),
                    "announced": st.one_of(
                        st.none(),
                        st.tuples(
                            st.integers(0, 4),
                            st.sampled_from(["announced", "rejected", "approved"]),
                            st.integers(-1, 0),
                            st.integers(0, 1),
                        ),
                    ),
                    "rights": st.lists(
                        st.tuples(
                            st.integers(0, 4),
                            st.sampled_from(["grant", "deny"]),
                            st.booleans(),  # with the office-hours schedule
                            st.sampled_from([None, (-2, 2), (1, 5), (-9, -1)]),
                        ),
                        max_size=3,
                    ),
                }
            ),
            min_size=1,
            max_size=4,
        ),
        "queries": st.lists(
            st.tuples(
                st.integers(0, 4),
                st.booleans(),
                st.sampled_from(["in", "out"]),
                st.integers(-1, 1),
                st.sampled_from([3, 9, 14, 23]),
            ),
            min_size=1,
            max_size=8,
        ),
    }
)


class _Rollback(Exception):
    pass


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world)
def test_engine_matches_the_reference(data):
    try:
        with transaction.atomic():
            port = PortFactory()
            office = Schedule.objects.create(
                name="office",
                windows=[{"day": d, "start": "07:00", "end": "19:00"} for d in range(5)],
                holidays=[(TODAY + timedelta(days=1)).isoformat()],
            )
            zones = []
            for n, (parent, critical) in enumerate(data["zones"]):
                zones.append(
                    Zone.objects.create(
                        port=port,
                        code=f"Z{n}",
                        name=f"Z{n}",
                        geometry=POINT,
                        critical=critical,
                        parent=zones[parent] if 0 <= parent < len(zones) else None,
                    )
                )
            gates = []
            for n, zone_ix in enumerate(data["gates"]):
                gate = Gate.objects.create(
                    port=port, code=f"G{n}-{port.locode}", name="g", geometry=POINT
                )
                gate.leads_into.set([zones[i % len(zones)] for i in zone_ix])
                gates.append(gate)
            org = OrganisationFactory(ports=[port])
            groups = []
            for n, rules in enumerate(data["groups"]):
                group = AccessGroup.objects.create(organisation=org, name=f"group {n}")
                for zone_ix, effect, scheduled, period in rules:
                    AccessRight.objects.create(
                        group=group,
                        zone=zones[zone_ix % len(zones)],
                        effect=effect,
                        schedule=office if scheduled else None,
                        valid_from=_at(period[0], 0) if period else None,
                        valid_until=_at(period[1], 0) if period else None,
                    )
                groups.append(group)

            def visit(zone_ix, first, last):
                zone = zones[zone_ix % len(zones)]
                return Visit.objects.create(
                    facility=facility,
                    zone=zone,
                    announcer=org,
                    purpose="p",
                    vessel="v",
                    starts_at=_at(first, 6),
                    ends_at=_at(last, 20),
                )

            facility = Facility.objects.create(
                port=port, code=f"F-{port.locode}", name="f", geometry=POINT, operator=org
            )
            credentials = []
            for n, (zone_ix, status, first, last) in enumerate(data["pending_plates"]):
                Visitor.objects.create(
                    visit=visit(zone_ix, first, last),
                    mode="unverified",
                    given_name="v",
                    family_name="v",
                    plate=f"V{n}{port.locode}",
                    status=status,
                )
                credentials.append(("plate", f"V{n}{port.locode}"))
            for n, p in enumerate(data["people"]):
                person = PersonFactory(organisation=org)
                until = (
                    None if p["badge_expiry"] is None else TODAY + timedelta(days=p["badge_expiry"])
                )
                Badge.objects.create(
                    person=person,
                    number=f"B{n}-{port.locode}",
                    state=p["badge_state"],
                    valid_until=until,
                )
                credentials.append(("badge", f"B{n}-{port.locode}"))
                for group_ix in p["in_groups"]:
                    if group_ix < len(groups):
                        groups[group_ix].members.add(person)
                if p["announced"]:
                    zone_ix, status, first, last = p["announced"]
                    Visitor.objects.create(
                        visit=visit(zone_ix, first, last),
                        mode="badge_holder",
                        given_name="v",
                        family_name="v",
                        badge_number=f"B{n}-{port.locode}",
                        person=person,
                        status=status,
                    )
                if p["identity"]:
                    Identity.objects.create(person=person, oidc_subject=f"itsme|{n}{port.locode}")
                    credentials.append(("identity", f"itsme|{n}{port.locode}"))
                if p["plate"]:
                    Plate.objects.create(person=person, number=f"P{n}{port.locode}")
                    credentials.append(("plate", f"P{n}{port.locode}"))
                if p["ban"]:
                    PortBan.objects.create(
                        person=person,
                        starts_on=TODAY + timedelta(days=p["ban"][0]),
                        ends_on=TODAY + timedelta(days=p["ban"][1]),
                        source="court",
                    )
                if p["verification"] == "positive":
                    Verification.objects.create(
                        person=person,
                        category="c",
                        status="positive",
                        decided_on=TODAY,
                        valid_until=TODAY + timedelta(days=365),
                    )
                elif p["verification"] == "positive-old":
                    Verification.objects.create(
                        person=person,
                        category="c",
                        status="positive",
                        decided_on=TODAY,
                        valid_until=TODAY - timedelta(days=1),
                    )
                elif p["verification"] == "negative":
                    Verification.objects.create(person=person, category="c", status="negative")
                for zone_ix, effect, scheduled, period in p["rights"]:
                    AccessRight.objects.create(
                        person=person,
                        zone=zones[zone_ix % len(zones)],
                        effect=effect,
                        schedule=office if scheduled else None,
                        valid_from=_at(period[0], 0) if period else None,
                        valid_until=_at(period[1], 0) if period else None,
                    )
            credentials.append(("badge", "NOBODY"))
            credentials.append(("identity", "itsme|nobody"))
            snap, _seq = build_snapshot()
            for cred_ix, known_gate, direction, day, hour in data["queries"]:
                kind, value = credentials[cred_ix % len(credentials)]
                gate_code = gates[cred_ix % len(gates)].code if known_gate else "NO-SUCH-GATE"
                at = _at(day, hour)
                fast = engine.decide(snap, gate_code, kind, value, direction, at)
                slow_granted, slow_reasons = reference_decide(gate_code, kind, value, direction, at)
                assert (fast.granted, list(fast.reasons)) == (slow_granted, slow_reasons), (
                    kind,
                    value,
                    gate_code,
                    direction,
                    at,
                )
            raise _Rollback
    except _Rollback:
        pass


# The flows ------------------------------------------------------------------------------------


@pytest.fixture
def gate_world(db):
    port = PortFactory(locode="BEANR")
    authority = OrganisationFactory(kind=OrganisationKind.PORT_AUTHORITY, ports=[port])
    company = OrganisationFactory(ports=[port])
    yard = Zone.objects.create(port=port, code="YARD", name="Yard", geometry=POINT)
    gate = Gate.objects.create(port=port, code="SCT-G1", name="Gate 1", geometry=POINT)
    gate.leads_into.set([yard])
    manager = user_in(company, Role.COMPANY_SECURITY_MANAGER)
    officer = user_in(authority, Role.PORT_SECURITY_OFFICER)
    driver = PersonFactory(organisation=company, given_name="Yusuf", family_name="Demir")
    services.badge_issue(actor=manager, person=driver, number="AP-100200")
    services.plate_register(actor=manager, person=driver, number="1-abc-123")
    services.right_grant(actor=manager, person=driver, zone=yard)
    return {
        "gate": gate,
        "manager": manager,
        "officer": officer,
        "driver": driver,
        "company": company,
    }


def test_a_new_ban_is_refused_at_the_next_decision(gate_world):
    w = gate_world
    assert services.gate_decide(
        actor=SYSTEM, gate_code="SCT-G1", kind="badge", value="ap-100200"
    ).granted
    assert services.gate_decide(
        actor=SYSTEM, gate_code="SCT-G1", kind="plate", value="1 ABC 123"
    ).granted
    with pytest.raises(Exception):  # noqa: B017 - Forbidden: a company cannot register bans
        services.ban_register(
            actor=w["manager"], person=w["driver"], starts_on=TODAY, ends_on=TODAY, source="x"
        )
    services.ban_register(
        actor=w["officer"],
        person=w["driver"],
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + timedelta(days=365),
        source="Court of Antwerp",
    )
    for kind, value in [("badge", "AP-100200"), ("plate", "1ABC123")]:
        decision = services.gate_decide(actor=SYSTEM, gate_code="SCT-G1", kind=kind, value=value)
        assert not decision.granted and "PORT_BAN" in decision.reasons
    refused = GateDecision.objects.filter(person=w["driver"], granted=False)
    assert [d.reasons for d in refused] == [["PORT_BAN"], ["PORT_BAN"]]  # the desk reads why, later


def test_bans_are_bounded_and_named(gate_world):
    from port2port.core.errors import Invalid

    w = gate_world
    with pytest.raises(Invalid, match="20 years"):
        services.ban_register(
            actor=w["officer"],
            person=w["driver"],
            starts_on=TODAY,
            ends_on=TODAY.replace(year=2047),
            source="Court",
        )
    with pytest.raises(Invalid, match="ends after"):
        services.ban_register(
            actor=w["officer"],
            person=w["driver"],
            starts_on=TODAY,
            ends_on=TODAY - timedelta(days=1),
            source="Court",
        )


def test_gate_api_with_a_token(gate_world, client):
    w = gate_world
    _, secret = core_services.token_create(
        actor=w["manager"], organisation=w["company"], name="gate 1", scopes=["access:gate:decide"]
    )
    headers = {"Authorization": f"Bearer {secret}"}
    response = client.post(
        "/api/v1/access/decide",
        {"gate": "SCT-G1", "badge": "AP-100200"},
        content_type="application/json",
        headers=headers,
    )
    assert response.json() == {
        "decision": "grant",
        "reasons": ["GRANTED"],
        "messages": ["Access granted."],
    }
    response = client.post(
        "/api/v1/access/decide",
        {"gate": "NOPE", "badge": "AP-100200"},
        content_type="application/json",
        headers=headers,
    )
    # an unknown gate is a clear error, never a decision (and never a grant)
    assert response.status_code == 404
    assert response.json()["fields"] == {"gate": "no gate has the code “NOPE”"}
    response = client.post(
        "/api/v1/access/decide",
        {"gate": "SCT-G1", "plate": "!!"},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 422 and "plate" in response.json()["fields"]
    response = client.post(
        "/api/v1/access/decide",
        {"gate": "SCT-G1"},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 422
    sign_in(client, user_in(w["company"], Role.EMPLOYEE))
    response = client.post(
        "/api/v1/access/decide",
        {"gate": "SCT-G1", "badge": "AP-100200"},
        content_type="application/json",
    )
    assert response.status_code == 403


def test_cli_decide(gate_world, capsys):
    from port2port.cli import main as cli

    assert cli(["access", "decide", "--gate", "SCT-G1", "--badge", "AP-100200", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"decision": "grant", "reasons": ["GRANTED"]}
    assert (
        cli(
            [
                "access",
                "decide",
                "--gate",
                "SCT-G1",
                "--badge",
                "UNKNOWN-1",
                "--json",
                "--at",
                "2026-11-21T07:42",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out) == {
        "decision": "deny",
        "reasons": ["UNKNOWN_CREDENTIAL"],
    }
    assert cli(["access", "decide", "--gate", "SCT-G1", "--plate", "?", "--json"]) == 2
