"""Realistic device traffic for the demo ports (issue 6, part 7): `port2port simulate`.

`Traffic` makes the messages, in the formats the real devices send, and does no I/O: plate reads
at the ANPR cameras (OpenALPR `alpr_group`, Plate Recognizer results, Frigate events with a
recognised plate) of vehicles the gate lets in, an unknown vehicle (a random Belgian plate) every
~30 s, now and then the hotlisted plate 1ABC123 or its misread 1A8C123, low-confidence fence noise, routine AI-camera detections, a night intrusion every ~90 s (fence, thermal camera and
a person seen by the AI camera in one zone within 10 s), a drone every ~3 minutes, and vessels
moving through each seaport's areas, reporting by AIS (`!AIVDM` types 1 and 5, encoded by pyais)
every 10 s, one of them now and then falling silent. `Sender`s deliver the messages over MQTT or
the HTTP ingest API.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import signal
import string
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pyais.encode import encode_dict

from port2port.sites.models import DeviceKind

HOTLISTED = ("1ABC123", "1A8C123")  # the demo's wanted plate, and how a camera misreads it
HOTLIST_SECONDS = 120
UNKNOWN_SECONDS = 30
INTRUSION_SECONDS = 90
DRONE_SECONDS = 180
AIS_SECONDS = 10
STATIC_EVERY = 6  # a type 5 (static data) after every sixth position report
VESSELS_PER_PORT = 3
SILENCE_SECONDS = 420  # on average, one vessel falls silent this often
TICK_SECONDS = 0.25
STATUS_SECONDS = 10.0
MAX_CATCH_UP = 60.0  # seconds of traffic one tick makes at most (after a long pause)

# Background traffic per second at rate N: these shares of N, among the kinds whose devices exist.
MIX = (("plate", 0.6), ("object", 0.35), ("fence", 0.05))

SHIP_NAMES = (
    "SCHELDE TRADER",
    "NORTHSEA SPIRIT",
    "FLANDERS PRIDE",
    "ZEEBRUGGE EXPRESS",
    "CLIPPER POINT",
    "ELBE STAR",
    "MAAS HARMONY",
    "OSTEND BREEZE",
    "LNG BRUGGE",
    "WESTKAPELLE",
    "CAPE ANTWERP",
    "NOORDZEE",
)
PLATE_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q on Belgian plates


@dataclass(frozen=True)
class SimDevice:
    """What the simulator needs to know of a device."""

    code: str
    kind: str
    port: str  # UN/LOCODE
    zone: str = ""  # zone code
    gate: str = ""
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Outgoing:
    """One message to deliver: its format, MQTT topic, sending device and payload."""

    fmt: str
    topic: str
    device: str
    payload: bytes


@dataclass
class Vessel:
    mmsi: int
    name: str
    callsign: str
    imo: int
    port: str
    receiver: str
    box: tuple[float, float, float, float]  # lon min, lat min, lon max, lat max
    lon: float
    lat: float
    speed: float  # knots; 0: moored
    target: tuple[float, float]
    course: float = 0.0
    next_report: datetime | None = None
    reports: int = 0
    silent_until: datetime | None = None


@dataclass
class _Scheduled:
    due: datetime
    item: Outgoing
    kind: str = ""


@dataclass
class Traffic:
    """The message generator. `tick(now)` returns the messages due since the previous tick."""

    devices: list
    plates: list
    areas: dict  # port locode -> [rings of (lon, lat)] of its seaport areas
    rng: random.Random
    rate: float = 10.0
    gate_plates: dict = field(default_factory=dict)  # gate code -> plates it lets in
    counts: Counter = field(default_factory=Counter)

    def __post_init__(self):
        self.devices = list(self.devices)
        self.by_kind: dict[str, list[SimDevice]] = {}
        for device in self.devices:
            self.by_kind.setdefault(device.kind, []).append(device)
        self.plates = [p for p in self.plates if p and p not in HOTLISTED]
        self.plates = self.plates or [self._random_plate() for _ in range(50)]
        self.vessels = self._vessels()
        self._last: datetime | None = None
        self._carry = 0.0
        self._serial = 0
        self._scheduled: list[_Scheduled] = []
        self._next: dict[str, datetime] = {}

    # --- the clock ------------------------------------------------------------------------------

    def tick(self, now: datetime) -> list[Outgoing]:
        now = now.astimezone(UTC)
        if self._last is None:  # the first scenes come soon, for whoever is watching the demo
            self._last = now
            self._next = {
                "intrusion": now + timedelta(seconds=self.rng.uniform(15, 30)),
                "hotlist": now + timedelta(seconds=self.rng.uniform(20, 40)),
                "unknown": now + timedelta(seconds=self.rng.uniform(5, UNKNOWN_SECONDS)),
                "drone": now + timedelta(seconds=self.rng.uniform(40, 70)),
            }
            for vessel in self.vessels:
                vessel.next_report = now + timedelta(seconds=self.rng.uniform(0, AIS_SECONDS))
        elapsed = min(MAX_CATCH_UP, max(0.0, (now - self._last).total_seconds()))
        self._last = now
        out: list[Outgoing] = []
        self._carry += self.rate * elapsed
        count, self._carry = int(self._carry), self._carry - int(self._carry)
        kinds = [(kind, share) for kind, share in MIX if self._can(kind)]
        for _ in range(count if kinds else 0):
            kind = self.rng.choices([k for k, _ in kinds], [s for _, s in kinds])[0]
            out.append(getattr(self, f"_{kind}")(now))
            self.counts[kind] += 1
        if now >= self._next["hotlist"]:
            self._next["hotlist"] = now + self._interval(HOTLIST_SECONDS)
            if self.by_kind.get(DeviceKind.ANPR):
                out.append(self._plate(now, plate=self.rng.choice(HOTLISTED)))
                self.counts["hotlist"] += 1
        if now >= self._next["unknown"]:
            self._next["unknown"] = now + self._interval(UNKNOWN_SECONDS)
            if self.by_kind.get(DeviceKind.ANPR):
                out.append(self._plate(now, plate=self._random_plate()))
                self.counts["unknown"] += 1
        if now >= self._next["intrusion"]:
            self._next["intrusion"] = now + self._interval(INTRUSION_SECONDS)
            self._intrusion(now)
        if now >= self._next["drone"]:
            self._next["drone"] = now + self._interval(DRONE_SECONDS)
            if self.by_kind.get(DeviceKind.DRONE_DETECTOR):
                out.append(self._drone(now))
                self.counts["drone"] += 1
        due = [s for s in self._scheduled if s.due <= now]
        self._scheduled = [s for s in self._scheduled if s.due > now]
        for scheduled in sorted(due, key=lambda s: s.due):
            out.append(scheduled.item)
            self.counts[scheduled.kind] += 1
        out.extend(self._ais(now, elapsed))
        return out

    def _interval(self, mean: float) -> timedelta:
        return timedelta(seconds=max(mean / 3, self.rng.gauss(mean, mean / 6)))

    def _can(self, kind: str) -> bool:
        needs = {
            "plate": DeviceKind.ANPR,
            "object": DeviceKind.AI_CAMERA,
            "fence": DeviceKind.FENCE,
        }
        return bool(self.by_kind.get(needs[kind]))

    def _id(self, now: datetime) -> str:
        self._serial += 1
        tail = "".join(self.rng.choices(string.ascii_lowercase + string.digits, k=6))
        return f"{now.timestamp():.6f}-{tail}{self._serial}"

    # --- plates ---------------------------------------------------------------------------------

    def _random_plate(self) -> str:
        letters = "".join(self.rng.choices(PLATE_LETTERS, k=3))
        return f"{self.rng.randint(1, 8)}{letters}{self.rng.randint(0, 999):03d}"

    def _plate(self, now: datetime, *, plate: str | None = None) -> Outgoing:
        camera = self.rng.choice(self.by_kind[DeviceKind.ANPR])
        if plate is None:
            plate = self.rng.choice(self.gate_plates.get(camera.gate) or self.plates)
        shown = _dashed(plate)
        score = round(self.rng.uniform(0.78, 0.99), 3)
        builder = self.rng.choice((_openalpr, _platerecognizer, _frigate_plate))
        return builder(self, camera, now, plate, shown, score)

    # --- perimeter ------------------------------------------------------------------------------

    def _fence(self, now: datetime) -> Outgoing:
        device = self.rng.choice(self.by_kind[DeviceKind.FENCE])
        return _sensor(
            device,
            self._id(now),
            "fence",
            now,
            label=self.rng.choice(("vibration", "wind", "vibration", "cut attempt?")),
            confidence=round(self.rng.uniform(0.05, 0.35), 2),
            position=_near(self.rng, device, 0.0005),
        )

    def _object(self, now: datetime) -> Outgoing:
        camera = self.rng.choice(self.by_kind[DeviceKind.AI_CAMERA])
        label = self.rng.choice(("car", "truck", "truck", "boat", "bicycle"))
        return _frigate(self, camera, now, label, kind="new", score=self.rng.uniform(0.6, 0.95))

    def _intrusion(self, now: datetime) -> None:
        """Fence, thermal and a person on the AI camera, in one zone, within 10 seconds."""
        zones: dict[str, dict] = {}
        for kind in (DeviceKind.FENCE, DeviceKind.THERMAL, DeviceKind.AI_CAMERA):
            for device in self.by_kind.get(kind, ()):
                if device.zone:
                    zones.setdefault((device.port, device.zone), {}).setdefault(kind, device)
        if not zones:
            return
        best = max(len(found) for found in zones.values())
        key = self.rng.choice(sorted(k for k, found in zones.items() if len(found) == best))
        found = zones[key]
        self.counts["intrusion"] += 1
        fence, thermal, camera = (
            found.get(DeviceKind.FENCE),
            found.get(DeviceKind.THERMAL),
            found.get(DeviceKind.AI_CAMERA),
        )
        if fence is not None:
            at = now
            item = _sensor(
                fence,
                self._id(at),
                "fence",
                at,
                label="climbing",
                confidence=round(self.rng.uniform(0.8, 0.97), 2),
                position=_near(self.rng, fence, 0.0003),
            )
            self._scheduled.append(_Scheduled(at, item, "intrusion_fence"))
        if thermal is not None:
            at = now + timedelta(seconds=self.rng.uniform(1, 4))
            item = _sensor(
                thermal,
                self._id(at),
                "thermal",
                at,
                label="person",
                confidence=round(self.rng.uniform(0.75, 0.95), 2),
                position=_near(self.rng, thermal, 0.0003),
            )
            self._scheduled.append(_Scheduled(at, item, "intrusion_thermal"))
        if camera is not None:
            at = now + timedelta(seconds=self.rng.uniform(3, 9))
            item = _frigate(self, camera, at, "person", kind="new", score=0.9)
            self._scheduled.append(_Scheduled(at, item, "intrusion_person"))

    def _drone(self, now: datetime) -> Outgoing:
        detector = self.rng.choice(self.by_kind[DeviceKind.DRONE_DETECTOR])
        lat, lon = _near(self.rng, detector, 0.01) or (None, None)
        message = {
            "type": "drone",
            "id": f"sim-drone-{self._id(now)}",
            "device": detector.code,
            "at": now.isoformat(),
            "drone_id": "1581F" + "".join(self.rng.choices("0123456789ABCDEF", k=11)),
            "altitude_m": round(self.rng.uniform(30, 120), 1),
            "confidence": round(self.rng.uniform(0.7, 0.99), 2),
        }
        if lat is not None:
            message.update(latitude=lat, longitude=lon)
            message.update(
                pilot_latitude=round(lat - self.rng.uniform(0.002, 0.01), 6),
                pilot_longitude=round(lon - self.rng.uniform(0.002, 0.01), 6),
            )
        return Outgoing("sensor", f"sensors/{detector.code}", detector.code, _json(message))

    # --- vessels --------------------------------------------------------------------------------

    def _vessels(self) -> list[Vessel]:
        vessels = []
        used: set[int] = set()
        names = list(SHIP_NAMES)
        self.rng.shuffle(names)
        for receiver in sorted(self.by_kind.get(DeviceKind.AIS_RECEIVER, ()), key=lambda d: d.code):
            box = _box(self.areas.get(receiver.port) or ())
            if box is None:
                continue
            for n in range(VESSELS_PER_PORT):
                mmsi = 205_000_000 + self.rng.randrange(100_000, 999_999)
                while mmsi in used:
                    mmsi += 1
                used.add(mmsi)
                lon, lat = _inside(self.rng, box)
                vessels.append(
                    Vessel(
                        mmsi=mmsi,
                        name=names[len(vessels) % len(names)],
                        callsign="OR" + "".join(self.rng.choices(string.ascii_uppercase, k=2)),
                        imo=_imo(self.rng.randrange(900_000, 999_999)),
                        port=receiver.port,
                        receiver=receiver.code,
                        box=box,
                        lon=lon,
                        lat=lat,
                        speed=0.0 if n == 0 else round(self.rng.uniform(4, 12), 1),
                        target=_inside(self.rng, box),
                    )
                )
        return vessels

    def _ais(self, now: datetime, elapsed: float) -> list[Outgoing]:
        out: list[Outgoing] = []
        if self.vessels and self.rng.random() < elapsed / SILENCE_SECONDS:
            sending = [v for v in self.vessels if v.silent_until is None and v.speed > 0]
            if sending:
                vessel = self.rng.choice(sending)
                vessel.silent_until = now + timedelta(minutes=self.rng.uniform(15, 30))
                self.counts["ais_silent"] += 1
        for vessel in self.vessels:
            self._sail(vessel, elapsed)
            if vessel.silent_until is not None:
                if now < vessel.silent_until:
                    continue
                vessel.silent_until = None
            if vessel.next_report is None or now < vessel.next_report:
                continue
            vessel.next_report = now + timedelta(seconds=AIS_SECONDS)
            channel = self.rng.choice("AB")
            position = {
                "type": 1,
                "mmsi": vessel.mmsi,
                "status": 5 if vessel.speed == 0 else 0,
                "speed": vessel.speed,
                "accuracy": 1,
                "lon": round(vessel.lon, 5),
                "lat": round(vessel.lat, 5),
                "course": round(vessel.course, 1),
                "heading": int(vessel.course) % 360,
                "second": now.second,
            }
            sentences = encode_dict(
                position, talker_id="AI", sentence_type="VDM", radio_channel=channel
            )
            if vessel.reports % STATIC_EVERY == 0:
                sentences += encode_dict(
                    _static(vessel, now),
                    talker_id="AI",
                    sentence_type="VDM",
                    radio_channel=channel,
                    seq_id=vessel.reports // STATIC_EVERY % 10,
                )
            vessel.reports += 1
            for sentence in sentences:
                out.append(
                    Outgoing(
                        "ais", f"ais/{vessel.receiver}", vessel.receiver, sentence.encode("ascii")
                    )
                )
            self.counts["ais"] += len(sentences)
        return out

    def _sail(self, vessel: Vessel, seconds: float) -> None:
        if vessel.speed <= 0 or seconds <= 0:
            return
        scale = math.cos(math.radians(vessel.lat))
        step = vessel.speed * seconds / 3600 / 60  # nautical miles -> degrees of latitude
        dlon, dlat = (vessel.target[0] - vessel.lon) * scale, vessel.target[1] - vessel.lat
        distance = math.hypot(dlon, dlat)
        if distance <= step or distance == 0:
            vessel.lon, vessel.lat = vessel.target
            vessel.target = _inside(self.rng, vessel.box)
            return
        vessel.course = math.degrees(math.atan2(dlon, dlat)) % 360
        vessel.lon += dlon / distance * step / scale
        vessel.lat += dlat / distance * step


# --- payloads in the devices' own formats ---------------------------------------------------------


def _json(message: dict) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


def _dashed(plate: str) -> str:
    """1ABC123 -> 1-ABC-123, as the cameras print Belgian plates; others unchanged."""
    if len(plate) == 7 and plate[0].isdigit() and plate[1:4].isalpha() and plate[4:].isdigit():
        return f"{plate[0]}-{plate[1:4]}-{plate[4:]}"
    return plate


def _near(rng: random.Random, device: SimDevice, spread: float) -> tuple[float, float] | None:
    if device.latitude is None or device.longitude is None:
        return None
    return (
        round(device.latitude + rng.uniform(-spread, spread), 6),
        round(device.longitude + rng.uniform(-spread, spread), 6),
    )


def _sensor(device, ident, kind, at, *, label, confidence, position) -> Outgoing:
    message = {
        "type": kind,
        "id": f"sim-{kind}-{ident}",
        "device": device.code,
        "at": at.isoformat(),
        "label": label,
        "confidence": confidence,
    }
    if device.zone:
        message["zone"] = device.zone
    if position is not None:
        message["latitude"], message["longitude"] = position
    return Outgoing("sensor", f"sensors/{device.code}", device.code, _json(message))


def _openalpr(traffic, camera, now, plate, shown, score) -> Outgoing:
    ms = int(now.timestamp() * 1000)
    uuid = f"{camera.code}-{ms}-{traffic._serial}"
    traffic._serial += 1
    message = {
        "version": 2,
        "data_type": "alpr_group",
        "epoch_start": ms,
        "epoch_end": ms + traffic.rng.randint(400, 1500),
        "frame_start": traffic._serial * 30,
        "frame_end": traffic._serial * 30 + 25,
        "agent_uid": f"p2p-sim-{camera.port.lower()}",
        "agent_version": "4.1.1",
        "agent_type": "alprd",
        "camera_id": camera.code,
        "country": "eu",
        "uuids": [uuid],
        "plate_indexes": [0],
        "candidates": [
            {"plate": plate, "confidence": round(score * 100, 1), "matches_template": 1}
        ],
        "best_plate": {"plate": plate, "confidence": round(score * 100, 1), "region": "be"},
        "best_confidence": round(score * 100, 1),
        "best_plate_number": plate,
        "best_region": "be",
        "best_region_confidence": traffic.rng.randint(70, 95),
        "matches_template": True,
        "best_uuid": uuid,
        "best_index": 0,
        "travel_direction": round(traffic.rng.uniform(0, 360), 1),
        "is_parked": False,
        "is_preview": False,
    }
    if camera.latitude is not None:
        message["gps_latitude"], message["gps_longitude"] = camera.latitude, camera.longitude
    return Outgoing("openalpr", f"alpr/{camera.code}", camera.code, _json(message))


def _platerecognizer(traffic, camera, now, plate, shown, score) -> Outgoing:
    traffic._serial += 1
    vehicle = traffic.rng.choice(("Truck", "Sedan", "Van", "SUV"))
    message = {
        "processing_time": round(traffic.rng.uniform(60, 300), 3),
        "results": [
            {
                "box": {"xmin": 143, "ymin": 481, "xmax": 282, "ymax": 575},
                "plate": plate.lower(),
                "region": {"code": "be", "score": round(traffic.rng.uniform(0.6, 0.95), 3)},
                "score": score,
                "candidates": [{"score": score, "plate": plate.lower()}],
                "dscore": round(traffic.rng.uniform(0.8, 0.99), 3),
                "vehicle": {
                    "score": round(traffic.rng.uniform(0.7, 0.95), 3),
                    "type": vehicle,
                    "box": {"xmin": 60, "ymin": 210, "xmax": 900, "ymax": 760},
                },
            }
        ],
        "filename": f"{camera.code}_{int(now.timestamp() * 1000)}_{traffic._serial}.jpg",
        "version": 1,
        "camera_id": camera.code,
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    return Outgoing(
        "platerecognizer", f"platerecognizer/{camera.code}", camera.code, _json(message)
    )


def _frigate_plate(traffic, camera, now, plate, shown, score) -> Outgoing:
    return _frigate(
        traffic,
        camera,
        now,
        traffic.rng.choice(("car", "car", "truck")),
        kind="update",
        score=traffic.rng.uniform(0.8, 0.97),
        plate=(shown, score),
    )


def _frigate(traffic, camera, at, label, *, kind, score, plate=None) -> Outgoing:
    object_id = traffic._id(at)
    start = round(at.timestamp() - (traffic.rng.uniform(0.5, 3) if kind != "new" else 0), 6)
    zones = [camera.zone] if camera.zone else []
    after = {
        "id": object_id,
        "camera": camera.code,
        "frame_time": round(at.timestamp(), 6),
        "snapshot": None,
        "label": label,
        "sub_label": None,
        "top_score": round(score, 4),
        "false_positive": False,
        "start_time": start,
        "end_time": None,
        "score": round(score * 0.95, 4),
        "box": [424, 500, 536, 712],
        "area": 23744,
        "ratio": 2.11,
        "region": [264, 450, 667, 853],
        "current_zones": zones,
        "entered_zones": zones,
        "thumbnail": None,
        "has_snapshot": True,
        "has_clip": True,
        "stationary": False,
        "motionless_count": 0,
        "position_changes": 1,
        "attributes": {},
        "current_attributes": [],
    }
    if plate is not None:
        after["recognized_license_plate"], after["recognized_license_plate_score"] = plate
    before = {key: after[key] for key in ("id", "camera", "label", "start_time")}
    message = {"type": kind, "before": before if kind != "new" else {}, "after": after}
    return Outgoing("frigate", "frigate/events", camera.code, _json(message))


def _static(vessel: Vessel, now: datetime) -> dict:
    eta = now + timedelta(hours=6)
    return {
        "type": 5,
        "mmsi": vessel.mmsi,
        "ais_version": 0,
        "imo": vessel.imo,
        "callsign": vessel.callsign,
        "shipname": vessel.name,
        "ship_type": 70,
        "to_bow": 120,
        "to_stern": 40,
        "to_port": 12,
        "to_starboard": 12,
        "epfd": 1,
        "month": eta.month,
        "day": eta.day,
        "hour": eta.hour,
        "minute": eta.minute,
        "draught": 8.5,
        "destination": vessel.port,
    }


def _imo(six: int) -> int:
    """An IMO number with its check digit (the last digit is sum(digit * weight 7..2) mod 10)."""
    digits = [int(d) for d in f"{six:06d}"]
    return six * 10 + sum(d * w for d, w in zip(digits, range(7, 1, -1), strict=True)) % 10


def _box(rings: Iterable) -> tuple[float, float, float, float] | None:
    points = [p for ring in rings for p in ring]
    if not points:
        return None
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return min(lons), min(lats), max(lons), max(lats)


def _inside(rng: random.Random, box) -> tuple[float, float]:
    lon_min, lat_min, lon_max, lat_max = box
    margin_lon, margin_lat = (lon_max - lon_min) * 0.1, (lat_max - lat_min) * 0.1
    return (
        rng.uniform(lon_min + margin_lon, lon_max - margin_lon),
        rng.uniform(lat_min + margin_lat, lat_max - margin_lat),
    )


# --- the world, from the database -----------------------------------------------------------------


def world_from_database() -> tuple[list[SimDevice], list[str], dict, dict]:
    """The active devices, the demo's plates, the seaports' area outlines, and for each gate
    watched by a camera the plates it lets in now (so that the usual traffic raises no alarm)."""
    from port2port.access.models import Plate
    from port2port.core.models import PortKind
    from port2port.sites.models import Area, Device

    from .engine import rings_of

    devices = []
    for device in Device.objects.filter(active=True).select_related("port", "zone", "gate"):
        position = device.position()
        devices.append(
            SimDevice(
                code=device.code,
                kind=device.kind,
                port=device.port.locode,
                zone=device.zone.code if device.zone else "",
                gate=device.gate.code if device.gate else "",
                latitude=position[0] if position else None,
                longitude=position[1] if position else None,
            )
        )
    plates = list(Plate.objects.order_by("number").values_list("number", flat=True)[:2000])
    areas: dict = {}
    for area in Area.objects.filter(port__kind=PortKind.SEA).select_related("port"):
        areas.setdefault(area.port.locode, []).extend(rings_of(area.geometry))
    gates = {device.gate for device in devices if device.gate}
    return devices, plates, areas, _plates_by_gate(plates, gates)


def _plates_by_gate(plates: list[str], gates: Iterable[str]) -> dict[str, list[str]]:
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from port2port.access.engine import decide
    from port2port.access.snapshot import store

    snapshot = store.get()
    at = timezone.now().astimezone(ZoneInfo("Europe/Brussels"))
    return {
        gate: [p for p in plates if decide(snapshot, gate, "plate", p, "in", at).granted]
        for gate in gates
    }


# --- delivery -------------------------------------------------------------------------------------


class MqttSender:
    """Publishes each message with QoS 1 on its device's topic."""

    def __init__(self, url: str):
        import os

        import paho.mqtt.client as mqtt

        from .mqtt import Broker

        broker = Broker.from_url(url)
        self.errors = 0
        self.problems: list[str] = []
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"port2port-simulate-{os.getpid()}",
            protocol=mqtt.MQTTv311,
        )
        if broker.username:
            self.client.username_pw_set(broker.username, broker.password or None)
        if broker.tls:
            self.client.tls_set()
        self.client.max_inflight_messages_set(200)
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()
        self._last = None

    def send(self, items: list[Outgoing]) -> None:
        for item in items:
            info = self.client.publish(item.topic, item.payload, qos=1)
            if info.rc:
                self.errors += 1
                self.problems.append(f"publish to {item.topic}: error {info.rc}")
            self._last = info

    def close(self) -> None:
        if self._last is not None:
            with contextlib.suppress(RuntimeError, ValueError):  # not sent: the broker is gone
                self._last.wait_for_publish(timeout=5)
        self.client.disconnect()
        self.client.loop_stop()


class HttpSender:
    """POSTs each device's messages of one format as one batch, with the device's own token or
    its owner's gateway token (`tokens`: device code -> secret)."""

    def __init__(self, url: str, tokens: dict[str, str]):
        import requests

        self.base = url.rstrip("/")
        self.tokens = tokens
        self.session = requests.Session()
        self.errors = 0
        self.problems: list[str] = []

    def send(self, items: list[Outgoing]) -> None:
        import requests

        groups: dict[tuple[str, str], list[bytes]] = {}
        for item in items:
            groups.setdefault((item.fmt, item.device), []).append(item.payload)
        for (fmt, device), payloads in groups.items():
            token = self.tokens.get(device)
            if token is None:
                self.errors += len(payloads)
                self.problems.append(f"{device}: no token")
                continue
            try:
                response = self.session.post(
                    f"{self.base}/api/v1/detection/ingest",
                    params={"format": fmt},
                    data=b"\n".join(payloads) + b"\n",
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "text/plain" if fmt == "ais" else "application/x-ndjson",
                    },
                    timeout=10,
                )
            except requests.RequestException as exc:
                self.errors += len(payloads)
                self.problems.append(f"{fmt} from {device}: {type(exc).__name__}")
                continue
            if response.status_code != 200:
                self.errors += len(payloads)
                self.problems.append(
                    f"{fmt} from {device}: HTTP {response.status_code} {response.text[:200]}"
                )
                continue
            rejected = response.json().get("rejected") or []
            self.errors += len(rejected)
            self.problems.extend(f"{fmt} from {device}: {r.get('reason', r)}" for r in rejected[:5])

    def close(self) -> None:
        self.session.close()


class GatewayTokens:
    """Organisation API tokens (scope detection:event:ingest) for the owners of the simulated
    devices: each owner's gateway sends for its own devices, and the devices' own tokens keep
    working. The tokens expire on their own and `revoke()` ends them when the simulator stops."""

    NAME = "device simulator"

    def __init__(self, codes: Iterable[str], *, hours: float = 24.0):
        from datetime import timedelta

        from django.utils import timezone

        from port2port.core.services import token_create
        from port2port.core.visibility import SYSTEM
        from port2port.sites.models import Device

        self.tokens: dict[str, str] = {}  # device code -> secret
        self.issued: list = []
        expires = timezone.now() + timedelta(hours=hours)
        by_owner: dict = {}
        for device in Device.objects.filter(code__in=list(codes)).select_related("owner"):
            if device.owner_id not in by_owner:
                token, secret = token_create(
                    actor=SYSTEM,
                    organisation=device.owner,
                    name=self.NAME,
                    scopes=["detection:event:ingest"],
                    expires_at=expires,
                )
                self.issued.append(token)
                by_owner[device.owner_id] = secret
            self.tokens[device.code] = by_owner[device.owner_id]

    def revoke(self) -> None:
        from port2port.core.services import token_revoke
        from port2port.core.visibility import SYSTEM

        for token in self.issued:
            token_revoke(actor=SYSTEM, token=token)
        self.issued = []


def device_tokens(codes: Iterable[str]) -> dict[str, str]:
    """A new token for each device (its previous token stops working)."""
    from port2port.core.visibility import SYSTEM
    from port2port.sites.models import Device
    from port2port.sites.services import device_token_issue

    tokens = {}
    for device in Device.objects.filter(code__in=list(codes)).select_related("port", "zone"):
        tokens[device.code] = device_token_issue(actor=SYSTEM, device=device)
    return tokens


def run(
    traffic: Traffic,
    sender,
    *,
    seconds: float | None = None,
    out=print,
    stop: threading.Event | None = None,
) -> Counter:
    """Send the traffic until `seconds` have passed, `stop` is set, Ctrl+C or SIGTERM; returns the
    counts."""
    stop = stop or threading.Event()
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            handlers[signum] = signal.signal(signum, lambda *_: stop.set())
    start_clock = time.monotonic()
    start_wall = datetime.now(UTC)
    next_tick = start_clock
    last_status, sent, reported = start_clock, 0, 0
    try:
        while not stop.is_set():
            clock = time.monotonic()
            # Wall time derived from the monotonic clock: a clock step does not bunch or skip traffic.
            items = traffic.tick(start_wall + timedelta(seconds=clock - start_clock))
            sender.send(items)
            sent += len(items)
            if clock - last_status >= STATUS_SECONDS:
                _status(traffic, sender, sent - reported, clock - last_status, out)
                last_status, reported = clock, sent
            if seconds is not None and clock - start_clock >= seconds:
                break
            next_tick += TICK_SECONDS
            delay = next_tick - time.monotonic()
            if delay < -STATUS_SECONDS:  # far behind (a slow server): do not try to catch up
                next_tick = time.monotonic()
            elif delay > 0:
                stop.wait(delay)
    finally:
        sender.close()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    _status(traffic, sender, sent - reported, time.monotonic() - last_status, out)
    return traffic.counts


def _status(traffic: Traffic, sender, sent: int, seconds: float, out) -> None:
    counts = traffic.counts
    problems, sender.problems = sender.problems, []
    out(
        f"simulate: {sent} messages in {seconds:.0f} s ({sent / max(seconds, 0.001):.1f}/s);"
        f" total: plate reads {counts['plate']}, unknown {counts['unknown']},"
        f" hotlist {counts['hotlist']},"
        f" objects {counts['object']}, fence {counts['fence']},"
        f" intrusions {counts['intrusion']}, drones {counts['drone']},"
        f" AIS sentences {counts['ais']}; errors {sender.errors}"
    )
    for problem in problems[:3]:
        out(f"  {problem}")
    if len(problems) > 3:
        out(f"  … and {len(problems) - 3} more")
