"""The control room and the detection pages: who sees which alarm, every handling action through
the pages, the set-up forms, and the live stream (served here by the WSGI test client)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from django.utils import timezone

from port2port.core.models import AuditRecord, OrganisationKind
from port2port.core.roles import Role
from port2port.detection import views
from port2port.detection.ingest import Message, pipeline
from port2port.detection.live import hub
from port2port.detection.models import (
    Alarm,
    AlarmEntry,
    AlarmState,
    AuthorisedFlight,
    Contact,
    DeadLetter,
    Event,
    Hotlist,
    HotlistEntry,
    Procedure,
    Rule,
    RuleKind,
)
from port2port.sharing.models import Item
from tests.core.factories import OrganisationFactory, sign_in, user_in

from .factories import procedure, rule, sensor, world

pytestmark = pytest.mark.django_db
NIGHT = timezone.now().replace(hour=2, minute=14, second=0, microsecond=0) - timedelta(days=1)
STEPS = ("Look at the nearest camera", "Send the patrol", "Call the police")


def lines(*items: str) -> list[Message]:
    return [Message(item, f"line {n}") for n, item in enumerate(items, start=1)]


def intrusion(w, ident: str = "f-1") -> Alarm:
    """A fence alarm at night in the world's quay: one PERIMETER alarm with three steps."""
    if not Rule.objects.filter(port=w.port, kind=RuleKind.PERIMETER).exists():
        rule(w, RuleKind.PERIMETER, name="Night fence", priority=40, procedure=procedure(w, *STEPS))
    fence = w.devices["FENCE1"].code
    pipeline.reset()  # the devices of a new world: reload (the clock would, within a second)
    outcome = pipeline.ingest("sensor", lines(sensor("fence", fence, NIGHT, ident)))
    assert outcome.raised == 1
    return Alarm.objects.filter(port=w.port).latest("raised_at")


def plate_read(camera: str, plate: str, ident: str) -> str:
    return json.dumps(
        {
            "data_type": "alpr_group",
            "camera_id": camera,
            "epoch_start": int(NIGHT.timestamp() * 1000),
            "best_plate_number": plate,
            "best_confidence": 91.0,
            "best_uuid": ident,
        }
    )


@pytest.fixture
def port_a():
    return world()


@pytest.fixture
def operator(client, port_a):
    user = user_in(port_a.authority, Role.CONTROL_ROOM_OPERATOR)
    sign_in(client, user)
    return user


@pytest.fixture
def pso(port_a):
    return user_in(port_a.authority, Role.PORT_SECURITY_OFFICER, email="pso@example.org")


@pytest.fixture
def police_hit(port_a):
    """A police hotlist and the alarm it raised at the port's ANPR camera."""
    police = OrganisationFactory(kind=OrganisationKind.POLICE, ports=[])
    hotlist = Hotlist.objects.create(owner=police, name="Stolen trucks", priority=10)
    HotlistEntry.objects.create(hotlist=hotlist, plate="1ABC123", reason="stolen truck")
    camera = port_a.devices["ANPR1"].code
    pipeline.reset()
    assert pipeline.ingest("openalpr", lines(plate_read(camera, "1-ABC-123", "r1"))).raised == 1
    return police, hotlist, Alarm.objects.get(hotlist=hotlist)


# --- who sees what -------------------------------------------------------------------------------


def test_the_control_room_shows_its_own_ports_alarms_and_not_anothers(client, operator, port_a):
    mine = intrusion(port_a)
    theirs = intrusion(world(), "f-9")
    page = client.get("/detection/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="alarm-{mine.pk}"' in html and "Intrusion in Quay" in html
    assert str(theirs.pk) not in html
    assert 'data-stream-url="/detection/stream/"' in html
    assert "control-room-map-data" in html  # the map's data, for the script (no inline code)
    data = page.context["map_data"]
    assert data["port"] == str(port_a.port.pk)
    assert [a["id"] for a in data["alarms"]] == [str(mine.pk)]
    assert {f["properties"]["code"] for f in data["devices"]["features"]} == {
        d.code for d in port_a.devices.values()
    }
    assert any(f["properties"]["kind"] == "zone" for f in data["area"]["features"])


def test_a_national_control_room_narrows_the_queue_and_picks_the_map(client, port_a):
    other = world()
    mine, theirs = intrusion(port_a), intrusion(other, "f-9")
    national = OrganisationFactory(kind=OrganisationKind.AUTHORITY_NAMB, ports=[])
    sign_in(client, user_in(national, Role.CONTROL_ROOM_OPERATOR))
    everything = client.get("/detection/")
    assert {a.pk for a in everything.context["alarms"]} == {mine.pk, theirs.pk}
    assert 'name="port"' in everything.content.decode()  # the queue's port filter
    narrowed = client.get(f"/detection/?port={other.port.locode}&map={other.port.locode}")
    assert [a.pk for a in narrowed.context["alarms"]] == [theirs.pk]
    assert narrowed.context["map_data"]["port"] == str(other.port.pk)
    assert f'data-queue-port="{other.port.pk}"' in narrowed.content.decode()
    rows = client.get(f"/detection/queue/?port={port_a.port.locode}").content.decode()
    assert str(mine.pk) in rows and str(theirs.pk) not in rows


def test_an_alarm_of_another_port_answers_404(client, operator, port_a):
    theirs = intrusion(world(), "f-9")
    assert client.get(f"/detection/alarms/{theirs.pk}/").status_code == 404
    response = client.post(f"/detection/alarms/{theirs.pk}/acknowledge/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == AlarmState.NEW


def silent(w, device: str, **fields) -> Alarm:
    """An alarm written directly: a device fell silent."""
    fields = {"priority": 20, "first_at": NIGHT, "last_at": NIGHT, **fields}
    return Alarm.objects.create(
        port=w.port,
        kind=RuleKind.DEVICE_SILENT,
        key=f"silent:{device}",
        params={"device": device},
        **fields,
    )


def test_the_queue_puts_new_alarms_first_then_the_most_urgent(client, operator, port_a):
    first = intrusion(port_a)
    Alarm.objects.filter(pk=first.pk).update(state=AlarmState.ACKNOWLEDGED, priority=1)
    urgent = silent(port_a, "X", priority=20)
    later = silent(port_a, "Y", priority=90, last_at=NIGHT + timedelta(minutes=5))
    silent(port_a, "Z", priority=1, state=AlarmState.CLOSED)  # closed alarms leave the queue
    alarms = client.get("/detection/").context["alarms"]
    assert [a.pk for a in alarms] == [urgent.pk, later.pk, first.pk]


def test_the_police_see_the_alarms_of_their_hotlists_only(client, port_a, police_hit):
    police, _hotlist, hit = police_hit
    intrusion_alarm = intrusion(port_a)
    officer = user_in(police, Role.POLICE_LIAISON)
    sign_in(client, officer)
    html = client.get("/detection/").content.decode()
    assert f'id="alarm-{hit.pk}"' in html and "1ABC123" in html
    assert str(intrusion_alarm.pk) not in html
    assert client.get(f"/detection/alarms/{intrusion_alarm.pk}/").status_code == 404
    detail = client.get(f"/detection/alarms/{hit.pk}/")
    assert detail.status_code == 200
    assert not detail.context["can_handle"]  # they follow it; the port's control room handles it
    assert b"/acknowledge/" not in detail.content
    response = client.post(f"/detection/alarms/{hit.pk}/acknowledge/", follow=True)
    assert "may watch this alarm but not handle it" in response.content.decode()
    hit.refresh_from_db()
    assert hit.state == AlarmState.NEW


def test_people_without_a_control_room_role_are_refused(client, port_a):
    sign_in(client, user_in(port_a.authority, Role.EMPLOYEE))
    for url in ("/detection/", "/detection/stream/", "/detection/alarms/", "/detection/events/"):
        assert client.get(url).status_code == 403, url
    assert client.get("/detection/rules/").status_code == 403


def test_operators_do_not_set_up_detection(client, operator):
    for url in ("/detection/rules/", "/detection/procedures/", "/detection/flights/"):
        assert client.get(url).status_code == 403, url
    assert client.get("/detection/dead-letters/").status_code == 403
    nav = client.get("/detection/").content.decode()
    assert "/detection/rules/" not in nav and "/detection/alarms/" in nav


# --- handling an alarm ---------------------------------------------------------------------------


def test_acknowledge_through_the_page(client, operator, port_a):
    alarm = intrusion(port_a)
    detail = client.get(f"/detection/alarms/{alarm.pk}/")
    html = detail.content.decode()
    assert "Intrusion in Quay" in html and "Nearest camera" in html
    assert detail.context["nearest"][0].kind in {"ai_camera", "thermal", "anpr"}
    response = client.post(f"/detection/alarms/{alarm.pk}/acknowledge/")
    assert response.status_code == 302
    alarm.refresh_from_db()
    assert (alarm.state, alarm.acknowledged_by) == (AlarmState.ACKNOWLEDGED, operator)
    assert AuditRecord.objects.filter(action="detection.alarm.acknowledged").count() == 1
    again = client.post(f"/detection/alarms/{alarm.pk}/acknowledge/", follow=True)
    assert "already acknowledged" in again.content.decode()


def test_take_in_hand_note_and_escalate(client, operator, port_a):
    alarm = intrusion(port_a)
    client.post(f"/detection/alarms/{alarm.pk}/take/")
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.IN_PROGRESS
    client.post(f"/detection/alarms/{alarm.pk}/note/", {"note-text": "Patrol 3 on its way"})
    answer = client.post(f"/detection/alarms/{alarm.pk}/escalate/", follow=True)
    kinds = list(AlarmEntry.objects.filter(alarm=alarm).values_list("kind", flat=True))
    assert {"in_progress", "note", "escalated"} <= set(kinds)
    # Nobody at the next level: the operator is told, not reassured.
    assert "nobody was notified" in answer.content.decode()
    timeline = client.get(f"/detection/alarms/{alarm.pk}/").content.decode()
    assert "Patrol 3 on its way" in timeline


def test_a_step_ticked_in_place_is_on_the_timeline(client, operator, port_a):
    alarm = intrusion(port_a)
    url = f"/detection/alarms/{alarm.pk}/step/"
    response = client.post(url, {"position": 2, "done": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="alarm-steps"' in html and 'hx-swap-oob="true"' in html  # state and timeline too
    assert "2. Send the patrol" in html  # the timeline entry
    step = alarm.steps.get(position=2)
    assert step.done_at is not None and step.done_by == operator
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.IN_PROGRESS  # ticking a step means someone is on it
    client.post(url, {"position": 2}, HTTP_HX_REQUEST="true")  # untick
    entries = list(
        AlarmEntry.objects.filter(alarm=alarm, kind="step").values_list("text", flat=True)
    )
    assert entries == ["2. Send the patrol", "Undone: Send the patrol"]
    bad = client.post(url, {"position": 9, "done": "1"}, HTTP_HX_REQUEST="true")
    assert "no step 9" in bad.content.decode()


def test_closing_requires_the_incident_report(client, operator, port_a):
    alarm = intrusion(port_a)
    refused = client.post(f"/detection/alarms/{alarm.pk}/close/", {"close-report": "  "})
    assert refused.status_code == 422
    assert refused.context["close_form"].errors
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.NEW
    done = client.post(
        f"/detection/alarms/{alarm.pk}/close/", {"close-report": "Fox on the fence; no breach."}
    )
    assert done.status_code == 302
    alarm.refresh_from_db()
    assert (alarm.state, alarm.report) == (AlarmState.CLOSED, "Fox on the fence; no breach.")
    page = client.get(f"/detection/alarms/{alarm.pk}/").content.decode()
    assert "Fox on the fence; no breach." in page and "/close/" not in page
    assert client.get("/detection/").context["alarms"] == []


def test_sharing_a_closed_hotlist_alarm_leaves_the_plate_out(client, port_a, pso, police_hit):
    _police, _hotlist, hit = police_hit
    sign_in(client, pso)
    client.post(f"/detection/alarms/{hit.pk}/close/", {"close-report": "Truck stopped at gate"})
    detail = client.get(f"/detection/alarms/{hit.pk}/")
    form = detail.context["share_form"]
    assert form is not None
    title, body = form.initial["title"], form.initial["body"]
    assert "1ABC123" not in title + body and port_a.port.name in title
    leaking = client.post(
        f"/detection/alarms/{hit.pk}/share/",
        {
            "share-title": title,
            "share-body": body + "The truck 1-ABC-123 was stopped.",
            "share-tlp": "amber",
            "share-distribution": "port_community",
        },
    )
    assert leaking.status_code == 422 and "1ABC123" in leaking.content.decode()
    assert not Item.objects.exists()
    shared = client.post(
        f"/detection/alarms/{hit.pk}/share/",
        {
            "share-title": title,
            "share-body": body + "A stolen truck was stopped at the gate.",
            "share-tlp": "amber",
            "share-distribution": "port_community",
        },
    )
    assert shared.status_code == 302
    item = Item.objects.get()
    assert "1ABC123" not in item.title + item.body and "1-ABC-123" not in item.body
    hit.refresh_from_db()
    assert hit.shared_item == item
    assert client.get(f"/detection/alarms/{hit.pk}/").context["share_form"] is None


def test_an_operator_without_sharing_rights_gets_no_share_form(client, operator, port_a):
    alarm = intrusion(port_a)
    client.post(f"/detection/alarms/{alarm.pk}/close/", {"close-report": "Nothing found"})
    assert client.get(f"/detection/alarms/{alarm.pk}/").context["share_form"] is None


# --- the live stream -----------------------------------------------------------------------------


def alarm_message(alarm: Alarm, **more) -> dict:
    return {
        "type": "alarm",
        "new": True,
        "id": str(alarm.pk),
        "port": str(alarm.port_id),
        "owner": "",
        "kind": alarm.kind,
        "priority": alarm.priority,
        "state": alarm.state,
        "count": alarm.count,
        "last_at": alarm.last_at.isoformat(),
        "lat": alarm.latitude,
        "lon": alarm.longitude,
        **more,
    }


def frames(response, wanted: int, seconds: float = 10.0) -> list[str]:
    """The first `wanted` frames of a stream that are not keep-alive comments; a stream that
    goes quiet sends a keep-alive every KEEPALIVE_SECONDS, so this never hangs for long."""
    deadline = timezone.now() + timedelta(seconds=seconds)
    out = []
    for chunk in response.streaming_content:
        text = chunk.decode()
        if not text.startswith(": keepalive"):
            out.append(text)
        if len(out) >= wanted or timezone.now() > deadline:
            break
    return out


def test_the_stream_sends_the_viewers_alarms_as_rendered_rows(
    client, operator, port_a, monkeypatch
):
    monkeypatch.setattr(views, "KEEPALIVE_SECONDS", 1)
    mine = intrusion(port_a)
    theirs = intrusion(world(), "f-9")
    before = hub.subscribers
    response = client.get("/detection/stream/")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache" and response["X-Accel-Buffering"] == "no"
    opening = frames(response, 1)
    assert opening[0].startswith("retry:")  # subscribed: what is published now reaches us
    assert hub.subscribers == before + 1

    def publish():
        hub.deliver(alarm_message(theirs))  # another port: filtered out
        hub.deliver({"type": "vessel", "port": str(theirs.port_id), "mmsi": 1, "lat": 1, "lon": 1})
        hub.deliver(alarm_message(mine))
        hub.deliver(
            {
                "type": "vessel",
                "port": str(mine.port_id),
                "mmsi": 205,
                "lat": 51.3,
                "lon": 3.2,
                "name": "NORDIC",
                "speed": 3.1,
                "course": 90,
            }
        )

    threading.Timer(0.1, publish).start()
    alarm_frame, vessel_frame = frames(response, 2)
    assert alarm_frame.startswith("event: alarm\ndata: ")
    data = json.loads(alarm_frame.split("data: ", 1)[1])
    assert data["id"] == str(mine.pk) and data["new"] is True and data["state"] == "new"
    assert data["port"] == str(port_a.port.pk) and data["lat"] == mine.latitude
    assert f'id="alarm-{mine.pk}"' in data["html"] and "Intrusion in Quay" in data["html"]
    assert f"/detection/alarms/{mine.pk}/" in data["html"]
    assert vessel_frame.startswith("event: vessel\n") and '"NORDIC"' in vessel_frame
    response.close()
    assert hub.subscribers == before


def test_the_stream_renders_in_the_viewers_language_and_drops_closed_rows(
    client, operator, port_a, monkeypatch
):
    from django.utils import translation

    monkeypatch.setattr(views, "KEEPALIVE_SECONDS", 1)
    languages = []

    def summary(alarm):
        languages.append(translation.get_language())
        return "summary of the alarm"

    monkeypatch.setattr(views, "alarm_summary", summary)
    operator.language = "nl"
    operator.save()
    alarm = intrusion(port_a)
    response = client.get("/detection/stream/")
    frames(response, 1)
    translation.activate("en")  # what the server thread speaks otherwise
    threading.Timer(0.1, hub.deliver, [alarm_message(alarm)]).start()
    data = json.loads(frames(response, 1)[0].split("data: ", 1)[1])
    assert languages == ["nl"] and "summary of the alarm" in data["html"]
    # The database says what the alarm is now, whatever the message said.
    Alarm.objects.filter(pk=alarm.pk).update(state=AlarmState.CLOSED)
    threading.Timer(0.1, hub.deliver, [alarm_message(alarm)]).start()
    data = json.loads(frames(response, 1)[0].split("data: ", 1)[1])
    assert data["state"] == "closed" and data["html"] == ""  # the page removes the row
    response.close()


@pytest.mark.django_db(transaction=True)  # rows are rendered in a thread of their own
def test_the_stream_under_asgi_awaits_the_hub(port_a, monkeypatch):
    """Served by an ASGI server (uvicorn), through the middleware: the async generator."""
    monkeypatch.setattr(views, "KEEPALIVE_SECONDS", 1)
    user = user_in(port_a.authority, Role.CONTROL_ROOM_OPERATOR)
    alarm = intrusion(port_a)
    theirs = intrusion(world(), "f-9")
    client = AsyncClient()

    async def read():
        await client.aforce_login(user)
        response = await client.get("/detection/stream/")
        assert response.is_async and response["Content-Type"] == "text/event-stream"
        stream = aiter(response.streaming_content)
        opening = await anext(stream)
        hub.deliver(alarm_message(theirs))  # not the viewer's: skipped
        hub.deliver(alarm_message(alarm))
        frame = await anext(stream)
        while frame.startswith(b": keepalive"):
            frame = await anext(stream)
        return opening, frame

    opening, frame = async_to_sync(read)()
    assert opening.startswith(b"retry:")
    assert frame.startswith(b"event: alarm\n") and str(alarm.pk).encode() in frame
    assert b"Intrusion in Quay" in frame


def test_the_async_stream_lets_go_of_the_hub_when_closed(port_a):
    user = user_in(port_a.authority, Role.CONTROL_ROOM_OPERATOR)
    before = hub.subscribers
    from django.contrib.sessions.backends.db import SessionStore

    stream = views._stream_async(
        user, frozenset({str(port_a.port.pk)}), frozenset(), "en", SessionStore()
    )

    async def open_and_close():
        await anext(stream)
        during = hub.subscribers
        await stream.aclose()
        return during

    assert (async_to_sync(open_and_close)(), hub.subscribers) == (before + 1, before)


# --- set-up --------------------------------------------------------------------------------------


def test_a_rule_created_and_changed_through_its_form(client, port_a, pso):
    sign_in(client, pso)
    locode = port_a.port.locode
    kinds = client.get(f"/detection/rules/new/?port={locode}")
    assert kinds.status_code == 200 and "kind=perimeter" in kinds.content.decode()
    page = client.get(f"/detection/rules/new/?port={locode}&kind=perimeter")
    fields = set(page.context["form"].fields)
    assert {"zone", "schedule", "within_seconds", "raise_by"} <= fields
    assert "count" not in fields  # only what a perimeter rule uses
    sop = procedure(port_a, *STEPS)
    response = client.post(
        f"/detection/rules/new/?port={locode}&kind=perimeter",
        {
            "name": "Night fence",
            "zone": str(port_a.quay.pk),
            "schedule": "",
            "within_seconds": 60,
            "raise_by": 20,
            "enabled": "on",
            "priority": 40,
            "procedure": str(sop.pk),
            "suppress_seconds": 300,
            "escalate_seconds": 120,
        },
    )
    created = Rule.objects.get(name="Night fence")
    assert response.status_code == 302 and response["Location"] == f"/detection/rules/{created.pk}/"
    assert (created.kind, created.zone, created.procedure, created.port) == (
        RuleKind.PERIMETER,
        port_a.quay,
        sop,
        port_a.port,
    )
    edit = client.get(f"/detection/rules/{created.pk}/")
    assert edit.context["form"].initial["priority"] == 40
    refused = client.post(
        f"/detection/rules/{created.pk}/",
        {
            **{k: v for k, v in edit.context["form"].initial.items() if v is not None},
            "zone": str(port_a.quay.pk),
            "procedure": str(sop.pk),
            "priority": 0,
        },
    )
    assert refused.status_code == 422 and refused.context["form"].errors.get("priority")
    changed = client.post(
        f"/detection/rules/{created.pk}/",
        {
            "name": "Night fence (quay)",
            "zone": str(port_a.quay.pk),
            "within_seconds": 30,
            "raise_by": 20,
            "priority": 25,
            "procedure": "",
            "suppress_seconds": 300,
            "escalate_seconds": 0,
        },
    )
    assert changed.status_code == 302
    created.refresh_from_db()
    assert (created.name, created.priority, created.enabled, created.procedure) == (
        "Night fence (quay)",
        25,
        False,
        None,
    )
    rules = client.get(f"/detection/rules/?port={locode}").content.decode()
    assert f"/detection/alarms/?rule={created.pk}" in rules
    foreign = world()
    other_zone = client.post(
        f"/detection/rules/{created.pk}/",
        {
            "name": "x",
            "zone": str(foreign.quay.pk),
            "priority": 25,
            "within_seconds": 30,
            "raise_by": 20,
            "suppress_seconds": 300,
            "escalate_seconds": 0,
        },
    )
    assert other_zone.status_code == 422  # another port's zone is not among the choices


def test_contacts_of_a_rule(client, port_a, pso):
    sign_in(client, pso)
    perimeter = rule(port_a, RuleKind.PERIMETER)
    operator = user_in(port_a.authority, Role.CONTROL_ROOM_OPERATOR)
    page = client.get(f"/detection/rules/{perimeter.pk}/")
    users = page.context["contact_form"].fields["user"].queryset
    assert operator in users and pso in users
    stranger = user_in(OrganisationFactory(), Role.CONTROL_ROOM_OPERATOR)
    assert stranger not in users
    client.post(
        f"/detection/rules/{perimeter.pk}/contacts/",
        {
            "contact-channel": "webhook",
            "contact-level": 1,
            "contact-url": "https://hooks.example/a",
        },
    )
    client.post(
        f"/detection/rules/{perimeter.pk}/contacts/",
        {"contact-channel": "email", "contact-level": 0, "contact-user": str(pso.pk)},
    )
    refused = client.post(
        f"/detection/rules/{perimeter.pk}/contacts/",
        {"contact-channel": "email", "contact-level": 0},
        follow=True,
    )
    assert "choose the person to notify" in refused.content.decode()
    contacts = Contact.objects.filter(rule=perimeter).order_by("level")
    assert [(c.channel, c.level) for c in contacts] == [("email", 0), ("webhook", 1)]
    hook = contacts.get(channel="webhook")
    client.post(f"/detection/rules/{perimeter.pk}/contacts/{hook.pk}/remove/")
    assert list(Contact.objects.filter(rule=perimeter).values_list("channel", flat=True)) == [
        "email"
    ]


def test_the_alarm_history_filters_by_rule_and_state(client, port_a, pso):
    sign_in(client, pso)
    alarm = intrusion(port_a)
    other = silent(port_a, "X", state=AlarmState.CLOSED)
    by_rule = client.get(f"/detection/alarms/?rule={alarm.rule_id}")
    assert [a.pk for a in by_rule.context["page"].object_list] == [alarm.pk]
    assert by_rule.context["rule"] == alarm.rule
    closed = client.get("/detection/alarms/?state=closed")
    assert [a.pk for a in closed.context["page"].object_list] == [other.pk]


def test_procedures_created_and_changed(client, port_a, pso):
    sign_in(client, pso)
    locode = port_a.port.locode
    client.post(
        f"/detection/procedures/?port={locode}",
        {"name": "Drone", "steps": "Find the pilot\n\n  Call the police  \n"},
    )
    sop = Procedure.objects.get(name="Drone")
    assert sop.steps == ["Find the pilot", "Call the police"] and sop.port == port_a.port
    refused = client.post(f"/detection/procedures/{sop.pk}/", {"name": "Drone", "steps": " \n "})
    assert refused.status_code == 422
    edit = client.get(f"/detection/procedures/{sop.pk}/")
    assert edit.context["form"].initial["steps"] == "Find the pilot\nCall the police"
    client.post(f"/detection/procedures/{sop.pk}/", {"name": "Drone", "steps": "Only this"})
    sop.refresh_from_db()
    assert sop.steps == ["Only this"]


def test_an_authorised_flight(client, port_a, pso):
    sign_in(client, pso)
    page = client.get("/detection/flights/")
    assert page.status_code == 200 and page.context["port"] == port_a.port
    response = client.post(
        f"/detection/flights/?port={port_a.port.locode}",
        {
            "operator": "Port survey drones",
            "drone_id": "1581F5FKD229400F",
            "zone": str(port_a.quay.pk),
            "starts_at": "2030-05-01T08:00",
            "ends_at": "2030-05-01T12:00",
        },
    )
    assert response.status_code == 302
    flight = AuthorisedFlight.objects.get()
    assert (flight.zone, flight.drone_id) == (port_a.quay, "1581F5FKD229400F")
    wrong = client.post(
        f"/detection/flights/?port={port_a.port.locode}",
        {"operator": "x", "starts_at": "2030-05-01T12:00", "ends_at": "2030-05-01T08:00"},
    )
    assert wrong.status_code == 422 and "before the start" in wrong.content.decode()


def test_a_hotlist_with_a_bad_line_stores_nothing(client, port_a):
    police = OrganisationFactory(kind=OrganisationKind.POLICE, ports=[])
    officer = user_in(police, Role.POLICE_LIAISON)
    sign_in(client, officer)
    page = client.get("/detection/hotlists/")
    assert list(page.context["form"].fields["owner"].queryset) == [police]
    created = client.post(
        "/detection/hotlists/",
        {
            "owner": str(police.pk),
            "name": "Stolen trucks",
            "priority": 10,
            "max_differences": 1,
            "active": "on",
        },
    )
    hotlist = Hotlist.objects.get()
    assert (
        created.status_code == 302 and created["Location"] == f"/detection/hotlists/{hotlist.pk}/"
    )
    url = f"/detection/hotlists/{hotlist.pk}/entries/"
    refused = client.post(url, {"entries": "1ABC123;stolen;2030-12-31\n2XYZ999;stolen;31/12/2030"})
    assert refused.status_code == 422
    assert "line 2" in refused.content.decode()
    assert not HotlistEntry.objects.exists()
    client.post(url, {"entries": "1-abc-123;stolen;2030-12-31\n2XYZ999;fraud"})
    assert sorted(HotlistEntry.objects.values_list("plate", flat=True)) == ["1ABC123", "2XYZ999"]
    found = client.get(f"/detection/hotlists/{hotlist.pk}/?q=xyz")
    assert [e.plate for e in found.context["page"].object_list] == ["2XYZ999"]
    entry = HotlistEntry.objects.get(plate="2XYZ999")
    client.post(f"/detection/hotlists/{hotlist.pk}/entries/{entry.pk}/remove/")
    assert list(HotlistEntry.objects.values_list("plate", flat=True)) == ["1ABC123"]
    # A control room of a port sees no other organisation's list.
    sign_in(client, user_in(port_a.authority, Role.CONTROL_ROOM_OPERATOR))
    assert client.get(f"/detection/hotlists/{hotlist.pk}/").status_code == 403


def test_the_hotlist_page_lists_the_alarms_it_raised(client, police_hit):
    police, hotlist, hit = police_hit
    sign_in(client, user_in(police, Role.POLICE_LIAISON))
    page = client.get(f"/detection/hotlists/{hotlist.pk}/")
    assert [a.pk for a in page.context["alarms"]] == [hit.pk]
    history = client.get(f"/detection/alarms/?hotlist={hotlist.pk}")
    assert [a.pk for a in history.context["page"].object_list] == [hit.pk]


# --- events, device health, dead letters ---------------------------------------------------------


def test_plate_reads_are_found_in_the_ports_one_watches(client, operator, port_a):
    camera = port_a.devices["ANPR1"].code
    pipeline.ingest("openalpr", lines(plate_read(camera, "1-DEF-456", "r7")))
    elsewhere = world()
    pipeline.reset()
    pipeline.ingest("openalpr", lines(plate_read(elsewhere.devices["ANPR1"].code, "1DEF456", "r8")))
    assert Event.objects.filter(plate="1DEF456").count() == 2
    found = client.get("/detection/events/?plate=1-def-456")
    assert [e.device_code for e in found.context["page"].object_list] == [camera]


def test_the_device_health_table_flags_silent_devices(client, operator, port_a):
    fence = port_a.devices["FENCE1"]
    fence.last_seen_at = timezone.now() - timedelta(minutes=fence.silent_after + 5)
    fence.save()
    thermal = port_a.devices["THERM1"]
    thermal.last_seen_at = timezone.now()
    thermal.save()
    response = client.get(f"/detection/health/?map={port_a.port.locode}")
    rows = {row["device"].code: row["silent"] for row in response.context["health"]}
    assert rows[fence.code] is True and rows[thermal.code] is False
    assert client.get("/detection/health/?map=ZZZZZ").status_code == 404


def test_dead_letters_for_platform_admins(client, port_a):
    DeadLetter.objects.create(format="sensor", reason="line 1: bad JSON", payload="x" * 2000)
    admin = user_in(port_a.authority, Role.PLATFORM_ADMIN)
    sign_in(client, admin)
    page = client.get("/detection/dead-letters/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "line 1: bad JSON" in html and "x" * 500 + "…" in html and "x" * 501 not in html


# --- a hotlist's settings, rule kinds whose settings come from elsewhere -------------------------


def test_a_hotlists_settings_are_changed_on_its_page_by_its_keeper(client, port_a):
    police = OrganisationFactory(kind=OrganisationKind.POLICE, ports=[port_a.port])
    officer = user_in(police, Role.POLICE_LIAISON)
    hotlist = Hotlist.objects.create(owner=police, port=port_a.port, name="Stolen", priority=10)
    sign_in(client, officer)
    page = client.get(f"/detection/hotlists/{hotlist.pk}/")
    form = page.context["settings_form"]
    assert "owner" not in form.fields  # a list stays with its keeper
    assert form.initial["priority"] == 10 and form.initial["port"] == port_a.port
    assert 'data-testid="hotlist-settings"' in page.content.decode()
    settings = {
        "settings-name": "Stolen vehicles",
        "settings-priority": "5",
        "settings-max_differences": "1",
        "settings-port": str(port_a.port.pk),
        "settings-valid_until": "2099-12-31",
    }  # "active" left out: the box is unticked
    saved = client.post(f"/detection/hotlists/{hotlist.pk}/", settings)
    assert saved.status_code == 302
    hotlist.refresh_from_db()
    assert (hotlist.name, hotlist.priority, hotlist.max_differences, hotlist.active) == (
        "Stolen vehicles",
        5,
        1,
        False,
    )
    assert str(hotlist.valid_until) == "2099-12-31"
    assert AuditRecord.objects.filter(action="detection.hotlist.changed").count() == 1
    # A police force with a port keeps lists for its port only: refused, nothing changed.
    refused = client.post(f"/detection/hotlists/{hotlist.pk}/", {**settings, "settings-port": ""})
    assert refused.status_code == 422
    assert refused.context["settings_form"].errors.get("port")
    hotlist.refresh_from_db()
    assert hotlist.port == port_a.port
    # Someone who sees the list (it is bound to their port) but does not keep it: no form.
    sign_in(client, user_in(port_a.authority, Role.PORT_SECURITY_OFFICER))
    assert client.get(f"/detection/hotlists/{hotlist.pk}/").context["settings_form"] is None
    assert client.post(f"/detection/hotlists/{hotlist.pk}/", settings).status_code == 403
    hotlist.refresh_from_db()
    assert hotlist.priority == 5


def test_a_hotlist_rule_has_no_priority_and_says_why(client, port_a, pso):
    sign_in(client, pso)
    locode = port_a.port.locode
    page = client.get(f"/detection/rules/new/?port={locode}&kind=hotlist")
    assert "priority" not in page.context["form"].fields
    html = page.content.decode()
    assert "the priority of the list the plate is on" in html
    assert "A port without a rule of this kind still gets these alarms" in html
    created = client.post(
        f"/detection/rules/new/?port={locode}&kind=hotlist",
        {"name": "Hits", "enabled": "on", "priority": "3", "suppress_seconds": 300,
         "escalate_seconds": 120},
    )  # fmt: skip
    assert created.status_code == 302
    hits = Rule.objects.get(name="Hits")
    assert hits.priority == 50  # a priority sent anyway is not taken
    rules = client.get(f"/detection/rules/?port={locode}").content.decode()
    assert "from the list" in rules
    silent = client.get(f"/detection/rules/new/?port={locode}&kind=device_silent")
    assert "priority" in silent.context["form"].fields
    assert "all switched off gets none" in silent.content.decode()
    fence = client.get(f"/detection/rules/new/?port={locode}&kind=perimeter")
    assert fence.context["form"].notes == []
    assert 'data-testid="rule-note"' not in fence.content.decode()


def test_device_health_counts_silence_from_registration_and_events_search_any_case(
    client, operator, port_a
):
    from port2port.sites.models import Device

    fence = port_a.devices["FENCE1"]
    now = timezone.now()
    Device.objects.filter(pk=fence.pk).update(
        last_seen_at=None, watched_since=now - timedelta(minutes=5), silent_after=30
    )
    rows = {row["device"].code: row["silent"] for row in views._health(operator, port_a.port)}
    assert rows[fence.code] is False  # watched for 5 minutes of its 30
    Device.objects.filter(pk=fence.pk).update(watched_since=now - timedelta(minutes=31))
    rows = {row["device"].code: row["silent"] for row in views._health(operator, port_a.port)}
    assert rows[fence.code] is True
    pipeline.ingest("sensor", lines(sensor("fence", fence.code, now, "case-1")))
    page = client.get("/detection/events/", {"device": fence.code.lower()})
    assert page.status_code == 200
    assert [e.device_code for e in page.context["page"].object_list] == [fence.code]


def test_escalating_to_a_level_with_contacts_says_they_are_notified(client, operator, port_a, pso):
    from port2port.detection.models import Contact, Delivery

    alarm = intrusion(port_a)
    Contact.objects.create(rule=alarm.rule, level=1, channel=Contact.Channel.EMAIL, user=pso)
    answer = client.post(f"/detection/alarms/{alarm.pk}/escalate/", follow=True)
    assert "Escalated to level 1; its contacts are notified." in answer.content.decode()
    assert Delivery.objects.filter(alarm=alarm, level=1, target="pso@example.org").exists()
