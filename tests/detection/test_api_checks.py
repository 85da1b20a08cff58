"""Input checks of the detection API and services (issue 6 review): a body's reference to what
does not exist or is not the caller's answers 422 naming the field (a path's answers 404), an
unknown body field is refused by name, hotlist entries already expired, flight times without an
offset and notes on closed alarms are refused."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from port2port.access.models import Schedule
from port2port.core.errors import Conflict, Invalid
from port2port.core.models import OrganisationKind
from port2port.core.roles import Role
from port2port.detection import services
from port2port.detection.models import (
    Alarm,
    AlarmEntry,
    AlarmState,
    AuthorisedFlight,
    Hotlist,
    HotlistEntry,
    Rule,
    RuleKind,
)
from tests.core.factories import OrganisationFactory, sign_in, user_in

from .factories import procedure, rule, world

pytestmark = pytest.mark.django_db
API = "/api/v1/detection"
MISSING = "00000000-0000-0000-0000-000000000000"


def send(client, method: str, url: str, body: dict):
    return getattr(client, method)(
        f"{API}{url}", data=json.dumps(body), content_type="application/json"
    )


def fields_of(answer) -> list[str]:
    assert answer.status_code == 422, answer.content
    assert answer.json()["error"] == "invalid"
    return list(answer.json()["fields"])


@pytest.fixture
def w():
    return world()


@pytest.fixture
def pso(client, w):
    user = user_in(w.authority, Role.PORT_SECURITY_OFFICER)
    sign_in(client, user)
    return user


# --- B1: references in a body --------------------------------------------------------------------


def test_a_rules_references_answer_422_naming_the_field(client, w, pso):
    other = world()
    url = f"/ports/{w.port.locode}/rules"
    base = {"name": "Fence", "kind": "perimeter"}
    cases = [
        ("zone", MISSING),
        ("zone", str(other.quay.pk)),  # exists, in another port
        ("schedule", MISSING),
        ("procedure", MISSING),
        ("procedure", str(procedure(other, "x").pk)),  # another port's
    ]
    for field, value in cases:
        assert fields_of(send(client, "post", url, {**base, field: value})) == [field], value
    assert not Rule.objects.exists()
    schedule = Schedule.objects.create(name="Office hours", windows=[])
    made = send(client, "post", url, {**base, "schedule": str(schedule.pk), "zone": None})
    assert made.status_code == 201, made.content
    changed = send(client, "patch", f"/rules/{made.json()['id']}", {"zone": str(other.quay.pk)})
    assert fields_of(changed) == ["zone"]
    # The path's own references still answer 404.
    assert send(client, "post", "/ports/ZZZZZ/rules", base).status_code == 404
    assert send(client, "patch", f"/rules/{MISSING}", {"enabled": False}).status_code == 404


def test_a_hotlists_owner_and_port_answer_422_naming_the_field(client, w):
    police = OrganisationFactory(kind=OrganisationKind.POLICE, ports=[w.port])
    sign_in(client, user_in(police, Role.POLICE_LIAISON))
    hidden = OrganisationFactory(ports=[world().port])  # not visible to this police force
    base = {"name": "Stolen", "priority": 10, "port": w.port.locode}
    for owner in (MISSING, str(hidden.pk)):
        assert fields_of(send(client, "post", "/hotlists", {**base, "owner": owner})) == ["owner"]
    for port in ("ZZZZZ", world().port.locode):
        answer = send(client, "post", "/hotlists", {**base, "owner": str(police.pk), "port": port})
        assert fields_of(answer) == ["port"], port
    made = send(client, "post", "/hotlists", {**base, "owner": str(police.pk)})
    assert made.status_code == 201, made.content
    assert Hotlist.objects.get().port == w.port


def test_a_flights_zone_answers_422_naming_the_field(client, w, pso):
    start = timezone.now() + timedelta(days=1)
    body = {
        "operator": "Survey",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
    }
    url = f"/ports/{w.port.locode}/flights"
    for zone in (MISSING, str(world().quay.pk)):
        assert fields_of(send(client, "post", url, {**body, "zone": zone})) == ["zone"]
    assert send(client, "post", url, {**body, "zone": str(w.quay.pk)}).status_code == 201
    assert send(client, "post", "/ports/ZZZZZ/flights", body).status_code == 404


def test_a_contacts_user_answers_422_naming_the_field(client, w, pso):
    fence = rule(w, RuleKind.PERIMETER)
    answer = send(client, "post", f"/rules/{fence.pk}/contacts", {"channel": "email", "user": "x"})
    assert fields_of(answer) == ["user"]  # not even an id
    answer = send(
        client, "post", f"/rules/{fence.pk}/contacts", {"channel": "email", "user": MISSING}
    )
    assert fields_of(answer) == ["user"]
    assert send(client, "post", f"/rules/{MISSING}/contacts", {"channel": "email"}).status_code == (
        404
    )


# --- B2: unknown body fields ---------------------------------------------------------------------


def test_unknown_body_fields_are_refused_by_name(client, w, pso):
    fence = rule(w, RuleKind.PERIMETER)
    alarm = Alarm.objects.create(
        port=w.port,
        kind=RuleKind.PERIMETER,
        key="k",
        priority=40,
        first_at=timezone.now(),
        last_at=timezone.now(),
    )
    police = OrganisationFactory(kind=OrganisationKind.POLICE, ports=[])
    hotlist = Hotlist.objects.create(owner=police, name="L", priority=10)
    cases = [
        ("post", f"/ports/{w.port.locode}/rules", {"name": "x", "kind": "perimeter", "colour": 1}),
        ("patch", f"/rules/{fence.pk}", {"enabled": False, "priorty": 3}),
        ("post", f"/rules/{fence.pk}/contacts", {"channel": "email", "email": "a@b.c"}),
        ("post", f"/ports/{w.port.locode}/procedures", {"name": "x", "steps": ["y"], "port": "Z"}),
        ("post", f"/alarms/{alarm.pk}/notes", {"text": "x", "urgent": True}),
        ("post", f"/alarms/{alarm.pk}/close", {"report": "x", "state": "closed"}),
        ("post", f"/alarms/{alarm.pk}/share", {"title": "t", "body": "b", "recipients": []}),
        ("post", "/hotlists", {"name": "x", "owner": str(police.pk), "colour": "red"}),
        ("patch", f"/hotlists/{hotlist.pk}", {"owner": str(w.authority.pk)}),
        ("post", f"/hotlists/{hotlist.pk}/entries", {"entries": "1ABC123", "replace": True}),
        ("post", f"/ports/{w.port.locode}/flights", {"operator": "x", "pilot": "y"}),
        ("put", "/retention/plate_read", {"days": 10, "kind": "fence_alarm"}),
    ]
    for method, url, body in cases:
        answer = getattr(client, method)(
            f"{API}{url}", data=json.dumps(body), content_type="application/json"
        )
        assert answer.status_code == 422, (url, answer.content)
        unknown = {"colour", "priorty", "email", "port", "urgent", "state", "recipients"}
        unknown |= {"owner", "replace", "pilot", "kind"}
        named = set(answer.json()["fields"]) & unknown
        assert named, (url, answer.json())
        assert named <= set(body), (url, answer.json())
    fence.refresh_from_db()
    assert fence.enabled  # nothing of a refused body was applied
    assert not AlarmEntry.objects.filter(kind="note").exists()
    assert hotlist.owner == police and not hotlist.entries.exists()


# --- B3: expired entries, flight times without offset, notes on closed alarms -------------------


def test_an_entry_valid_until_a_past_day_is_a_line_error():
    today = date(2026, 11, 20)
    entries, errors = services.parse_entries(
        "1ABC123;stolen;2026-11-20\n2DEF456;stolen;2026-11-19\n3GHI789;x;2027-01-01",
        today=today,
    )
    assert [plate for plate, _reason, _until in entries] == ["1ABC123", "3GHI789"]
    assert errors == ["line 2: the date 2026-11-19 has already passed"]


def test_expired_entries_store_nothing(client, w):
    police = OrganisationFactory(kind=OrganisationKind.POLICE, ports=[])
    sign_in(client, user_in(police, Role.POLICE_LIAISON))
    hotlist = Hotlist.objects.create(owner=police, name="Stolen", priority=10)
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    answer = send(
        client,
        "post",
        f"/hotlists/{hotlist.pk}/entries",
        {"entries": f"1ABC123;stolen\n2DEF456;stolen;{yesterday}"},
    )
    assert fields_of(answer) == ["entries"]
    assert f"line 2: the date {yesterday} has already passed" in answer.json()["message"]
    assert not HotlistEntry.objects.exists()
    page = client.post(
        f"/detection/hotlists/{hotlist.pk}/entries/", {"entries": f"2DEF456;x;{yesterday}"}
    )
    assert page.status_code == 422 and "has already passed" in page.content.decode()


def test_flight_times_need_their_offset_in_the_api_and_are_brussels_time_in_the_form(
    client, w, pso
):
    url = f"/ports/{w.port.locode}/flights"
    naive = {
        "operator": "Survey",
        "starts_at": "2030-05-01T08:00:00",
        "ends_at": "2030-05-01T12:00:00",
    }
    assert fields_of(send(client, "post", url, naive)) == ["starts_at"]
    half = {**naive, "starts_at": "2030-05-01T08:00:00+02:00"}
    assert fields_of(send(client, "post", url, half)) == ["ends_at"]
    assert not AuthorisedFlight.objects.exists()
    aware = {**half, "ends_at": "2030-05-01T12:00:00+02:00"}
    made = send(client, "post", url, aware)
    assert made.status_code == 201, made.content
    flight = AuthorisedFlight.objects.get()
    assert flight.starts_at == datetime(2030, 5, 1, 6, 0, tzinfo=UTC)
    # The page's form gives local time (a datetime-local field): Europe/Brussels, summer time.
    flight.delete()
    page = client.post(
        f"/detection/flights/?port={w.port.locode}",
        {"operator": "Survey", "starts_at": "2030-05-01T08:00", "ends_at": "2030-05-01T12:00"},
    )
    assert page.status_code == 302
    flight = AuthorisedFlight.objects.get()
    assert (flight.starts_at, flight.ends_at) == (
        datetime(2030, 5, 1, 6, 0, tzinfo=UTC),
        datetime(2030, 5, 1, 10, 0, tzinfo=UTC),
    )
    # The service itself refuses a naive time, whoever calls it.
    with pytest.raises(Invalid) as refused:
        services.flight_create(
            actor=pso,
            port=w.port,
            operator="x",
            starts_at=datetime(2030, 6, 1, 8, 0),  # naive: the point of the test
            ends_at=datetime(2030, 6, 1, 9, 0, tzinfo=UTC),
        )
    assert refused.value.fields == {"starts_at": refused.value.message}


def test_a_closed_alarm_takes_no_notes(client, w, pso):
    alarm = Alarm.objects.create(
        port=w.port,
        kind=RuleKind.PERIMETER,
        key=f"k{uuid.uuid4()}",
        priority=40,
        first_at=timezone.now(),
        last_at=timezone.now(),
    )
    assert send(client, "post", f"/alarms/{alarm.pk}/notes", {"text": "On it"}).status_code == 200
    send(client, "post", f"/alarms/{alarm.pk}/close", {"report": "Fox"})
    late = send(client, "post", f"/alarms/{alarm.pk}/notes", {"text": "Forgot this"})
    assert late.status_code == 409
    assert late.json() == {
        "error": "conflict",
        "message": "this alarm is closed",
        "fields": {"state": "this alarm is closed"},
    }
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.CLOSED
    with pytest.raises(Conflict):
        services.alarm_note(actor=pso, alarm=alarm, text="again")
    notes = AlarmEntry.objects.filter(alarm=alarm, kind="note").values_list("text", flat=True)
    assert list(notes) == ["On it"]
