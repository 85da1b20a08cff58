"""The slow reference: the same decision straight from the database, written from the rules of
issue 5 without the snapshot. Only tests and the benchmark use it."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from port2port.sites.models import Gate

from .models import (
    AccessRight,
    Badge,
    GateDecision,
    Identity,
    Plate,
    PortBan,
    Reason,
    Verification,
    Visitor,
)
from .snapshot import schedule_windows


def _allowed_now(rule: AccessRight, at: datetime) -> tuple[bool, bool]:
    """(inside the validity period, inside the schedule)."""
    period = (rule.valid_from is None or rule.valid_from <= at) and (
        rule.valid_until is None or at < rule.valid_until
    )
    if rule.schedule is None:
        return period, True
    windows = schedule_windows(rule.schedule)
    if at.date() in windows.holidays:
        return period, False
    minute = at.hour * 60 + at.minute
    return period, any(d == at.weekday() and s <= minute < e for d, s, e in windows.windows)


def _not_approved(person, kind: str, value: str, zones, at: datetime) -> bool:
    """A visit into one of `zones` today, announced or rejected, for this credential or person."""
    who = Q(badge_number=value) if kind == "badge" else Q(plate=value)
    if person is not None:
        who |= Q(person=person)
    for visitor in Visitor.objects.filter(
        who, status__in=[Visitor.Status.ANNOUNCED, Visitor.Status.REJECTED], visit__zone__in=zones
    ).select_related("visit"):
        first = timezone.localdate(visitor.visit.starts_at)
        last = timezone.localdate(visitor.visit.ends_at)
        if first <= at.date() <= last:
            return True
    return False


def _passback(person, gate: Gate, at: datetime) -> str | None:
    area = gate.facility.area if gate.facility_id else None
    if area is None or area.anti_passback == "off":
        return None
    last = (
        GateDecision.objects.filter(
            person=person, granted=True, gate__facility__area=area, at__lte=at
        )
        .order_by("-at", "-id")
        .first()
    )
    if last is None or last.direction != "in":
        return None
    elapsed = (at - last.at).total_seconds()
    return area.anti_passback if 0 <= elapsed < area.presence_timeout * 60 else None


def reference_decide(
    gate_code: str, kind: str, value: str, direction: str, at: datetime
) -> tuple[bool, list]:
    gate = Gate.objects.filter(code=gate_code).first()
    if gate is None:
        return False, [Reason.UNKNOWN_GATE]
    today = at.date()
    reasons = []
    if kind == "badge":
        badge = Badge.objects.filter(number=value).first()
        if badge is None:
            return _unknown_answer(gate, kind, value, at)
        person = badge.person
        if badge.state == Badge.State.BLOCKED:
            reasons.append(Reason.BADGE_BLOCKED)
        elif badge.state == Badge.State.INACTIVE:
            reasons.append(Reason.BADGE_INACTIVE)
        elif badge.state == Badge.State.EXPIRED or (
            badge.valid_until and badge.valid_until < today
        ):
            reasons.append(Reason.BADGE_EXPIRED)
    elif kind == "identity":
        identity = Identity.objects.filter(oidc_subject=value).select_related("person").first()
        if identity is None:
            return _unknown_answer(gate, kind, value, at)
        person = identity.person
    else:
        plate = Plate.objects.filter(number=value).first()
        if plate is None:
            return _unknown_answer(gate, kind, value, at)
        person = plate.person
        if plate.valid_until and plate.valid_until < today:
            reasons.append(Reason.BADGE_EXPIRED)
    if direction == "out":
        return True, [Reason.GRANTED]
    if PortBan.objects.filter(person=person, starts_on__lte=today, ends_on__gte=today).exists():
        reasons.append(Reason.PORT_BAN)
    for zone in gate.leads_into.all():
        covering = [zone, *zone.ancestors()]
        rules = AccessRight.objects.filter(
            Q(person=person) | Q(group__members=person), zone__in=covering
        ).select_related("schedule")
        denied = any(r.effect == "deny" and all(_allowed_now(r, at)) for r in rules)
        zone_reasons = []
        if denied:
            zone_reasons = [Reason.DENIED_BY_RULE]
        else:
            grants = [_allowed_now(r, at) for r in rules if r.effect == "grant"]
            if not any(period for period, _ in grants):
                zone_reasons.append(
                    Reason.VISITOR_NOT_APPROVED
                    if _not_approved(person, kind, value, covering, at)
                    else Reason.NO_RIGHT
                )
            elif not any(period and scheduled for period, scheduled in grants):
                zone_reasons.append(Reason.OUTSIDE_SCHEDULE)
            if any(z.critical for z in covering):
                positives = Verification.objects.filter(
                    person=person, status=Verification.Status.POSITIVE
                )
                if not positives.exists():
                    zone_reasons.append(Reason.VERIFICATION_MISSING)
                elif not positives.filter(valid_until__gte=today).exists():
                    zone_reasons.append(Reason.VERIFICATION_EXPIRED)
        for reason in zone_reasons:
            if reason not in reasons:
                reasons.append(reason)
    mode = _passback(person, gate, at)
    if mode == "hard":
        reasons.append(Reason.ANTI_PASSBACK)
    order = list(Reason)
    if reasons:
        return False, sorted(reasons, key=order.index)
    if mode == "soft":
        return True, [Reason.ANTI_PASSBACK, Reason.GRANTED]
    return True, [Reason.GRANTED]


def _unknown_answer(gate: Gate, kind: str, value: str, at: datetime) -> tuple[bool, list]:
    for zone in gate.leads_into.all():
        if _not_approved(None, kind, value, [zone, *zone.ancestors()], at):
            return False, [Reason.VISITOR_NOT_APPROVED]
    return False, [Reason.UNKNOWN_CREDENTIAL]
