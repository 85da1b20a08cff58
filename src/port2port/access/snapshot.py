"""Building the decision snapshot from the database and keeping it current (change feed)."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from datetime import timedelta

from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from port2port.sites.models import Area, Gate, Zone

from .engine import ScheduleWindows, Snapshot
from .models import (
    AccessChange,
    AccessGroup,
    AccessRight,
    Badge,
    GateDecision,
    Identity,
    Plate,
    PortBan,
    Schedule,
    Verification,
    Visitor,
)

POLL_SECONDS = 1.0
MISSING_SECONDS = 60.0  # how long a skipped change-feed number is waited for
# Decision-log rows read again at each poll: another worker's batch may commit after a later one
# (a journal flush holds a few hundred rows at most).
PASSAGE_LOOKBACK = 500

log = logging.getLogger(__name__)


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
    """(Re)load the map, schedules, group rights and pending visitors. Each table is built aside
    and then swapped in whole: a decision running meanwhile never sees a half-filled one."""
    parents = dict(Zone.objects.values_list("pk", "parent_id"))
    zone_chain = {}
    for zone_id in parents:
        chain, node, seen = [], zone_id, set()
        while node is not None and node not in seen:
            chain.append(node)
            seen.add(node)
            node = parents.get(node)
        zone_chain[zone_id] = tuple(chain)
    critical = set(Zone.objects.filter(critical=True).values_list("pk", flat=True))
    leads = defaultdict(list)
    for gate_id, zone_id in Gate.leads_into.through.objects.values_list("gate_id", "zone_id"):
        leads[gate_id].append(zone_id)
    gates = {
        code: (pk, tuple(leads[pk]), kind, area, port)
        for pk, code, kind, area, port in Gate.objects.values_list(
            "pk", "code", "kind", "facility__area_id", "port_id"
        )
    }
    areas = {
        pk: (mode, minutes * 60)
        for pk, mode, minutes in Area.objects.exclude(anti_passback="off").values_list(
            "pk", "anti_passback", "presence_timeout"
        )
    }
    schedules = {s.pk: schedule_windows(s) for s in Schedule.objects.all()}
    group_rights: dict = defaultdict(lambda: defaultdict(list))
    fields = ("group_id", "zone_id", "effect", "schedule_id", "valid_from", "valid_until")
    for gid, zone, effect, schedule, valid_from, valid_until in AccessRight.objects.filter(
        group__isnull=False
    ).values_list(*fields):
        group_rights[gid][zone].append((effect, schedule, valid_from, valid_until))
    pending = _read_pending()
    # the zone tables first, then what refers to them
    snap.zone_chain, snap.critical, snap.schedules = zone_chain, critical, schedules
    snap.group_rights = {
        gid: {zone: tuple(rules) for zone, rules in zones.items()}
        for gid, zones in group_rights.items()
    }
    snap.areas, snap.pending, snap.gates = areas, pending, gates


def _read_pending() -> dict:
    """Credentials of visitors announced (or rejected) but not approved, for VISITOR_NOT_APPROVED."""
    pending = defaultdict(list)
    since = timezone.now() - timedelta(days=1)
    rows = Visitor.objects.filter(
        status__in=[Visitor.Status.ANNOUNCED, Visitor.Status.REJECTED], visit__ends_at__gte=since
    ).values_list(
        "badge_number", "plate", "person_id", "visit__zone_id", "visit__starts_at", "visit__ends_at"
    )
    for badge, plate, pid, zone, starts, ends in rows:
        span = (zone, timezone.localdate(starts), timezone.localdate(ends))
        for key in (("badge", badge), ("plate", plate), ("person", pid)):
            if key[1]:
                pending[key].append(span)
    return {key: tuple(spans) for key, spans in pending.items()}


def _read_people(person_ids=None) -> dict:
    """What belongs to people, read from the database: all of it, or only `person_ids`."""

    def scoped(queryset):
        return queryset if person_ids is None else queryset.filter(person_id__in=person_ids)

    badges, plates, identities, numbers_of = {}, {}, {}, defaultdict(list)
    for number, pid, state, until in scoped(Badge.objects.all()).values_list(
        "number", "person_id", "state", "valid_until"
    ):
        badges[number] = (pid, state, until)
        numbers_of[pid].append(("badge", number))
    for number, pid, until in scoped(Plate.objects.all()).values_list(
        "number", "person_id", "valid_until"
    ):
        plates[number] = (pid, until)
        numbers_of[pid].append(("plate", number))
    for subject, pid in scoped(Identity.objects.filter(oidc_subject__isnull=False)).values_list(
        "oidc_subject", "person_id"
    ):
        identities[subject] = pid
        numbers_of[pid].append(("identity", subject))
    bans = defaultdict(list)
    for pid, start, end in scoped(PortBan.objects.all()).values_list(
        "person_id", "starts_on", "ends_on"
    ):
        bans[pid].append((start, end))
    verifications: dict = {}
    for pid, until in scoped(
        Verification.objects.filter(status=Verification.Status.POSITIVE)
    ).values_list("person_id", "valid_until"):
        latest = verifications.get(pid, (True, None))[1]
        verifications[pid] = (
            True,
            until if latest is None or (until is not None and until > latest) else latest,
        )
    groups = defaultdict(list)
    for pid, gid in scoped(AccessGroup.members.through.objects.all()).values_list(
        "person_id", "accessgroup_id"
    ):
        groups[pid].append(gid)
    rights: dict = defaultdict(lambda: defaultdict(list))
    fields = ("person_id", "zone_id", "effect", "schedule_id", "valid_from", "valid_until")
    for pid, zone, effect, schedule, valid_from, valid_until in scoped(
        AccessRight.objects.filter(person__isnull=False)
    ).values_list(*fields):
        rights[pid][zone].append((effect, schedule, valid_from, valid_until))
    return {
        "badges": badges,
        "plates": plates,
        "identities": identities,
        "numbers_of": dict(numbers_of),
        "bans": {pid: tuple(v) for pid, v in bans.items()},
        "verifications": verifications,
        "groups_of": {pid: tuple(gids) for pid, gids in groups.items()},
        "rights": {
            pid: {zone: tuple(rules) for zone, rules in zones.items()}
            for pid, zones in rights.items()
        },
    }


PER_PERSON = ("bans", "verifications", "rights", "groups_of")


def _load_people(snap: Snapshot, person_ids=None) -> None:
    """(Re)load what belongs to people: all of it, or only `person_ids`. Everything is read
    first; only then are these people's entries replaced, one person at a time."""
    fresh = _read_people(person_ids)
    if person_ids is None:
        for name, table in fresh.items():
            setattr(snap, name, table)
        return
    by_kind = {"badge": snap.badges, "plate": snap.plates, "identity": snap.identities}
    for pid in person_ids:
        for kind, number in snap.numbers_of.get(pid, ()):
            if (kind, number) not in fresh["numbers_of"].get(pid, ()):
                by_kind[kind].pop(number, None)
        for kind, number in fresh["numbers_of"].get(pid, ()):
            table = fresh[{"badge": "badges", "plate": "plates", "identity": "identities"}[kind]]
            by_kind[kind][number] = table[number]
        for name in PER_PERSON:
            value = fresh[name].get(pid)
            if value is None:
                getattr(snap, name).pop(pid, None)
            else:
                getattr(snap, name)[pid] = value
        if pid in fresh["numbers_of"]:
            snap.numbers_of[pid] = fresh["numbers_of"][pid]
        else:
            snap.numbers_of.pop(pid, None)


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


def _passages(since_id: int = 0, since_at=None):
    """Granted passages of known people from the decision log (every node writes it), but this
    process's own: it noted them when it decided."""
    from .journal import own_segment

    rows = GateDecision.objects.filter(granted=True, person__isnull=False, id__gt=since_id)
    mine = own_segment()
    if mine:
        rows = rows.exclude(uid__startswith=f"{mine}-")
    if since_at is not None:
        rows = rows.filter(at__gte=since_at)
    return rows.order_by("id").values_list("id", "person_id", "gate_code", "direction", "at")


class SnapshotStore:
    """The process's snapshot: built once, then brought up to date at most every POLL_SECONDS.

    It also keeps who is inside which anti-passback area (`presence`), from this process's own
    decisions at once and from every other node's through the decision log."""

    def __init__(self):
        self._lock = threading.Lock()
        self._snap: Snapshot | None = None
        self._seq = 0
        self._missing: dict = {}  # change-feed numbers not seen yet -> when first missed
        self._checked = 0.0
        self._follower: threading.Thread | None = None
        self.presence: dict = {}
        self._passage_id = 0

    def reset(self) -> None:
        with self._lock:
            self._snap, self._seq, self._checked = None, 0, 0.0
            self._missing, self._follower = {}, None
            self.presence, self._passage_id = {}, 0

    def _note_gaps(self, seen: set, below: int, now: float) -> None:
        """Numbers under the newest seen that did not come: a transaction that took its number
        earlier may commit later, so they are asked for again until MISSING_SECONDS pass."""
        for seq in range(below + 1, max(seen, default=below)):
            if seq not in seen and seq not in self._missing:
                self._missing[seq] = now
        for seq in [s for s, t in self._missing.items() if now - t > MISSING_SECONDS]:
            del self._missing[seq]

    def note_passage(self, person_id, gate_code: str, direction: str, at) -> None:
        """Remember a granted passage through a gate of an anti-passback area."""
        snap = self._snap
        if snap is None or not snap.areas or person_id is None:
            return
        gate = snap.gates.get(gate_code)
        if gate is None or gate[3] not in snap.areas:
            return
        key = (person_id, gate[3])
        last = self.presence.get(key)
        if last is None or last[1] <= at:
            self.presence[key] = (direction, at)

    def _load_passages(self, first: bool) -> None:
        snap = self._snap
        if not snap.areas:  # no area uses anti-passback: only follow the log's position
            self._passage_id = (
                GateDecision.objects.order_by("-id").values_list("id", flat=True).first() or 0
            )
            return
        since_at = None
        if first:
            longest = max(timeout for _mode, timeout in snap.areas.values())
            since_at = timezone.now() - timedelta(seconds=longest)
        since_id = max(0, self._passage_id - PASSAGE_LOOKBACK)  # late commits of other workers
        for row_id, pid, gate_code, direction, at in _passages(since_id, since_at):
            self.note_passage(pid, gate_code, direction, at)
            self._passage_id = max(self._passage_id, row_id)

    def get(self, *, force_check: bool = False) -> Snapshot:
        now = time.monotonic()
        fresh = self._follower is not None or now - self._checked < POLL_SECONDS
        if self._snap is not None and not force_check and fresh:
            return self._snap  # kept current by the follower thread, or fresh enough
        with self._lock:
            if self._snap is None:
                self._snap, self._seq = build_snapshot()
                recent = set(
                    AccessChange.objects.filter(seq__gt=self._seq - 1000).values_list(
                        "seq", flat=True
                    )
                )
                self._note_gaps(recent | {self._seq + 1}, max(0, self._seq - 1000), now)
                self._load_passages(first=True)
                if POLL_SECONDS > 0 and self._follower is None:
                    self._follow()
            else:
                try:
                    self._apply_changes(now)
                    self._load_passages(first=False)
                except DatabaseError:  # the database is away: keep deciding on what we have
                    log.warning("access snapshot: change feed unreachable; retrying", exc_info=True)
            self._checked = now
            return self._snap

    def _follow(self) -> None:
        """Poll the change feed in a thread of its own, so that no gate request waits for it."""
        from django.db import close_old_connections

        def run() -> None:
            while self._follower is not None:
                time.sleep(POLL_SECONDS)
                try:
                    self.get(force_check=True)
                except Exception:
                    log.exception("access snapshot: refresh failed; retrying")
                finally:
                    close_old_connections()

        self._follower = threading.Thread(target=run, name="access-snapshot", daemon=True)
        self._follower.start()

    def _apply_changes(self, now: float) -> None:
        wanted = Q(seq__gt=self._seq)
        if self._missing:
            wanted |= Q(seq__in=list(self._missing))
        changes = list(AccessChange.objects.filter(wanted).values_list("seq", "person_id"))
        if not changes:
            self._note_gaps(set(), self._seq, now)
            return
        seen = {seq for seq, _ in changes}
        for seq in seen:
            self._missing.pop(seq, None)
        people = {pid for _, pid in changes}
        if None in people:  # the map itself changed (zones, gates, schedules, visitors)
            _load_map(self._snap)
            people.discard(None)
        if people:
            _load_people(self._snap, people)
        newest = max(seen | {self._seq})
        self._note_gaps(seen | {newest + 1}, self._seq, now)
        self._seq = newest


store = SnapshotStore()
