"""The physical map of a port: areas, ISPS port facilities, nested zones and gates (GeoJSON)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from port2port.core.models import Organisation, Port

from .geojson import validate_geometry


def validate_geojson(value) -> None:
    try:
        validate_geometry(value)
    except ValueError as exc:
        raise ValidationError(str(exc), code="geometry") from exc


class SiteBase(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    port = models.ForeignKey(
        Port, on_delete=models.PROTECT, related_name="+", verbose_name=_("port")
    )
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    geometry = models.JSONField(_("geometry (GeoJSON)"), validators=[validate_geojson])

    class Meta:
        abstract = True
        ordering = ["port__name", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class AntiPassback(models.TextChoices):
    OFF = "off", _("Off")
    SOFT = "soft", _("Soft: logged and alarmed")
    HARD = "hard", _("Hard: refused")


class Area(SiteBase):
    """A part of the port (a dock, a quay, an industrial zone)."""

    anti_passback = models.CharField(
        _("anti-passback"), max_length=4, choices=AntiPassback.choices, default=AntiPassback.OFF
    )
    presence_timeout = models.PositiveIntegerField(
        _("presence timeout (minutes)"),
        default=720,
        help_text=_("After this long without an exit, a person no longer counts as inside."),
    )

    class Meta(SiteBase.Meta):
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        constraints = [models.UniqueConstraint(fields=["port", "code"], name="area_code_per_port")]


class Facility(SiteBase):
    """An ISPS port facility (a terminal), run by an operator organisation."""

    area = models.ForeignKey(
        Area, null=True, blank=True, on_delete=models.SET_NULL, related_name="facilities"
    )
    operator = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="facilities",
        verbose_name=_("operator"),
    )

    class Meta(SiteBase.Meta):
        verbose_name = _("port facility")
        verbose_name_plural = _("port facilities")
        constraints = [
            models.UniqueConstraint(fields=["port", "code"], name="facility_code_per_port")
        ]


class Zone(SiteBase):
    """An access zone, possibly inside another; restricted and critical-function zones flagged."""

    facility = models.ForeignKey(
        Facility, null=True, blank=True, on_delete=models.PROTECT, related_name="zones"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    restricted = models.BooleanField(_("restricted area"), default=False)
    critical = models.BooleanField(
        _("critical-function zone"),
        default=False,
        help_text=_("Entry requires a valid positive security verification."),
    )

    class Meta(SiteBase.Meta):
        verbose_name = _("zone")
        verbose_name_plural = _("zones")
        constraints = [models.UniqueConstraint(fields=["port", "code"], name="zone_code_per_port")]

    def ancestors(self) -> list[Zone]:
        chain, node, seen = [], self.parent, {self.pk}
        while node is not None and node.pk not in seen:
            chain.append(node)
            seen.add(node.pk)
            node = node.parent
        return chain


class GateKind(models.TextChoices):
    ENTRY = "entry", _("Entry")
    EXIT = "exit", _("Exit")
    BOTH = "both", _("Entry and exit")


class Gate(SiteBase):
    """A controlled passage (turnstile, barrier, door) and the zones it leads into."""

    facility = models.ForeignKey(
        Facility, null=True, blank=True, on_delete=models.PROTECT, related_name="gates"
    )
    kind = models.CharField(
        _("kind"), max_length=8, choices=GateKind.choices, default=GateKind.BOTH
    )
    leads_into = models.ManyToManyField(Zone, related_name="gates", verbose_name=_("leads into"))

    class Meta(SiteBase.Meta):
        verbose_name = _("gate")
        verbose_name_plural = _("gates")
        constraints = [models.UniqueConstraint(fields=["code"], name="gate_code_unique")]


class DeviceKind(models.TextChoices):
    ANPR = "anpr", _("ANPR camera")
    AI_CAMERA = "ai_camera", _("AI camera")
    THERMAL = "thermal", _("Thermal camera")
    FENCE = "fence", _("Fence segment")
    DRONE_DETECTOR = "drone_detector", _("Drone detector")
    AIS_RECEIVER = "ais_receiver", _("AIS receiver")


class Device(SiteBase):
    """A sensor of the detection module: where it is, what it watches, who owns it.

    Its code is the name the device itself uses in its messages (a Frigate camera name, an
    OpenALPR camera id, a fence segment id), so it is unique across the platform. The geometry is
    its location (a point) or, for a fence segment, its line. A device sends over HTTP with its
    own token (`dv_<prefix>_<secret>`, only the hash is kept)."""

    kind = models.CharField(_("kind"), max_length=16, choices=DeviceKind.choices)
    zone = models.ForeignKey(
        Zone,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="devices",
        verbose_name=_("zone"),
    )
    gate = models.ForeignKey(
        Gate,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cameras",
        verbose_name=_("gate"),
        help_text=_("An ANPR camera that watches a gate: its reads are checked against access."),
    )
    owner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="devices", verbose_name=_("owner")
    )
    silent_after = models.PositiveIntegerField(
        _("silent after (minutes)"),
        default=15,
        help_text=_("Raise an alarm when nothing came from the device for this long; 0: never."),
    )
    active = models.BooleanField(_("active"), default=True)
    token_prefix = models.CharField(max_length=12, unique=True, null=True, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True, editable=False)
    # From when the device is expected to send: its registration, or when it was last switched
    # on, so that a device switched back on is not silent at once.
    watched_since = models.DateTimeField(_("watched since"), default=timezone.now, editable=False)

    class Meta(SiteBase.Meta):
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        constraints = [models.UniqueConstraint(fields=["code"], name="device_code_unique")]

    def is_silent(self, now) -> bool:
        """Switched on, watched, and nothing heard for `silent_after` minutes."""
        return self.active and silent(self.last_seen_at, self.watched_since, self.silent_after, now)

    def position(self) -> tuple[float, float] | None:
        """(latitude, longitude) of the device, the first point of a line or polygon."""
        geometry = self.geometry or {}
        coords = geometry.get("coordinates")
        while isinstance(coords, list) and coords and isinstance(coords[0], list):
            coords = coords[0]
        if isinstance(coords, list) and len(coords) >= 2:
            return float(coords[1]), float(coords[0])
        return None


def silent(last_seen_at, watched_since, silent_after: int, now) -> bool:
    """Whether a device has gone silent: nothing for `silent_after` minutes (0: never watched)
    since its last message, or, if it never sent one, since it was registered or switched on.
    The health page and the silence alarm (detection/jobs.py) both ask this."""
    heard = last_seen_at or watched_since
    return (
        bool(silent_after) and heard is not None and now - heard > timedelta(minutes=silent_after)
    )
