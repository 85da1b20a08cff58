"""The demo traffic generator: every message it makes is one the adapters read, and the scenes the
control room should see (intrusion, hotlist, drone, AIS with multi-part static data) are there."""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from pyais import decode

from port2port.detection.adapters import ais, frigate, openalpr, platerecognizer, sensors
from port2port.detection.simulate import (
    HOTLISTED,
    SHIP_NAMES,
    SimDevice,
    Traffic,
    world_from_database,
)
from port2port.sites.models import DeviceKind

START = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)  # 02:00 in Zeebrugge: a night
RING = [(3.13, 51.305), (3.25, 51.305), (3.25, 51.365), (3.13, 51.365), (3.13, 51.305)]


def devices(port: str = "BEZEE", facility: str = "BEZEE-0001") -> list[SimDevice]:
    quay, yard = f"{facility}-QUAY", f"{facility}-YARD"
    return [
        SimDevice(f"{facility}-ANPR1", DeviceKind.ANPR, port, quay, f"{facility}-G1", 51.33, 3.19),
        SimDevice(f"{facility}-AI1", DeviceKind.AI_CAMERA, port, quay, "", 51.331, 3.191),
        SimDevice(f"{facility}-THERM1", DeviceKind.THERMAL, port, quay, "", 51.332, 3.192),
        SimDevice(f"{facility}-FENCE1", DeviceKind.FENCE, port, quay, "", 51.333, 3.193),
        SimDevice(f"{facility}-FENCE2", DeviceKind.FENCE, port, yard, "", 51.334, 3.194),
        SimDevice(f"{port}-DRONE1", DeviceKind.DRONE_DETECTOR, port, "", "", 51.335, 3.195),
        SimDevice(f"{port}-AIS1", DeviceKind.AIS_RECEIVER, port, "", "", None, None),
    ]


def run(traffic: Traffic, seconds: int, step: float = 1.0):
    out = []
    for n in range(int(seconds / step) + 1):
        now = START + timedelta(seconds=n * step)
        out.extend((now, item) for item in traffic.tick(now))
    return out


@pytest.fixture(scope="module")
def ten_minutes():
    traffic = Traffic(devices(), ["2XYZ789", "1DEF456"], {"BEZEE": [RING]}, random.Random(7))
    return traffic, run(traffic, 600)


JSON_ADAPTERS = {
    "frigate": frigate.parse_event,
    "frigate-review": frigate.parse_review,
    "openalpr": openalpr.parse,
    "platerecognizer": platerecognizer.parse,
    "sensor": sensors.parse,
}


def test_every_message_is_read_by_its_adapter(ten_minutes):
    _traffic, out = ten_minutes
    assembler = ais.AisAssembler(received_at=START)
    events = []
    for _now, item in out:
        if item.fmt == "ais":
            events.extend(assembler.feed(item.payload))
        else:
            found = JSON_ADAPTERS[item.fmt](item.payload)
            assert found, item
            assert all(event.device == item.device for event in found)
            events.extend(found)
    assert assembler.incomplete() == []
    kinds = Counter(event.kind for event in events)
    assert set(kinds) == {
        "plate_read",
        "object_detected",
        "fence_alarm",
        "thermal_alarm",
        "drone_detected",
        "vessel_position",
        "vessel_static",
    }
    ids = [(e.source, e.device, e.source_id) for e in events if e.source != "ais"]
    assert len(ids) == len(set(ids)), "every message has its own id: none is taken for a redelivery"


def test_rate_is_kept(ten_minutes):
    traffic, out = ten_minutes
    background = sum(traffic.counts[k] for k in ("plate", "object", "fence"))
    assert background == pytest.approx(10 * 600, rel=0.01)
    formats = Counter(item.fmt for _now, item in out)
    assert {"openalpr", "platerecognizer", "frigate", "sensor", "ais"} <= set(formats)


def test_plate_reads_come_in_three_formats_with_hotlisted_plate_now_and_then(ten_minutes):
    _traffic, out = ten_minutes
    reads = []
    for _now, item in out:
        if item.fmt in {"openalpr", "platerecognizer", "frigate"}:
            reads += [e for e in JSON_ADAPTERS[item.fmt](item.payload) if e.kind == "plate_read"]
    assert {read.source for read in reads} == {"openalpr", "platerecognizer", "frigate"}
    assert {read.device for read in reads} == {"BEZEE-0001-ANPR1"}
    wanted = [read for read in reads if read.plate in HOTLISTED]
    assert 3 <= len(wanted) <= 7  # about once every two minutes
    assert {"2XYZ789", "1DEF456"} <= {read.plate for read in reads}


def test_night_intrusion_fence_thermal_and_person_in_one_zone_within_ten_seconds(ten_minutes):
    _traffic, out = ten_minutes
    fences, thermals, people = [], [], []
    for _now, item in out:
        if item.fmt == "sensor":
            message = json.loads(item.payload)
            if message["type"] == "fence" and message["confidence"] >= 0.8:
                fences.append((datetime.fromisoformat(message["at"]), message["zone"]))
            elif message["type"] == "thermal":
                thermals.append((datetime.fromisoformat(message["at"]), message["zone"]))
        elif item.fmt == "frigate":
            event = frigate.parse_event(item.payload)[0]
            if event.label == "person":
                people.append((event.at, event.zones[0]))
    assert 5 <= len(fences) <= 9  # every ~90 s
    for at, zone in fences:
        assert zone == "BEZEE-0001-QUAY"  # the zone with a fence, a thermal and an AI camera
        assert any(
            z == zone and timedelta(0) <= t - at <= timedelta(seconds=10) for t, z in thermals
        )
        assert any(z == zone and timedelta(0) <= t - at <= timedelta(seconds=10) for t, z in people)
    noise = [
        json.loads(item.payload)
        for _now, item in out
        if item.fmt == "sensor" and b'"fence"' in item.payload
    ]
    assert sum(1 for m in noise if m["confidence"] < 0.5) > 100  # the fence's everyday noise


def test_drones_every_few_minutes_with_their_serial(ten_minutes):
    _traffic, out = ten_minutes
    drones = [
        sensors.parse(item.payload)[0]
        for _now, item in out
        if item.fmt == "sensor" and b'"drone"' in item.payload
    ]
    assert 2 <= len(drones) <= 5
    assert all(
        d.extra["drone_id"].startswith("1581F") and d.device == "BEZEE-DRONE1" for d in drones
    )


def test_ais_positions_inside_the_port_and_static_data_in_two_parts(ten_minutes):
    traffic, out = ten_minutes
    sentences = [item for _now, item in out if item.fmt == "ais"]
    assert all(item.topic == "ais/BEZEE-AIS1" for item in sentences)
    lines = [item.payload.decode() for item in sentences]
    assert all(line.startswith("!AIVDM,") for line in lines)
    positions, statics = [], []
    index = 0
    while index < len(lines):
        count = int(lines[index].split(",")[1])
        message = decode(*lines[index : index + count]).asdict()
        index += count
        (positions if message["msg_type"] == 1 else statics).append((count, message))
    assert {count for count, _ in statics} == {2} and {count for count, _ in positions} == {1}
    vessels = {m["mmsi"] for _, m in positions}
    assert len(traffic.vessels) == 3 and all(
        205_000_000 <= v.mmsi < 206_000_000 for v in traffic.vessels
    )
    assert len(vessels) >= 2 and vessels <= {v.mmsi for v in traffic.vessels}  # one may be silent
    for _, message in positions:
        assert 3.13 <= message["lon"] <= 3.25 and 51.305 <= message["lat"] <= 51.365
    assert {m["shipname"] for _, m in statics} <= set(SHIP_NAMES)
    moving = [m for _, m in positions if m["speed"] > 0]
    first, last = moving[0], [m for m in moving if m["mmsi"] == moving[0]["mmsi"]][-1]
    assert (first["lat"], first["lon"]) != (last["lat"], last["lon"])  # it sails


def test_a_vessel_falls_silent_now_and_then():
    traffic = Traffic(devices(), [], {"BEZEE": [RING]}, random.Random(3))
    out = run(traffic, 3600, step=5)
    reports: dict = {}
    for now, item in out:
        if item.fmt == "ais" and item.payload.startswith(b"!AIVDM,1,1"):
            mmsi = decode(item.payload.decode()).asdict()["mmsi"]
            reports.setdefault(mmsi, []).append(now)
    longest = max(
        max((b - a for a, b in itertools.pairwise(times)), default=timedelta(0))
        for times in reports.values()
    )
    assert traffic.counts["ais_silent"] >= 1 and longest >= timedelta(minutes=15)


def test_kinds_without_devices_are_left_out():
    only_fences = [d for d in devices() if d.kind == DeviceKind.FENCE]
    traffic = Traffic(only_fences, [], {}, random.Random(1), rate=5)
    out = run(traffic, 200)
    assert out and {item.fmt for _now, item in out} == {"sensor"}
    assert traffic.vessels == []


def test_gate_cameras_read_the_plates_the_gate_lets_in_and_an_unknown_one_now_and_then():
    gate = "BEZEE-0001-G1"
    traffic = Traffic(
        devices(),
        ["2XYZ789", "1DEF456"],
        {},
        random.Random(11),
        gate_plates={gate: ["7GHK001"]},
    )
    reads = Counter()
    for _now, item in run(traffic, 300):
        if item.fmt in {"openalpr", "platerecognizer", "frigate"}:
            for event in JSON_ADAPTERS[item.fmt](item.payload):
                if event.kind == "plate_read":
                    reads[event.plate] += 1
    assert reads["7GHK001"] == traffic.counts["plate"] > 1000
    assert "2XYZ789" not in reads  # has no right at this gate
    unknown = set(reads) - {"7GHK001", *HOTLISTED}
    assert len(unknown) == traffic.counts["unknown"] and 5 <= len(unknown) <= 15


@pytest.mark.django_db
def test_the_world_comes_from_the_database():
    from port2port.access.models import AccessRight, Plate
    from tests.core.factories import PersonFactory
    from tests.detection.factories import world

    w = world("BEZEE")
    allowed, other = PersonFactory(organisation=w.authority), PersonFactory()
    Plate.objects.create(person=allowed, number="7GHK001")
    Plate.objects.create(person=other, number="7GHK002")
    AccessRight.objects.create(person=allowed, zone=w.quay)
    found, plates, areas, gate_plates = world_from_database()
    codes = {d.code: d for d in found}
    assert set(codes) == {device.code for device in w.devices.values()}
    anpr = codes["BEZEE-ANPR1"]
    assert (anpr.kind, anpr.port, anpr.zone, anpr.gate) == (
        "anpr",
        "BEZEE",
        "BEZEE-QUAY",
        "BEZEE-G1",
    )
    assert anpr.latitude == pytest.approx(51.33) and areas["BEZEE"]
    assert plates == ["7GHK001", "7GHK002"] and gate_plates == {"BEZEE-G1": ["7GHK001"]}
    traffic = Traffic(found, plates, areas, random.Random(5), gate_plates=gate_plates)
    assert len(traffic.vessels) == 3
    assert run(traffic, 60)


@pytest.mark.django_db
def test_over_http_the_owners_gateways_send_and_the_devices_keep_their_tokens(client):
    from django.utils import timezone

    from port2port.core.visibility import SYSTEM
    from port2port.detection.simulate import GatewayTokens
    from port2port.sites.models import Device
    from port2port.sites.services import device_token_issue
    from tests.detection.factories import sensor, world

    w = world("BEZEE")
    fence = w.devices["FENCE1"]
    own = device_token_issue(actor=SYSTEM, device=fence)
    gateways = GatewayTokens(d.code for d in w.devices.values())
    assert len(gateways.issued) == 1  # one owner, one gateway token
    assert set(gateways.tokens) == {d.code for d in w.devices.values()}

    def post(token, ident):
        return client.post(
            "/api/v1/detection/ingest?format=sensor",
            data=sensor("fence", fence.code, timezone.now(), ident),
            content_type="application/x-ndjson",
            headers={"authorization": f"Bearer {token}"},
        )

    assert post(gateways.tokens[fence.code], "sim-1").json()["accepted"] == 1
    assert post(own, "own-1").json()["accepted"] == 1  # the device's own token still works
    gateways.revoke()
    assert post(gateways.tokens[fence.code], "sim-2").status_code == 401
    assert Device.objects.get(pk=fence.pk).token_prefix == own.split("_")[1]
