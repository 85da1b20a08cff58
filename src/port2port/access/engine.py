"""The gate decision engine: a pure function over an in-memory snapshot (issue 5, part 7).

`decide()` touches only plain dicts and tuples, so a decision costs microseconds. The snapshot is
built from the database by `build_snapshot()` and kept current by `SnapshotStore`, which applies
the change feed (`AccessChange`) person by person. `reference_decide()` in `reference.py` answers
the same question straight from the database and the rules; a property test compares the two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from .models import Reason

CREDENTIAL_KINDS = ("badge", "plate", "identity")
REASON_ORDER = {reason: n for n, reason in enumerate(Reason)}  # reasons come in one fixed order
DIRECTIONS = ("in", "out")


@dataclass(frozen=True)
class ScheduleWindows:
    windows: tuple  # (weekday, start_minute, end_minute)
    holidays: frozenset  # dates on which no window applies


@dataclass
class Snapshot:
    gates: dict = field(
        default_factory=dict
    )  # code -> (gate id, (zone ids), kind, area id, port id)
    areas: dict = field(default_factory=dict)  # area id -> (anti-passback mode, timeout seconds)
    zone_chain: dict = field(default_factory=dict)  # zone id -> (zone id, parent id, ...)
    critical: set = field(default_factory=set)  # zone ids flagged critical
    badges: dict = field(default_factory=dict)  # number -> (person id, state, valid_until)
    plates: dict = field(default_factory=dict)  # plate -> (person id, valid_until)
    identities: dict = field(default_factory=dict)  # itsme/OpenID subject -> person id
    numbers_of: dict = field(default_factory=dict)  # person id -> [badge and plate keys] (updates)
    bans: dict = field(default_factory=dict)  # person id -> ((start, end), ...)
    verifications: dict = field(
        default_factory=dict
    )  # person id -> (has any positive, latest valid_until)
    rights: dict = field(
        default_factory=dict
    )  # person id -> {zone id: ((effect, schedule id, from, until), ...)}
    schedules: dict = field(default_factory=dict)  # schedule id -> ScheduleWindows
    groups_of: dict = field(default_factory=dict)  # person id -> (group id, ...)
    group_rights: dict = field(default_factory=dict)  # group id -> {zone id: (rules, ...)}
    pending: dict = field(
        default_factory=dict
    )  # ("badge"|"plate"|"person", key) -> ((zone id, first day, last day), ...) of visits not approved


@dataclass(frozen=True)
class Decision:
    granted: bool
    reasons: tuple
    person_id: object = None
    gate_id: object = None


def _in_schedule(schedule: ScheduleWindows | None, at: datetime) -> bool:
    if schedule is None:
        return True
    if at.date() in schedule.holidays:
        return False
    weekday, minute = at.weekday(), at.hour * 60 + at.minute
    return any(day == weekday and start <= minute < end for day, start, end in schedule.windows)


def _rules_for(snap: Snapshot, person_id) -> list:
    """The person's own rules and those of their groups: [{zone id: rules}, ...]."""
    own = snap.rights.get(person_id)
    found = [own] if own else []
    for group_id in snap.groups_of.get(person_id, ()):
        rules = snap.group_rights.get(group_id)
        if rules:
            found.append(rules)
    return found


def _pending_for(snap: Snapshot, keys, chain, today: date) -> bool:
    """Is one of these credentials announced, not approved, for a visit into this zone today?"""
    for key in keys:
        for zone_id, first, last in snap.pending.get(key, ()):
            if zone_id in chain and first <= today <= last:
                return True
    return False


def _zone_reasons(snap: Snapshot, person_id, zone_id, at: datetime, today: date, keys=()) -> list:
    chain = snap.zone_chain.get(zone_id, (zone_id,))
    rule_sets = _rules_for(snap, person_id)
    in_period, in_time = False, False
    for zone in chain:
        for effect, schedule_id, valid_from, valid_until in (
            rule for rules in rule_sets for rule in rules.get(zone, ())
        ):
            if (valid_from is not None and at < valid_from) or (
                valid_until is not None and at >= valid_until
            ):
                continue
            scheduled = _in_schedule(snap.schedules.get(schedule_id), at)
            if effect == "deny":
                if scheduled:
                    return [Reason.DENIED_BY_RULE]  # deny beats grant
                continue
            in_period = True
            in_time = in_time or scheduled
    reasons = []
    if not in_period:
        pending = _pending_for(snap, keys, chain, today)
        reasons.append(Reason.VISITOR_NOT_APPROVED if pending else Reason.NO_RIGHT)
    elif not in_time:
        reasons.append(Reason.OUTSIDE_SCHEDULE)
    if any(zone in snap.critical for zone in chain):
        has_positive, valid_until = snap.verifications.get(person_id, (False, None))
        if not has_positive:
            reasons.append(Reason.VERIFICATION_MISSING)
        elif valid_until is None or valid_until < today:
            reasons.append(Reason.VERIFICATION_EXPIRED)
    return reasons


def _unknown(snap: Snapshot, kind: str, value: str, zones, today: date, gate_id) -> Decision:
    for zone_id in zones:
        if _pending_for(snap, ((kind, value),), snap.zone_chain.get(zone_id, (zone_id,)), today):
            return Decision(False, (Reason.VISITOR_NOT_APPROVED,), None, gate_id)
    return Decision(False, (Reason.UNKNOWN_CREDENTIAL,), None, gate_id)


def passback(snap: Snapshot, presence: dict, person_id, area_id, at: datetime) -> str | None:
    """The anti-passback mode ("soft" or "hard") when this entry is a second one into the area
    without an exit in between, inside the area's presence timeout; None otherwise."""
    mode, timeout = snap.areas.get(area_id, ("off", 0))
    if mode == "off":
        return None
    last = presence.get((person_id, area_id))
    if last is None:
        return None
    direction, when = last
    if direction == "in" and 0 <= (at - when).total_seconds() < timeout:
        return mode
    return None


def decide(
    snap: Snapshot,
    gate_code: str,
    kind: str,
    value: str,
    direction: str,
    at: datetime,
    presence: dict | None = None,
) -> Decision:
    """Grant or deny, with every reason that applies. `value` must already be normalised and
    `at` must be an aware datetime in the port's local time. `presence` maps (person id, area id)
    to the last granted passage (direction, at), for anti-passback."""
    gate = snap.gates.get(gate_code)
    if gate is None:
        return Decision(False, (Reason.UNKNOWN_GATE,))
    gate_id, zones, _gate_kind, area_id, _port_id = gate
    today = at.date()
    reasons: list = []
    if kind == "badge":
        badge = snap.badges.get(value)
        if badge is None:
            return _unknown(snap, kind, value, zones, today, gate_id)
        person_id, state, valid_until = badge
        if state == "blocked":
            reasons.append(Reason.BADGE_BLOCKED)
        elif state == "inactive":
            reasons.append(Reason.BADGE_INACTIVE)
        elif state == "expired" or (valid_until is not None and valid_until < today):
            reasons.append(Reason.BADGE_EXPIRED)
    elif kind == "identity":  # verified by itsme at the gate: no card whose state could matter
        person_id = snap.identities.get(value)
        if person_id is None:
            return _unknown(snap, kind, value, zones, today, gate_id)
    else:
        plate = snap.plates.get(value)
        if plate is None:
            return _unknown(snap, kind, value, zones, today, gate_id)
        person_id, valid_until = plate
        if valid_until is not None and valid_until < today:
            reasons.append(Reason.BADGE_EXPIRED)
    if direction == "out":  # leaving is never refused to a known credential: safety first
        return Decision(True, (Reason.GRANTED,), person_id, gate_id)
    for start, end in snap.bans.get(person_id, ()):
        if start <= today <= end:
            reasons.append(Reason.PORT_BAN)
            break
    keys = ((kind, value), ("person", person_id))
    for zone_id in zones:
        for reason in _zone_reasons(snap, person_id, zone_id, at, today, keys):
            if reason not in reasons:
                reasons.append(reason)
    mode = passback(snap, presence, person_id, area_id, at) if presence else None
    if mode == "hard":
        reasons.append(Reason.ANTI_PASSBACK)
    if reasons:
        return Decision(
            False, tuple(sorted(reasons, key=REASON_ORDER.__getitem__)), person_id, gate_id
        )
    if mode == "soft":  # let in, but log it and alarm the control room
        return Decision(True, (Reason.ANTI_PASSBACK, Reason.GRANTED), person_id, gate_id)
    return Decision(True, (Reason.GRANTED,), person_id, gate_id)
