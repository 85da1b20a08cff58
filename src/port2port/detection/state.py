"""Builds the rule engine's indexes and a worker's remembered state from the database."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Max, Q
from django.utils import timezone

from port2port.access.snapshot import schedule_windows
from port2port.core.models import OrganisationKind
from port2port.sites.models import Area, Device, Zone

from .engine import DeviceInfo, Indexes, OpenAlarm, RuleInfo, rings_of
from .hotlists import HotlistIndex, ListInfo
from .models import (
    Alarm,
    AlarmState,
    AuthorisedFlight,
    Event,
    EventKind,
    Hotlist,
    HotlistEntry,
    Rule,
    RulesChange,
)

ENTRY_BATCH = 50_000
SILENCE = ("silent:", "vessel_silent:")
# Owners whose lists are the port's own business: a port that switched its hotlist rules off
# hears nothing of them (lists of police, customs and national bodies still raise alarms).
PORT_OWN_KINDS = frozenset(
    {
        OrganisationKind.PORT_AUTHORITY,
        OrganisationKind.FACILITY_OPERATOR,
        OrganisationKind.COMPANY,
    }
)


def current_seq() -> int:
    return RulesChange.objects.aggregate(seq=Max("seq"))["seq"] or 0


def changed() -> None:
    """Tell every worker to reload its indexes (devices, zones, rules, hotlists, flights)."""
    RulesChange.objects.create()


def device_info(device: Device, gate_code: str = "") -> DeviceInfo:
    position = device.position()
    return DeviceInfo(
        id=device.pk,
        code=device.code,
        kind=device.kind,
        port_id=device.port_id,
        zone_id=device.zone_id,
        gate_code=gate_code,
        owner_id=device.owner_id,
        latitude=position[0] if position else None,
        longitude=position[1] if position else None,
    )


def _entries():
    """Every entry of the active lists, read in id order a batch at a time (constant memory)."""
    last = 0
    while True:
        rows = list(
            HotlistEntry.objects.filter(id__gt=last, hotlist__active=True)
            .order_by("id")
            .values_list("hotlist_id", "id", "plate")[:ENTRY_BATCH]
        )
        if not rows:
            return
        yield from rows
        last = rows[-1][1]


def load_indexes() -> Indexes:
    seq = current_seq()
    index = Indexes(seq=seq)
    for device in Device.objects.filter(active=True).select_related("gate"):
        index.devices[device.code] = device_info(device, device.gate.code if device.gate else "")
    parents = {}
    for zone in Zone.objects.all():
        parents[zone.pk] = zone.parent_id
        index.zone_codes[(zone.port_id, zone.code.lower())] = zone.pk
        index.zone_names[zone.pk] = zone.name
        rings = rings_of(zone.geometry)
        if rings:
            index.zone_shapes[zone.pk] = rings
        if zone.restricted:
            index.restricted.setdefault(zone.port_id, []).append(zone.pk)
    for zone_id in parents:
        chain, node, seen = [], zone_id, set()
        while node is not None and node not in seen:
            chain.append(node)
            seen.add(node)
            node = parents.get(node)
        index.zone_chain[zone_id] = tuple(chain)
    for area in Area.objects.all():
        index.port_areas.setdefault(area.port_id, []).extend(rings_of(area.geometry))
    grouped: dict = {}
    present = set(Rule.objects.values_list("port_id", "kind").distinct())
    for rule in Rule.objects.filter(enabled=True).select_related("schedule"):
        info = RuleInfo(
            id=rule.pk,
            port_id=rule.port_id,
            kind=rule.kind,
            name=rule.name,
            priority=rule.priority,
            zone_id=rule.zone_id,
            schedule=schedule_windows(rule.schedule) if rule.schedule else None,
            within_seconds=rule.within_seconds,
            raise_by=rule.raise_by,
            count=rule.count,
            minutes=rule.minutes,
            suppress_seconds=rule.suppress_seconds,
            escalate_seconds=rule.escalate_seconds,
            procedure_id=rule.procedure_id,
        )
        grouped.setdefault((rule.port_id, rule.kind), []).append(info)
    index.rules = {key: tuple(value) for key, value in grouped.items()}
    index.switched_off = frozenset(present - set(grouped))
    from .services import retention_days

    index.retention = retention_days()
    lists = [
        ListInfo(
            id=h.pk,
            name=h.name,
            priority=h.priority,
            port_id=h.port_id,
            max_differences=h.max_differences,
            valid_from=h.valid_from,
            valid_until=h.valid_until,
            owner_id=h.owner_id,
            enforcement=h.owner.kind not in PORT_OWN_KINDS,
        )
        for h in Hotlist.objects.filter(active=True).select_related("owner")
    ]
    index.hotlists = HotlistIndex.build(lists, _entries()) if lists else HotlistIndex()
    now = timezone.now()
    flights: dict = {}
    for flight in AuthorisedFlight.objects.filter(ends_at__gte=now - timedelta(days=7)):
        flights.setdefault(flight.port_id, []).append(
            (flight.zone_id, flight.drone_id, flight.starts_at, flight.ends_at)
        )
    index.flights = {key: tuple(value) for key, value in flights.items()}
    return index


def open_alarms(indexes: Indexes):
    """(key, OpenAlarm) of every alarm not closed, so repeats after a restart are counted in."""
    suppress = {
        rule.id: rule.suppress_seconds for rules in indexes.rules.values() for rule in rules
    }
    rows = Alarm.objects.exclude(state=AlarmState.CLOSED).values_list(
        "id", "key", "last_at", "priority", "zone_id", "kind", "rule_id"
    )
    for alarm_id, key, last_at, priority, zone_id, kind, rule_id in rows:
        window = suppress.get(rule_id, 300)
        if key.startswith(SILENCE):
            window = 10**9
        yield key, OpenAlarm(alarm_id, last_at, priority, window, zone_id, kind)
    # A silence alarm stands for one silence: closed by an operator, it must not come back after
    # a restart while the device or vessel stays silent.
    closed = Alarm.objects.filter(
        state=AlarmState.CLOSED, closed_at__gte=timezone.now() - timedelta(days=2)
    ).filter(Q(key__startswith="silent:") | Q(key__startswith="vessel_silent:"))
    for alarm_id, key, last_at, priority, zone_id, kind in closed.values_list(
        "id", "key", "last_at", "priority", "zone_id", "kind"
    ):
        yield key, OpenAlarm(alarm_id, last_at, priority, 10**9, zone_id, kind)


def recent_vessels(minutes: int = 24 * 60):
    """The last position of each vessel seen lately, for the AIS-silence check after a restart."""
    since = timezone.now() - timedelta(minutes=minutes)
    rows = (
        Event.objects.filter(kind=EventKind.VESSEL_POSITION, at__gte=since)
        .order_by("mmsi", "-at")
        .values_list("mmsi", "at", "latitude", "longitude", "port_id", "data")
    )
    names = dict(
        Event.objects.filter(kind=EventKind.VESSEL_STATIC, at__gte=since)
        .exclude(label="")
        .order_by("at")
        .values_list("mmsi", "label")
    )
    seen = set()
    for mmsi, at, lat, lon, port_id, _data in rows.iterator(chunk_size=5000):
        if mmsi in seen:
            continue
        seen.add(mmsi)
        yield mmsi, (at, lat, lon, port_id, names.get(mmsi, ""))


def recent_people(seconds: int = 600):
    since = timezone.now() - timedelta(seconds=seconds)
    rows = Event.objects.filter(
        kind=EventKind.OBJECT_DETECTED, label="person", at__gte=since, zone__isnull=False
    ).values_list("zone_id", "at")
    latest: dict = {}
    for zone_id, at in rows:
        if zone_id not in latest or latest[zone_id] < at:
            latest[zone_id] = at
    return latest.items()
