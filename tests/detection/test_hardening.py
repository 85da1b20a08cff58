"""Regression tests of the security and correctness review of detection."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from port2port.core.errors import Forbidden, Invalid
from port2port.core.models import AuditRecord
from port2port.core.visibility import SYSTEM
from port2port.detection import jobs, services, views
from port2port.detection.ingest import Message, pipeline
from port2port.detection.models import Alarm, DeadLetter, Event, RuleKind
from port2port.detection.state import device_info
from port2port.sites.models import Device, DeviceKind
from port2port.sites.services import device_token_issue, zone_update
from tests.core.factories import OrganisationFactory, sign_in, user_in

from .factories import point, rule, sensor, world

pytestmark = pytest.mark.django_db


def test_text_no_database_keeps_is_a_dead_letter_and_the_rest_is_stored():
    w = world()
    fence = w.devices["FENCE1"].code
    now = timezone.now()
    outcome = pipeline.ingest(
        "sensor",
        [
            Message(sensor("fence", fence, now, "good")),
            Message(sensor("fence", fence, now, "bad-X").replace("bad-X", "bad-\\ud800")),
            Message(sensor("fence", fence, now, "nul\x00")),
            Message(sensor("fence", fence, now + timedelta(days=3), "future")),
        ],
    )
    assert outcome.accepted == 1
    reasons = [reason for _where, reason in outcome.rejected]
    # orjson refuses the unpaired surrogate while reading the JSON; a NUL reaches our own check.
    assert "surrogate" in reasons[0] and "NUL" in reasons[1]
    assert "lies in the future" in reasons[-1]
    assert Event.objects.count() == 1 and DeadLetter.objects.count() == 3


def test_a_device_token_does_not_speak_for_its_owners_devices_in_another_port():
    w = world()
    elsewhere = world()
    stray = Device.objects.create(
        port=elsewhere.port,
        code="SAME-OWNER-OTHER-PORT",
        name="x",
        kind=DeviceKind.FENCE,
        geometry=point(3.2, 51.3),
        owner=w.authority,
    )
    pipeline.reset()
    outcome = pipeline.ingest(
        "sensor",
        [Message(sensor("fence", stray.code, timezone.now(), "1"))],
        device=device_info(w.devices["FENCE1"]),
    )
    assert outcome.accepted == 0 and "in its port" in outcome.rejected[0][1]


def test_only_the_owner_issues_a_device_token():
    w = world()
    from port2port.sites.models import Facility, Zone

    from .factories import square

    terminal = OrganisationFactory(ports=[w.port])
    facility = Facility.objects.create(
        port=w.port, code="T1", name="T", geometry=square(3.2, 51.33, 0.01), operator=terminal
    )
    yard = Zone.objects.create(
        port=w.port, code="T1-Y", name="Y", geometry=square(3.2, 51.33, 0.005), facility=facility
    )
    camera = w.devices["AI1"]
    camera.owner, camera.zone = terminal, yard
    camera.save()
    officer = user_in(w.authority, "port_security_officer")  # may change the port's sites
    with pytest.raises(Forbidden):
        device_token_issue(actor=officer, device=camera)
    assert device_token_issue(actor=user_in(terminal, "pfso"), device=camera).startswith("dv_")


def test_a_closed_silence_alarm_stays_closed_after_a_restart():
    w = world()
    fence = w.devices["FENCE1"]
    fence.silent_after = 10
    fence.save()
    Device.objects.exclude(pk=fence.pk).update(silent_after=0)  # only the fence is watched
    pipeline.ingest("sensor", [Message(sensor("fence", fence.code, timezone.now(), "a"))])
    pipeline.flush()
    later = timezone.now() + timedelta(minutes=15)
    jobs.Clock().tick(now=later)
    alarm = Alarm.objects.get(kind=RuleKind.DEVICE_SILENT)
    services.alarm_close(
        actor=user_in(w.authority, "port_security_officer"), alarm=alarm, report="Cable cut."
    )
    pipeline.reset()  # a restart
    jobs.Clock().tick(now=later + timedelta(minutes=1))
    assert Alarm.objects.filter(kind=RuleKind.DEVICE_SILENT).count() == 1


def test_webhooks_may_not_reach_the_platforms_own_network(settings):
    w = world()
    perimeter = rule(w, RuleKind.PERIMETER)
    officer = user_in(w.authority, "port_security_officer")
    settings.DETECTION_WEBHOOK_PRIVATE = False
    for url in ("http://127.0.0.1:8000/x", "http://10.0.0.5/hook", "http://169.254.169.254/"):
        with pytest.raises(Invalid, match="private network"):
            services.contact_add(actor=officer, rule=perimeter, channel="webhook", url=url)


def test_escalation_names_a_webhooks_host_not_its_secret_url():
    from port2port.detection.models import Contact

    w = world()
    perimeter = rule(w, RuleKind.PERIMETER, escalate_seconds=60)
    Contact.objects.create(
        rule=perimeter, level=1, channel="webhook", url="https://hooks.example.org/T0/SECRET"
    )
    pipeline.ingest(
        "sensor", [Message(sensor("fence", w.devices["FENCE1"].code, timezone.now(), "e"))]
    )
    alarm = Alarm.objects.get()
    jobs.escalate_due(now=alarm.escalate_at + timedelta(seconds=1))
    text = alarm.entries.get(kind="escalated").text
    assert "hooks.example.org" in text and "SECRET" not in text


def test_only_those_who_handle_an_alarm_share_it():
    from port2port.core.models import OrganisationKind
    from port2port.detection.models import Hotlist, HotlistEntry

    w = world()
    police = OrganisationFactory(kind=OrganisationKind.POLICE, ports=[])
    hotlist = Hotlist.objects.create(owner=police, name="Stolen", priority=10)
    HotlistEntry.objects.create(hotlist=hotlist, plate="1ABC123")
    read = json.dumps(
        {
            "data_type": "alpr_group",
            "camera_id": w.devices["ANPR1"].code,
            "epoch_start": int(timezone.now().timestamp() * 1000),
            "best_plate_number": "1ABC123",
            "best_uuid": "s1",
        }
    )
    pipeline.ingest("openalpr", [Message(read)])
    alarm = Alarm.objects.get()
    services.alarm_close(
        actor=user_in(w.authority, "port_security_officer"), alarm=alarm, report="Stopped."
    )
    liaison = user_in(police, "police_liaison")  # sees the hit, does not run the control room
    with pytest.raises(Forbidden):
        services.alarm_share(actor=liaison, alarm=alarm, title="Hit", body="A stolen truck.")


def test_a_zone_made_restricted_is_watched_at_once():
    from pyais.encode import encode_dict

    w = world()
    rule(w, RuleKind.VESSEL_ZONE)
    receiver = w.devices["AIS1"].code
    pipeline.ingest(
        "sensor", [Message(sensor("fence", w.devices["FENCE1"].code, timezone.now(), "warm"))]
    )
    zone_update(actor=SYSTEM, zone=w.quay, restricted=True)
    sentence = encode_dict(
        {"msg_type": 1, "mmsi": 205000001, "lat": 51.33, "lon": 3.2}, radio_channel="A"
    )[0]
    pipeline._checked = 0.0  # the next batch looks at the change feed (as after a second)
    pipeline.ingest("ais", [Message(sentence, "http")], default_device=receiver)
    assert Alarm.objects.filter(kind=RuleKind.VESSEL_ZONE, zone=w.quay).exists()


def test_plate_searches_are_audited(client):
    w = world()
    sign_in(client, user_in(w.authority, "control_room_operator"))
    client.get("/detection/events/?plate=1-abc-123")
    client.get("/api/v1/detection/events?plate=1ABC123")
    records = AuditRecord.objects.filter(action="detection.events.plate_searched")
    assert [r.details["plate"] for r in records] == ["1ABC123", "1ABC123"]


def test_the_stream_lets_go_of_a_deactivated_account_or_an_ended_session():
    w = world()
    operator = user_in(w.authority, "control_room_operator")
    session = SessionStore()
    session.create()
    assert views._still_allowed(operator, session)
    session.delete()
    assert not views._still_allowed(operator, session)
    session.create()
    operator.is_active = False
    operator.save()
    assert not views._still_allowed(operator, session)


def test_stray_mqtt_topics_are_kept_once_each():
    from port2port.detection.mqtt import Received, _strays

    first = Received(topic="old/topic/a", payload=b"x", mid=1, qos=1, generation=0)
    second = Received(topic="old/topic/b", payload=b"y", mid=2, qos=1, generation=0)
    _strays([first])
    _strays([second])
    _strays([second])
    assert DeadLetter.objects.count() == 2


def test_an_oversized_batch_is_refused_with_413(client, monkeypatch):
    from port2port.detection import api

    w = world()
    token = device_token_issue(actor=SYSTEM, device=w.devices["FENCE1"])
    monkeypatch.setattr(api, "MAX_BODY", 100)
    answer = client.post(
        "/api/v1/detection/ingest?format=sensor",
        data="x" * 101,
        content_type="application/x-ndjson",
        headers={"authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 413 and answer.json()["error"] == "too_large"
    assert not Event.objects.exists()


def test_a_busy_database_answers_503_and_stores_nothing(client, monkeypatch):
    from django.db import OperationalError

    from port2port.detection import ingest

    w = world()
    token = device_token_issue(actor=SYSTEM, device=w.devices["FENCE1"])

    def locked(rows, now):
        raise OperationalError("database is locked")

    monkeypatch.setattr(ingest, "_insert_events", locked)
    answer = client.post(
        "/api/v1/detection/ingest?format=sensor",
        data=sensor("fence", w.devices["FENCE1"].code, timezone.now(), "busy-1"),
        content_type="application/x-ndjson",
        headers={"authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 503 and answer.json()["error"] == "unavailable"
    assert int(answer["Retry-After"]) > 0
    assert not Event.objects.exists() and not DeadLetter.objects.exists()


def test_the_bulk_path_raises_djangos_errors_not_the_drivers():
    from django.db import DatabaseError, transaction

    from port2port.detection.ingest import insert_rows

    with pytest.raises(DatabaseError), transaction.atomic():
        insert_rows([("only-a-uid",)])


def test_switching_off_a_list_a_flight_and_a_device(client):
    from port2port.detection.models import AuthorisedFlight, Hotlist, HotlistEntry

    w = world()
    rule(w, RuleKind.DRONE)
    officer = user_in(w.authority, "port_security_officer")
    sign_in(client, officer)
    hotlist = Hotlist.objects.create(owner=w.authority, port=w.port, name="Watch", priority=30)
    HotlistEntry.objects.create(hotlist=hotlist, plate="1WAT111")
    answer = client.post(f"/detection/hotlists/{hotlist.pk}/active/", {"active": "0"})
    assert answer.status_code == 302
    read = json.dumps(
        {
            "data_type": "alpr_group",
            "camera_id": w.devices["ANPR1"].code,
            "epoch_start": int(timezone.now().timestamp() * 1000),
            "best_plate_number": "1WAT111",
            "best_uuid": "w1",
        }
    )
    assert pipeline.ingest("openalpr", [Message(read)]).raised == 0  # the list is off
    flight = AuthorisedFlight.objects.create(
        port=w.port,
        operator="Survey",
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(hours=5),
    )
    ended = client.post(f"/api/v1/detection/flights/{flight.pk}/end")
    assert ended.status_code == 200, ended.content
    pipeline._checked = 0.0
    drone = sensor("drone", w.devices["DRONE1"].code, timezone.now(), "d", drone_id="X")
    assert pipeline.ingest("sensor", [Message(drone)]).raised == 1  # no authorisation any more
    fence = w.devices["FENCE1"]
    token = device_token_issue(actor=SYSTEM, device=fence)
    client.post(f"/sites/{w.port.locode}/devices/{fence.pk}/active/", {"active": "0"})
    refused = client.post(
        "/api/v1/detection/ingest?format=sensor",
        data="",
        content_type="text/plain",
        headers={"authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 401
    assert (
        AuditRecord.objects.filter(
            action__in=[
                "detection.hotlist.active_set",
                "detection.flight.ended",
                "sites.device.active_set",
            ]
        ).count()
        == 3
    )


def test_two_workers_raising_the_same_alarm_make_one():
    from port2port.detection.ingest import Pipeline
    from port2port.detection.models import AlarmEvent

    w = world()
    rule(w, RuleKind.PERIMETER)
    fence = w.devices["FENCE1"].code
    first, second = Pipeline(publish=False), Pipeline(publish=False)
    second.detector(force=True)  # loaded before the first worker raised anything
    now = timezone.now()
    first.ingest("sensor", [Message(sensor("fence", fence, now, "w1"))])
    outcome = second.ingest("sensor", [Message(sensor("fence", fence, now, "w2"))])
    assert outcome.accepted == 1
    alarm = Alarm.objects.get()
    assert alarm.count == 2 and AlarmEvent.objects.filter(alarm=alarm).count() == 2
    # The second worker now counts further repeats into that same alarm.
    second.ingest("sensor", [Message(sensor("fence", fence, now, "w3"))])
    assert Alarm.objects.get().count == 3
