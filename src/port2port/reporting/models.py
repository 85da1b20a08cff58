"""Anonymous reporting (Portwatch): channels, triage teams, encrypted reports (issue 4).

Everything a reporter wrote (answers, messages, attachments) is stored encrypted with the report's
own key; that key is sealed to the triage team's public key and, separately, wrapped with a key
derived from the reporter's receipt. Only what routing and statistics need is in clear: channel,
category, port, status, whether contact details were given, and the hour of submission.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from port2port.core.models import Organisation, Port


class Category(models.TextChoices):
    DRUG_SMUGGLING = "drug_smuggling", _("Drug smuggling")
    RECRUITMENT = "recruitment", _("Recruitment attempt")
    CORRUPTION = "corruption", _("Corruption")
    INTRUSION = "intrusion", _("Intrusion")
    DRONE = "drone", _("Suspicious drone")
    VEHICLE_VESSEL = "vehicle_vessel", _("Suspicious vehicle or vessel")
    CYBER = "cyber", _("Cyber")
    OTHER = "other", _("Other")


class TriageTeam(models.Model):
    """The team that handles a channel's reports: a police information hub or port security.

    Its private key is stored only encrypted with the platform's reporting key, which lives outside
    the database (REPORTING_KEY or var/reporting.key)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="triage_teams"
    )
    name = models.CharField(_("name"), max_length=120)
    ports = models.ManyToManyField(Port, blank=True, related_name="triage_teams")
    public_key = models.BinaryField()
    private_key_box = models.BinaryField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Channel(models.Model):
    """A way in for reports (the national Portwatch line, a port's own line) with its questionnaire."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(_("address"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    intro = models.JSONField(
        _("introduction"), default=dict, blank=True, help_text=_('{"nl": "...", "fr": "..."}')
    )
    languages = models.JSONField(_("languages"), default=list)
    team = models.ForeignKey(TriageTeam, on_delete=models.PROTECT, related_name="channels")
    ports = models.ManyToManyField(
        Port, blank=True, related_name="report_channels", help_text=_("Empty: every port.")
    )
    questionnaire = models.JSONField(_("questionnaire"), default=list)
    retention_days = models.PositiveIntegerField(_("retention (days)"), default=365)
    reports_per_minute = models.PositiveIntegerField(
        _("reports per minute, at most"),
        default=30,
        help_text=_("A limit for the whole channel, never per address (terminals share one)."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Report(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        TRIAGE = "triage", _("In triage")
        FORWARDED = "forwarded", _("Forwarded")
        CLOSED = "closed", _("Closed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="reports")
    team = models.ForeignKey(TriageTeam, on_delete=models.PROTECT, related_name="reports")
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    port = models.ForeignKey(
        Port, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    language = models.CharField(_("language"), max_length=5)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NEW
    )
    close_reason = models.CharField(_("reason for closing"), max_length=300, blank=True)
    assigned_to = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    with_contact = models.BooleanField(default=False)
    # the hour only: nothing finer on the reporter's side
    submitted_hour = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    receipt_lookup = models.CharField(max_length=64, unique=True)
    reporter_key_box = models.BinaryField()
    content = models.BinaryField()
    retention_warned = models.BooleanField(default=False)

    class Meta:
        ordering = ["-submitted_hour", "-updated_at"]
        indexes = [models.Index(fields=["team", "status", "-submitted_hour"])]

    def __str__(self) -> str:
        return f"report {self.pk}"


class ReportAccess(models.Model):
    """The report key sealed to a team: the channel's team, and each team it was forwarded to."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="accesses")
    team = models.ForeignKey(TriageTeam, on_delete=models.PROTECT, related_name="accesses")
    sealed_key = models.BinaryField()
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "team"], name="one_access_per_team")
        ]

    def __str__(self) -> str:
        return f"access of {self.team_id} to {self.report_id}"


class Message(models.Model):
    """A reply between the team and the reporter, or an internal note of the team (encrypted)."""

    class Author(models.TextChoices):
        REPORTER = "reporter", _("Reporter")
        TEAM = "team", _("Triage team")

    id = models.BigAutoField(primary_key=True)
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="messages")
    author = models.CharField(max_length=10, choices=Author.choices)
    user = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    internal = models.BooleanField(default=False)
    body = models.BinaryField()
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.author} message on {self.report_id}"


class Attachment(models.Model):
    """A file of a report: the original (evidence) and, for images, a copy without metadata."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="attachments")
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    name = models.BinaryField()
    original = models.BinaryField()
    cleaned = models.BinaryField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"attachment {self.pk}"


class ReportStat(models.Model):
    """What is left of a deleted report: a count, never content."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="stats")
    category = models.CharField(max_length=20, choices=Category.choices)
    port = models.ForeignKey(Port, null=True, blank=True, on_delete=models.SET_NULL)
    month = models.DateField()
    with_contact = models.BooleanField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "category", "port", "month", "with_contact"],
                name="one_stat_per_group",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.month:%Y-%m} {self.category}: {self.count}"


class SpentChallenge(models.Model):
    """A proof of work already used: a replay is refused. Kept until the challenge expires."""

    digest = models.CharField(max_length=64, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.digest


class ChannelMinute(models.Model):
    """How many reports a channel received in a minute: the channel's rate limit."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE)
    minute = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "minute"], name="one_counter_per_minute")
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.minute}: {self.count}"


class ReceiptFailures(models.Model):
    """Wrong receipts lately, for all reporters together: the login waits longer after each one.
    There is no per-address counter: nothing on the public side knows an address."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    failures = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.failures} failures"
