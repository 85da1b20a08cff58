"""The rule engine: events in, alarm actions out, on in-memory indexes (issue 6, part 3).

`Indexes` is a read-only picture of devices, zones, rules, hotlists and authorised flights, built
from the database by `load_indexes()` and swapped whole when `RulesChange` moves on. `Detector`
holds what a worker must remember between events (open alarms by key, people seen by AI cameras,
vessel tracks, refused gate decisions) and turns each batch of events into `Actions`, which
`ingest.py` stores in the same transaction as the events. Nothing here does I/O per event, except
the access engine's snapshot (itself in memory) and the rare fetch of a hit hotlist entry.
"""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from port2port.access.engine import ScheduleWindows, _in_schedule

from .hotlists import HotlistIndex, ListInfo
from .models import EventKind, RuleKind

LOCAL = ZoneInfo("Europe/Brussels")
DEFAULT_SUPPRESS = 300
DEVICE_SILENT_PRIORITY = 100
PERSON_LABELS = frozenset({"person", "human", "people"})
MIN_CONFIDENCE = 0.5  # fence and thermal detections below this are noise, not intrusions


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: object
    code: str
    kind: str
    port_id: object
    zone_id: object
    gate_code: str
    owner_id: object
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True, slots=True)
class RuleInfo:
    id: object
    port_id: object
    kind: str
    name: str
    priority: int
    zone_id: object
    schedule: ScheduleWindows | None
    within_seconds: int
    raise_by: int
    count: int
    minutes: int
    suppress_seconds: int
    escalate_seconds: int
    procedure_id: object


@dataclass
class Indexes:
    seq: int = 0
    devices: dict = field(default_factory=dict)  # code -> DeviceInfo
    zone_chain: dict = field(default_factory=dict)  # zone id -> (zone id, parent id, ...)
    zone_codes: dict = field(default_factory=dict)  # (port id, code lower) -> zone id
    zone_names: dict = field(default_factory=dict)  # zone id -> name
    zone_shapes: dict = field(default_factory=dict)  # zone id -> [rings] for points inside
    restricted: dict = field(default_factory=dict)  # port id -> (restricted zone ids)
    port_areas: dict = field(default_factory=dict)  # port id -> [rings] of its areas
    rules: dict = field(default_factory=dict)  # (port id, kind) -> (RuleInfo, ...)
    hotlists: HotlistIndex = field(default_factory=HotlistIndex)
    flights: dict = field(default_factory=dict)  # port id -> ((zone, drone, start, end), ...)
    # (port id, kind) whose rules are all switched off: hotlist hits and silent devices raise
    # alarms in a port without such a rule, but not where its security officer switched it off.
    switched_off: frozenset = frozenset()
    retention: dict = field(default_factory=dict)  # event kind -> days kept

    def rules_for(self, port_id, kind: str) -> tuple:
        return self.rules.get((port_id, kind), ())

    def in_zone(self, zone_id, rule_zone_id) -> bool:
        return rule_zone_id is None or rule_zone_id in self.zone_chain.get(zone_id, (zone_id,))


# --- geometry -----------------------------------------------------------------------------------


def rings_of(geometry: dict | None) -> list:
    """The outer rings of a Polygon or MultiPolygon, as lists of (lon, lat)."""
    if not isinstance(geometry, dict):
        return []
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "Polygon" and coords:
        return [[tuple(p[:2]) for p in coords[0]]]
    if kind == "MultiPolygon":
        return [[tuple(p[:2]) for p in polygon[0]] for polygon in coords if polygon]
    return []


def inside(rings: list, lon: float, lat: float) -> bool:
    """Ray casting over each ring (the ports are small: no need for geodesy)."""
    for ring in rings:
        hit = False
        j = len(ring) - 1
        for i in range(len(ring)):
            xi, yi = ring[i]
            xj, yj = ring[j]
            if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
                hit = not hit
            j = i
        if hit:
            return True
    return False


# --- what a batch produces ----------------------------------------------------------------------


@dataclass
class NewAlarm:
    id: uuid.UUID
    port_id: object
    kind: str
    rule: RuleInfo | None
    hotlist_id: object
    key: str
    params: dict
    priority: int
    zone_id: object
    device_id: object
    latitude: float | None
    longitude: float | None
    at: datetime
    last_at: datetime
    count: int = 1
    links: list = field(default_factory=list)  # (event uid, at)
    notes: list = field(default_factory=list)  # (entry kind, text)


@dataclass
class AlarmUpdate:
    id: uuid.UUID
    last_at: datetime
    count: int = 0
    priority: int | None = None
    links: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    params: dict = field(default_factory=dict)  # merged into the alarm's parameters


@dataclass
class Actions:
    new: list = field(default_factory=list)
    updates: dict = field(default_factory=dict)  # alarm id -> AlarmUpdate

    def __bool__(self) -> bool:
        return bool(self.new or self.updates)


@dataclass
class OpenAlarm:
    id: uuid.UUID
    last_at: datetime
    priority: int
    suppress: int
    zone_id: object = None
    kind: str = ""
    pending: NewAlarm | None = None  # raised in the batch being built, not stored yet


@dataclass(slots=True)
class Row:
    """An event ready for the database: the adapter's event plus where it happened. `live`:
    recent enough for the rules (a late event is kept as evidence but raises nothing)."""

    uid: str
    event: object
    device: DeviceInfo
    zone_id: object
    live: bool = True


class Detector:
    """A worker's rule state. Not thread-safe: one ingest loop owns it."""

    def __init__(self, indexes: Indexes, *, open_alarms=(), vessels=(), people=()):
        self.indexes = indexes
        self.open: dict[str, OpenAlarm] = {oa_key: oa for oa_key, oa in open_alarms}
        self.person_seen: dict = dict(people)  # zone id -> last moment a person was seen
        self.vessels: dict = {}  # mmsi -> (at, lat, lon, port id, name)
        for mmsi, row in vessels:
            self.vessels[mmsi] = row
        self.names: dict = {}  # mmsi -> vessel name (from AIS static data)
        self.refusals: dict = {}  # gate code -> deque of moments
        self.actions = Actions()
        self._pending: list[str] = []  # keys of the alarms raised in the batch being built
        # What storing a batch found out (alarms closed or raised elsewhere meanwhile), applied
        # by the thread that runs the rules before its next batch (`apply_deferred`): the store
        # may run in a writer thread of its own while the rules go on (Pipeline.stream).
        self._deferred: deque = deque()
        self.entry_check = None  # callable(entry ids) -> {entry id: (plate, reason, valid_until)}
        self.access_decide = None  # callable(gate code, plate, local at) -> (granted, reasons)

    # --- alarms ---------------------------------------------------------------------------------

    def take(self) -> Actions:
        actions, self.actions = self.actions, Actions()
        for key in self._pending:
            current = self.open.get(key)
            if current is not None:
                current.pending = None
        self._pending = []
        return actions

    def raise_alarm(
        self,
        *,
        key: str,
        kind: str,
        port_id,
        at: datetime,
        priority: int,
        rule: RuleInfo | None = None,
        hotlist_id=None,
        params: dict | None = None,
        zone_id=None,
        device: DeviceInfo | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
        link: tuple | None = None,
        suppress: int | None = None,
    ) -> uuid.UUID:
        """A new alarm, or, within the suppression window, one more sighting of the open one."""
        priority = max(1, min(255, int(priority)))
        suppress = (
            (rule.suppress_seconds if rule else DEFAULT_SUPPRESS) if suppress is None else suppress
        )
        current = self.open.get(key)
        if current is not None and abs((at - current.last_at).total_seconds()) <= current.suppress:
            update = self._update(current, at)
            update.count += 1
            if link:
                update.links.append(link)
            if priority < current.priority:
                current.priority = priority
                update.priority = priority
            return current.id
        if latitude is None and device is not None:
            latitude, longitude = device.latitude, device.longitude
        alarm = NewAlarm(
            id=uuid.uuid4(),
            port_id=port_id,
            kind=kind,
            rule=rule,
            hotlist_id=hotlist_id,
            key=key,
            params=params or {},
            priority=priority,
            zone_id=zone_id,
            device_id=device.id if device else None,
            latitude=latitude,
            longitude=longitude,
            at=at,
            last_at=at,
            links=[link] if link else [],
        )
        self.actions.new.append(alarm)
        self.open[key] = OpenAlarm(alarm.id, at, priority, suppress, zone_id, kind, alarm)
        self._pending.append(key)
        return alarm.id

    def _update(self, current: OpenAlarm, at: datetime):
        if at > current.last_at:
            current.last_at = at
        if current.pending is not None:  # raised in this very batch: change it in place
            pending = current.pending
            pending.last_at = max(pending.last_at, at)
            return _PendingView(pending)
        update = self.actions.updates.get(current.id)
        if update is None:
            update = self.actions.updates[current.id] = AlarmUpdate(current.id, at)
        update.last_at = max(update.last_at, at)
        return update

    def raise_priority(
        self, current: OpenAlarm, priority: int, at: datetime, note: str, params=None
    ) -> None:
        """A more urgent priority for an open alarm, with the reason (`note`, a code the pages
        translate) and what it changes in the alarm's parameters (the summary is written from
        them)."""
        priority = max(1, priority)
        if priority >= current.priority:
            return
        current.priority = priority
        update = self._update(current, at)
        update.priority = priority
        update.notes.append(("raised_priority", note))
        if params:
            update.params.update(params)

    def defer(self, change) -> None:
        """Queue a change of the remembered alarms (a callable taking the detector)."""
        self._deferred.append(change)

    def apply_deferred(self) -> None:
        while self._deferred:
            self._deferred.popleft()(self)

    def forget(self, alarm_ids) -> None:
        """Alarms closed meanwhile (the store found them closed): a repeat raises a new one."""
        gone = set(alarm_ids)
        for key in [k for k, oa in self.open.items() if oa.id in gone]:
            del self.open[key]

    def expire(self, now: datetime) -> None:
        """Drop open alarms whose suppression window has long passed (keeps memory bounded)."""
        for key in [
            k
            for k, oa in self.open.items()
            if oa.pending is None and (now - oa.last_at).total_seconds() > oa.suppress + 60
        ]:
            del self.open[key]

    # --- events ---------------------------------------------------------------------------------

    def process(self, row: Row) -> None:
        kind = row.event.kind
        if kind == EventKind.PLATE_READ:
            self._plate(row)
        elif kind in (EventKind.FENCE_ALARM, EventKind.THERMAL_ALARM):
            self._perimeter(row)
        elif kind == EventKind.OBJECT_DETECTED:
            self._object(row)
        elif kind == EventKind.DRONE_DETECTED:
            self._drone(row)
        elif kind == EventKind.VESSEL_POSITION:
            self._vessel(row)
        elif kind == EventKind.VESSEL_STATIC and row.event.mmsi and row.event.label:
            self.names[row.event.mmsi] = row.event.label

    def _plate(self, row: Row) -> None:
        event, device = row.event, row.device
        plate = event.plate
        if not plate:
            return
        local = event.at.astimezone(LOCAL)
        today = local.date()
        hits = self.indexes.hotlists.lookup(plate, device.port_id, today)
        if hits and self.entry_check is not None:
            entries = self.entry_check([hit.entry_id for hit in hits])
            for hit in hits:
                entry = entries.get(hit.entry_id)
                if entry is None or (entry[2] is not None and entry[2] < today):
                    continue
                self._hotlist_hit(row, hit.list, entry, hit.differences)
        if device.gate_code and self.access_decide is not None:
            rules = self.indexes.rules_for(device.port_id, RuleKind.GATE_NO_RIGHT)
            if rules:
                granted, reasons = self.access_decide(device.gate_code, plate, local)
                if not granted:
                    reasons = [str(reason) for reason in reasons]
                    for rule in rules:
                        self.raise_alarm(
                            key=f"gate:{rule.id}:{device.gate_code}:{plate}",
                            kind=RuleKind.GATE_NO_RIGHT,
                            port_id=device.port_id,
                            at=event.at,
                            priority=rule.priority,
                            rule=rule,
                            params={"plate": plate, "gate": device.gate_code, "reasons": reasons},
                            zone_id=row.zone_id,
                            device=device,
                            link=(row.uid, event.at),
                        )

    def _hotlist_hit(self, row: Row, info: ListInfo, entry: tuple, diff: int) -> None:
        event, device = row.event, row.device
        if (device.port_id, RuleKind.HOTLIST) in self.indexes.switched_off and not info.enforcement:
            return  # the port's own lists are silenced; those of police and customs are not
        rules = self.indexes.rules_for(device.port_id, RuleKind.HOTLIST)
        rule = rules[0] if rules else None  # the port's hotlist rule: procedure, contacts
        self.raise_alarm(
            key=f"hotlist:{info.id}:{entry[0]}:{device.port_id}",
            kind=RuleKind.HOTLIST,
            port_id=device.port_id,
            at=event.at,
            priority=info.priority + 1,  # hotlists count 0-100 from the most urgent, alarms 1-255
            rule=rule,
            hotlist_id=info.id,
            params={
                "plate": entry[0],
                "read": event.plate,
                "list": info.name,
                "reason": entry[1],
                "differences": diff,
                "camera": device.code,
            },
            zone_id=row.zone_id,
            device=device,
            link=(row.uid, event.at),
        )

    def _perimeter(self, row: Row) -> None:
        event, device = row.event, row.device
        if event.confidence is not None and event.confidence < MIN_CONFIDENCE:
            return  # wind, birds, a passing truck: the detector itself says it is unsure
        local = event.at.astimezone(LOCAL)
        for rule in self.indexes.rules_for(device.port_id, RuleKind.PERIMETER):
            if not self.indexes.in_zone(row.zone_id, rule.zone_id):
                continue
            if rule.schedule is not None and _in_schedule(rule.schedule, local):
                continue  # working hours: movement at the fence is expected
            priority = rule.priority
            seen = self.person_seen.get(row.zone_id)
            confirmed = (
                seen is not None and abs((event.at - seen).total_seconds()) <= rule.within_seconds
            )
            if confirmed:
                priority = rule.priority - rule.raise_by
            key = f"perimeter:{rule.id}:{row.zone_id}"
            existing = self.open.get(key)
            self.raise_alarm(
                key=key,
                kind=RuleKind.PERIMETER,
                port_id=device.port_id,
                at=event.at,
                priority=priority,
                rule=rule,
                params={
                    "zone": self.indexes.zone_names.get(row.zone_id, ""),
                    "device": device.code,
                    "what": event.kind,
                    "person": confirmed,
                },
                zone_id=row.zone_id,
                device=device,
                latitude=event.latitude,
                longitude=event.longitude,
                link=(row.uid, event.at),
            )
            if confirmed and existing is not None and existing.priority > priority:
                self.raise_priority(existing, priority, event.at, "ai_person", {"person": True})

    def _object(self, row: Row) -> None:
        event = row.event
        if event.label.lower() not in PERSON_LABELS or row.zone_id is None:
            return
        chain = self.indexes.zone_chain.get(row.zone_id, (row.zone_id,))
        for zone_id in chain:
            last = self.person_seen.get(zone_id)
            if last is None or last < event.at:
                self.person_seen[zone_id] = event.at
        # An intrusion raised just before the AI camera confirmed a person: raise it now.
        for rule in self.indexes.rules_for(row.device.port_id, RuleKind.PERIMETER):
            for zone_id in chain:
                current = self.open.get(f"perimeter:{rule.id}:{zone_id}")
                if current is None:
                    continue
                if abs((event.at - current.last_at).total_seconds()) <= rule.within_seconds:
                    self.raise_priority(
                        current,
                        rule.priority - rule.raise_by,
                        event.at,
                        "ai_person",
                        {"person": True},
                    )
                    update = self._update(current, event.at)
                    update.links.append((row.uid, event.at))

    def _drone(self, row: Row) -> None:
        event, device = row.event, row.device
        drone = str(event.extra.get("drone_id") or "")
        for rule in self.indexes.rules_for(device.port_id, RuleKind.DRONE):
            if not self.indexes.in_zone(row.zone_id, rule.zone_id):
                continue
            if self._authorised(device.port_id, row.zone_id, drone, event.at):
                continue
            self.raise_alarm(
                key=f"drone:{rule.id}:{drone or device.code}",
                kind=RuleKind.DRONE,
                port_id=device.port_id,
                at=event.at,
                priority=rule.priority,
                rule=rule,
                params={"drone": drone, "device": device.code},
                zone_id=row.zone_id,
                device=device,
                latitude=event.latitude,
                longitude=event.longitude,
                link=(row.uid, event.at),
            )

    def _authorised(self, port_id, zone_id, drone: str, at: datetime) -> bool:
        for flight_zone, flight_drone, start, end in self.indexes.flights.get(port_id, ()):
            if not start <= at <= end:
                continue
            if flight_drone and flight_drone != drone:
                continue
            if flight_zone is None or flight_zone in self.indexes.zone_chain.get(
                zone_id, (zone_id,)
            ):
                return True
        return False

    def _vessel(self, row: Row) -> None:
        event = row.event
        if event.mmsi is None or event.latitude is None or event.longitude is None:
            return
        port_id = None
        for candidate, rings in self.indexes.port_areas.items():
            if inside(rings, event.longitude, event.latitude):
                port_id = candidate
                break
        name = self.names.get(event.mmsi, "")
        self.note_vessel(event.mmsi, event.at, event.latitude, event.longitude, port_id, name)
        if port_id is None:
            return
        for rule in self.indexes.rules_for(port_id, RuleKind.VESSEL_ZONE):
            zones = (
                (rule.zone_id,)
                if rule.zone_id is not None
                else self.indexes.restricted.get(port_id, ())
            )
            for zone_id in zones:
                if inside(
                    self.indexes.zone_shapes.get(zone_id, ()), event.longitude, event.latitude
                ):
                    self.raise_alarm(
                        key=f"vessel_zone:{rule.id}:{event.mmsi}:{zone_id}",
                        kind=RuleKind.VESSEL_ZONE,
                        port_id=port_id,
                        at=event.at,
                        priority=rule.priority,
                        rule=rule,
                        params={
                            "mmsi": event.mmsi,
                            "vessel": name,
                            "zone": self.indexes.zone_names.get(zone_id, ""),
                        },
                        zone_id=zone_id,
                        latitude=event.latitude,
                        longitude=event.longitude,
                        link=(row.uid, event.at),
                    )
                    break

    def note_vessel(self, mmsi: int, at: datetime, lat: float, lon: float, port_id, name: str):
        """Remember a vessel's newest position (from this worker's events or the database)."""
        previous = self.vessels.get(mmsi)
        if previous is None or previous[0] <= at:
            self.vessels[mmsi] = (at, lat, lon, port_id, name or (previous[4] if previous else ""))

    # --- checks run by the clock, not by events ---------------------------------------------------

    def check_vessels(self, now: datetime) -> None:
        """Vessels inside a port area that stopped sending AIS for the rule's minutes."""
        for mmsi, (at, lat, lon, port_id, name) in list(self.vessels.items()):
            if port_id is None:
                if now - at > timedelta(days=1):
                    del self.vessels[mmsi]
                continue
            rules = self.indexes.rules_for(port_id, RuleKind.VESSEL_SILENT)
            for rule in rules:
                key = f"vessel_silent:{rule.id}:{mmsi}:{at.isoformat()}"
                if key in self.open or (now - at).total_seconds() < rule.minutes * 60:
                    continue
                self.raise_alarm(
                    key=key,
                    kind=RuleKind.VESSEL_SILENT,
                    port_id=port_id,
                    at=now,
                    priority=rule.priority,
                    rule=rule,
                    params={"mmsi": mmsi, "vessel": name, "since": at.isoformat()},
                    latitude=lat,
                    longitude=lon,
                    suppress=10**9,  # one alarm per silence; a new position ends it
                )
            if now - at > timedelta(days=1):
                del self.vessels[mmsi]
                self.names.pop(mmsi, None)

    def gate_refused(self, gate_code: str, port_id, at: datetime, credential: str) -> None:
        """A refused gate decision (from the access decision log)."""
        for rule in self.indexes.rules_for(port_id, RuleKind.GATE_REFUSALS):
            moments = self.refusals.setdefault((rule.id, gate_code), deque())
            moments.append(at)
            window = timedelta(minutes=rule.minutes)
            while moments and at - moments[0] > window:
                moments.popleft()
            if len(moments) >= rule.count:
                self.raise_alarm(
                    key=f"refusals:{rule.id}:{gate_code}",
                    kind=RuleKind.GATE_REFUSALS,
                    port_id=port_id,
                    at=at,
                    priority=rule.priority,
                    rule=rule,
                    params={"gate": gate_code, "count": len(moments), "minutes": rule.minutes},
                )

    def device_silent(self, device: DeviceInfo, last_seen: datetime | None, now: datetime) -> None:
        if (device.port_id, RuleKind.DEVICE_SILENT) in self.indexes.switched_off:
            return
        rules = self.indexes.rules_for(device.port_id, RuleKind.DEVICE_SILENT)
        rule = rules[0] if rules else None
        key = f"silent:{device.id}:{last_seen.isoformat() if last_seen else 'never'}"
        if key in self.open:
            return
        self.raise_alarm(
            key=key,
            kind=RuleKind.DEVICE_SILENT,
            port_id=device.port_id,
            at=now,
            priority=rule.priority if rule else DEVICE_SILENT_PRIORITY,
            rule=rule,
            params={
                "device": device.code,
                "last_seen": last_seen.isoformat() if last_seen else "",
            },
            zone_id=device.zone_id,
            device=device,
            suppress=10**9,
        )


class _PendingView:
    """Lets `raise_alarm` count a repeat into an alarm raised earlier in the same batch."""

    def __init__(self, pending: NewAlarm):
        self._pending = pending

    @property
    def count(self) -> int:
        return self._pending.count

    @count.setter
    def count(self, value: int) -> None:
        self._pending.count = value

    @property
    def links(self) -> list:
        return self._pending.links

    @property
    def notes(self) -> list:
        return self._pending.notes

    @property
    def params(self) -> dict:
        return self._pending.params

    @property
    def priority(self) -> int:
        return self._pending.priority

    @priority.setter
    def priority(self, value: int) -> None:
        self._pending.priority = value

    @property
    def last_at(self) -> datetime:
        return self._pending.last_at

    @last_at.setter
    def last_at(self, value: datetime) -> None:
        self._pending.last_at = value


def utcnow() -> datetime:
    return datetime.now(UTC)
