"""The slow reference: the same decision straight from the database, written from the rules of
issue 5 without the snapshot. Only tests and the benchmark use it."""

from __future__ import annotations

from datetime import datetime

from port2port.sites.models import Gate

from .models import AccessRight, Badge, Plate, PortBan, Reason, Verification
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
            return False, [Reason.UNKNOWN_CREDENTIAL]
        person = badge.person
        if badge.state == Badge.State.BLOCKED:
            reasons.append(Reason.BADGE_BLOCKED)
        elif badge.state == Badge.State.INACTIVE:
            reasons.append(Reason.BADGE_INACTIVE)
        elif badge.state == Badge.State.EXPIRED or (
            badge.valid_until and badge.valid_until < today
        ):
            reasons.append(Reason.BADGE_EXPIRED)
    else:
        plate = Plate.objects.filter(number=value).first()
        if plate is None:
            return False, [Reason.UNKNOWN_CREDENTIAL]
        person = plate.person
        if plate.valid_until and plate.valid_until < today:
            reasons.append(Reason.BADGE_EXPIRED)
    if direction == "out":
        return True, [Reason.GRANTED]
    if PortBan.objects.filter(person=person, starts_on__lte=today, ends_on__gte=today).exists():
        reasons.append(Reason.PORT_BAN)
    for zone in gate.leads_into.all():
        covering = [zone, *zone.ancestors()]
        rules = AccessRight.objects.filter(person=person, zone__in=covering).select_related(
            "schedule"
        )
        denied = any(r.effect == "deny" and all(_allowed_now(r, at)) for r in rules)
        zone_reasons = []
        if denied:
            zone_reasons = [Reason.DENIED_BY_RULE]
        else:
            grants = [_allowed_now(r, at) for r in rules if r.effect == "grant"]
            if not any(period for period, _ in grants):
                zone_reasons.append(Reason.NO_RIGHT)
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
    order = list(Reason)
    return (False, sorted(reasons, key=order.index)) if reasons else (True, [Reason.GRANTED])
