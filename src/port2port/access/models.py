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
    VISITOR_NOT_APPROVED = (
        "VISITOR_NOT_APPROVED",
        _("This visitor is announced but the visit is not approved."),
    )
    ANTI_PASSBACK = (
        "ANTI_PASSBACK",
        _("This person already entered this area and has not left it (anti-passback)."),
    )
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
    visitor = models.ForeignKey(
        "Visitor",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="plates",
        help_text=_("Whitelisted at a visitor's check-in; removed at check-out."),
    )

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
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="access_rights"
    )
    group = models.ForeignKey(
        "AccessGroup", null=True, blank=True, on_delete=models.CASCADE, related_name="rights"
    )
    zone = models.ForeignKey(Zone, on_delete=models.PROTECT, related_name="access_rights")
    visitor = models.ForeignKey(
        "Visitor",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rights",
        help_text=_("The visit whose check-in gave this temporary right."),
    )
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
        constraints = [
            models.CheckConstraint(
                condition=models.Q(person__isnull=False, group__isnull=True)
                | models.Q(person__isnull=True, group__isnull=False),
                name="right_for_person_or_group",
            )
        ]

    def __str__(self) -> str:
        return f"{self.effect} {self.person_id or self.group_id} -> {self.zone_id}"


class GateDecision(models.Model):
    """The decision log: every decision with its reasons, for 'why was this person refused?'."""

    id = models.BigAutoField(primary_key=True)
    uid = models.CharField(  # node and sequence: a journal line replayed twice is stored once
        max_length=40, unique=True, null=True, editable=False
    )
    gate = models.ForeignKey(Gate, null=True, on_delete=models.SET_NULL, related_name="+")
    gate_code = models.CharField(max_length=40)
    credential_kind = models.CharField(max_length=10)
    credential = models.CharField(max_length=255)
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
        ANTI_PASSBACK = "anti_passback", _("A badge was used to enter an area twice")

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
    photo = models.ImageField(_("photo"), upload_to="identity/", null=True, blank=True)
    oidc_subject = models.CharField(
        _("itsme / OpenID subject"),
        max_length=255,
        null=True,
        blank=True,
        unique=True,
        help_text=_("Identifies the person at a gate that verifies identities with itsme."),
    )

    def __str__(self) -> str:
        return f"identity of {self.person_id}"


class CriminalRecordExtract(models.Model):
    """The special criminal-record extract a port employer checks (date checked, result)."""

    class Result(models.TextChoices):
        CLEAR = "clear", _("No entries")
        ENTRIES = "entries", _("Entries found")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="record_extracts")
    checked_on = models.DateField(_("checked on"))
    result = models.CharField(_("result"), max_length=8, choices=Result.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-checked_on"]

    def __str__(self) -> str:
        return f"extract {self.checked_on}: {self.result}"


class AccessGroup(models.Model):
    """Staff or visitor group of an organisation: rights given to the group apply to its members."""

    class Kind(models.TextChoices):
        STAFF = "staff", _("Staff group")
        VISITOR = "visitor", _("Visitor group")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.CASCADE, related_name="access_groups"
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.STAFF)
    members = models.ManyToManyField(Person, blank=True, related_name="access_groups")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="group_name_per_org")
        ]

    def __str__(self) -> str:
        return self.name


class GateDevice(models.Model):
    """A gate controller with its own token: it may ask decisions and its allow-list for one gate."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["gate__code", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"


class VisitorPolicy(models.Model):
    """What a terminal accepts from announcers (Prean-like)."""

    facility = models.OneToOneField(
        "sites.Facility", on_delete=models.CASCADE, primary_key=True, related_name="visitor_policy"
    )
    accepts_unverified = models.BooleanField(
        _("accepts visitors with an unverified identity"), default=True
    )
    announcers = models.ManyToManyField(
        "core.Organisation",
        blank=True,
        related_name="announces_at",
        verbose_name=_("approved announcers"),
    )

    def __str__(self) -> str:
        return f"visitor policy of {self.facility_id}"


class Visit(models.Model):
    """A pre-announced visit to a terminal: for a vessel or a location, on given days."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    facility = models.ForeignKey("sites.Facility", on_delete=models.PROTECT, related_name="visits")
    zone = models.ForeignKey(Zone, on_delete=models.PROTECT, related_name="visits")
    announcer = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="announced_visits"
    )
    announced_by = models.ForeignKey(
        "core.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    vessel = models.CharField(_("vessel"), max_length=100, blank=True)
    location = models.CharField(_("location"), max_length=100, blank=True)
    purpose = models.CharField(_("purpose"), max_length=200)
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="visit_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.vessel or self.location} {self.starts_at:%Y-%m-%d}"


class Visitor(models.Model):
    """One announced person, through approval, check-in and check-out."""

    class Mode(models.TextChoices):
        BADGE_HOLDER = "badge_holder", _("Badge holder")
        VERIFIED = "verified", _("Verified identity")
        UNVERIFIED = "unverified", _("Unverified identity")

    class Status(models.TextChoices):
        ANNOUNCED = "announced", _("Announced")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        CHECKED_IN = "checked_in", _("Checked in")
        CHECKED_OUT = "checked_out", _("Checked out")

    class BanState(models.TextChoices):
        NOT_CHECKED = "not_checked", _("Not checked")
        CLEAR = "clear", _("Clear")
        BANNED = "banned", _("Banned")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="visitors")
    mode = models.CharField(_("verification mode"), max_length=12, choices=Mode.choices)
    given_name = models.CharField(_("given name"), max_length=100)
    family_name = models.CharField(_("family name"), max_length=100)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    nationality = models.CharField(_("nationality"), max_length=2, blank=True)
    company = models.CharField(_("company"), max_length=120, blank=True)
    badge_number = models.CharField(_("badge number"), max_length=40, blank=True)
    national_number = models.CharField(_("national register number"), max_length=11, blank=True)
    plate = models.CharField(_("vehicle plate"), max_length=12, blank=True)
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="visits"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.ANNOUNCED
    )
    ban_state = models.CharField(
        _("port-ban check"), max_length=12, choices=BanState.choices, default=BanState.NOT_CHECKED
    )
    decided_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(_("reason"), max_length=300, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["family_name", "given_name"]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"


class VisitorBanCheck(models.Model):
    """The history of a visitor's port-ban checks."""

    id = models.BigAutoField(primary_key=True)
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="ban_checks")
    at = models.DateTimeField(default=timezone.now)
    result = models.CharField(max_length=12, choices=Visitor.BanState.choices)
    basis = models.CharField(max_length=40)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.visitor_id} {self.result} ({self.basis})"
