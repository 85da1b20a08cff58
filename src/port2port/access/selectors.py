"""Reads of access: people's credentials and screening, the decision log, alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from port2port.core import audit
from port2port.core.errors import NotFound
from port2port.core.models import Person
from port2port.core.roles import Perm
from port2port.core.selectors import people_visible_to
from port2port.core.visibility import one_or_404, reach
from port2port.sites.models import Gate
from port2port.sites.selectors import port_ids_for

from .models import AccessAlert, GateDecision, PortBan


def person_for_access(viewer: Any, person_id) -> Person:
    """A person the viewer may handle at the gate: their own staff, or anyone for those who
    register bans (that look-up of another organisation's person is audited)."""
    try:
        return one_or_404(people_visible_to(viewer), pk=person_id)
    except NotFound:
        if not reach(viewer, Perm.ACCESS_BAN_REGISTER):
            raise
    person = one_or_404(Person.objects.select_related("organisation"), pk=person_id)
    audit.record(viewer, "access.person.viewed", person, details={"why": "ban registrar"})
    return person


def zones_for_rights(viewer: Any) -> QuerySet:
    """Zones the viewer may give rights on: those of the ports where they manage credentials."""
    from port2port.sites.models import Zone

    ports = port_ids_for(viewer, Perm.ACCESS_CREDENTIAL_MANAGE)
    zones = Zone.objects.select_related("port").order_by("port__name", "code")
    return zones if ports is None else zones.filter(port_id__in=ports)


def ban_state(person: Person, today: date | None = None) -> str:
    today = today or timezone.localdate()
    if PortBan.objects.filter(person=person, starts_on__lte=today, ends_on__gte=today).exists():
        return "banned"
    return "clear"


def gates_for(viewer: Any) -> QuerySet[Gate]:
    ports = port_ids_for(viewer, Perm.ACCESS_GATE_DECIDE)
    gates = Gate.objects.select_related("port").order_by("code")
    return gates if ports is None else gates.filter(port_id__in=ports)


@dataclass
class DecisionFilter:
    person: Any = None
    gate: str = ""
    day: date | None = None
    around: time | None = None
    refused_only: bool = False


def decisions_visible_to(
    viewer: Any, filters: DecisionFilter | None = None
) -> QuerySet[GateDecision]:
    """The decision log: decisions about the viewer's organisations' people, or at the gates of
    the ports where the viewer reads the log."""
    from . import journal

    journal.flush()  # this process's latest decisions are in the log before it is read
    f = filters or DecisionFilter()
    result = reach(viewer, Perm.ACCESS_DECISION_VIEW)
    qs = GateDecision.objects.select_related("person", "gate")
    if not result:
        return qs.none()
    if not result.everything:
        ports = port_ids_for(viewer, Perm.ACCESS_DECISION_VIEW)
        scope = Q(person__organisation_id__in=result.org_ids)
        if ports is not None:
            scope |= Q(gate__port_id__in=ports)
        else:
            scope = Q()
        qs = qs.filter(scope)
    if f.person is not None:
        qs = qs.filter(person=f.person)
    if f.gate:
        qs = qs.filter(gate_code=f.gate)
    if f.day:
        start = timezone.make_aware(datetime.combine(f.day, f.around or time.min))
        if f.around:
            qs = qs.filter(
                at__gte=start - timedelta(minutes=15), at__lt=start + timedelta(minutes=15)
            )
        else:
            qs = qs.filter(at__gte=start, at__lt=start + timedelta(days=1))
    if f.refused_only:
        qs = qs.filter(granted=False)
    return qs


def verification_gaps(viewer: Any) -> list[dict]:
    """People of the viewer's organisations with a right into a critical-function zone (or a zone
    inside one) but no positive security verification valid today: at a glance, for managers."""
    from port2port.sites.models import Zone

    from .models import AccessRight, Verification

    result = reach(viewer, Perm.ACCESS_CREDENTIAL_MANAGE)
    if not result:
        return []
    parents = dict(Zone.objects.values_list("pk", "parent_id"))
    critical = set(Zone.objects.filter(critical=True).values_list("pk", flat=True))

    def under_critical(zone_id) -> bool:
        seen = set()
        while zone_id is not None and zone_id not in seen:
            if zone_id in critical:
                return True
            seen.add(zone_id)
            zone_id = parents.get(zone_id)
        return False

    critical_zones = [z for z in parents if under_critical(z)]
    rights = AccessRight.objects.filter(effect=AccessRight.Effect.GRANT, zone_id__in=critical_zones)
    if not result.everything:
        rights = rights.filter(person__organisation_id__in=result.org_ids)
    today = timezone.localdate()
    gaps = []
    people = (
        Person.objects.filter(pk__in=rights.values("person_id"))
        .select_related("organisation")
        .order_by("family_name")
    )
    for person in people:
        positives = Verification.objects.filter(person=person, status=Verification.Status.POSITIVE)
        if positives.filter(valid_until__gte=today).exists():
            continue
        gaps.append({"person": person, "state": "expired" if positives.exists() else "missing"})
    return gaps


def alerts_for(user: Any) -> QuerySet[AccessAlert]:
    return AccessAlert.objects.filter(user=user).select_related("person", "person__organisation")


def visits_visible_to(viewer: Any) -> QuerySet:
    """Visits the viewer announced (for their organisations) or decides on (their terminals)."""
    from .models import Visit

    announce = reach(viewer, Perm.ACCESS_VISITOR_ANNOUNCE)
    decide = reach(viewer, Perm.ACCESS_VISITOR_DECIDE)
    qs = Visit.objects.select_related("facility", "zone", "announcer", "facility__port")
    if announce.everything or decide.everything:
        return qs
    scope = Q(announcer_id__in=announce.org_ids) | Q(facility__operator_id__in=decide.org_ids)
    return qs.filter(scope) if (announce or decide) else qs.none()


def visitors_visible_to(viewer: Any) -> QuerySet:
    from .models import Visitor

    return Visitor.objects.filter(visit__in=visits_visible_to(viewer)).select_related(
        "visit", "visit__facility", "visit__zone", "visit__announcer", "person"
    )


def visits_today(viewer: Any, day: date | None = None) -> QuerySet:
    """The visits of a day for the desk, earliest first."""
    day = day or timezone.localdate()
    start = timezone.make_aware(datetime.combine(day, time.min))
    return (
        visits_visible_to(viewer)
        .filter(starts_at__lt=start + timedelta(days=1), ends_at__gt=start)
        .order_by("starts_at")
        .prefetch_related("visitors")
    )


def facilities_for_visits(viewer: Any, perm: Perm) -> QuerySet:
    """Terminals where the viewer may announce (approved announcer) or decide on visitors."""
    from port2port.sites.models import Facility

    result = reach(viewer, perm)
    qs = Facility.objects.select_related("port").order_by("port__name", "name")
    if result.everything:
        return qs
    if perm == Perm.ACCESS_VISITOR_ANNOUNCE:
        return qs.filter(visitor_policy__announcers__in=result.org_ids).distinct()
    return qs.filter(operator_id__in=result.org_ids)


def groups_visible_to(viewer: Any) -> QuerySet:
    from .models import AccessGroup

    result = reach(viewer, Perm.ACCESS_CREDENTIAL_MANAGE)
    qs = AccessGroup.objects.select_related("organisation").prefetch_related("members", "rights")
    if result.everything:
        return qs
    return qs.filter(organisation_id__in=result.org_ids)


def devices_for(viewer: Any) -> QuerySet:
    """Gate devices of the gates the viewer's organisation runs (or the port, for authorities)."""
    from port2port.sites.selectors import may_change

    from .models import GateDevice

    devices = GateDevice.objects.select_related("gate", "gate__port", "gate__facility")
    return [d for d in devices if may_change(viewer, d.gate.port, d.gate.facility)]


def group_rights_of(person: Person, viewer: Any) -> list:
    """The rights a person holds through the groups the viewer may see."""
    from .models import AccessRight

    return list(
        AccessRight.objects.filter(
            group__members=person, group__in=groups_visible_to(viewer)
        ).select_related("zone", "schedule", "group")
    )
