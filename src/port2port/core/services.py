"""The only write path of core: one function per thing that can happen, atomic and audited."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import audit
from .errors import Conflict, Forbidden, Invalid, NotAuthenticated, Throttled
from .identifiers import normalise_eori, normalise_locode, normalise_vat
from .models import (
    ApiToken,
    ClearanceLevel,
    Membership,
    Organisation,
    OrganisationKind,
    Person,
    Port,
    PortKind,
    User,
)
from .roles import ADMIN_ONLY_ROLES, LOCALLY_GRANTABLE, TOKEN_SCOPES, Perm, Role
from .visibility import forget, reach, recheck, require

TOKEN_PREFIX = "p2p"  # noqa: S105 - the visible prefix of every token, not a secret


def _invalid_from(error: ValidationError) -> Invalid:
    """Turn Django's ValidationError into our Invalid, keeping every field's first message."""
    if hasattr(error, "error_dict"):
        fields = {name: str(errors[0].messages[0]) for name, errors in error.error_dict.items()}
        first = next(iter(fields.values()))
        return Invalid(first, fields=fields)
    return Invalid(str(error.messages[0]))


def _clean(obj, *, exclude: list[str] | None = None) -> None:
    try:
        obj.full_clean(exclude=exclude, validate_unique=True, validate_constraints=True)
    except ValidationError as error:
        raise _invalid_from(error) from error


def _normalised(normalise, value: str, field: str) -> str:
    if not value:
        return ""
    try:
        return normalise(value)
    except ValidationError as error:
        raise Invalid(str(error.messages[0]), field=field) from error


def _choice(value: str, choices, field: str) -> str:
    if value not in choices.values:
        raise Invalid(
            _("“%(value)s” is not a known %(field)s") % {"value": value, "field": field},
            field=field,
        )
    return value


# Ports ------------------------------------------------------------------------------------------


@transaction.atomic
def port_create(*, actor: Any, locode: str, name: str, kind: str) -> Port:
    """Register a port of the platform (platform admins, and the demo seed)."""
    require(actor, Perm.CORE_ORGANISATION_CREATE)
    port = Port(
        locode=_normalised(normalise_locode, locode, "locode"),
        name=(name or "").strip(),
        kind=_choice(kind, PortKind, "kind"),
    )
    _clean(port)
    port.save()
    audit.record(actor, "core.port.created", port, details={"locode": port.locode})
    return port


# Organisations ----------------------------------------------------------------------------------


def _organisation_fields(fields: dict) -> dict:
    clean: dict = {}
    if "name" in fields:
        clean["name"] = (fields["name"] or "").strip()
    if "short_name" in fields:
        clean["short_name"] = (fields["short_name"] or "").strip()
    if "kind" in fields:
        clean["kind"] = _choice(fields["kind"], OrganisationKind, "kind")
    if "vat_number" in fields:
        clean["vat_number"] = _normalised(normalise_vat, fields["vat_number"], "vat_number")
    if "eori_number" in fields:
        clean["eori_number"] = _normalised(normalise_eori, fields["eori_number"], "eori_number")
    return clean


# National bodies may stand above every port; every other organisation belongs to at least one.
NATIONAL_KINDS = frozenset(
    {
        OrganisationKind.AUTHORITY_NAMB,
        OrganisationKind.AUTHORITY_CMB,
        OrganisationKind.NATIONAL_SERVICE,
        OrganisationKind.POLICE,
        OrganisationKind.CUSTOMS,
    }
)


def _ports(ports: list, kind: str) -> list[Port]:
    if not ports and kind not in NATIONAL_KINDS:
        raise Invalid(_("an organisation belongs to at least one port"), field="ports")
    result = []
    for item in ports:
        if isinstance(item, Port):
            result.append(item)
            continue
        found = Port.objects.filter(locode=str(item).upper()).first()
        if found is None:
            raise Invalid(_("unknown port “%(port)s”") % {"port": item}, field="ports")
        result.append(found)
    return result


@transaction.atomic
def organisation_create(
    *,
    actor: Any,
    name: str,
    kind: str,
    ports: list,
    short_name: str = "",
    vat_number: str = "",
    eori_number: str = "",
) -> Organisation:
    """Create an organisation in one or more ports (platform admins only)."""
    require(actor, Perm.CORE_ORGANISATION_CREATE)
    values = _organisation_fields(
        {
            "name": name,
            "kind": kind,
            "short_name": short_name,
            "vat_number": vat_number,
            "eori_number": eori_number,
        }
    )
    port_list = _ports(ports, values["kind"])
    organisation = Organisation(**values)
    _clean(organisation)
    organisation.save()
    organisation.ports.set(port_list)
    audit.record(
        actor,
        "core.organisation.created",
        organisation,
        details={**values, "ports": sorted(p.locode for p in port_list)},
    )
    return organisation


@transaction.atomic
def organisation_update(*, actor: Any, organisation: Organisation, **fields) -> Organisation:
    """Change an organisation's details; its ports only a platform admin may change."""
    require(actor, Perm.CORE_ORGANISATION_CHANGE, on=organisation)
    allowed = {"name", "short_name", "kind", "vat_number", "eori_number", "ports"}
    unknown = set(fields) - allowed
    if unknown:
        raise Invalid(
            _("unknown field %(field)s") % {"field": sorted(unknown)[0]}, field=sorted(unknown)[0]
        )
    values = _organisation_fields(fields)
    if "kind" in values and values["kind"] != organisation.kind:
        require(actor, Perm.CORE_ORGANISATION_CREATE)
    changes = {k: v for k, v in values.items() if getattr(organisation, k) != v}
    for key, value in changes.items():
        setattr(organisation, key, value)
    _clean(organisation)
    organisation.save()
    if "ports" in fields:
        require(actor, Perm.CORE_ORGANISATION_CREATE)
        port_list = _ports(fields["ports"], organisation.kind)
        organisation.ports.set(port_list)
        changes["ports"] = sorted(p.locode for p in port_list)
    audit.record(actor, "core.organisation.updated", organisation, details=changes)
    recheck(actor, Perm.CORE_ORGANISATION_VIEW, organisation)
    return organisation


# People and accounts ----------------------------------------------------------------------------


@transaction.atomic
def person_create(
    *,
    actor: Any,
    organisation: Organisation,
    given_name: str,
    family_name: str,
    email: str = "",
    phone: str = "",
    job_title: str = "",
) -> Person:
    """Add a person to an organisation's staff."""
    require(actor, Perm.CORE_PERSON_CREATE, on=organisation)
    person = Person(
        organisation=organisation,
        given_name=(given_name or "").strip(),
        family_name=(family_name or "").strip(),
        email=(email or "").strip().lower(),
        phone=(phone or "").strip(),
        job_title=(job_title or "").strip(),
    )
    _clean(person)
    person.save()
    audit.record(actor, "core.person.created", person)
    recheck(actor, Perm.CORE_PERSON_VIEW, person)
    return person


@transaction.atomic
def person_update(*, actor: Any, person: Person, **fields) -> Person:
    require(actor, Perm.CORE_PERSON_CHANGE, on=person.organisation_id)
    allowed = {"given_name", "family_name", "email", "phone", "job_title"}
    unknown = set(fields) - allowed
    if unknown:
        raise Invalid(
            _("unknown field %(field)s") % {"field": sorted(unknown)[0]}, field=sorted(unknown)[0]
        )
    changes = {}
    for key, value in fields.items():
        value = (value or "").strip()
        if key == "email":
            value = value.lower()
        if getattr(person, key) != value:
            setattr(person, key, value)
            changes[key] = value
    _clean(person)
    person.save()
    audit.record(actor, "core.person.updated", person, details={"fields": sorted(changes)})
    return person


@transaction.atomic
def user_create(
    *, actor: Any, person: Person, username: str, password: str, language: str = ""
) -> User:
    """Give a person an account with an initial password (checked by the password rules)."""
    require(actor, Perm.CORE_USER_CHANGE, on=person.organisation_id)
    if User.objects.filter(person=person).exists():
        raise Conflict(_("this person already has an account"), field="person")
    username = (username or "").strip()
    user = User(username=username, person=person, email=person.email, language=language)
    _clean(user, exclude=["password"])
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise Invalid(" ".join(error.messages), field="password") from error
    user.set_password(password)
    user.must_change_password = True  # the officer knows this password; the person replaces it
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as error:
        raise Conflict(_("this username is taken"), field="username") from error
    audit.record(actor, "core.user.created", user, organisation=person.organisation_id)
    recheck(actor, Perm.CORE_USER_VIEW, user)
    return user


def _user_org(user: User):
    return user.person.organisation_id if user.person_id else None


def _require_on_user(actor: Any, perm: Perm, user: User) -> None:
    organisation_id = _user_org(user)
    if organisation_id is None:
        require(actor, perm)  # accounts without an employer are platform accounts
    else:
        require(actor, perm, on=organisation_id)


def _is_platform_admin(actor: Any) -> bool:
    return reach(actor, Perm.CORE_ORGANISATION_CREATE).everything


def _roles_in(user: User, organisation_id) -> set[str]:
    return {role for m in user.grants() if m.organisation_id == organisation_id for role in m.roles}


def _require_account_manager(actor: Any, user: User) -> None:
    """Who may reset, deactivate or re-link an account: an officer of its employer for ordinary
    staff; a platform admin for admins, anyone with a clearance, and anyone whose roles reach
    beyond the officer's own organisations."""
    _require_on_user(actor, Perm.CORE_USER_CHANGE, user)
    if _is_platform_admin(actor):
        return
    change_reach = reach(actor, Perm.CORE_MEMBERSHIP_CHANGE)
    protected = (
        user.is_platform_admin
        or user.clearance_level != ClearanceLevel.NONE
        or any(not change_reach.covers(m.organisation_id) for m in user.grants())
    )
    if protected:
        raise Forbidden(_("only a platform admin can change this account"))


@transaction.atomic
def membership_set(
    *, actor: Any, user: User, organisation: Organisation, roles: list[str]
) -> Membership:
    """Give `user` exactly `roles` in `organisation` (creating the membership if needed)."""
    require(actor, Perm.CORE_MEMBERSHIP_CHANGE, on=organisation)
    if not reach(actor, Perm.CORE_USER_VIEW).everything:
        _require_on_user(actor, Perm.CORE_USER_VIEW, user)
    roles = list(dict.fromkeys(roles or []))
    if not roles:
        raise Invalid(_("give at least one role"), field="roles")
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise Invalid(_("unknown role “%(role)s”") % {"role": unknown[0]}, field="roles")
    membership = Membership.objects.filter(user=user, organisation=organisation).first()
    before = list(membership.roles) if membership else []
    touched = set(roles) ^ set(before)
    if not _is_platform_admin(actor):
        own = _roles_in(actor, organisation.pk) if isinstance(actor, User) else set()
        beyond = sorted(
            r
            for r in touched
            if r in ADMIN_ONLY_ROLES or (r not in LOCALLY_GRANTABLE and r not in own)
        )
        if beyond:
            raise Forbidden(
                _("only a platform admin can give or take the role “%(role)s”")
                % {"role": Role(beyond[0]).label},
                field="roles",
            )
    if membership is None:
        membership = Membership(user=user, organisation=organisation, roles=roles)
    else:
        membership.roles = roles
    _clean(membership)
    membership.save()
    forget(user)
    audit.record(
        actor,
        "core.membership.set",
        membership,
        details={"user": user.username, "roles": roles, "before": before},
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: Any, membership: Membership) -> None:
    require(actor, Perm.CORE_MEMBERSHIP_CHANGE, on=membership.organisation_id)
    if not _is_platform_admin(actor):
        own = _roles_in(actor, membership.organisation_id) if isinstance(actor, User) else set()
        if any(
            r in ADMIN_ONLY_ROLES or (r not in LOCALLY_GRANTABLE and r not in own)
            for r in membership.roles
        ):
            raise Forbidden(_("only a platform admin can remove this membership"))
    audit.record(
        actor,
        "core.membership.removed",
        membership,
        details={"user": membership.user.username, "roles": membership.roles},
    )
    membership.delete()
    forget(membership.user)


@transaction.atomic
def clearance_set(*, actor: Any, user: User, level: str, valid_until: date | None) -> User:
    """Record a user's security clearance; only platform admins grant clearances."""
    require(actor, Perm.CORE_ORGANISATION_CREATE)
    level = _choice(level, ClearanceLevel, "level")
    if level == ClearanceLevel.NONE:
        valid_until = None
    else:
        if valid_until is None:
            raise Invalid(
                _("a clearance needs the date until which it is valid"), field="valid_until"
            )
        if valid_until < timezone.localdate():
            raise Invalid(_("this clearance has already expired"), field="valid_until")
    before = {"level": user.clearance_level, "valid_until": user.clearance_valid_until}
    user.clearance_level, user.clearance_valid_until = level, valid_until
    user.save(update_fields=["clearance_level", "clearance_valid_until"])
    audit.record(
        actor,
        "core.clearance.set",
        user,
        organisation=_user_org(user),
        details={"level": level, "valid_until": valid_until, "before": before},
    )
    return user


@transaction.atomic
def user_set_active(*, actor: Any, user: User, active: bool) -> User:
    _require_account_manager(actor, user)
    if actor is not None and getattr(actor, "pk", None) == user.pk:
        raise Conflict(_("you cannot deactivate your own account"), field="active")
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit.record(
        actor,
        "core.user.activated" if active else "core.user.deactivated",
        user,
        organisation=_user_org(user),
    )
    return user


@transaction.atomic
def password_change(*, actor: User, old_password: str, new_password: str) -> User:
    """A user replaces their own password (required after an officer set it)."""
    if not actor.check_password(old_password or ""):
        raise Invalid(_("your current password is not right"), field="old_password")
    if old_password == new_password:
        raise Invalid(_("choose a password different from the current one"), field="new_password")
    try:
        validate_password(new_password, actor)
    except ValidationError as error:
        raise Invalid(" ".join(error.messages), field="new_password") from error
    actor.set_password(new_password)
    actor.must_change_password = False
    actor.save(update_fields=["password", "must_change_password"])
    audit.record(actor, "auth.password.changed", actor, organisation=_user_org(actor))
    return actor


@transaction.atomic
def password_reset(*, actor: Any, user: User, password: str) -> User:
    """An officer sets a new temporary password; the person must replace it at the next login."""
    _require_account_manager(actor, user)
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise Invalid(" ".join(error.messages), field="password") from error
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    audit.record(actor, "auth.password.reset", user, organisation=_user_org(user))
    return user


@transaction.atomic
def user_unlock(*, actor: Any, user: User) -> User:
    """Lift a login lockout before its time runs out."""
    _require_on_user(actor, Perm.CORE_USER_CHANGE, user)
    user.failed_logins, user.locked_until = 0, None
    user.save(update_fields=["failed_logins", "locked_until"])
    audit.record(actor, "auth.unlocked", user, organisation=_user_org(user))
    return user


@transaction.atomic
def user_set_language(*, actor: User, language: str) -> User:
    if language not in dict(settings.LANGUAGES):
        raise Invalid(
            _("unknown language “%(language)s”") % {"language": language}, field="language"
        )
    actor.language = language
    actor.save(update_fields=["language"])
    audit.record(
        actor,
        "core.user.language_set",
        actor,
        organisation=_user_org(actor),
        details={"language": language},
    )
    return actor


@transaction.atomic
def totp_reset(*, actor: Any, user: User) -> None:
    """Remove a user's authenticator (lost phone); they enrol again at their next login."""
    _require_account_manager(actor, user)
    TOTPDevice.objects.filter(user=user).delete()
    audit.record(actor, "auth.totp.reset", user, organisation=_user_org(user))


# Login ------------------------------------------------------------------------------------------

_DUMMY_PASSWORD_HASH = None


def _equalise_timing(password: str) -> None:
    """Hash once for an unknown username so that timing does not reveal which names exist."""
    global _DUMMY_PASSWORD_HASH
    if _DUMMY_PASSWORD_HASH is None:
        _DUMMY_PASSWORD_HASH = make_password(secrets.token_hex(8))
    from django.contrib.auth.hashers import check_password

    check_password(password, _DUMMY_PASSWORD_HASH)


@transaction.atomic
def login_failure_record(*, user: User, reason: str) -> None:
    """Count a failed login; lock the account after LOGIN_MAX_FAILURES (audited)."""
    User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
    user.refresh_from_db(fields=["failed_logins", "locked_until"])
    audit.record(
        None, "auth.login.failed", user, organisation=_user_org(user), details={"reason": reason}
    )
    if user.failed_logins >= settings.LOGIN_MAX_FAILURES:
        user.locked_until = timezone.now() + timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
        user.failed_logins = 0
        user.save(update_fields=["locked_until", "failed_logins"])
        audit.record(
            None,
            "auth.lockout",
            user,
            organisation=_user_org(user),
            details={"until": user.locked_until, "minutes": settings.LOGIN_LOCK_MINUTES},
        )


def _raise_if_locked(user: User) -> None:
    if user.is_locked():
        local = timezone.localtime(user.locked_until)
        raise Throttled(
            _(
                "this account is locked after repeated failed logins until %(time)s; "
                "ask your security officer to unlock it sooner"
            )
            % {"time": f"{local:%H:%M}"}
        )


def login_check_password(*, username: str, password: str) -> User:
    """First step of login. Raises NotAuthenticated or Throttled with a message for the user."""
    user = User.objects.filter(username=(username or "").strip()).first()
    if user is None or not user.has_usable_password():
        _equalise_timing(password or "")
        raise NotAuthenticated(_("wrong username or password"))
    _raise_if_locked(user)
    if not user.check_password(password or "") or not user.is_active:
        login_failure_record(user=user, reason="password")
        _raise_if_locked(user)
        raise NotAuthenticated(_("wrong username or password"))
    return user


def login_check_totp(*, user: User, code: str) -> TOTPDevice:
    """Second step: a code of the user's confirmed authenticator."""
    _raise_if_locked(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        raise Conflict(_("no authenticator is enrolled for this account"), field="code")
    code = (code or "").replace(" ", "")
    if not code.isdigit() or not device.verify_token(code):
        login_failure_record(user=user, reason="totp")
        _raise_if_locked(user)
        raise Invalid(
            _("this code is not valid; use the current code of your authenticator app"),
            field="code",
        )
    return device


@transaction.atomic
def login_oidc_failure_record(*, reason: str, subject: str = "") -> None:
    """An OpenID Connect sign-in that was refused (bad answer, or an identity with no account)."""
    audit.record(None, "auth.oidc.failed", details={"reason": str(reason), "subject": subject})


@transaction.atomic
def login_succeeded(*, user: User, method: str) -> None:
    user.failed_logins, user.locked_until = 0, None
    user.last_login = timezone.now()
    user.save(update_fields=["failed_logins", "locked_until", "last_login"])
    audit.record(user, "auth.login", user, organisation=_user_org(user), details={"method": method})


def logout_record(*, user: User) -> None:
    audit.record(user, "auth.logout", user, organisation=_user_org(user))


@transaction.atomic
def totp_enrolment_start(*, user: User) -> TOTPDevice:
    """An unconfirmed authenticator for the user to scan; replaces any earlier unconfirmed one."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


@transaction.atomic
def totp_enrolment_confirm(*, user: User, code: str) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        raise Conflict(_("start the enrolment again"), field="code")
    code = (code or "").replace(" ", "")
    if not code.isdigit() or not device.verify_token(code):
        raise Invalid(
            _("this code does not match; check the time on your phone and try again"), field="code"
        )
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit.record(user, "auth.totp.enrolled", user, organisation=_user_org(user))
    return device


@transaction.atomic
def oidc_subject_link(*, actor: Any, user: User, subject: str) -> User:
    """Link an OpenID Connect (itsme) identity to an account so that it can sign in with it.

    An identity signs in without a password, so only platform admins link one.
    """
    require(actor, Perm.CORE_ORGANISATION_CREATE)
    subject = (subject or "").strip() or None
    if subject and "|" not in subject:  # a bare `sub` belongs to the configured provider
        if not settings.OIDC_ISSUER:
            raise Invalid(_("OpenID Connect login is not configured"), field="oidc_subject")
        subject = f"{settings.OIDC_ISSUER.rstrip('/')}|{subject}"
    if subject and User.objects.filter(oidc_subject=subject).exclude(pk=user.pk).exists():
        raise Conflict(_("this identity is linked to another account"), field="oidc_subject")
    before = user.oidc_subject or ""
    user.oidc_subject = subject
    user.save(update_fields=["oidc_subject"])
    audit.record(
        actor,
        "auth.oidc.linked" if subject else "auth.oidc.unlinked",
        user,
        organisation=_user_org(user),
        details={"subject": subject or "", "before": before},
    )
    return user


# API tokens -------------------------------------------------------------------------------------


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def token_create(
    *,
    actor: Any,
    organisation: Organisation,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Issue an API token for an organisation. The secret is returned once and never stored."""
    require(actor, Perm.CORE_TOKEN_CREATE, on=organisation)
    name = (name or "").strip()
    if not name:
        raise Invalid(_("give the token a name"), field="name")
    scopes = sorted(set(scopes or []))
    if not scopes:
        raise Invalid(_("choose at least one scope"), field="scopes")
    unknown = [s for s in scopes if s not in TOKEN_SCOPES]
    if unknown:
        raise Invalid(_("unknown scope “%(scope)s”") % {"scope": unknown[0]}, field="scopes")
    for scope in scopes:  # a token must see what it writes: the write is re-checked against it
        module, resource, action = scope.split(":")
        view = f"{module}:{resource}:view"
        if action != "view" and view in TOKEN_SCOPES and view not in scopes:
            raise Invalid(
                _("the scope “%(scope)s” needs “%(view)s” too") % {"scope": scope, "view": view},
                field="scopes",
            )
    beyond = [s for s in scopes if not reach(actor, Perm(s)).covers(organisation.pk)]
    if beyond:
        raise Invalid(
            _("you cannot give a token the scope “%(scope)s”, which you do not hold yourself")
            % {"scope": beyond[0]},
            field="scopes",
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise Invalid(_("the expiry must lie in the future"), field="expires_at")
    prefix = secrets.token_hex(6)
    secret = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        organisation=organisation,
        name=name,
        prefix=prefix,
        secret_hash=_token_hash(secret),
        scopes=scopes,
        created_by=actor if isinstance(actor, User) else None,
        expires_at=expires_at,
    )
    audit.record(
        actor, "core.token.created", token, details={"scopes": scopes, "expires_at": expires_at}
    )
    return token, secret


@transaction.atomic
def token_revoke(*, actor: Any, token: ApiToken) -> ApiToken:
    require(actor, Perm.CORE_TOKEN_REVOKE, on=token.organisation_id)
    if token.revoked_at is not None:
        raise Conflict(_("this token is already revoked"))
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(actor, "core.token.revoked", token)
    return token


def token_authenticate(secret: str) -> ApiToken:
    """Resolve a presented token; raises NotAuthenticated with the reason."""
    parts = (secret or "").split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        raise NotAuthenticated(
            _("malformed API token: expected p2p_<prefix>_<secret>"), field="authorization"
        )
    token = ApiToken.objects.select_related("organisation").filter(prefix=parts[1]).first()
    if token is None or not hmac.compare_digest(token.secret_hash, _token_hash(secret)):
        raise NotAuthenticated(_("unknown API token"), field="authorization")
    if token.revoked_at is not None:
        raise NotAuthenticated(_("this API token was revoked"), field="authorization")
    if not token.is_usable():
        raise NotAuthenticated(_("this API token has expired"), field="authorization")
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


@transaction.atomic
def platform_admin_bootstrap(*, username: str, email: str, password: str) -> User:
    """`port2port createadmin`: the first platform admin, in the platform operations organisation."""
    organisation, created = Organisation.objects.get_or_create(
        name="Port 2 Port platform operations",
        defaults={"short_name": "P2P", "kind": OrganisationKind.NATIONAL_SERVICE},
    )
    if created:
        audit.record(None, "core.organisation.created", organisation)
    person = Person(
        organisation=organisation, given_name=username, family_name="(admin)", email=email
    )
    _clean(person)
    person.save()
    user = User(username=(username or "").strip(), person=person, email=email)
    _clean(user, exclude=["password"])
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise Invalid(" ".join(error.messages), field="password") from error
    user.set_password(password)
    user.save()
    Membership.objects.create(
        user=user, organisation=organisation, roles=[Role.PLATFORM_ADMIN.value]
    )
    audit.record(
        None,
        "core.user.created",
        user,
        organisation=organisation,
        details={"roles": ["platform_admin"]},
    )
    return user
