"""Credentials, screening registers, access rights and the decision log (issue 5)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from port2port.core.models import Person
from port2port.sites.models import Gate, Zone


class Reason(models.TextChoices):
    """Why a gate decision came out as it did: stable machine-readable codes."""

    UNKNOWN_GATE = "UNKNOWN_GATE", _("This gate is not known.")
    UNKNOWN_CREDENTIAL = "UNKNOWN_CREDENTIAL", _("This badge, pass or plate is not known.")
    BADGE_BLOCKED = "BADGE_BLOCKED", _("This badge is blocked.")
    BADGE_INACTIVE = "BADGE_INACTIVE", _("This badge is not active.")
    BADGE_EXPIRED = "BADGE_EXPIRED", _("This badge has expired.")
    PORT_BAN = "PORT_BAN", _("This person is banned from the ports.")
    NO_RIGHT = "NO_RIGHT", _("This person has no access right for this zone.")
    DENIED_BY_RULE = "DENIED_BY_RULE", _("An access rule denies this person entry to this zone.")
    OUTSIDE_SCHEDULE = "OUTSIDE_SCHEDULE", _("The access right does not cover this time.")
    VERIFICATION_MISSING = (
        "VERIFICATION_MISSING",
        _("This zone needs a positive security verification; there is none."),
    )
    VERIFICATION_EXPIRED = "VERIFICATION_EXPIRED", _("The security verification has expired.")
    GRANTED = "GRANTED", _("Access granted.")


class Badge(models.Model):
    class Kind(models.TextChoices):
        ALFAPASS = "alfapass", "Alfapass"
        PORT_PASS = "port_pass", "Port Pass"
        COMPANY = "company", _("Company badge")

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        INACTIVE = "inactive", _("Inactive")
        BLOCKED = "blocked", _("Blocked")
        EXPIRED = "expired", _("Expired")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="badges")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.ALFAPASS)
    number = models.CharField(_("number"), max_length=40, unique=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number


class Plate(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="plates")
    number = models.CharField(
        _("plate"), max_length=12, unique=True, help_text=_("Normalised: letters and digits only.")
    )
    country = models.CharField(_("country"), max_length=2, default="BE")
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number


class PortBan(models.Model):
    """A ban from all ports (AIGIS-like), from a court decision, at most 20 years."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="port_bans")
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    source = models.CharField(
        _("source"), max_length=200, help_text=_("The court decision or authority.")
    )
    registered_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="ban_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"ban {self.person_id} {self.starts_on}..{self.ends_on}"


class Verification(models.Model):
    """A security verification for a critical function (PANOPTES-like); positive is valid 5 years."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        POSITIVE = "positive", _("Positive")
        NEGATIVE = "negative", _("Negative")
        UNDER_APPEAL = "under_appeal", _("Under appeal")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="verifications")
    category = models.CharField(_("critical-function category"), max_length=80)
    status = models.CharField(_("status"), max_length=14, choices=Status.choices)
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        ordering = ["-decided_on"]

    def __str__(self) -> str:
        return f"{self.category}: {self.status}"


class Schedule(models.Model):
    """Weekly time windows (Monday = 0) and holidays on which the windows do not apply."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=100)
    windows = models.JSONField(
        _("weekly windows"),
        default=list,
        help_text=_('[{"day": 0, "start": "06:00", "end": "22:00"}, ...]'),
    )
    holidays = models.JSONField(_("holidays"), default=list, help_text=_('["2026-12-25", ...]'))

    def __str__(self) -> str:
        return self.name


class AccessRight(models.Model):
    """Grant or deny a person entry to a zone (and the zones inside it), in a period and schedule."""

    class Effect(models.TextChoices):
        GRANT = "grant", _("Grant")
        DENY = "deny", _("Deny")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="access_rights")
    zone = models.ForeignKey(Zone, on_delete=models.PROTECT, related_name="access_rights")
    effect = models.CharField(
        _("effect"), max_length=5, choices=Effect.choices, default=Effect.GRANT
    )
    schedule = models.ForeignKey(
        Schedule, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["person", "zone"])]

    def __str__(self) -> str:
        return f"{self.effect} {self.person_id} -> {self.zone_id}"


class GateDecision(models.Model):
    """The decision log: every decision with its reasons, for 'why was this person refused?'."""

    id = models.BigAutoField(primary_key=True)
    gate = models.ForeignKey(Gate, null=True, on_delete=models.SET_NULL, related_name="+")
    gate_code = models.CharField(max_length=40)
    credential_kind = models.CharField(max_length=10)
    credential = models.CharField(max_length=40)
    person = models.ForeignKey(
        Person, null=True, on_delete=models.SET_NULL, related_name="gate_decisions"
    )
    direction = models.CharField(max_length=3)
    at = models.DateTimeField(db_index=True)
    granted = models.BooleanField()
    reasons = models.JSONField(default=list)

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["person", "-at"]),
            models.Index(fields=["gate_code", "-at"]),
        ]

    def __str__(self) -> str:
        return f"{self.gate_code} {self.credential} {'grant' if self.granted else 'deny'}"


class AccessChange(models.Model):
    """Change feed of the decision snapshot: each process applies the rows after the last it saw
    (at most a second later), so a new ban reaches every gate of every node within a second."""

    seq = models.BigAutoField(primary_key=True)
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"#{self.seq} {self.person_id or 'all'}"


class AccessAlert(models.Model):
    """What an employer's security manager or a port's control room must know at once (a ban)."""

    class Kind(models.TextChoices):
        PORT_BAN = "port_ban", _("A person was banned from the ports")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey("core.User", on_delete=models.CASCADE, related_name="access_alerts")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.person_id}"


class Identity(models.Model):
    """What the gate needs beyond core's person: birth date, nationality, national number."""

    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, primary_key=True, related_name="identity"
    )
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    nationality = models.CharField(
        _("nationality"), max_length=2, blank=True, help_text=_("ISO 3166 code, e.g. BE")
    )
    national_number = models.CharField(
        _("national register number"), max_length=11, null=True, blank=True, unique=True
    )

    def __str__(self) -> str:
        return f"identity of {self.person_id}"
