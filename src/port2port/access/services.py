"""The write path of access: credentials, screening, rights, and the gate decision itself.

Every change that a decision depends on writes a row to the change feed in the same transaction,
so every node's snapshot picks it up within a second.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from port2port.core import audit
from port2port.core.errors import Conflict, Forbidden, Invalid
from port2port.core.models import Person
from port2port.core.roles import Perm
from port2port.core.visibility import reach, require
from port2port.sites.models import Zone

from . import engine
from .identifiers import normalise_plate
from .models import AccessRight, Badge, GateDecision, Plate, PortBan, Reason, Schedule, Verification
from .snapshot import change_record, schedule_windows, store

MAX_BAN_YEARS = 20
VERIFICATION_YEARS = 5


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _require_on_person(actor: Any, perm: Perm, person: Person) -> None:
    require(actor, perm, on=person.organisation_id)


@transaction.atomic
def badge_issue(
    *,
    actor: Any,
    person: Person,
    number: str,
    kind: str = Badge.Kind.ALFAPASS,
    valid_until: date | None = None,
) -> Badge:
    """A new badge; a person keeps their rights when a badge is replaced (rights are the person's)."""
    _require_on_person(actor, Perm.ACCESS_CREDENTIAL_MANAGE, person)
    number = (number or "").strip().upper()
    if not number or len(number) > 40 or not number.replace("-", "").isalnum():
        raise Invalid(_("a badge number is 1 to 40 letters, digits or dashes"), field="number")
    if kind not in Badge.Kind.values:
        raise Invalid(_("“%(value)s” is not a badge kind") % {"value": kind}, field="kind")
    try:
        with transaction.atomic():
            badge = Badge.objects.create(
                person=person, number=number, kind=kind, valid_until=valid_until
            )
    except IntegrityError as exc:
        raise Conflict(_("this badge number is already issued"), field="number") from exc
    change_record(person.pk)
    audit.record(
        actor,
        "access.badge.issued",
        badge,
        organisation=person.organisation_id,
        details={"number": number, "kind": kind},
    )
    return badge


@transaction.atomic
def badge_set_state(*, actor: Any, badge: Badge, state: str) -> Badge:
    _require_on_person(actor, Perm.ACCESS_CREDENTIAL_MANAGE, badge.person)
    if state not in Badge.State.values:
        raise Invalid(_("“%(value)s” is not a badge state") % {"value": state}, field="state")
    before, badge.state = badge.state, state
    badge.save(update_fields=["state"])
    change_record(badge.person_id)
    audit.record(
        actor,
        "access.badge.state_set",
        badge,
        organisation=badge.person.organisation_id,
        details={"before": before, "state": state},
    )
    return badge


@transaction.atomic
def plate_register(
    *, actor: Any, person: Person, number: str, country: str = "BE", valid_until: date | None = None
) -> Plate:
    _require_on_person(actor, Perm.ACCESS_CREDENTIAL_MANAGE, person)
    try:
        plate_number = normalise_plate(number)
    except ValidationError as exc:
        raise Invalid(exc.messages[0], field="number") from exc
    try:
        with transaction.atomic():
            plate = Plate.objects.create(
                person=person,
                number=plate_number,
                country=(country or "BE").upper()[:2],
                valid_until=valid_until,
            )
    except IntegrityError as exc:
        raise Conflict(_("this plate is already registered"), field="number") from exc
    change_record(person.pk)
    audit.record(
        actor,
        "access.plate.registered",
        plate,
        organisation=person.organisation_id,
        details={"plate": plate_number},
    )
    return plate


@transaction.atomic
def ban_register(
    *, actor: Any, person: Person, starts_on: date, ends_on: date, source: str
) -> PortBan:
    """A port ban from a court decision: refused at every gate of every port from the next decision on."""
    if not reach(actor, Perm.ACCESS_BAN_REGISTER):
        raise Forbidden(_("only port authorities and police register port bans"))
    if ends_on < starts_on:
        raise Invalid(_("a ban ends after it starts"), field="ends_on")
    if ends_on > _years_after(starts_on, MAX_BAN_YEARS):
        raise Invalid(
            _("a port ban lasts at most %(n)s years") % {"n": MAX_BAN_YEARS}, field="ends_on"
        )
    source = (source or "").strip()
    if not source:
        raise Invalid(_("name the court decision or authority"), field="source")
    ban = PortBan.objects.create(
        person=person, starts_on=starts_on, ends_on=ends_on, source=source[:200]
    )
    change_record(person.pk)
    _alert_ban(person)
    audit.record(
        actor,
        "access.ban.registered",
        ban,
        organisation=person.organisation_id,
        details={"from": starts_on, "until": ends_on, "source": source},
    )
    return ban


def _alert_ban(person: Person) -> None:
    """Tell the employer's security managers and the control rooms of the employer's ports."""
    from port2port.core.models import Membership, OrganisationKind
    from port2port.core.roles import Role

    from .models import AccessAlert

    users = set()
    for membership in Membership.objects.filter(
        organisation_id=person.organisation_id
    ).select_related("user"):
        if Perm.ACCESS_CREDENTIAL_MANAGE in membership.perms() and membership.user.is_active:
            users.add(membership.user)
    control_rooms = Membership.objects.filter(
        organisation__kind=OrganisationKind.PORT_AUTHORITY,
        organisation__ports__in=person.organisation.ports.all(),
    ).select_related("user")
    for membership in control_rooms:
        if Role.CONTROL_ROOM_OPERATOR in membership.roles and membership.user.is_active:
            users.add(membership.user)
    for user in users:
        AccessAlert.objects.create(user=user, person=person, kind=AccessAlert.Kind.PORT_BAN)
    recipients = sorted({u.email for u in users if u.email})
    if recipients:
        from django.conf import settings
        from django.core.mail import send_mail

        name = f"{person.given_name} {person.family_name}"

        def send():
            send_mail(
                subject=_("Port 2 Port: port ban for %(name)s") % {"name": name},
                message=_(
                    "%(name)s is banned from the ports; every badge and plate is refused at every gate."
                )
                % {"name": name},
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=recipients,
                fail_silently=True,
            )

        transaction.on_commit(send)


@transaction.atomic
def verification_record(
    *, actor: Any, person: Person, category: str, status: str, decided_on: date | None = None
) -> Verification:
    """A security verification result; a positive one is valid five years from its decision."""
    if not reach(actor, Perm.ACCESS_BAN_REGISTER):
        raise Forbidden(_("only the screening authorities record security verifications"))
    if status not in Verification.Status.values:
        raise Invalid(
            _("“%(value)s” is not a verification status") % {"value": status}, field="status"
        )
    category = (category or "").strip()
    if not category:
        raise Invalid(_("name the critical-function category"), field="category")
    valid_until = None
    if status == Verification.Status.POSITIVE:
        decided_on = decided_on or timezone.localdate()
        valid_until = _years_after(decided_on, VERIFICATION_YEARS)
    verification = Verification.objects.create(
        person=person,
        category=category[:80],
        status=status,
        decided_on=decided_on,
        valid_until=valid_until,
    )
    change_record(person.pk)
    audit.record(
        actor,
        "access.verification.recorded",
        verification,
        organisation=person.organisation_id,
        details={"status": status, "category": category},
    )
    return verification


@transaction.atomic
def schedule_create(
    *, actor: Any, name: str, windows: list, holidays: list | None = None
) -> Schedule:
    if not reach(actor, Perm.ACCESS_CREDENTIAL_MANAGE):
        raise Forbidden(_("you are not allowed to do this"))
    schedule = Schedule(
        name=(name or "").strip()[:100], windows=windows or [], holidays=holidays or []
    )
    try:
        windows = schedule_windows(schedule)
        if not all(
            0 <= day <= 6 and 0 <= start < end <= 24 * 60 for day, start, end in windows.windows
        ):
            raise ValueError("a day outside 0-6 or a window that ends before it starts")
    except (KeyError, ValueError, TypeError) as exc:
        raise Invalid(
            _(
                'windows are [{"day": 0-6, "start": "HH:MM", "end": "HH:MM"}] and holidays ISO dates'
            ),
            field="windows",
        ) from exc
    schedule.save()
    change_record(None)
    audit.record(actor, "access.schedule.created", schedule)
    return schedule


@transaction.atomic
def right_grant(
    *,
    actor: Any,
    person: Person,
    zone: Zone,
    effect: str = AccessRight.Effect.GRANT,
    schedule: Schedule | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> AccessRight:
    _require_on_person(actor, Perm.ACCESS_CREDENTIAL_MANAGE, person)
    if effect not in AccessRight.Effect.values:
        raise Invalid(_("“%(value)s” is not grant or deny") % {"value": effect}, field="effect")
    if valid_from and valid_until and valid_until <= valid_from:
        raise Invalid(_("the right must end after it starts"), field="valid_until")
    right = AccessRight.objects.create(
        person=person,
        zone=zone,
        effect=effect,
        schedule=schedule,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    change_record(person.pk)
    audit.record(
        actor,
        "access.right.set",
        right,
        organisation=person.organisation_id,
        details={"zone": zone.code, "effect": effect},
    )
    return right


def normalise_credential(kind: str, value: str) -> str:
    if kind not in engine.CREDENTIAL_KINDS:
        raise Invalid(_("the credential is a badge or a plate"), field="kind")
    if kind == "plate":
        try:
            return normalise_plate(value)
        except ValidationError as exc:
            raise Invalid(exc.messages[0], field="plate") from exc
    number = (value or "").strip().upper()
    if not number or len(number) > 40:
        raise Invalid(_("a badge number is 1 to 40 letters, digits or dashes"), field="badge")
    return number


def gate_decide(
    *,
    actor: Any,
    gate_code: str,
    kind: str,
    value: str,
    direction: str = "in",
    at: datetime | None = None,
) -> engine.Decision:
    """Ask the engine, log the decision with its reasons (durably, before answering)."""
    if not reach(actor, Perm.ACCESS_GATE_DECIDE):
        raise Forbidden(_("you are not allowed to ask gate decisions"))
    if direction not in engine.DIRECTIONS:
        raise Invalid(_("direction is in or out"), field="direction")
    credential = normalise_credential(kind, value)
    at = timezone.localtime(at or timezone.now())
    decision = engine.decide(
        store.get(), (gate_code or "").strip(), kind, credential, direction, at
    )
    GateDecision.objects.create(
        gate_id=decision.gate_id,
        gate_code=(gate_code or "")[:40],
        credential_kind=kind,
        credential=credential,
        person_id=decision.person_id,
        direction=direction,
        at=at,
        granted=decision.granted,
        reasons=[str(r) for r in decision.reasons],
    )
    return decision


def reason_text(reason: str) -> str:
    """The sentence for a reason code, in the active language."""
    return str(Reason(reason).label)
