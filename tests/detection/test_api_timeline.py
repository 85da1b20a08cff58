"""An alarm's timeline, in the API and on the page: the engine's codes in words, and the newest
events of a long alarm (issue 6 review)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from port2port.core.roles import Role
from port2port.detection import selectors
from port2port.detection.models import Alarm, AlarmEntry, AlarmEvent, Event, RuleKind
from port2port.detection.selectors import TIMELINE_EVENTS
from port2port.detection.text import entry_text
from tests.core.factories import sign_in, user_in

from .factories import world

pytestmark = pytest.mark.django_db
PERSON = "A person was confirmed by an AI camera"


def fence_alarm(w) -> Alarm:
    now = timezone.now()
    return Alarm.objects.create(
        port=w.port,
        kind=RuleKind.PERIMETER,
        key="perimeter:k",
        priority=40,
        first_at=now - timedelta(hours=1),
        last_at=now,
    )


def test_the_engines_note_code_is_said_in_words_and_what_people_wrote_is_kept(client):
    w = world()
    alarm = fence_alarm(w)
    operator = user_in(w.authority, Role.CONTROL_ROOM_OPERATOR)
    AlarmEntry.objects.create(alarm=alarm, kind="raised_priority", text="ai_person")
    AlarmEntry.objects.create(alarm=alarm, kind="raised_priority", text="some_future_code")
    AlarmEntry.objects.create(alarm=alarm, kind="note", user=operator, text="ai_person")
    sign_in(client, operator)
    api = [
        row["text"] for row in client.get(f"/api/v1/detection/alarms/{alarm.pk}").json()["timeline"]
    ]
    assert api == [PERSON, "some_future_code", "ai_person"]  # a person's note stays as written
    page = client.get(f"/detection/alarms/{alarm.pk}/")
    assert [row["text"] for row in page.context["timeline"]] == api
    assert PERSON in page.content.decode()
    live = client.get(f"/detection/alarms/{alarm.pk}/live/").content.decode()
    assert PERSON in live


def test_the_note_codes_are_said_in_the_readers_language():
    from django.utils.translation import trans_real

    catalog = trans_real.translation("nl")._catalog
    catalog[PERSON] = "Een persoon werd bevestigd door een AI-camera"
    try:
        with translation.override("nl"):
            assert entry_text("raised_priority", "ai_person") == (
                "Een persoon werd bevestigd door een AI-camera"
            )
            assert entry_text("note", "ai_person") == "ai_person"
    finally:
        catalog._catalogs[0].pop(PERSON, None)


def test_a_long_alarm_shows_its_newest_events_oldest_first(client):
    w = world()
    alarm = fence_alarm(w)
    start = timezone.now() - timedelta(hours=1)
    count = TIMELINE_EVENTS + 50
    moments = [start + timedelta(seconds=n) for n in range(count)]
    Event.objects.bulk_create(
        Event(
            uid=f"sensor:e{n}",
            kind="fence_alarm",
            source="sensor",
            device_code=w.devices["FENCE1"].code,
            port=w.port,
            at=at,
            received_at=at,
        )
        for n, at in enumerate(moments)
    )
    # Linked in a shuffled order: the timeline goes by time, not by when the link was written.
    order = list(range(count))
    order = order[1::2] + order[::2]
    AlarmEvent.objects.bulk_create(
        AlarmEvent(alarm=alarm, event_uid=f"sensor:e{n}", at=moments[n]) for n in order
    )
    AlarmEntry.objects.create(alarm=alarm, kind="raised", at=start)
    operator = user_in(w.authority, Role.CONTROL_ROOM_OPERATOR)
    rows = selectors.alarm_timeline(operator, alarm)
    events = [event.uid for _at, kind, _t, _u, event in rows if kind == "event"]
    assert events == [f"sensor:e{n}" for n in range(50, count)]
    assert rows[0][1] == "raised"  # the entries are all there, in time order
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)
    sign_in(client, operator)
    timeline = client.get(f"/api/v1/detection/alarms/{alarm.pk}").json()["timeline"]
    shown = [row["event"] for row in timeline if row["kind"] == "event"]
    assert len(shown) == TIMELINE_EVENTS
    assert shown[-1] == json.loads(
        json.dumps({"kind": "fence_alarm", "device": w.devices["FENCE1"].code, "plate": ""})
    )
