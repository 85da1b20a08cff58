"""Building the decision snapshot from the database and keeping it current (change feed)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from django.db import transaction

from port2port.sites.models import Gate, Zone

from .engine import ScheduleWindows, Snapshot
from .models import AccessChange, AccessRight, Badge, Plate, PortBan, Schedule, Verification

POLL_SECONDS = 1.0


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def schedule_windows(schedule: Schedule) -> ScheduleWindows:
    from datetime import date

    windows = tuple(
        (int(w["day"]), _minutes(w["start"]), _minutes(w["end"])) for w in schedule.windows
    )
    return ScheduleWindows(windows, frozenset(date.fromisoformat(d) for d in schedule.holidays))


def _load_map(snap: Snapshot) -> None:
    parents = dict(Zone.objects.values_list("pk", "parent_id"))
    snap.zone_chain = {}
    for zone_id in parents:
        chain, node, seen = [], zone_id, set()
        while node is not None and node not in seen:
            chain.append(node)
            seen.add(node)
            node = parents.get(node)
        snap.zone_chain[zone_id] = tuple(chain)
    snap.critical = set(Zone.objects.filter(critical=True).values_list("pk", flat=True))
    leads = defaultdict(list)
    for gate_id, zone_id in Gate.leads_into.through.objects.values_list("gate_id", "zone_id"):
        leads[gate_id].append(zone_id)
    snap.gates = {
        code: (pk, tuple(leads[pk]), kind)
        for pk, code, kind in Gate.objects.values_list("pk", "code", "kind")
    }
    snap.schedules = {s.pk: schedule_windows(s) for s in Schedule.objects.all()}


def _load_people(snap: Snapshot, person_ids=None) -> None:
    """(Re)load what belongs to people: all of it, or only `person_ids`."""

    def scoped(queryset):
        return queryset if person_ids is None else queryset.filter(person_id__in=person_ids)

    if person_ids is not None:  # forget these people, through the index: no scan of the rest
        for pid in person_ids:
            for mapping in (snap.bans, snap.verifications, snap.rights):
                mapping.pop(pid, None)
            for kind, number in snap.numbers_of.pop(pid, ()):
                (snap.badges if kind == "badge" else snap.plates).pop(number, None)
    for number, pid, state, until in scoped(Badge.objects.all()).values_list(
        "number", "person_id", "state", "valid_until"
    ):
        snap.badges[number] = (pid, state, until)
        snap.numbers_of.setdefault(pid, []).append(("badge", number))
    for number, pid, until in scoped(Plate.objects.all()).values_list(
        "number", "person_id", "valid_until"
    ):
        snap.plates[number] = (pid, until)
        snap.numbers_of.setdefault(pid, []).append(("plate", number))
    bans = defaultdict(list)
    for pid, start, end in scoped(PortBan.objects.all()).values_list(
        "person_id", "starts_on", "ends_on"
    ):
        bans[pid].append((start, end))
    snap.bans.update({pid: tuple(v) for pid, v in bans.items()})
    for pid, until in scoped(
        Verification.objects.filter(status=Verification.Status.POSITIVE)
    ).values_list("person_id", "valid_until"):
        latest = snap.verifications.get(pid, (True, None))[1]
        snap.verifications[pid] = (
            True,
            until if latest is None or (until is not None and until > latest) else latest,
        )
    rights: dict = defaultdict(lambda: defaultdict(list))
    fields = ("person_id", "zone_id", "effect", "schedule_id", "valid_from", "valid_until")
    for pid, zone, effect, schedule, valid_from, valid_until in scoped(
        AccessRight.objects.all()
    ).values_list(*fields):
        rights[pid][zone].append((effect, schedule, valid_from, valid_until))
    for pid, zones in rights.items():
        snap.rights[pid] = {zone: tuple(rules) for zone, rules in zones.items()}


def build_snapshot() -> tuple[Snapshot, int]:
    """A complete snapshot and the change-feed position it includes."""
    with transaction.atomic():
        last = AccessChange.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        snap = Snapshot()
        _load_map(snap)
        _load_people(snap)
    return snap, last


def change_record(person_id=None) -> None:
    """Call in every service that changes what a decision depends on (inside its transaction)."""
    AccessChange.objects.create(person_id=person_id)


class SnapshotStore:
    """The process's snapshot: built once, then brought up to date at most every POLL_SECONDS."""

    def __init__(self):
        self._lock = threading.Lock()
        self._snap: Snapshot | None = None
        self._seq = 0
        self._checked = 0.0

    def reset(self) -> None:
        with self._lock:
            self._snap, self._seq, self._checked = None, 0, 0.0

    def get(self, *, force_check: bool = False) -> Snapshot:
        now = time.monotonic()
        if self._snap is not None and not force_check and now - self._checked < POLL_SECONDS:
            return self._snap
        with self._lock:
            if self._snap is None:
                self._snap, self._seq = build_snapshot()
            else:
                changes = list(
                    AccessChange.objects.filter(seq__gt=self._seq).values_list("seq", "person_id")
                )
                if changes:
                    people = {pid for _, pid in changes}
                    if None in people:  # the map itself changed (zones, gates, schedules)
                        _load_map(self._snap)
                        people.discard(None)
                    if people:
                        _load_people(self._snap, people)
                    self._seq = max(seq for seq, _ in changes)
            self._checked = now
            return self._snap


store = SnapshotStore()
