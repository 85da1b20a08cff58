"""Organisations, ports, people, users, memberships, API tokens and the audit log (DESIGN.md §4)."""

from __future__ import annotations

import uuid
from datetime import date

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .identifiers import normalise_eori, normalise_locode, normalise_vat
from .roles import ROLE_PERMS, Perm, Role


def validate_locode(value: str) -> None:
    normalise_locode(value)


def validate_vat(value: str) -> None:
    normalise_vat(value)


def validate_eori(value: str) -> None:
    normalise_eori(value)


def validate_roles(value):
    if not isinstance(value, list) or not value:
        raise ValidationError(_("Give at least one role."), code="roles_empty")
    unknown = [role for role in value if role not in Role.values]
    if unknown:
        raise ValidationError(
            _("Unknown role: %(roles)s."),
            code="roles_unknown",
            params={"roles": ", ".join(map(str, unknown))},
        )


class PortKind(models.TextChoices):
    SEA = "sea", _("Seaport")
    INLAND = "inland", _("Inland port")


class Port(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    locode = models.CharField(
        _("UN/LOCODE"), max_length=5, unique=True, validators=[validate_locode]
    )
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=PortKind.choices)

    VISIBILITY_ORG_FIELD = None  # every signed-in user sees the ports of the platform

    class Meta:
        ordering = ["name"]
        verbose_name = _("port")
        verbose_name_plural = _("ports")

    def __str__(self) -> str:
        return f"{self.name} ({self.locode})"


class OrganisationKind(models.TextChoices):
    PORT_AUTHORITY = "port_authority", _("Port authority")
    FACILITY_OPERATOR = "facility_operator", _("Facility or terminal operator")
    COMPANY = "company", _("Company")
    POLICE = "police", _("Police")
    CUSTOMS = "customs", _("Customs")
    AUTHORITY_NAMB = "authority_namb", _("Authority: NAMB")
    AUTHORITY_CMB = "authority_cmb", _("Authority: CMB")
    AUTHORITY_LCMB = "authority_lcmb", _("Authority: LCMB")
    NATIONAL_SERVICE = "national_service", _("National service")


class Organisation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=200, unique=True)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    kind = models.CharField(_("kind"), max_length=30, choices=OrganisationKind.choices)
    ports = models.ManyToManyField(Port, related_name="organisations", verbose_name=_("ports"))
    vat_number = models.CharField(
        _("VAT number"), max_length=16, blank=True, validators=[validate_vat]
    )
    eori_number = models.CharField(
        _("EORI number"), max_length=17, blank=True, validators=[validate_eori]
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    VISIBILITY_ORG_FIELD = "pk"

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.UniqueConstraint(
                fields=["vat_number"],
                condition=~models.Q(vat_number=""),
                name="organisation_vat_unique",
                violation_error_code="unique",
                violation_error_message=_("Another organisation already has this VAT number."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="people", verbose_name=_("employer")
    )
    given_name = models.CharField(_("given name"), max_length=100)
    family_name = models.CharField(_("family name"), max_length=100)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    job_title = models.CharField(_("job title"), max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    VISIBILITY_ORG_FIELD = "organisation"

    class Meta:
        ordering = ["family_name", "given_name"]
        verbose_name = _("person")
        verbose_name_plural = _("people")

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"


class ClearanceLevel(models.TextChoices):
    NONE = "none", _("None")
    CONFIDENTIAL = "confidential", _("Confidential")
    SECRET = "secret", _("Secret")

    @classmethod
    def rank(cls, level: str) -> int:
        return [cls.NONE, cls.CONFIDENTIAL, cls.SECRET].index(level)


class User(AbstractUser):
    """An account. Roles come from memberships; the clearance is held by the user."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.OneToOneField(
        Person,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="user",
        verbose_name=_("person"),
    )
    clearance_level = models.CharField(
        _("clearance"), max_length=12, choices=ClearanceLevel.choices, default=ClearanceLevel.NONE
    )
    clearance_valid_until = models.DateField(_("clearance valid until"), null=True, blank=True)
    failed_logins = models.PositiveIntegerField(default=0, editable=False)
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)
    oidc_subject = models.CharField(
        _("OpenID Connect subject"), max_length=255, null=True, blank=True, unique=True
    )
    language = models.CharField(_("language"), max_length=8, blank=True)
    must_change_password = models.BooleanField(default=False, editable=False)

    VISIBILITY_ORG_FIELD = "person__organisation"  # accounts are seen through the employer

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(clearance_level="none")
                | models.Q(clearance_valid_until__isnull=False),
                name="user_clearance_has_expiry",
            )
        ]

    def effective_clearance(self, today: date | None = None) -> str:
        """The clearance in force: none once its validity has passed."""
        today = today or timezone.localdate()
        if self.clearance_level == ClearanceLevel.NONE or not self.clearance_valid_until:
            return ClearanceLevel.NONE
        return self.clearance_level if self.clearance_valid_until >= today else ClearanceLevel.NONE

    @property
    def is_platform_admin(self) -> bool:
        return any(Role.PLATFORM_ADMIN in m.roles for m in self.grants())

    @property
    def requires_second_factor(self) -> bool:
        """TOTP is mandatory for platform admins and for anyone with a clearance (DESIGN.md §4)."""
        return self.is_platform_admin or self.clearance_level != ClearanceLevel.NONE

    def is_locked(self, now=None) -> bool:
        return bool(self.locked_until and self.locked_until > (now or timezone.now()))

    def grants(self) -> list[Membership]:
        """The user's memberships, loaded once per object (permission checks read them often)."""
        cached = getattr(self, "_grants_cache", None)
        if cached is None:
            cached = list(self.memberships.select_related("organisation"))
            self._grants_cache = cached
        return cached

    def forget_grants(self) -> None:
        self.__dict__.pop("_grants_cache", None)

    def perms_in(self, organisation_id) -> frozenset[Perm]:
        perms: set[Perm] = set()
        for membership in self.grants():
            if membership.organisation_id == organisation_id:
                perms |= membership.perms()
        return frozenset(perms)


class Membership(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="memberships"
    )
    roles = models.JSONField(_("roles"), default=list, validators=[validate_roles])
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    VISIBILITY_ORG_FIELD = "organisation"

    class Meta:
        ordering = ["organisation__name"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation"], name="membership_unique_per_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation}"

    def perms(self) -> frozenset[Perm]:
        perms: set[Perm] = set()
        for role in self.roles:
            perms |= ROLE_PERMS.get(Role(role), frozenset())
        return frozenset(perms)

    def role_labels(self) -> list[str]:
        return [str(Role(role).label) for role in self.roles if role in Role.values]


class ApiToken(models.Model):
    """An organisation's API token: only a prefix and a hash of the secret are stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    VISIBILITY_ORG_FIELD = "organisation"

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class AuditRecord(models.Model):
    """One entry of the append-only, hash-chained audit log (core.audit writes and verifies it)."""

    seq = models.BigIntegerField(primary_key=True, editable=False)
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    at = models.DateTimeField(editable=False, db_index=True)
    actor = models.ForeignKey(
        User, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(max_length=300, blank=True)
    organisation = models.ForeignKey(
        Organisation, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    details = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    VISIBILITY_ORG_FIELD = "organisation"

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit record")
        verbose_name_plural = _("audit records")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class AuditHead(models.Model):
    """The single row that holds the end of the chain; locking it serialises audit writers."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit head #{self.seq}"
