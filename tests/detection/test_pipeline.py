"""The ingest pipeline and the rules: events in, alarms out, stored once."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from port2port.access.models import GateDecision, Schedule
from port2port.core.models import AuditRecord, OrganisationKind
from port2port.detection import jobs
from port2port.detection.engine import Row
from port2port.detection.ingest import Message, event_uid, pipeline
from port2port.detection.models import (
    Alarm,
    AlarmEntry,
    AlarmEvent,
    AlarmState,
    AlarmStep,
    AuthorisedFlight,
    Contact,
    DeadLetter,
    Delivery,
    Event,
    Hotlist,
    HotlistEntry,
    RuleKind,
)
from port2port.detection.services import alarm_close
from tests.core.factories import OrganisationFactory, user_in

from .factories import procedure, rule, sensor, world

pytestmark = pytest.mark.django_db
NIGHT = timezone.now().replace(hour=2, minute=14, second=0, microsecond=0) - timedelta(days=1)


def lines(*items: str) -> list[Message]:
    return [Message(item, f"line {n}") for n, item in enumerate(items, start=1)]


def plate_read(camera: str, plate: str, at, ident: str) -> str:
    return json.dumps(
        {
            "data_type": "alpr_group",
            "camera_id": camera,
            "epoch_start": int(at.timestamp() * 1000),
            "best_plate_number": plate,
            "best_confidence": 91.0,
            "best_uuid": ident,
        }
    )


def test_night_intrusion_raises_one_alarm_with_its_procedure_and_repeats_update_it():
    w = world()
    sop = procedure(w, "Look at the nearest camera", "Send the patrol", "Call the police")
    perimeter = rule(w, RuleKind.PERIMETER, priority=40, procedure=sop, suppress_seconds=300)
    fence = w.devices["FENCE1"].code
    outcome = pipeline.ingest("sensor", lines(sensor("fence", fence, NIGHT, "f-1")))
    assert (outcome.accepted, outcome.raised) == (1, 1)
    alarm = Alarm.objects.get()
    assert (alarm.kind, alarm.priority, alarm.state, alarm.rule) == (
        RuleKind.PERIMETER,
        40,
        AlarmState.NEW,
        perimeter,
    )
    assert alarm.zone == w.quay and alarm.latitude is not None  # the device's place
    assert list(AlarmStep.objects.filter(alarm=alarm).values_list("text", flat=True)) == [
        "Look at the nearest camera",
        "Send the patrol",
        "Call the police",
    ]
    assert AuditRecord.objects.filter(action="detection.alarm.raised").count() == 1
    # The same fence again a minute later: the open alarm counts it, no second alarm.
    later = NIGHT + timedelta(minutes=1)
    outcome = pipeline.ingest("sensor", lines(sensor("fence", fence, later, "f-2")))
    assert (outcome.raised, outcome.updated) == (0, 1)
    alarm.refresh_from_db()
    assert (alarm.count, alarm.last_at) == (2, later)
    assert AlarmEvent.objects.filter(alarm=alarm).count() == 2


def test_a_person_seen_by_an_ai_camera_raises_the_priority():
    w = world()
    rule(w, RuleKind.PERIMETER, priority=60, raise_by=30, within_seconds=60)
    fence, ai = w.devices["FENCE1"].code, w.devices["AI1"].code
    pipeline.ingest("sensor", lines(sensor("fence", fence, NIGHT, "f-1")))
    person = json.dumps(
        {
            "type": "new",
            "before": {},
            "after": {
                "id": "1740791650.1-abc",
                "camera": ai,
                "label": "person",
                "start_time": (NIGHT + timedelta(seconds=20)).timestamp(),
                "top_score": 0.9,
                "current_zones": [w.quay.code],
            },
        }
    )
    outcome = pipeline.ingest("frigate", [Message(person, "frigate/events")])
    assert outcome.accepted == 1
    alarm = Alarm.objects.get()
    assert alarm.priority == 30
    assert AlarmEntry.objects.filter(alarm=alarm, kind="raised_priority").exists()
    assert alarm.params["person"] is True  # the summary says so from now on
    # A thermal alert in the same zone shortly after keeps the raised priority.
    thermal = w.devices["THERM1"].code
    pipeline.ingest("sensor", lines(sensor("thermal", thermal, NIGHT + timedelta(seconds=40), "t")))
    alarm.refresh_from_db()
    assert (alarm.priority, alarm.count) == (30, 2)


def test_inside_working_hours_the_fence_is_quiet():
    w = world()
    always = Schedule.objects.create(
        name="24/7", windows=[{"day": d, "start": "00:00", "end": "23:59"} for d in range(7)]
    )
    rule(w, RuleKind.PERIMETER, schedule=always)
    outcome = pipeline.ingest(
        "sensor", lines(sensor("fence", w.devices["FENCE1"].code, NIGHT, "x"))
    )
    assert (outcome.accepted, outcome.raised) == (1, 0)
    assert not Alarm.objects.exists()


def test_after_closing_a_repeat_raises_a_new_alarm():
    w = world()
    rule(w, RuleKind.PERIMETER)
    fence = w.devices["FENCE1"].code
    pipeline.ingest("sensor", lines(sensor("fence", fence, NIGHT, "a")))
    officer = user_in(w.authority, "port_security_officer")
    alarm_close(actor=officer, alarm=Alarm.objects.get(), report="Fox in the fence.")
    pipeline.ingest("sensor", lines(sensor("fence", fence, NIGHT + timedelta(seconds=30), "b")))
    assert Alarm.objects.count() == 2
    assert Alarm.objects.filter(state=AlarmState.NEW).count() == 1


def test_redelivered_messages_are_stored_once_and_raise_nothing_again():
    w = world()
    rule(w, RuleKind.PERIMETER)
    batch = lines(sensor("fence", w.devices["FENCE1"].code, NIGHT, "same"))
    first = pipeline.ingest("sensor", batch)
    pipeline.reset()  # a restarted worker
    second = pipeline.ingest("sensor", batch + batch)
    assert (first.accepted, second.accepted, second.duplicates) == (1, 0, 2)
    assert Event.objects.count() == 1
    assert Alarm.objects.get().count == 1


def test_a_uid_another_worker_stored_meanwhile_is_skipped_and_the_batch_stored():
    """The bulk insert itself skips a uid stored between the batch's check and its insert (on
    PostgreSQL the COPY fails on it and the batch goes through a temporary table)."""
    from django.db import transaction

    from port2port.detection.ingest import event_params, insert_rows

    w = world()
    fence = w.devices["FENCE1"].code
    pipeline.ingest("sensor", lines(sensor("fence", fence, NIGHT, "taken")))
    detector = pipeline.detector()
    rows, now = [], timezone.now()
    for ident in ("taken", "free-1", "free-2"):
        (event,) = pipeline.parse("sensor", Message(sensor("fence", fence, NIGHT, ident)), now)[0]
        info = detector.indexes.devices[fence]
        rows.append(Row(event_uid(event), event, info, info.zone_id))
    with transaction.atomic():
        insert_rows(event_params(rows, now))
        assert Event.objects.count() == 3  # and the transaction is still usable
    assert sorted(Event.objects.values_list("uid", flat=True)) == sorted(r.uid for r in rows)


def test_bad_input_goes_to_dead_letters_with_the_reason_and_the_rest_is_stored():
    w = world()
    good = sensor("fence", w.devices["FENCE1"].code, NIGHT, "ok")
    outcome = pipeline.ingest(
        "sensor",
        lines(
            good,
            "{not json",
            sensor("fence", "NO-SUCH-DEVICE", NIGHT, "u"),
            json.dumps({"type": "fence", "id": "z", "device": "x"}),
        ),
    )
    assert outcome.accepted == 1
    reasons = [reason for _where, reason in outcome.rejected]
    assert len(reasons) == 3
    assert "not valid JSON" in reasons[0]
    assert "unknown device 'NO-SUCH-DEVICE'" in reasons[1]
    assert "missing field 'at'" in reasons[2]
    assert DeadLetter.objects.count() == 3
    assert DeadLetter.objects.filter(payload="{not json").exists()


def test_a_device_token_sends_only_for_its_own_organisation():
    from port2port.detection.state import device_info

    w = world()
    other = world()
    sender = device_info(w.devices["FENCE1"])
    outcome = pipeline.ingest(
        "sensor",
        lines(
            sensor("fence", other.devices["FENCE1"].code, NIGHT, "1"),
            sensor("fence", w.devices["THERM1"].code, NIGHT, "2"),
            json.dumps({"type": "fence", "id": "3", "device": "", "at": NIGHT.isoformat()}),
        ),
        device=sender,
    )
    assert outcome.accepted == 1  # its colleague the thermal camera; the other port's is refused
    assert "is not one of the sender's organisation" in outcome.rejected[0][1]
    assert Event.objects.get().device_code == w.devices["THERM1"].code


def test_hotlist_hit_with_look_alike_characters_in_any_port():
    w = world()
    elsewhere = world()
    police = OrganisationFactory(kind=OrganisationKind.POLICE, ports=[])
    stolen = Hotlist.objects.create(owner=police, name="Stolen trucks", priority=10)
    HotlistEntry.objects.create(hotlist=stolen, plate="1ABC123", reason="stolen truck")
    camera = elsewhere.devices["ANPR1"].code
    outcome = pipeline.ingest("openalpr", lines(plate_read(camera, "1-A8C-123", NIGHT, "r1")))
    assert outcome.raised == 1
    alarm = Alarm.objects.get()
    assert (alarm.kind, alarm.priority, alarm.hotlist, alarm.port) == (
        RuleKind.HOTLIST,
        11,
        stolen,
        elsewhere.port,
    )
    assert alarm.params["plate"] == "1ABC123" and alarm.params["read"] == "1A8C123"
    assert w.port != elsewhere.port


def test_hotlist_allowed_differences_validity_and_port():
    w = world()
    other = world()
    owner = w.authority
    exact = Hotlist.objects.create(owner=owner, name="Exact", priority=50, port=w.port)
    fuzzy = Hotlist.objects.create(owner=owner, name="Fuzzy", priority=20, max_differences=1)
    expired = Hotlist.objects.create(
        owner=owner, name="Old", priority=5, valid_until=NIGHT.date() - timedelta(days=1)
    )
    HotlistEntry.objects.create(hotlist=exact, plate="2XYZ999")
    HotlistEntry.objects.create(hotlist=fuzzy, plate="1KLM456")
    HotlistEntry.objects.create(hotlist=expired, plate="1OLD111")
    HotlistEntry.objects.create(
        hotlist=fuzzy, plate="1GONE11", valid_until=NIGHT.date() - timedelta(days=2)
    )
    camera, other_camera = w.devices["ANPR1"].code, other.devices["ANPR1"].code
    reads = [
        (camera, "1KLM457", "a"),  # one difference: a fuzzy hit
        (camera, "1KLN457", "b"),  # two differences: no hit
        (camera, "2XYZ998", "c"),  # the exact list allows none
        (other_camera, "2XYZ999", "d"),  # the exact list is bound to the first port
        (camera, "1OLD111", "e"),  # the list has expired
        (camera, "1GONE11", "f"),  # the entry has expired
    ]
    pipeline.ingest("openalpr", lines(*(plate_read(c, p, NIGHT, i) for c, p, i in reads)))
    assert [(a.hotlist.name, a.params["read"]) for a in Alarm.objects.all()] == [
        ("Fuzzy", "1KLM457")
    ]
    assert Alarm.objects.get().params["differences"] == 1


def test_plate_at_a_gate_without_a_valid_right():
    w = world()
    rule(w, RuleKind.GATE_NO_RIGHT, priority=30)
    camera = w.devices["ANPR1"].code
    outcome = pipeline.ingest("openalpr", lines(plate_read(camera, "9ZZZ999", NIGHT, "g")))
    assert outcome.raised == 1
    alarm = Alarm.objects.get()
    assert alarm.params["gate"] == w.gate.code
    assert alarm.params["reasons"] == ["UNKNOWN_CREDENTIAL"]


def test_drone_without_authorised_flight_and_with_one():
    w = world()
    rule(w, RuleKind.DRONE, priority=20)
    detector = w.devices["DRONE1"].code
    AuthorisedFlight.objects.create(
        port=w.port,
        operator="Survey BV",
        drone_id="OK-1",
        starts_at=NIGHT - timedelta(hours=1),
        ends_at=NIGHT + timedelta(hours=1),
    )
    from port2port.detection.state import changed

    changed()
    outcome = pipeline.ingest(
        "sensor",
        lines(
            sensor("drone", detector, NIGHT, "d1", drone_id="OK-1"),
            sensor("drone", detector, NIGHT, "d2", drone_id="ROGUE-7"),
        ),
    )
    assert (outcome.accepted, outcome.raised) == (2, 1)
    assert Alarm.objects.get().params["drone"] == "ROGUE-7"


def _ais_position(mmsi: int, lat: float, lon: float) -> str:
    from pyais.encode import encode_dict

    return encode_dict(
        {"msg_type": 1, "mmsi": mmsi, "lat": lat, "lon": lon, "speed": 3.0, "course": 90.0},
        radio_channel="A",
    )[0]


def test_vessel_in_a_restricted_zone_and_a_silent_vessel():
    w = world()
    rule(w, RuleKind.VESSEL_ZONE, priority=25)
    rule(w, RuleKind.VESSEL_SILENT, priority=70, minutes=15)
    receiver = w.devices["AIS1"].code
    inside_lng = _ais_position(205123000, 51.36, 3.23)  # inside the LNG basin
    in_port = _ais_position(205999000, 51.33, 3.19)
    outcome = pipeline.ingest(
        "ais", [Message(inside_lng + "\n" + in_port, "http")], default_device=receiver
    )
    assert outcome.accepted == 2
    assert [a.kind for a in Alarm.objects.all()] == [RuleKind.VESSEL_ZONE]
    assert Alarm.objects.get().params["mmsi"] == 205123000
    clock = jobs.Clock()
    clock.tick(now=timezone.now() + timedelta(minutes=5))
    assert Alarm.objects.count() == 1
    clock.tick(now=timezone.now() + timedelta(minutes=20))
    silent = Alarm.objects.filter(kind=RuleKind.VESSEL_SILENT)
    assert sorted(a.params["mmsi"] for a in silent) == [205123000, 205999000]
    clock.tick(now=timezone.now() + timedelta(minutes=25))
    assert silent.count() == 2  # one alarm per silence, not one per tick


def test_refused_gate_decisions_in_a_row():
    w = world()
    rule(w, RuleKind.GATE_REFUSALS, priority=45, count=3, minutes=5)
    clock = jobs.Clock()
    clock.tick()
    now = timezone.now()
    for n in range(3):
        GateDecision.objects.create(
            gate=w.gate,
            gate_code=w.gate.code,
            credential_kind="badge",
            credential=f"B{n}",
            direction="in",
            at=now + timedelta(seconds=n),
            granted=False,
            reasons=["UNKNOWN_CREDENTIAL"],
        )
    clock.tick()
    alarm = Alarm.objects.get()
    assert (alarm.kind, alarm.params["count"], alarm.params["gate"]) == (
        RuleKind.GATE_REFUSALS,
        3,
        w.gate.code,
    )


def test_a_silent_device_raises_one_alarm():
    w = world()
    fence = w.devices["FENCE1"]
    fence.silent_after = 10
    fence.save()
    pipeline.ingest("sensor", lines(sensor("fence", fence.code, timezone.now(), "alive")))
    pipeline.flush()
    clock = jobs.Clock()
    clock.tick(now=timezone.now() + timedelta(minutes=5))
    assert not Alarm.objects.exists()
    clock.tick(now=timezone.now() + timedelta(minutes=11))
    clock.tick(now=timezone.now() + timedelta(minutes=12))
    alarm = Alarm.objects.get()
    assert (alarm.kind, alarm.params["device"]) == (RuleKind.DEVICE_SILENT, fence.code)


def test_unacknowledged_alarm_escalates_to_the_next_person():
    w = world()
    perimeter = rule(w, RuleKind.PERIMETER, escalate_seconds=60)
    operator = user_in(w.authority, "control_room_operator", email="op@example.org")
    chief = user_in(w.authority, "port_security_officer", email="chief@example.org")
    Contact.objects.create(rule=perimeter, level=0, channel="email", user=operator)
    Contact.objects.create(rule=perimeter, level=1, channel="email", user=chief)
    Contact.objects.create(rule=perimeter, level=1, channel="webhook", url="http://127.0.0.1:9/h")
    pipeline.ingest("sensor", lines(sensor("fence", w.devices["FENCE1"].code, NIGHT, "e")))
    alarm = Alarm.objects.get()
    assert list(Delivery.objects.values_list("target", "level")) == [("op@example.org", 0)]
    assert jobs.escalate_due(now=alarm.escalate_at - timedelta(seconds=1)) == 0
    assert jobs.escalate_due(now=alarm.escalate_at + timedelta(seconds=1)) == 1
    assert sorted(Delivery.objects.filter(level=1).values_list("target", flat=True)) == [
        "chief@example.org",
        "http://127.0.0.1:9/h",
    ]
    alarm.refresh_from_db()
    assert alarm.escalation_level == 1 and alarm.escalate_at is None  # nobody above level 1
    assert AlarmEntry.objects.filter(alarm=alarm, kind="escalated").exists()


def test_retention_purges_old_plate_reads_only():
    w = world()
    old = timezone.now() - timedelta(days=20)  # within the 30 days a plate read is kept
    pipeline.ingest(
        "openalpr",
        lines(
            plate_read(w.devices["ANPR1"].code, "1ABC123", old, "old"),
            plate_read(w.devices["ANPR1"].code, "1ABC124", timezone.now(), "new"),
        ),
    )
    pipeline.ingest("sensor", lines(sensor("fence", w.devices["FENCE1"].code, old, "fence-old")))
    assert Event.objects.count() == 3
    counts = jobs.purge(now=timezone.now() + timedelta(days=15))  # the old read is 35 days old
    assert counts == {"plate_read": 1}
    assert sorted(Event.objects.values_list("kind", flat=True)) == ["fence_alarm", "plate_read"]
    assert AuditRecord.objects.filter(action="detection.retention.purged").exists()


# --- late and stale input, switched-off rules, who sent a dead letter ------------------------------


def test_a_late_event_is_stored_but_raises_nothing(settings):
    settings.DETECTION_LATE_SECONDS = 3600
    w = world()
    rule(w, RuleKind.PERIMETER)
    fence = w.devices["FENCE1"].code
    old = timezone.now() - timedelta(hours=5)  # a fence controller sending its backlog
    outcome = pipeline.ingest("sensor", lines(sensor("fence", fence, old, "backlog-1")))
    assert (outcome.accepted, outcome.late, outcome.raised) == (1, 1, 0)
    assert Event.objects.get().uid.endswith("backlog-1") and not Alarm.objects.exists()
    recent = timezone.now() - timedelta(minutes=10)
    outcome = pipeline.ingest("sensor", lines(sensor("fence", fence, recent, "now-1")))
    assert (outcome.accepted, outcome.late, outcome.raised) == (1, 0, 1)


def test_an_event_older_than_its_retention_is_a_dead_letter():
    w = world()
    rule(w, RuleKind.PERIMETER)
    years_ago = timezone.now() - timedelta(days=3650)
    outcome = pipeline.ingest(
        "sensor", lines(sensor("fence", w.devices["FENCE1"].code, years_ago, "2016"))
    )
    assert outcome.accepted == 0 and not Alarm.objects.exists()
    assert "older than the 365 days fence_alarm events are kept" in outcome.rejected[0][1]
    assert DeadLetter.objects.get().reason == outcome.rejected[0][1]


def test_a_switched_off_hotlist_rule_silences_the_ports_own_lists_in_its_port_only():
    from port2port.detection.models import Rule

    w = world()
    elsewhere = world()
    own = Hotlist.objects.create(owner=w.authority, name="Banned trucks", priority=30)
    HotlistEntry.objects.create(hotlist=own, plate="1ABC123", reason="banned")
    police = OrganisationFactory(kind=OrganisationKind.POLICE, ports=[])
    stolen = Hotlist.objects.create(owner=police, name="Stolen trucks", priority=10)
    HotlistEntry.objects.create(hotlist=stolen, plate="2XYZ789", reason="stolen truck")
    off = rule(w, RuleKind.HOTLIST, enabled=False)
    read = plate_read(w.devices["ANPR1"].code, "1ABC123", NIGHT, "r1")
    assert pipeline.ingest("openalpr", lines(read)).raised == 0
    # The police's list is not the port's to silence.
    read = plate_read(w.devices["ANPR1"].code, "2XYZ789", NIGHT, "r1p")
    assert pipeline.ingest("openalpr", lines(read)).raised == 1
    assert Alarm.objects.get(port=w.port).hotlist == stolen
    # No hotlist rule at all in the other port: the list's own priority, no procedure.
    read = plate_read(elsewhere.devices["ANPR1"].code, "1ABC123", NIGHT, "r2")
    assert pipeline.ingest("openalpr", lines(read)).raised == 1
    Rule.objects.filter(pk=off.pk).update(enabled=True)
    from port2port.detection.state import changed

    changed()
    pipeline.reset()
    read = plate_read(w.devices["ANPR1"].code, "1ABC123", NIGHT, "r3")
    assert pipeline.ingest("openalpr", lines(read)).raised == 1
    assert Alarm.objects.filter(port=w.port, hotlist=own).get().rule_id == off.pk


def test_a_switched_off_silent_device_rule_raises_nothing():
    w = world()
    rule(w, RuleKind.DEVICE_SILENT, enabled=False)
    fence = w.devices["FENCE1"]
    fence.silent_after = 10
    fence.save()
    pipeline.ingest("sensor", lines(sensor("fence", fence.code, timezone.now(), "alive")))
    pipeline.flush()
    clock = jobs.Clock()
    clock.tick(now=timezone.now() + timedelta(minutes=11))
    clock.tick(now=timezone.now() + timedelta(minutes=12))
    assert not Alarm.objects.exists()


def test_dead_letters_name_their_sender_and_its_port():
    w = world()
    outcome = pipeline.ingest(
        "sensor",
        [Message("{broken", "mqtt:sensors/x")],
        default_device=w.devices["FENCE1"].code,
        sender="mqtt port2port-ingest",
    )
    assert len(outcome.rejected) == 1
    letter = DeadLetter.objects.get()
    assert (letter.sender, letter.port) == ("mqtt port2port-ingest", w.port)
    # From nobody we know (no device of ours): no port, platform admins only.
    pipeline.ingest("sensor", [Message("{broken again", "x")], sender="someone")
    assert DeadLetter.objects.get(sender="someone").port is None


def test_a_device_that_never_sent_is_silent_from_its_registration():
    from port2port.sites.models import Device

    w = world()
    fence = w.devices["FENCE1"]
    Device.objects.filter(pk=fence.pk).update(silent_after=10, last_seen_at=None)
    clock = jobs.Clock()
    clock.tick(now=timezone.now() + timedelta(minutes=5))
    assert not Alarm.objects.filter(kind=RuleKind.DEVICE_SILENT).exists()
    clock.tick(now=timezone.now() + timedelta(minutes=11))
    clock.tick(now=timezone.now() + timedelta(minutes=12))
    alarm = Alarm.objects.get(kind=RuleKind.DEVICE_SILENT, params__device=fence.code)
    assert alarm.params["last_seen"] == ""  # never


# --- the stream: a writer thread stores while the next batch is read ------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_stream_stores_every_batch_once_in_order_and_reports_each(database_on_file):
    from port2port.detection.ingest import Job, Pipeline

    w = world()
    rule(w, RuleKind.PERIMETER, suppress_seconds=3600)
    fence = w.devices["FENCE1"].code
    at = timezone.now() - timedelta(minutes=5)
    jobs_in = [
        Job("sensor", lines(*(sensor("fence", fence, at, f"s{b}-{n}") for n in range(50))), token=b)
        for b in range(6)
    ]
    # The last batch repeats one message of the one before it, which is still being stored.
    jobs_in[5].messages.append(Message(sensor("fence", fence, at, "s4-7"), "again"))
    reported = []
    total = Pipeline().stream(jobs_in, on_stored=lambda job, out: reported.append(job.token))
    assert reported == [0, 1, 2, 3, 4, 5]
    assert (total.accepted, total.duplicates) == (300, 1)
    assert Event.objects.count() == 300
    alarm = Alarm.objects.get()  # one intrusion, counted 300 times
    assert alarm.count == 300 and AlarmEvent.objects.filter(alarm=alarm).count() == 300


@pytest.mark.django_db(transaction=True)
def test_a_stream_stores_a_failed_batch_again_and_goes_on(monkeypatch, database_on_file):
    from django.db import OperationalError

    from port2port.detection import ingest
    from port2port.detection.ingest import Job, Pipeline

    w = world()
    rule(w, RuleKind.PERIMETER, suppress_seconds=3600)
    fence = w.devices["FENCE1"].code
    at = timezone.now() - timedelta(minutes=5)
    real = ingest._insert_events
    calls = []

    def flaky(rows, now):
        calls.append(len(rows))
        if len(calls) == 2:  # the second batch, in the writer thread
            raise OperationalError("database is locked")
        return real(rows, now)

    monkeypatch.setattr(ingest, "_insert_events", flaky)
    jobs_in = [
        Job("sensor", lines(*(sensor("fence", fence, at, f"s{b}-{n}") for n in range(20))), token=b)
        for b in range(4)
    ]
    reported = []
    total = Pipeline().stream(jobs_in, on_stored=lambda job, out: reported.append(job.token))
    assert reported == [0, 1, 2, 3] and total.accepted == 80
    assert Event.objects.count() == 80 and Event.objects.values("uid").distinct().count() == 80
    alarm = Alarm.objects.get()
    assert alarm.count == 80  # nothing counted twice, nothing lost


@pytest.mark.django_db(transaction=True)
def test_a_stream_counts_repeats_into_an_alarm_another_worker_raised(monkeypatch, database_on_file):
    """The first batch raises an alarm another worker already holds; the next batch, judged
    while the first was being stored, still names the raised alarm: its repeat must count
    into the other worker's alarm, not vanish."""
    import threading

    from port2port.detection import ingest
    from port2port.detection.ingest import Job, Pipeline

    w = world()
    rule(w, RuleKind.PERIMETER, suppress_seconds=3600)
    fence = w.devices["FENCE1"].code
    at = timezone.now() - timedelta(minutes=5)
    worker = Pipeline(publish=False)
    worker.detector(force=True)  # loaded before the other worker raised anything
    Pipeline(publish=False).ingest("sensor", lines(sensor("fence", fence, at, "other")))
    real = ingest._insert_events
    judged = threading.Event()

    def slow(rows, now):  # the first batch is stored only once the second has been judged
        if rows and rows[0].uid.endswith("mine-0"):
            judged.wait(5)
        return real(rows, now)

    real_prepare = Pipeline._prepare

    def prepare(self, *args):
        batch = real_prepare(self, *args)
        if any(row.uid.endswith("mine-1") for row in batch.rows):
            judged.set()
        return batch

    monkeypatch.setattr(ingest, "_insert_events", slow)
    monkeypatch.setattr(Pipeline, "_prepare", prepare)
    jobs_in = [
        Job("sensor", lines(sensor("fence", fence, at, f"mine-{n}")), token=n) for n in range(3)
    ]
    total = worker.stream(jobs_in)
    assert total.accepted == 3 and total.raised == 0
    alarm = Alarm.objects.get()
    assert alarm.count == 4  # the other worker's read and all three of ours
    assert AlarmEvent.objects.filter(alarm=alarm).count() == 4


def test_the_same_broken_message_from_two_ports_is_a_dead_letter_for_each():
    first, second = world("BEZEE"), world("BEANR")
    for w in (first, second, first):
        pipeline.ingest(
            "sensor",
            [Message("{broken", "http")],
            default_device=w.devices["FENCE1"].code,
            sender="http gateway",
        )
    assert sorted(DeadLetter.objects.values_list("port__locode", flat=True)) == sorted(
        [first.port.locode, second.port.locode]
    )


def test_a_batch_that_fails_while_judged_leaves_nothing_behind(monkeypatch):
    """The database fails during the rules (a hotlist entry looked up): the batch stores
    nothing, the answer says so, and sending it again counts each read once."""
    from django.db import OperationalError

    from port2port.detection import ingest
    from port2port.detection.ingest import Pipeline

    w = world()
    police = OrganisationFactory(kind=OrganisationKind.POLICE, ports=[])
    stolen = Hotlist.objects.create(owner=police, name="Stolen trucks", priority=10)
    HotlistEntry.objects.create(hotlist=stolen, plate="1ABC123", reason="stolen truck")
    camera = w.devices["ANPR1"].code
    reads = lines(*(plate_read(camera, "1ABC123", NIGHT, f"r{n}") for n in range(2)))
    real, calls = ingest._entries, []

    def locked_once(entry_ids):
        calls.append(entry_ids)
        if len(calls) == 2:  # the second read of the first attempt
            raise OperationalError("database is locked")
        return real(entry_ids)

    monkeypatch.setattr(ingest, "_entries", locked_once)
    worker = Pipeline(publish=False)
    with pytest.raises(OperationalError):
        worker.ingest("openalpr", reads)
    assert not Event.objects.exists() and not Alarm.objects.exists()
    outcome = worker.ingest("openalpr", reads)
    assert (outcome.accepted, outcome.raised) == (2, 1)
    assert Alarm.objects.get().count == 2
    # Nothing of the failed attempt is stored with the next, unrelated batch either.
    fence = w.devices["FENCE1"].code
    worker.ingest("sensor", lines(sensor("fence", fence, timezone.now(), "other")))
    assert Alarm.objects.count() == 1 and Alarm.objects.get().count == 2


@pytest.mark.django_db(transaction=True)
def test_a_stream_finishes_the_batch_in_hand_when_nothing_more_comes(database_on_file):
    """A `None` job: the source has nothing now (a broker waiting for acknowledgements)."""
    from port2port.detection.ingest import Job, Pipeline

    w = world()
    fence = w.devices["FENCE1"].code
    at = timezone.now() - timedelta(minutes=5)
    reported, seen_when_idle = [], []

    def jobs_in():
        yield Job("sensor", lines(sensor("fence", fence, at, "idle-1")), token=1)
        yield None
        seen_when_idle.extend(reported)  # reported before the source is asked again
        yield Job("sensor", lines(sensor("fence", fence, at, "idle-2")), token=2)

    total = Pipeline(publish=False).stream(
        jobs_in(), on_stored=lambda job, out: reported.append(job.token)
    )
    assert seen_when_idle == [1] and reported == [1, 2] and total.accepted == 2
