"""Shared knowledge: items, circles, comments, sightings, attachments, notifications (DESIGN.md §4)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from port2port.core.models import ClearanceLevel, Organisation, Port


class Kind(models.TextChoices):
    BEST_PRACTICE = "best_practice", _("Best practice")
    MODUS_OPERANDI = "modus_operandi", _("Modus-operandi alert")
    INCIDENT_SUMMARY = "incident_summary", _("Incident summary")
    LESSON_LEARNED = "lesson_learned", _("Lesson learned")
    INSPECTION_INSIGHT = "inspection_insight", _("Inspection insight")
    TRAINING_MATERIAL = "training_material", _("Training material")
    CYBER_INDICATORS = "cyber_indicators", _("Cyber indicator set")
    DOCUMENT = "document", _("Document")


class Tlp(models.TextChoices):
    """TLP 2.0 (FIRST), most open first."""

    CLEAR = "clear", "TLP:CLEAR"
    GREEN = "green", "TLP:GREEN"
    AMBER = "amber", "TLP:AMBER"
    AMBER_STRICT = "amber+strict", "TLP:AMBER+STRICT"
    RED = "red", "TLP:RED"

    @classmethod
    def rank(cls, value: str) -> int:
        return [cls.CLEAR, cls.GREEN, cls.AMBER, cls.AMBER_STRICT, cls.RED].index(value)


TLP_MEANING = {
    Tlp.CLEAR: _("Recipients may spread this to the world; it may also appear on the public page."),
    Tlp.GREEN: _(
        "Recipients may share this within their community (the distribution you choose), not publicly."
    ),
    Tlp.AMBER: _(
        "Limited disclosure: recipients may share it only within their own organisations, "
        "on a need-to-know basis, as the distribution says."
    ),
    Tlp.AMBER_STRICT: _("Only your own organisation and the people you name."),
    Tlp.RED: _("For the named people only; no further disclosure."),
}


class Distribution(models.TextChoices):
    ORGANISATION = "organisation", _("My organisation only")
    PORT_COMMUNITY = "port_community", _("My port community")
    PLATFORM = "platform", _("The whole platform")
    CIRCLE = "circle", _("A circle")
    NAMED = "named", _("Named people")

    @classmethod
    def rank(cls, value: str) -> int:
        """Breadth, for 'only the source may widen': named < circle, organisation < port < platform."""
        return {"named": 0, "organisation": 1, "circle": 1, "port_community": 2, "platform": 3}[
            value
        ]


class Urgency(models.TextChoices):
    ROUTINE = "routine", _("Routine")
    PRIORITY = "priority", pgettext_lazy("urgency", "Priority")  # "Priority" alone: the noun
    URGENT = "urgent", _("Urgent")

    @classmethod
    def rank(cls, value: str) -> int:
        return [cls.ROUTINE, cls.PRIORITY, cls.URGENT].index(value)


class Language(models.TextChoices):
    EN = "en", "English"
    NL = "nl", "Nederlands"
    FR = "fr", "Français"
    DE = "de", "Deutsch"


class Topic(models.Model):
    """The managed taxonomy of topics (seeded by migration; labels translated in code)."""

    slug = models.SlugField(primary_key=True, max_length=40)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("topic")
        verbose_name_plural = _("topics")

    def __str__(self) -> str:
        return str(TOPIC_LABELS.get(self.slug, self.slug))


TOPIC_LABELS = {
    "inspections": _("Inspections"),
    "access-control": _("Access control"),
    "security-checks": _("Security checks"),
    "drones": _("Drones"),
    "ai-cameras": _("AI cameras"),
    "cyber": _("Cyber"),
    "training-awareness": _("Training and awareness"),
    "recruitment-corruption": _("Recruitment and corruption"),
    "smuggling": _("Smuggling"),
    "perimeter": _("Perimeter"),
}


class Circle(models.Model):
    """A closed group of organisations and/or people that items can be shared with."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("circle")
        verbose_name_plural = _("circles")

    def __str__(self) -> str:
        return self.name


class CircleMember(models.Model):
    class Status(models.TextChoices):
        INVITED = "invited", _("Invited")
        ACTIVE = "active", _("Member")
        LEFT = "left", _("Left")
        DECLINED = "declined", _("Declined")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    circle = models.ForeignKey(Circle, on_delete=models.CASCADE, related_name="members")
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.INVITED)
    is_owner = models.BooleanField(default=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(organisation__isnull=True) & models.Q(user__isnull=False))
                | (models.Q(organisation__isnull=False) & models.Q(user__isnull=True)),
                name="circle_member_is_org_or_user",
            ),
            models.UniqueConstraint(
                fields=["circle", "organisation"], name="circle_member_org_once"
            ),
            models.UniqueConstraint(fields=["circle", "user"], name="circle_member_user_once"),
        ]
        indexes = [
            models.Index(fields=["status", "organisation"]),
            models.Index(fields=["status", "user"]),
        ]

    def __str__(self) -> str:
        return f"{self.organisation or self.user} in {self.circle}"


class Item(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source_org = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="shared_items"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True, help_text=_("Markdown"))
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.EN
    )
    topics = models.ManyToManyField(
        Topic, related_name="items", blank=True, verbose_name=_("topics")
    )
    ports = models.ManyToManyField(
        Port, related_name="shared_items", blank=True, verbose_name=_("ports concerned")
    )
    urgency = models.CharField(
        _("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.ROUTINE
    )
    tlp = models.CharField("TLP", max_length=12, choices=Tlp.choices, default=Tlp.AMBER)
    distribution = models.CharField(_("distribution"), max_length=16, choices=Distribution.choices)
    circle = models.ForeignKey(
        Circle, null=True, blank=True, on_delete=models.PROTECT, related_name="items"
    )
    recipients = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("named people")
    )
    min_clearance = models.CharField(
        _("minimum clearance"),
        max_length=12,
        choices=ClearanceLevel.choices,
        default=ClearanceLevel.NONE,
    )
    min_clearance_rank = models.PositiveSmallIntegerField(default=0, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    stix_id = models.CharField(max_length=80, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("shared item")
        verbose_name_plural = _("shared items")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(distribution="circle") | models.Q(circle__isnull=False),
                name="item_circle_distribution_has_circle",
            ),
        ]
        indexes = [
            models.Index(fields=["distribution", "-created_at"]),
            models.Index(fields=["source_org", "-created_at"]),
            models.Index(fields=["circle", "-created_at"]),
        ]

    def __str__(self) -> str:
        return self.title


class ItemVersion(models.Model):
    """The text of an item before each edit, for its version history."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    edited_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["item", "version"], name="item_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.item_id} v{self.version}"


class ItemSearch(models.Model):
    """The searchable text of an item; the full-text index (FTS5 / tsvector) hangs on this row."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="search")
    language = models.CharField(max_length=2)
    title = models.TextField()
    body = models.TextField()

    def __str__(self) -> str:
        return self.title


def attachment_path(instance, filename: str) -> str:
    return f"sharing/{instance.item_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=80)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.filename


class Comment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.body[:40]


class Sighting(models.Model):
    """'We saw this too' from one organisation, optionally without naming it to other ports."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="sightings")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    anonymous = models.BooleanField(default=False)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["item", "organisation"], name="sighting_once_per_org")
        ]

    def __str__(self) -> str:
        return f"sighting of {self.item_id}"


class WideningRequest(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        GRANTED = "granted", _("Granted")
        DECLINED = "declined", _("Declined")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="widening_requests")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    message = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"widening request for {self.item_id}"


class Subscription(models.Model):
    class Email(models.TextChoices):
        OFF = "off", _("No e-mail")
        URGENT = "urgent", _("Immediately for urgent items")
        DIGEST = "digest", _("Daily digest, urgent items immediately")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sharing_subscription"
    )
    topics = models.ManyToManyField(Topic, blank=True)
    ports = models.ManyToManyField(Port, blank=True)
    circles = models.ManyToManyField(Circle, blank=True)
    min_urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.ROUTINE)
    email = models.CharField(max_length=10, choices=Email.choices, default=Email.URGENT)
    digest_sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"alerts of {self.user_id}"


class Notification(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sharing_notifications"
    )
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "item", "reason"], name="notification_once")
        ]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return f"{self.reason}: {self.item_id}"


class Indicator(models.Model):
    """One observable of a cyber indicator set (from STIX indicators or MISP attributes)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="indicators")
    stix_id = models.CharField(max_length=80, blank=True)
    name = models.CharField(max_length=300, blank=True)
    pattern = models.TextField(blank=True)
    pattern_type = models.CharField(max_length=30, blank=True)
    value_type = models.CharField(max_length=60, blank=True)
    value = models.TextField(blank=True)
    description = models.TextField(blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name or self.value or self.pattern[:60]
