"""What an alarm says to a person, in their language, from the data it was raised with."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import AlarmEntry, Contact, RuleKind

# Codes the engine writes on an alarm's timeline (engine.raise_priority's `note`), said in words.
ENTRY_NOTES = {
    (AlarmEntry.Kind.RAISED_PRIORITY, "ai_person"): gettext_lazy(
        "A person was confirmed by an AI camera"
    ),
}


def alarm_summary(alarm) -> str:
    p = alarm.params or {}
    kind = alarm.kind
    if kind == RuleKind.HOTLIST:
        text = _("Plate %(plate)s on hotlist “%(list)s” read by %(camera)s") % {
            "plate": p.get("plate", ""),
            "list": p.get("list", ""),
            "camera": p.get("camera", ""),
        }
        if p.get("read") and p.get("read") != p.get("plate"):
            text += " " + _("(read as %(read)s)") % {"read": p["read"]}
        if p.get("reason"):
            text += f": {p['reason']}"
        return text
    if kind == RuleKind.GATE_NO_RIGHT:
        return _("Plate %(plate)s at gate %(gate)s has no valid right") % {
            "plate": p.get("plate", ""),
            "gate": p.get("gate", ""),
        }
    if kind == RuleKind.PERIMETER:
        what = _("thermal camera") if p.get("what") == "thermal_alarm" else _("fence")
        text = _("Intrusion in %(zone)s (%(what)s %(device)s)") % {
            "zone": p.get("zone", ""),
            "what": what,
            "device": p.get("device", ""),
        }
        if p.get("person"):
            text += " — " + _("person confirmed by an AI camera")
        return text
    if kind == RuleKind.DRONE:
        return _("Drone %(drone)s without an authorised flight (detector %(device)s)") % {
            "drone": p.get("drone") or _("unknown"),
            "device": p.get("device", ""),
        }
    if kind == RuleKind.VESSEL_SILENT:
        return _("Vessel %(vessel)s (MMSI %(mmsi)s) stopped sending AIS in the port") % {
            "vessel": p.get("vessel") or "?",
            "mmsi": p.get("mmsi", ""),
        }
    if kind == RuleKind.VESSEL_ZONE:
        return _("Vessel %(vessel)s (MMSI %(mmsi)s) entered %(zone)s") % {
            "vessel": p.get("vessel") or "?",
            "mmsi": p.get("mmsi", ""),
            "zone": p.get("zone", ""),
        }
    if kind == RuleKind.GATE_REFUSALS:
        return _("%(count)s refused decisions at gate %(gate)s within %(minutes)s minutes") % {
            "count": p.get("count", ""),
            "gate": p.get("gate", ""),
            "minutes": p.get("minutes", ""),
        }
    if kind == RuleKind.DEVICE_SILENT:
        return _("Device %(device)s is silent") % {"device": p.get("device", "")}
    return str(RuleKind(kind).label) if kind in RuleKind.values else kind


def entry_text(kind: str, text: str) -> str:
    """The text of a timeline entry: the engine's codes in the reader's language; what people
    wrote (and codes this version does not know) as it is."""
    said = ENTRY_NOTES.get((kind, text))
    return str(said) if said is not None else text


def webhook_host(url: str) -> str:
    """A webhook by its host only: its URL may hold a secret."""
    try:
        return urlsplit(url).hostname or "webhook"
    except ValueError:
        return "webhook"


def delivery_to(delivery) -> str:
    """Whom a notification went to, as the delivery log shows it: a webhook by its host, a
    browser by its person, an e-mail by its address."""
    if delivery.channel == Contact.Channel.WEBHOOK:
        return webhook_host(delivery.target)
    if delivery.channel == Contact.Channel.WEB_PUSH:
        return str(delivery.user) if delivery.user_id else "—"
    return delivery.target
