"""Detection: events from device feeds, rules as data, alarms and their handling (issue 6).

Events are append-only and idempotent on `uid` (`<source>:<source id>`): a redelivered message
is stored once. The hot path writes them with the database's bulk insert (see `ingest.py`), so
events and the alarm links carry the event's `uid`, not its number.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from port2port.core.models import Organisation, Port
from port2port.sites.models import Device, Zone


class EventKind(models.TextChoices):
    PLATE_READ = "plate_read", _("Plate read")
    OBJECT_DETECTED = "object_detected", _("Object detected")
    FENCE_ALARM = "fence_alarm", _("Fence alarm")
    THERMAL_ALARM = "thermal_alarm", _("Thermal alarm")
    DRONE_DETECTED = "drone_detected", _("Drone detected")
    VESSEL_POSITION = "vessel_position", _("Vessel position")
    VESSEL_STATIC = "vessel_static", _("Vessel data")


class Event(models.Model):
    """One thing a device saw. Written in bulk by the ingest worker, never changed."""

    id = models.BigAutoField(primary_key=True)
    uid = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    source = models.CharField(max_length=20)
    device_code = models.CharField(max_length=40)
    # Every index and foreign-key check costs the bulk insert (issue 6: 100,000 events/s). Reads
    # go by port and time, kind and time, plate and time, or uid, so the foreign keys carry no
    # index of their own (port and time also serves a port's deletion), and no database check:
    # the ingest takes ids only from its own indexes of the map.
    device = models.ForeignKey(
        Device,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    port = models.ForeignKey(
        Port,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    zone = models.ForeignKey(
        Zone,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    at = models.DateTimeField()
    received_at = models.DateTimeField()
    plate = models.CharField(max_length=20, blank=True)
    label = models.CharField(max_length=100, blank=True)
    confidence = models.FloatField(null=True)
    latitude = models.FloatField(null=True)
    longitude = models.FloatField(null=True)
    mmsi = models.BigIntegerField(null=True)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["kind", "at"]),
            models.Index(fields=["port", "at"]),
            models.Index(fields=["plate", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.device_code} {self.at:%Y-%m-%d %H:%M:%S}"


class DeadLetter(models.Model):
    """Input that could not become an event, with the reason; kept for the operator to read."""

    id = models.BigAutoField(primary_key=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    format = models.CharField(max_length=20)
    channel = models.CharField(max_length=200, blank=True)  # MQTT topic, "http", a file name
    # Who sent it (a device, an organisation's token, an MQTT worker) and the port of that
    # sender, when known: a port's security officers read the dead letters of their own feeds.
    sender = models.CharField(max_length=200, blank=True)
    port = models.ForeignKey(
        Port, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField()
    payload = models.TextField(blank=True)
    digest = models.CharField(max_length=64, unique=True)  # the same message is kept once

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.format}: {self.reason[:60]}"


class Retention(models.Model):
    """How long events of one kind are kept (ANPR reads are personal data)."""

    kind = models.CharField(max_length=20, choices=EventKind.choices, primary_key=True)
    days = models.PositiveIntegerField(
        _("days kept"), validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )

    def __str__(self) -> str:
        return f"{self.kind}: {self.days} d"


class Hotlist(models.Model):
    """A list of wanted plates (AutoVu-like). Priority 0 is the most urgent, 100 the least."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="hotlists", verbose_name=_("owner")
    )
    port = models.ForeignKey(
        Port,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("port"),
        help_text=_("Empty: reads of every port's cameras are checked."),
    )
    name = models.CharField(_("name"), max_length=100)
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=50, validators=[MaxValueValidator(100)]
    )
    max_differences = models.PositiveSmallIntegerField(
        _("allowed differences"),
        default=0,
        validators=[MaxValueValidator(2)],
        help_text=_("Characters a read may differ in, beyond look-alikes such as 0/O and 8/B."),
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["priority", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(priority__lte=100), name="hotlist_priority"),
            models.CheckConstraint(
                condition=models.Q(max_differences__lte=2), name="hotlist_differences"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class HotlistEntry(models.Model):
    id = models.BigAutoField(primary_key=True)
    hotlist = models.ForeignKey(Hotlist, on_delete=models.CASCADE, related_name="entries")
    plate = models.CharField(_("plate"), max_length=20)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        ordering = ["plate"]
        constraints = [
            models.UniqueConstraint(fields=["hotlist", "plate"], name="hotlist_plate_once")
        ]

    def __str__(self) -> str:
        return self.plate


class RulesChange(models.Model):
    """Change feed of the in-memory rule indexes: every worker reloads after a new row."""

    seq = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"#{self.seq}"


class Procedure(models.Model):
    """A standard operating procedure: the steps an operator ticks off."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    port = models.ForeignKey(Port, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    steps = models.JSONField(_("steps"), default=list)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RuleKind(models.TextChoices):
    HOTLIST = "hotlist", _("Plate on a hotlist")
    GATE_NO_RIGHT = "gate_no_right", _("Plate at a gate without a valid right")
    PERIMETER = "perimeter", _("Fence or thermal detection outside the schedule")
    DRONE = "drone", _("Drone without an authorised flight")
    VESSEL_SILENT = "vessel_silent", _("Vessel stopped sending AIS in the port")
    VESSEL_ZONE = "vessel_zone", _("Vessel in a restricted zone")
    GATE_REFUSALS = "gate_refusals", _("Refused gate decisions in a row")
    DEVICE_SILENT = "device_silent", _("Device silent")


class Rule(models.Model):
    """A correlation rule of one port, as data. Which fields matter depends on the kind."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    port = models.ForeignKey(Port, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=RuleKind.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    priority = models.PositiveSmallIntegerField(
        _("alarm priority"),
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(255)],
        help_text=_("1 is the most urgent, 255 the least."),
    )
    zone = models.ForeignKey(
        Zone,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("zone"),
        help_text=_("Empty: the whole port."),
    )
    schedule = models.ForeignKey(
        "access.Schedule",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("working hours"),
        help_text=_("Detections inside these hours are normal; empty: always armed."),
    )
    within_seconds = models.PositiveIntegerField(
        _("AI camera correlation (seconds)"),
        default=60,
        help_text=_("A person seen by an AI camera in the zone this close in time raises it."),
    )
    raise_by = models.PositiveSmallIntegerField(
        _("raised by"),
        default=20,
        validators=[MaxValueValidator(254)],
        help_text=_("How much more urgent the alarm becomes when a person is confirmed."),
    )
    count = models.PositiveIntegerField(_("count"), default=5, validators=[MinValueValidator(1)])
    minutes = models.PositiveIntegerField(
        _("minutes"), default=10, validators=[MinValueValidator(1), MaxValueValidator(7 * 1440)]
    )
    suppress_seconds = models.PositiveIntegerField(
        _("suppression window (seconds)"),
        default=300,
        help_text=_("A repeat within this window updates the open alarm instead of a new one."),
    )
    escalate_seconds = models.PositiveIntegerField(
        _("escalate after (seconds)"),
        default=120,
        help_text=_("Notify the next person on the list when nobody acknowledged; 0: never."),
    )
    procedure = models.ForeignKey(
        Procedure,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("procedure"),
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["port__name", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(priority__gte=1, priority__lte=255), name="rule_priority"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """Who a rule's alarms reach, in escalation order, and how."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        WEBHOOK = "webhook", _("Webhook (JSON POST)")
        WEB_PUSH = "web_push", _("Web push")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="contacts")
    level = models.PositiveSmallIntegerField(
        _("escalation level"), default=0, help_text=_("0 at once, 1 after the first escalation…")
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("person"),
    )
    url = models.URLField(_("webhook URL"), blank=True)

    class Meta:
        ordering = ["level", "channel"]

    def __str__(self) -> str:
        return f"{self.level} {self.channel}"


class PushSubscription(models.Model):
    """A browser's web-push subscription of a user (RFC 8030 endpoint and RFC 8291 keys)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.endpoint[:60]


class AlarmState(models.TextChoices):
    NEW = "new", _("New")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    IN_PROGRESS = "in_progress", _("In progress")
    CLOSED = "closed", _("Closed")


class Alarm(models.Model):
    """An alarm for the control room of a port. Lower priority numbers are more urgent."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    port = models.ForeignKey(Port, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=RuleKind.choices)
    rule = models.ForeignKey(
        Rule, null=True, blank=True, on_delete=models.SET_NULL, related_name="alarms"
    )
    hotlist = models.ForeignKey(
        Hotlist, null=True, blank=True, on_delete=models.SET_NULL, related_name="alarms"
    )
    key = models.CharField(max_length=200)  # what repeats are recognised by
    params = models.JSONField(default=dict)  # what the summary is written from (plate, zone, …)
    priority = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=12, choices=AlarmState.choices, default=AlarmState.NEW)
    zone = models.ForeignKey(
        Zone, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=1)
    raised_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalate_at = models.DateTimeField(null=True, blank=True)
    report = models.TextField(_("incident report"), blank=True)
    shared_item = models.ForeignKey(
        "sharing.Item", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["state", "priority", "-last_at"]
        indexes = [
            models.Index(fields=["port", "state", "priority"]),
            models.Index(fields=["state", "escalate_at"]),
            models.Index(fields=["key", "state"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(priority__gte=1, priority__lte=255), name="alarm_priority"
            ),
            # One open alarm per key, whichever worker raised it: repeats count into it.
            models.UniqueConstraint(
                fields=["key"], condition=~models.Q(state="closed"), name="alarm_open_key_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.state})"


class AlarmEvent(models.Model):
    """An event linked to an alarm (by the event's uid: events are written in bulk)."""

    id = models.BigAutoField(primary_key=True)
    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="links")
    event_uid = models.CharField(max_length=120)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at"]
        constraints = [
            models.UniqueConstraint(fields=["alarm", "event_uid"], name="alarm_event_once")
        ]

    def __str__(self) -> str:
        return self.event_uid


class AlarmStep(models.Model):
    """One step of the alarm's procedure, copied when the alarm was raised."""

    id = models.BigAutoField(primary_key=True)
    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    text = models.CharField(max_length=500)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["alarm", "position"], name="alarm_step_once")
        ]

    def __str__(self) -> str:
        return self.text


class AlarmEntry(models.Model):
    """The alarm's timeline: raised, repeated, acknowledged, steps, escalations, notes, closed."""

    class Kind(models.TextChoices):
        RAISED = "raised", _("Raised")
        REPEATED = "repeated", _("Seen again")
        RAISED_PRIORITY = "raised_priority", _("Priority raised")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        IN_PROGRESS = "in_progress", _("Taken in hand")
        STEP = "step", _("Procedure step done")
        ESCALATED = "escalated", _("Escalated")
        NOTE = "note", _("Note")
        CLOSED = "closed", _("Closed")
        SHARED = "shared", _("Shared")

    id = models.BigAutoField(primary_key=True)
    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="entries")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.at}"


class Delivery(models.Model):
    """One notification of an alarm to one contact, with its attempts (the delivery log)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    id = models.BigAutoField(primary_key=True)
    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Contact.Channel.choices)
    target = models.CharField(max_length=1000)  # address, URL or push endpoint
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    level = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.channel} {self.target[:40]} {self.state}"


class AuthorisedFlight(models.Model):
    """A drone flight that is allowed: where, when, which drone (when known)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    port = models.ForeignKey(Port, on_delete=models.PROTECT, related_name="+")
    zone = models.ForeignKey(
        Zone,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("zone"),
        help_text=_("Empty: the whole port."),
    )
    operator = models.CharField(_("operator"), max_length=200)
    drone_id = models.CharField(
        _("drone serial"), max_length=100, blank=True, help_text=_("Empty: any drone.")
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="flight_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.operator} {self.starts_at:%Y-%m-%d %H:%M}"
