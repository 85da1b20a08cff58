"""The write path of access: credentials, screening, rights, and the gate decision itself.

Every change that a decision depends on writes a row to the change feed in the same transaction,
so every node's snapshot picks it up within a second.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from port2port.core import audit
from port2port.core.errors import Conflict, Forbidden, Invalid, NotFound
from port2port.core.models import Person
from port2port.core.roles import Perm
from port2port.core.visibility import reach, require
from port2port.sites.models import Zone

from . import engine, journal
from .identifiers import normalise_national_number, normalise_nationality, normalise_plate
from .models import (
    AccessGroup,
    AccessRight,
    Badge,
    CriminalRecordExtract,
    GateDecision,
    GateDevice,
    Identity,
    Plate,
    PortBan,
    Reason,
    Schedule,
    Verification,
    Visit,
    Visitor,
    VisitorBanCheck,
    VisitorPolicy,
)
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
    overlap = PortBan.objects.filter(
        person=person, starts_on__lte=ends_on, ends_on__gte=starts_on
    ).first()
    if overlap is not None:
        raise Conflict(
            _("this overlaps the ban from %(start)s to %(end)s; change that one instead")
            % {"start": overlap.starts_on, "end": overlap.ends_on},
            field="starts_on",
        )
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


def _control_room_users(port_ids) -> set:
    """The active control-room operators of the port authorities of these ports."""
    from port2port.core.models import Membership, OrganisationKind
    from port2port.core.roles import Role

    memberships = Membership.objects.filter(
        organisation__kind=OrganisationKind.PORT_AUTHORITY, organisation__ports__in=list(port_ids)
    ).select_related("user")
    return {
        m.user for m in memberships if Role.CONTROL_ROOM_OPERATOR in m.roles and m.user.is_active
    }


def _alert_ban(person: Person) -> None:
    """Tell the employer's security managers and the control rooms of the employer's ports."""
    from port2port.core.models import Membership

    from .models import AccessAlert

    users = set()
    for membership in Membership.objects.filter(
        organisation_id=person.organisation_id
    ).select_related("user"):
        if Perm.ACCESS_CREDENTIAL_MANAGE in membership.perms() and membership.user.is_active:
            users.add(membership.user)
    users |= _control_room_users(person.organisation.ports.values_list("pk", flat=True))
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
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise Invalid(_("name the schedule (at most 100 characters)"), field="name")
    schedule = Schedule(name=name, windows=windows or [], holidays=holidays or [])
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


def _check_right(effect: str, valid_from, valid_until, actor: Any = None, zone=None) -> None:
    from port2port.sites.selectors import port_ids_for

    ports = port_ids_for(actor, Perm.ACCESS_CREDENTIAL_MANAGE)
    if zone is not None and ports is not None and zone.port_id not in ports:
        raise Invalid(
            _("zone %(zone)s is in a port where you do not manage access") % {"zone": zone.code},
            field="zone",
        )
    if effect not in AccessRight.Effect.values:
        raise Invalid(_("“%(value)s” is not grant or deny") % {"value": effect}, field="effect")
    if valid_from and valid_until and valid_until <= valid_from:
        raise Invalid(_("the right must end after it starts"), field="valid_until")


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
    _check_right(effect, valid_from, valid_until, actor, zone)
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
        raise Invalid(_("the credential is a badge, a plate or an identity"), field="kind")
    if kind == "identity":
        subject = (value or "").strip()
        if not subject or len(subject) > 255:
            raise Invalid(_("an identity is an itsme / OpenID subject"), field="identity")
        return subject
    if kind == "plate":
        try:
            return normalise_plate(value)
        except ValidationError as exc:
            raise Invalid(exc.messages[0], field="plate") from exc
    number = (value or "").strip().upper()
    if not number or len(number) > 40:
        raise Invalid(_("a badge number is 1 to 40 letters, digits or dashes"), field="badge")
    return number


def _gate_snapshot(actor: Any, gate_code: str) -> engine.Snapshot:
    """The snapshot, once the actor may use this gate: a device its own gate only, people and
    organisation tokens the gates of the ports where they may ask decisions."""
    from port2port.sites.selectors import port_ids_for

    if isinstance(actor, GateDevicePrincipal):
        if gate_code != actor.gate_code:
            raise Forbidden(
                _("this device decides for gate %(gate)s only") % {"gate": actor.gate_code}
            )
        return store.get()
    if not reach(actor, Perm.ACCESS_GATE_DECIDE):
        raise Forbidden(_("you are not allowed to ask gate decisions"))
    snap = store.get()
    gate = snap.gates.get(gate_code)
    ports = port_ids_for(actor, Perm.ACCESS_GATE_DECIDE) if gate else None
    if gate is None or (ports is not None and gate[4] not in ports):
        raise NotFound(
            _("no gate has the code “%(code)s”") % {"code": gate_code[:40]}, field="gate"
        )
    return snap


def gate_allow_list(*, actor: Any, gate_code: str, hours: int = 12) -> dict:
    """The signed offline allow-list of a gate for the next `hours` (at most 72): for the gate's
    own device only, keyed with its token."""
    from . import allowlist

    gate_code = (gate_code or "").strip()
    if not isinstance(actor, GateDevicePrincipal):
        raise Forbidden(_("only the gate's own device fetches its allow-list"))
    snap = _gate_snapshot(actor, gate_code)
    if gate_code not in snap.gates:
        raise NotFound(
            _("no gate has the code “%(code)s”") % {"code": gate_code[:40]}, field="gate"
        )
    if not 1 <= hours <= allowlist.MAX_HOURS:
        raise Invalid(
            _("an allow-list covers 1 to %(n)s hours") % {"n": allowlist.MAX_HOURS}, field="hours"
        )
    payload = allowlist.build(snap, gate_code, timezone.localtime(timezone.now()), hours, actor.key)
    return allowlist.sign(payload)


FUTURE_SKEW = timedelta(minutes=5)


def _decision_time(at: datetime | None) -> datetime:
    """Now, or a given time (a gate replaying what it decided offline, the desk asking about the
    past); a time without an offset is the port's local time. Not in the future: a passage
    there would mislead anti-passback."""
    if at is None:
        return timezone.localtime()
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at > timezone.now() + FUTURE_SKEW:
        raise Invalid(_("a decision time cannot be in the future"), field="at")
    return timezone.localtime(at)


def gate_decide(
    *,
    actor: Any,
    gate_code: str,
    kind: str,
    value: str,
    direction: str = "in",
    at: datetime | None = None,
) -> engine.Decision:
    """Ask the engine and log the decision with its reasons before answering: in the journal
    (batched into the database), or straight into the database when the journal is off."""
    gate_code = (gate_code or "").strip()
    snap = _gate_snapshot(actor, gate_code)
    if direction not in engine.DIRECTIONS:
        raise Invalid(_("direction is in or out"), field="direction")
    credential = normalise_credential(kind, value)
    at = _decision_time(at)
    decision = engine.decide(snap, gate_code, kind, credential, direction, at, store.presence)
    entry = {
        "gate_id": decision.gate_id,
        "gate_code": gate_code,
        "kind": kind,
        "credential": credential,
        "person_id": decision.person_id,
        "direction": direction,
        "at": at.isoformat(),
        "granted": decision.granted,
        "reasons": [str(r) for r in decision.reasons],
    }
    if getattr(settings, "ACCESS_DECISION_LOG", "journal") == "journal":
        journal.journal().append(entry)
    else:
        GateDecision.objects.create(
            uid=uuid.uuid4().hex,
            gate_id=decision.gate_id,
            gate_code=gate_code,
            credential_kind=kind,
            credential=credential,
            person_id=decision.person_id,
            direction=direction,
            at=at,
            granted=decision.granted,
            reasons=entry["reasons"],
        )
    if decision.granted:
        store.note_passage(decision.person_id, gate_code, direction, at)
        if Reason.ANTI_PASSBACK in decision.reasons:
            _alert_passback(decision.person_id, gate_code)
    return decision


def _alert_passback(person_id, gate_code: str) -> None:
    """Soft anti-passback: let the person in, and tell the port's control room."""
    from port2port.sites.models import Gate

    from .models import AccessAlert

    gate = Gate.objects.filter(code=gate_code).first()
    recent = timezone.now() - timedelta(minutes=10)
    if (
        gate is None
        or AccessAlert.objects.filter(
            person_id=person_id, kind=AccessAlert.Kind.ANTI_PASSBACK, created_at__gte=recent
        ).exists()
    ):
        return  # one alert per person per ten minutes, not one per badge swipe
    for user in _control_room_users([gate.port_id]):
        AccessAlert.objects.create(
            user=user, person_id=person_id, kind=AccessAlert.Kind.ANTI_PASSBACK
        )


def reason_text(reason: str) -> str:
    """The sentence for a reason code, in the active language."""
    return str(Reason(reason).label)


# Gate devices ---------------------------------------------------------------------------------

DEVICE_PREFIX = "gd"
DEVICE_CACHE_SECONDS = 5.0  # a revoked device is refused everywhere within this time


@dataclass(frozen=True)
class GateDevicePrincipal:
    """A gate controller acting with its own token: decisions and allow-list for its gate only."""

    device_id: Any
    gate_code: str
    prefix: str
    key: str = field(default="", repr=False)  # the token's SHA-256: keys its allow-list

    is_authenticated = True
    is_active = True
    pk = None

    def grants(self) -> list:  # no organisation permission at all
        return []

    def __str__(self) -> str:
        return f"device:{self.prefix}"


def _device_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _require_gate_manager(actor: Any, gate) -> None:
    from port2port.sites.selectors import may_change

    if not may_change(actor, gate.port, gate.facility):
        raise Forbidden(_("only who runs this gate's site manages its devices"))


@transaction.atomic
def device_issue(*, actor: Any, gate, name: str) -> tuple[GateDevice, str]:
    """A device token for one gate, shown once; only its SHA-256 is stored."""
    _require_gate_manager(actor, gate)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise Invalid(_("name the device (at most 100 characters)"), field="name")
    prefix = secrets.token_hex(4)
    secret = f"{DEVICE_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    device = GateDevice.objects.create(
        gate=gate, name=name, prefix=prefix, token_hash=_device_hash(secret)
    )
    _device_unknown.pop(device.token_hash, None)
    audit.record(
        actor,
        "access.device.issued",
        device,
        organisation=gate.facility.operator_id if gate.facility_id else None,
        details={"gate": gate.code, "name": name},
    )
    return device, secret


@transaction.atomic
def device_revoke(*, actor: Any, device: GateDevice) -> GateDevice:
    _require_gate_manager(actor, device.gate)
    if device.revoked_at is None:
        device.revoked_at = timezone.now()
        device.save(update_fields=["revoked_at"])
        audit.record(
            actor,
            "access.device.revoked",
            device,
            organisation=device.gate.facility.operator_id if device.gate.facility_id else None,
            details={"gate": device.gate.code},
        )
    _device_cache.pop(device.token_hash, None)
    return device


_device_cache: dict = {}  # token hash -> (principal, checked at): known devices only
_device_unknown: OrderedDict = OrderedDict()  # token hash -> refused at, the newest last
DEVICE_UNKNOWN_MAX = 10_000


def device_authenticate(secret: str) -> GateDevicePrincipal:
    """Resolve a device token; cached a few seconds so a busy gate costs no database query."""
    from port2port.core.errors import NotAuthenticated

    parts = (secret or "").split("_", 2)
    if len(parts) != 3 or parts[0] != DEVICE_PREFIX:
        raise NotAuthenticated(
            _("malformed device token: expected gd_<prefix>_<secret>"), field="authorization"
        )
    digest = _device_hash(secret)
    now = time.monotonic()
    refused = _device_unknown.get(digest)
    if refused is not None and now - refused < DEVICE_CACHE_SECONDS:
        raise NotAuthenticated(_("unknown or revoked device token"), field="authorization")
    cached = _device_cache.get(digest)
    if cached is None or now - cached[1] > DEVICE_CACHE_SECONDS:
        device = (
            GateDevice.objects.select_related("gate")
            .filter(token_hash=digest, revoked_at__isnull=True)
            .first()
        )
        if device is None:  # remembered a while, in a bounded table: floods cost no queries
            _device_cache.pop(digest, None)
            _device_unknown[digest] = now
            _device_unknown.move_to_end(digest)
            while len(_device_unknown) > DEVICE_UNKNOWN_MAX:
                _device_unknown.popitem(last=False)
            raise NotAuthenticated(_("unknown or revoked device token"), field="authorization")
        cached = (
            GateDevicePrincipal(device.pk, device.gate.code, device.prefix, device.token_hash),
            now,
        )
        _device_cache[digest] = cached
    return cached[0]


# Identity and screening -----------------------------------------------------------------------


@transaction.atomic
def identity_set(
    *,
    actor: Any,
    person: Person,
    birth_date: date | None = None,
    nationality: str = "",
    national_number: str = "",
    photo=None,
    oidc_subject: str = "",
) -> Identity:
    """Birth date, nationality, national register number (check digits) and photo of a person."""
    require(actor, Perm.CORE_PERSON_CHANGE, on=person.organisation_id)
    try:
        nationality = normalise_nationality(nationality)
    except ValidationError as exc:
        raise Invalid(exc.messages[0], field="nationality") from exc
    number = None
    if (national_number or "").strip():
        try:
            number = normalise_national_number(national_number)
        except ValidationError as exc:
            raise Invalid(exc.messages[0], field="national_number") from exc
        if Identity.objects.filter(national_number=number).exclude(person=person).exists():
            raise Conflict(
                _("national number %(number)s is already registered") % {"number": number},
                field="national_number",
            )
    subject = (oidc_subject or "").strip() or None
    if subject and Identity.objects.filter(oidc_subject=subject).exclude(person=person).exists():
        raise Conflict(_("this identity is linked to another person"), field="oidc_subject")
    identity, _created = Identity.objects.get_or_create(person=person)
    identity.oidc_subject = subject
    identity.birth_date = birth_date
    identity.nationality = nationality
    identity.national_number = number
    if photo is not None:
        identity.photo = _checked_photo(photo)
    identity.save()
    change_record(person.pk)
    audit.record(
        actor,
        "access.identity.set",
        person,
        organisation=person.organisation_id,
        details={"national_number": bool(number), "photo": photo is not None},
    )
    return identity


MAX_PHOTO_BYTES = 2 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000


def _checked_photo(upload):
    """A JPEG or PNG passport photo, checked by content (Pillow), at most 2 MB."""
    from django.core.files.base import ContentFile
    from PIL import Image, UnidentifiedImageError

    if upload.size > MAX_PHOTO_BYTES:
        raise Invalid(_("a photo is at most 2 MB"), field="photo")
    data = upload.read()
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            kind, pixels = image.format, image.width * image.height
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise Invalid(_("the photo is not a JPEG or PNG image"), field="photo") from exc
    if pixels > MAX_PHOTO_PIXELS:
        raise Invalid(_("A photo has at most 40 million pixels."), field="photo")
    if kind not in {"JPEG", "PNG"}:
        raise Invalid(_("the photo is not a JPEG or PNG image"), field="photo")
    return ContentFile(data, name=f"{uuid.uuid4().hex}.{'jpg' if kind == 'JPEG' else 'png'}")


@transaction.atomic
def extract_record(
    *, actor: Any, person: Person, checked_on: date, result: str, note: str = ""
) -> CriminalRecordExtract:
    """The special criminal-record extract the employer checked (date and result)."""
    _require_on_person(actor, Perm.ACCESS_CREDENTIAL_MANAGE, person)
    if result not in CriminalRecordExtract.Result.values:
        raise Invalid(_("“%(value)s” is not an extract result") % {"value": result}, field="result")
    if checked_on is None or checked_on > timezone.localdate():
        raise Invalid(_("the check date is today or earlier"), field="checked_on")
    extract = CriminalRecordExtract.objects.create(
        person=person, checked_on=checked_on, result=result, note=(note or "").strip()[:200]
    )
    change_record(person.pk)
    audit.record(
        actor,
        "access.extract.recorded",
        extract,
        organisation=person.organisation_id,
        details={"checked_on": checked_on, "result": result},
    )
    return extract


# Groups ---------------------------------------------------------------------------------------


@transaction.atomic
def group_create(*, actor: Any, organisation, name: str, kind: str = AccessGroup.Kind.STAFF):
    require(actor, Perm.ACCESS_CREDENTIAL_MANAGE, on=organisation)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise Invalid(_("name the group (at most 100 characters)"), field="name")
    if kind not in AccessGroup.Kind.values:
        raise Invalid(_("“%(value)s” is not a group kind") % {"value": kind}, field="kind")
    if AccessGroup.objects.filter(organisation=organisation, name=name).exists():
        raise Conflict(_("this organisation already has a group with this name"), field="name")
    group = AccessGroup.objects.create(organisation=organisation, name=name, kind=kind)
    audit.record(actor, "access.group.created", group, organisation=organisation.pk)
    return group


@transaction.atomic
def group_member_add(*, actor: Any, group: AccessGroup, person: Person) -> None:
    from port2port.core.selectors import people_visible_to

    require(actor, Perm.ACCESS_CREDENTIAL_MANAGE, on=group.organisation_id)
    if group.kind == AccessGroup.Kind.STAFF and person.organisation_id != group.organisation_id:
        raise Invalid(_("a staff group holds the organisation's own staff"), field="person")
    if not people_visible_to(actor).filter(pk=person.pk).exists():
        raise Invalid(_("this person is not one you may add"), field="person")
    group.members.add(person)
    change_record(person.pk)
    audit.record(
        actor,
        "access.group.member_added",
        group,
        organisation=group.organisation_id,
        details={"person": str(person.pk)},
    )


@transaction.atomic
def group_member_remove(*, actor: Any, group: AccessGroup, person: Person) -> None:
    require(actor, Perm.ACCESS_CREDENTIAL_MANAGE, on=group.organisation_id)
    group.members.remove(person)
    change_record(person.pk)
    audit.record(
        actor,
        "access.group.member_removed",
        group,
        organisation=group.organisation_id,
        details={"person": str(person.pk)},
    )


@transaction.atomic
def group_right_grant(
    *,
    actor: Any,
    group: AccessGroup,
    zone: Zone,
    effect: str = AccessRight.Effect.GRANT,
    schedule: Schedule | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> AccessRight:
    require(actor, Perm.ACCESS_CREDENTIAL_MANAGE, on=group.organisation_id)
    _check_right(effect, valid_from, valid_until, actor, zone)
    right = AccessRight.objects.create(
        group=group,
        zone=zone,
        effect=effect,
        schedule=schedule,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    change_record(None)
    audit.record(
        actor,
        "access.right.set",
        right,
        organisation=group.organisation_id,
        details={"zone": zone.code, "effect": effect, "group": group.name},
    )
    return right


# Visitors (Prean-like) ------------------------------------------------------------------------


def _require_desk_of(actor: Any, facility) -> None:
    """The terminal's security desk (or its officers) decides on its visitors."""
    if not reach(actor, Perm.ACCESS_VISITOR_DECIDE).covers(facility.operator_id):
        raise Forbidden(_("only the terminal's security desk decides on its visitors"))


@transaction.atomic
def visitor_policy_set(
    *, actor: Any, facility, accepts_unverified: bool, announcers: list
) -> VisitorPolicy:
    """Which organisations may announce visitors at this terminal, and whether it accepts
    visitors whose identity is not verified."""
    _require_desk_of(actor, facility)
    policy, _created = VisitorPolicy.objects.get_or_create(facility=facility)
    policy.accepts_unverified = bool(accepts_unverified)
    policy.save()
    policy.announcers.set(announcers)
    audit.record(
        actor,
        "access.visitor_policy.set",
        policy,
        organisation=facility.operator_id,
        details={
            "accepts_unverified": policy.accepts_unverified,
            "announcers": sorted(str(o.pk) for o in announcers),
        },
    )
    return policy


def _visitor_fields(row: dict, policy: VisitorPolicy) -> dict:
    """One announced visitor, checked: mode, names, and what the mode needs."""
    mode = (row.get("mode") or "").strip()
    if mode not in Visitor.Mode.values:
        raise Invalid(
            _("“%(value)s” is not a verification mode") % {"value": mode}, field="visitors"
        )
    given, family = (row.get("given_name") or "").strip(), (row.get("family_name") or "").strip()
    if not given or not family:
        raise Invalid(_("each visitor needs a given and a family name"), field="visitors")
    fields = {
        "mode": mode,
        "given_name": given[:100],
        "family_name": family[:100],
        "birth_date": row.get("birth_date") or None,
        "nationality": (row.get("nationality") or "").strip().upper()[:2],
        "company": (row.get("company") or "").strip()[:120],
    }
    if isinstance(fields["birth_date"], str):
        try:
            fields["birth_date"] = date.fromisoformat(fields["birth_date"])
        except ValueError as exc:
            raise Invalid(_("a birth date is YYYY-MM-DD"), field="visitors") from exc
    if mode == Visitor.Mode.BADGE_HOLDER:
        number = (row.get("badge_number") or "").strip().upper()
        badge = Badge.objects.select_related("person").filter(number=number).first()
        if badge is None:
            raise Invalid(
                _("no badge has the number “%(value)s”") % {"value": number}, field="visitors"
            )
        # the desk sees who holds the badge, not the names the announcer typed
        fields.update(
            badge_number=number,
            person=badge.person,
            given_name=badge.person.given_name,
            family_name=badge.person.family_name,
        )
    elif mode == Visitor.Mode.VERIFIED:
        try:
            number = normalise_national_number(row.get("national_number") or "")
        except ValidationError as exc:
            raise Invalid(exc.messages[0], field="visitors") from exc
        identity = Identity.objects.select_related("person").filter(national_number=number).first()
        fields.update(national_number=number, person=identity.person if identity else None)
        if identity is not None:  # a known person: their registered names
            fields.update(
                given_name=identity.person.given_name, family_name=identity.person.family_name
            )
    elif not policy.accepts_unverified:
        raise Invalid(
            _("this terminal does not accept visitors with an unverified identity"),
            field="visitors",
        )
    if (row.get("plate") or "").strip():
        try:
            fields["plate"] = normalise_plate(row["plate"])
        except ValidationError as exc:
            raise Invalid(exc.messages[0], field="visitors") from exc
    return fields


@transaction.atomic
def visit_announce(
    *,
    actor: Any,
    facility,
    zone: Zone,
    announcer,
    purpose: str,
    starts_at: datetime,
    ends_at: datetime,
    visitors: list[dict],
    vessel: str = "",
    location: str = "",
) -> Visit:
    """A shipping agent (an approved announcer) announces visitors for a vessel or location."""
    require(actor, Perm.ACCESS_VISITOR_ANNOUNCE, on=announcer)
    policy = VisitorPolicy.objects.filter(facility=facility).first()
    if policy is None or not policy.announcers.filter(pk=announcer.pk).exists():
        raise Forbidden(
            _("%(org)s is not an approved announcer at %(facility)s")
            % {"org": announcer.name, "facility": facility.name}
        )
    if zone.facility_id != facility.pk:
        raise Invalid(_("the zone is not part of this terminal"), field="zone")
    if not (purpose or "").strip():
        raise Invalid(_("give the purpose of the visit"), field="purpose")
    if not (vessel or "").strip() and not (location or "").strip():
        raise Invalid(_("name the vessel or the location visited"), field="vessel")
    if starts_at is None or ends_at is None:
        raise Invalid(_("the visit must end after it starts"), field="ends_at")
    starts_at, ends_at = (
        t if timezone.is_aware(t) else timezone.make_aware(t) for t in (starts_at, ends_at)
    )
    if ends_at <= starts_at:
        raise Invalid(_("the visit must end after it starts"), field="ends_at")
    if ends_at - starts_at > timedelta(days=7):
        raise Invalid(_("announce a visit of at most 7 days"), field="ends_at")
    if ends_at < timezone.now():
        raise Invalid(_("the visit is already over"), field="ends_at")
    if not visitors:
        raise Invalid(_("announce at least one visitor"), field="visitors")
    checked = [_visitor_fields(row, policy) for row in visitors]
    visit = Visit.objects.create(
        facility=facility,
        zone=zone,
        announcer=announcer,
        announced_by=actor if getattr(actor, "pk", None) and hasattr(actor, "grants") else None,
        vessel=(vessel or "").strip()[:100],
        location=(location or "").strip()[:100],
        purpose=purpose.strip()[:200],
        starts_at=starts_at,
        ends_at=ends_at,
    )
    for fields in checked:
        visitor = Visitor.objects.create(visit=visit, **fields)
        _ban_check(visitor, basis="announcement")
    change_record(None)
    audit.record(
        actor,
        "access.visit.announced",
        visit,
        organisation=announcer.pk,
        details={"facility": facility.code, "visitors": len(checked)},
    )
    return visit


def _ban_check(visitor: Visitor, *, basis: str) -> str:
    """Look the visitor up in the port-ban register and add the result to its history."""
    today = timezone.localdate()
    person = visitor.person
    if person is None and visitor.national_number:
        match = Identity.objects.filter(national_number=visitor.national_number).first()
        person = match.person if match else None
    if person is None and visitor.birth_date:
        match = Identity.objects.filter(
            birth_date=visitor.birth_date,
            person__family_name__iexact=visitor.family_name,
            person__given_name__iexact=visitor.given_name,
        ).first()
        person = match.person if match else None
    if person is not None:
        banned = PortBan.objects.filter(
            person=person, starts_on__lte=today, ends_on__gte=today
        ).exists()
        result = Visitor.BanState.BANNED if banned else Visitor.BanState.CLEAR
    elif visitor.mode == Visitor.Mode.UNVERIFIED and not visitor.birth_date:
        result = Visitor.BanState.NOT_CHECKED  # a name alone cannot be checked
    else:
        result = Visitor.BanState.CLEAR  # not in any register: no ban can exist
    visitor.ban_state = result
    visitor.save(update_fields=["ban_state"])
    VisitorBanCheck.objects.create(visitor=visitor, result=result, basis=basis)
    return result


@transaction.atomic
def visitor_ban_check(*, actor: Any, visitor: Visitor) -> str:
    _require_desk_of(actor, visitor.visit.facility)
    result = _ban_check(visitor, basis="desk")
    audit.record(
        actor,
        "access.visitor.ban_checked",
        visitor,
        organisation=visitor.visit.facility.operator_id,
        details={"result": result},
    )
    return result


@transaction.atomic
def visitor_decide(*, actor: Any, visitor: Visitor, approve: bool, reason: str = "") -> Visitor:
    """Approve or reject an announced visitor; a rejection needs its reason."""
    _require_desk_of(actor, visitor.visit.facility)
    if visitor.status not in {
        Visitor.Status.ANNOUNCED,
        Visitor.Status.APPROVED,
        Visitor.Status.REJECTED,
    }:
        raise Conflict(_("this visitor has already arrived"), field="status")
    reason = (reason or "").strip()
    if approve:
        if _ban_check(visitor, basis="approval") == Visitor.BanState.BANNED:
            raise Conflict(_("this visitor is banned from the ports"), field="status")
        visitor.status, visitor.rejection_reason = Visitor.Status.APPROVED, ""
    else:
        if not reason:
            raise Invalid(_("give the reason for the rejection"), field="reason")
        visitor.status, visitor.rejection_reason = Visitor.Status.REJECTED, reason[:300]
    visitor.decided_by = actor if hasattr(actor, "grants") and getattr(actor, "pk", None) else None
    visitor.decided_at = timezone.now()
    visitor.save()
    change_record(None)
    audit.record(
        actor,
        "access.visitor.approved" if approve else "access.visitor.rejected",
        visitor,
        organisation=visitor.visit.facility.operator_id,
        details={"reason": reason} if not approve else {},
    )
    return visitor


@transaction.atomic
def visitor_check_in(*, actor: Any, visitor: Visitor) -> Visitor:
    """At arrival: a temporary right on the visited zone until the visit ends, and the vehicle
    plate whitelisted for the ANPR cameras."""
    _require_desk_of(actor, visitor.visit.facility)
    visit = visitor.visit
    now = timezone.now()
    if visitor.status != Visitor.Status.APPROVED:
        raise Conflict(_("only an approved visitor can check in"), field="status")
    if not (visit.starts_at - timedelta(hours=2) <= now < visit.ends_at):
        raise Conflict(_("the visit is not planned for now"), field="status")
    if _ban_check(visitor, basis="check-in") == Visitor.BanState.BANNED:
        raise Conflict(_("this visitor is banned from the ports"), field="status")
    person = visitor.person
    if person is None and visitor.national_number:  # registered meanwhile, or by an earlier visit
        known = Identity.objects.filter(national_number=visitor.national_number).first()
        person = known.person if known else None
    if person is None:  # a first visit: the visitor becomes a person of the announcer
        person = Person.objects.create(
            organisation=visit.announcer,
            given_name=visitor.given_name,
            family_name=visitor.family_name,
            job_title=_("Visitor (%(company)s)")
            % {"company": visitor.company or visit.announcer.name},
        )
        Identity.objects.create(
            person=person,
            birth_date=visitor.birth_date,
            nationality=visitor.nationality,
            national_number=visitor.national_number or None,
        )
        audit.record(
            actor,
            "core.person.created",
            person,
            organisation=visit.announcer_id,
            details={"why": "visitor check-in", "visitor": str(visitor.pk)},
        )
    visitor.person = person
    AccessRight.objects.create(
        person=person, zone=visit.zone, valid_from=now, valid_until=visit.ends_at, visitor=visitor
    )
    if visitor.plate:
        existing = Plate.objects.filter(number=visitor.plate).first()
        if existing is not None and existing.person_id != person.pk:
            raise Conflict(
                _("plate %(plate)s is registered to someone else") % {"plate": visitor.plate},
                field="plate",
            )
        if existing is None:
            Plate.objects.create(
                person=person,
                number=visitor.plate,
                valid_until=timezone.localdate(visit.ends_at),
                visitor=visitor,
            )
    visitor.status, visitor.checked_in_at = Visitor.Status.CHECKED_IN, now
    visitor.save()
    change_record(person.pk)
    change_record(None)
    audit.record(
        actor,
        "access.visitor.checked_in",
        visitor,
        organisation=visit.facility.operator_id,
        details={"plate": visitor.plate, "zone": visit.zone.code},
    )
    return visitor


@transaction.atomic
def visitor_check_out(*, actor: Any, visitor: Visitor) -> Visitor:
    """At departure: the temporary right ends and the plate leaves the ANPR whitelist."""
    _require_desk_of(actor, visitor.visit.facility)
    if visitor.status != Visitor.Status.CHECKED_IN:
        raise Conflict(_("this visitor is not checked in"), field="status")
    now = timezone.now()
    AccessRight.objects.filter(visitor=visitor, valid_until__gt=now).update(valid_until=now)
    Plate.objects.filter(visitor=visitor).delete()
    visitor.status, visitor.checked_out_at = Visitor.Status.CHECKED_OUT, now
    visitor.save()
    change_record(visitor.person_id)
    audit.record(
        actor,
        "access.visitor.checked_out",
        visitor,
        organisation=visitor.visit.facility.operator_id,
    )
    return visitor
