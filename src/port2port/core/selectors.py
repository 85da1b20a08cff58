"""The only read path of core: every function takes the viewer and applies the visibility rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import ApiToken, AuditRecord, Membership, Organisation, Person, Port, User
from .roles import Perm
from .visibility import get_visible, reach, restrict


def ports_visible_to(viewer: Any) -> QuerySet[Port]:
    return restrict(Port.objects.all(), viewer, Perm.CORE_PORT_VIEW)


def organisations_visible_to(
    viewer: Any, *, search: str = "", port: str = "", kind: str = ""
) -> QuerySet:
    qs = restrict(Organisation.objects.all(), viewer, Perm.CORE_ORGANISATION_VIEW).prefetch_related(
        "ports"
    )
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(short_name__icontains=search))
    if port:
        qs = qs.filter(ports__locode=port.upper())
    if kind:
        qs = qs.filter(kind=kind)
    return qs.distinct() if port else qs


def organisation_get(viewer: Any, organisation_id) -> Organisation:
    return get_visible(
        Organisation.objects.all(), viewer, Perm.CORE_ORGANISATION_VIEW, pk=organisation_id
    )


def organisations_where(viewer: Any, perm: Perm) -> QuerySet[Organisation]:
    """The organisations in which `viewer` may use `perm` (choices of forms)."""
    return restrict(Organisation.objects.all(), viewer, perm)


def people_visible_to(viewer: Any, *, search: str = "", organisation=None) -> QuerySet[Person]:
    qs = restrict(Person.objects.select_related("organisation"), viewer, Perm.CORE_PERSON_VIEW)
    if search:
        qs = qs.filter(
            Q(given_name__icontains=search)
            | Q(family_name__icontains=search)
            | Q(email__icontains=search)
        )
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    return qs


def person_get(viewer: Any, person_id) -> Person:
    return get_visible(
        Person.objects.select_related("organisation"), viewer, Perm.CORE_PERSON_VIEW, pk=person_id
    )


def user_get(viewer: Any, user_id) -> User:
    return get_visible(
        User.objects.select_related("person"), viewer, Perm.CORE_USER_VIEW, pk=user_id
    )


def user_of_person(viewer: Any, person: Person) -> User | None:
    return restrict(User.objects.filter(person=person), viewer, Perm.CORE_USER_VIEW).first()


def memberships_visible_to(viewer: Any, *, organisation=None, user=None) -> QuerySet[Membership]:
    qs = restrict(
        Membership.objects.select_related("user", "user__person", "organisation"),
        viewer,
        Perm.CORE_MEMBERSHIP_VIEW,
    )
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    if user is not None:
        qs = qs.filter(user=user)
    return qs


def membership_get(viewer: Any, membership_id) -> Membership:
    return get_visible(
        Membership.objects.select_related("user", "organisation"),
        viewer,
        Perm.CORE_MEMBERSHIP_VIEW,
        pk=membership_id,
    )


def tokens_visible_to(viewer: Any, *, organisation=None) -> QuerySet[ApiToken]:
    qs = restrict(
        ApiToken.objects.select_related("organisation", "created_by"), viewer, Perm.CORE_TOKEN_VIEW
    )
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    return qs


def token_get(viewer: Any, token_id) -> ApiToken:
    return get_visible(
        ApiToken.objects.select_related("organisation"), viewer, Perm.CORE_TOKEN_VIEW, pk=token_id
    )


@dataclass
class AuditFilter:
    action: str = ""
    actor: str = ""
    organisation: str = ""
    object_id: str = ""
    since: date | None = None
    until: date | None = None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_records_visible_to(
    viewer: Any, filters: AuditFilter | None = None
) -> QuerySet[AuditRecord]:
    qs = restrict(AuditRecord.objects.select_related("organisation"), viewer, Perm.CORE_AUDIT_VIEW)
    f = filters or AuditFilter()
    if f.action:
        qs = qs.filter(action__startswith=f.action)
    if f.actor:
        qs = qs.filter(actor_label__icontains=f.actor)
    if f.organisation:
        qs = qs.filter(organisation_id=f.organisation)
    if f.object_id:
        qs = qs.filter(object_id=f.object_id)
    if f.since:
        qs = qs.filter(at__gte=_day_start(f.since))
    if f.until:
        qs = qs.filter(at__lt=_day_start(f.until) + timedelta(days=1))
    return qs


def audit_actions_visible_to(viewer: Any) -> list[str]:
    return sorted(set(audit_records_visible_to(viewer).values_list("action", flat=True).distinct()))


@dataclass
class Dashboard:
    organisations: list
    ports: list
    people: list
    people_count: int
    audit: list
    can_see_audit: bool


def dashboard_for(viewer: User) -> Dashboard:
    """What a user sees on arrival: their organisations and ports, their people, recent audit."""
    own = [m.organisation for m in viewer.grants()]
    port_ids = set()
    for organisation in own:
        port_ids |= set(organisation.ports.values_list("pk", flat=True))
    people = people_visible_to(viewer).filter(organisation__in=own)
    audit_qs = audit_records_visible_to(viewer)
    return Dashboard(
        organisations=own,
        ports=list(ports_visible_to(viewer).filter(pk__in=port_ids)),
        people=list(people[:10]),
        people_count=people.count(),
        audit=list(audit_qs[:10]),
        can_see_audit=bool(reach(viewer, Perm.CORE_AUDIT_VIEW)),
    )
