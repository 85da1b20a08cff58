"""The only write path of detection for people: alarm handling, rules, hotlists, procedures,
authorised flights and retention (every write audited). Events and raised alarms are written by
the ingest pipeline (`ingest.py`) and the clock (`jobs.py`).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from port2port.access.identifiers import normalise_plate
from port2port.core import audit
from port2port.core.errors import Conflict, Forbidden, Invalid
from port2port.core.models import Organisation, Port
from port2port.core.roles import Perm
from port2port.core.visibility import reach
from port2port.sites.models import Zone
from port2port.sites.selectors import port_ids_for

from . import selectors, state
from .models import (
    Alarm,
    AlarmEntry,
    AlarmState,
    AlarmStep,
    AuthorisedFlight,
    Contact,
    EventKind,
    Hotlist,
    HotlistEntry,
    Procedure,
    Retention,
    Rule,
    RuleKind,
)

MAX_REPORT = 20_000
MAX_NOTE = 2_000
FUZZY_LIMIT = 10_000  # each plate of such a list is indexed under up to 45 masked forms


def _publish(alarm: Alarm) -> None:
    """Tell every control room that this alarm changed, once the transaction is committed."""
    from .live import publish

    message = {
        "type": "alarm",
        "new": False,
        "id": str(alarm.pk),
        "port": str(alarm.port_id),
        "owner": str(alarm.hotlist.owner_id) if alarm.hotlist_id and alarm.hotlist else "",
        "kind": alarm.kind,
        "priority": alarm.priority,
        "state": alarm.state,
        "count": alarm.count,
        "last_at": alarm.last_at.isoformat(),
        "lat": alarm.latitude,
        "lon": alarm.longitude,
    }
    transaction.on_commit(lambda: publish([message]))


def _require_handle(actor: Any, alarm: Alarm) -> None:
    selectors.alarm_get(actor, alarm.pk)
    if not selectors.may_handle(actor, alarm):
        raise Forbidden(_("you may watch this alarm but not handle it"))


def _locked(alarm: Alarm) -> Alarm:
    return Alarm.objects.select_for_update(of=("self",)).select_related("hotlist").get(pk=alarm.pk)


def _entry(alarm: Alarm, actor: Any, kind: str, text: str = "") -> None:
    from port2port.core.models import User

    user = actor if isinstance(actor, User) else None
    AlarmEntry.objects.create(alarm=alarm, kind=kind, user=user, text=text)


# --- alarm handling ---------------------------------------------------------------------------


@transaction.atomic
def alarm_acknowledge(*, actor: Any, alarm: Alarm) -> Alarm:
    _require_handle(actor, alarm)
    alarm = _locked(alarm)
    if alarm.state != AlarmState.NEW:
        raise Conflict(_("this alarm was already acknowledged"), field="state")
    alarm.state = AlarmState.ACKNOWLEDGED
    alarm.acknowledged_at = timezone.now()
    alarm.acknowledged_by = actor
    alarm.escalate_at = None
    alarm.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "escalate_at"])
    _entry(alarm, actor, AlarmEntry.Kind.ACKNOWLEDGED)
    audit.record(actor, "detection.alarm.acknowledged", alarm, details={"key": alarm.key})
    _publish(alarm)
    return alarm


@transaction.atomic
def alarm_take(*, actor: Any, alarm: Alarm) -> Alarm:
    """In progress: someone works on it (acknowledging it on the way when still new)."""
    _require_handle(actor, alarm)
    alarm = _locked(alarm)
    if alarm.state == AlarmState.CLOSED:
        raise Conflict(_("this alarm is closed"), field="state")
    if alarm.state == AlarmState.IN_PROGRESS:
        return alarm
    now = timezone.now()
    if alarm.state == AlarmState.NEW:
        alarm.acknowledged_at, alarm.acknowledged_by = now, actor
        _entry(alarm, actor, AlarmEntry.Kind.ACKNOWLEDGED)
    alarm.state = AlarmState.IN_PROGRESS
    alarm.escalate_at = None
    alarm.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "escalate_at"])
    _entry(alarm, actor, AlarmEntry.Kind.IN_PROGRESS)
    audit.record(actor, "detection.alarm.in_progress", alarm)
    _publish(alarm)
    return alarm


@transaction.atomic
def alarm_step_tick(*, actor: Any, alarm: Alarm, position: int, done: bool = True) -> AlarmStep:
    """Tick (or untick) one step of the alarm's procedure; every tick is on the timeline."""
    _require_handle(actor, alarm)
    alarm = _locked(alarm)
    if alarm.state == AlarmState.CLOSED:
        raise Conflict(_("this alarm is closed"), field="state")
    step = AlarmStep.objects.filter(alarm=alarm, position=position).first()
    if step is None:
        raise Invalid(_("this procedure has no step %(n)s") % {"n": position}, field="position")
    if bool(step.done_at) == bool(done):
        return step
    step.done_at = timezone.now() if done else None
    step.done_by = actor if done else None
    step.save(update_fields=["done_at", "done_by"])
    text = f"{position}. {step.text}" if done else _("Undone: %(step)s") % {"step": step.text}
    _entry(alarm, actor, AlarmEntry.Kind.STEP, text)
    audit.record(
        actor, "detection.alarm.step", alarm, details={"position": position, "done": bool(done)}
    )
    if alarm.state == AlarmState.NEW:
        alarm.state, alarm.acknowledged_at, alarm.acknowledged_by = (
            AlarmState.IN_PROGRESS,
            timezone.now(),
            actor,
        )
        alarm.escalate_at = None
        alarm.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "escalate_at"])
        _publish(alarm)
    return step


@transaction.atomic
def alarm_note(*, actor: Any, alarm: Alarm, text: str) -> AlarmEntry:
    """A note on the timeline of an open alarm (a closed one is told by its report)."""
    _require_handle(actor, alarm)
    alarm = _locked(alarm)
    if alarm.state == AlarmState.CLOSED:
        raise Conflict(_("this alarm is closed"), field="state")
    text = (text or "").strip()
    if not text:
        raise Invalid(_("write the note"), field="text")
    if len(text) > MAX_NOTE:
        raise Invalid(_("at most %(n)s characters") % {"n": MAX_NOTE}, field="text")
    entry = AlarmEntry.objects.create(alarm=alarm, kind=AlarmEntry.Kind.NOTE, user=actor, text=text)
    audit.record(actor, "detection.alarm.note", alarm)
    return entry


@transaction.atomic
def alarm_escalate(*, actor: Any, alarm: Alarm) -> Alarm:
    """Notify the next level of the rule's contacts now (also done by the clock)."""
    _require_handle(actor, alarm)
    alarm = _locked(alarm)
    if alarm.state == AlarmState.CLOSED:
        raise Conflict(_("this alarm is closed"), field="state")
    escalate(alarm, actor=actor)
    return alarm


def escalate(alarm: Alarm, *, actor: Any) -> int:
    """Raise the alarm's escalation level and queue notifications for that level's contacts.
    Call inside a transaction with the alarm locked."""
    from .ingest import _deliveries

    level = alarm.escalation_level + 1
    contacts = list(
        Contact.objects.filter(rule_id=alarm.rule_id, level=level).select_related("user")
    )
    deliveries = _deliveries(alarm.pk, contacts, level=level) if alarm.rule_id else []
    from .models import Delivery

    Delivery.objects.bulk_create(deliveries)
    alarm.escalation_level = level
    seconds = alarm.rule.escalate_seconds if alarm.rule_id and alarm.rule else 0
    more = alarm.rule_id and Contact.objects.filter(rule_id=alarm.rule_id, level__gt=level).exists()
    alarm.escalate_at = (
        timezone.now() + timedelta(seconds=seconds)
        if seconds and more and alarm.state == AlarmState.NEW
        else None
    )
    alarm.save(update_fields=["escalation_level", "escalate_at"])
    names = ", ".join(sorted({_who(d) for d in deliveries}))
    _entry(
        alarm,
        actor,
        AlarmEntry.Kind.ESCALATED,
        _("Level %(level)s: %(who)s") % {"level": level, "who": names or _("nobody on the list")},
    )
    audit.record(actor, "detection.alarm.escalated", alarm, details={"level": level})
    if deliveries:
        from .notify import kick

        transaction.on_commit(kick)
    return len(deliveries)


@transaction.atomic
def alarm_close(*, actor: Any, alarm: Alarm, report: str) -> Alarm:
    """Close with an incident report (what happened, what was done)."""
    _require_handle(actor, alarm)
    alarm = _locked(alarm)
    if alarm.state == AlarmState.CLOSED:
        raise Conflict(_("this alarm is already closed"), field="state")
    report = (report or "").strip()
    if not report:
        raise Invalid(_("write the incident report before closing"), field="report")
    if len(report) > MAX_REPORT:
        raise Invalid(_("at most %(n)s characters") % {"n": MAX_REPORT}, field="report")
    now = timezone.now()
    if alarm.acknowledged_at is None:
        alarm.acknowledged_at, alarm.acknowledged_by = now, actor
    alarm.state = AlarmState.CLOSED
    alarm.closed_at, alarm.closed_by = now, actor
    alarm.report = report
    alarm.escalate_at = None
    alarm.save(
        update_fields=[
            "state",
            "closed_at",
            "closed_by",
            "report",
            "escalate_at",
            "acknowledged_at",
            "acknowledged_by",
        ]
    )
    _entry(alarm, actor, AlarmEntry.Kind.CLOSED, report)
    audit.record(actor, "detection.alarm.closed", alarm, details={"key": alarm.key})
    _publish(alarm)
    return alarm


def share_draft(alarm: Alarm) -> tuple[str, str]:
    """A sanitised title and text for sharing: kind, port, day and zone kind; no plates, names,
    vessel identities, device codes or exact times."""
    day = timezone.localtime(alarm.first_at).date().isoformat()
    kind = RuleKind(alarm.kind).label
    title = _("%(kind)s at %(port)s on %(day)s") % {
        "kind": kind,
        "port": alarm.port.name,
        "day": day,
    }
    where = ""
    if alarm.zone is not None:
        where = _("restricted zone") if alarm.zone.restricted else _("zone")
    lines = [
        _("What: %(kind)s.") % {"kind": kind},
        _("Where: %(port)s%(zone)s.")
        % {"port": alarm.port.name, "zone": f", {where}" if where else ""},
        _("When: %(day)s.") % {"day": day},
        "",
        _("What we saw and did (sanitised):"),
        "",
    ]
    return title[:200], "\n".join(lines)


@transaction.atomic
def alarm_share(
    *,
    actor: Any,
    alarm: Alarm,
    title: str,
    body: str,
    tlp: str = "amber",
    distribution: str = "port_community",
):
    """Turn a closed alarm's incident into a sharing item in the sharer's own words."""
    from port2port.sharing import services as sharing_services
    from port2port.sharing.models import Distribution, Kind, Tlp

    _require_handle(actor, alarm)
    if distribution in {Distribution.CIRCLE, Distribution.NAMED}:
        raise Invalid(
            _("share an incident with the organisation, the port community or the platform"),
            field="distribution",
        )
    if tlp == Tlp.RED:
        raise Invalid(_("TLP:RED reaches only named people: share as AMBER+STRICT"), field="tlp")
    alarm = _locked(alarm)
    if alarm.state != AlarmState.CLOSED:
        raise Conflict(_("close the alarm with its incident report first"), field="state")
    if alarm.shared_item_id:
        raise Conflict(_("this incident was already shared"), field="state")
    for plate in _plates_in(alarm):
        if plate and plate in re.sub(r"[\s\-.]", "", (title + " " + body).upper()):
            raise Invalid(
                _("the text still holds the plate %(plate)s: leave personal data out")
                % {"plate": plate},
                field="body",
            )
    item = sharing_services.item_create(
        actor=actor,
        kind=Kind.INCIDENT_SUMMARY,
        title=title,
        body=body,
        tlp=tlp,
        distribution=distribution,
        ports=[alarm.port],
    )
    alarm.shared_item = item
    alarm.save(update_fields=["shared_item"])
    _entry(alarm, actor, AlarmEntry.Kind.SHARED, item.title)
    audit.record(actor, "detection.alarm.shared", alarm, details={"item": str(item.pk)})
    return item


def _who(delivery) -> str:
    """Who a delivery goes to, for the timeline: a person, or a webhook's host (its URL may hold
    a secret)."""
    from .text import webhook_host

    if delivery.channel == Contact.Channel.WEBHOOK:
        return webhook_host(delivery.target)
    return str(delivery.user) if delivery.user else delivery.target


def public_host(url: str) -> bool:
    """Whether a URL's host resolves to public addresses only (no loopback, private, link-local
    or reserved ones): webhooks must not reach into the platform's own network. Tests and closed
    networks allow private hosts with DETECTION_WEBHOOK_PRIVATE = True."""
    import ipaddress
    import socket
    from urllib.parse import urlsplit

    from django.conf import settings

    if getattr(settings, "DETECTION_WEBHOOK_PRIVATE", False):
        return True
    try:
        host = urlsplit(url).hostname or ""
        infos = socket.getaddrinfo(host, None) if host else []
    except (OSError, ValueError, UnicodeError):
        return False
    addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
    return bool(addresses) and all(a.is_global for a in addresses)


def _plates_in(alarm: Alarm) -> list[str]:
    params = alarm.params or {}
    return [str(params.get(k) or "").upper() for k in ("plate", "read") if params.get(k)]


def plate_searched(*, actor: Any, plate: str, found: int) -> None:
    """ANPR reads are personal data: who looked up which plate is kept in the audit log."""
    audit.record(actor, "detection.events.plate_searched", details={"plate": plate, "found": found})


# --- set-up: rules, contacts, procedures ------------------------------------------------------


def _require_setup(actor: Any, port: Port) -> None:
    ports = port_ids_for(actor, Perm.DETECTION_RULE_MANAGE)
    if ports is not None and port.pk not in ports:
        raise Forbidden(_("you may not set up detection in this port"))


def _full_clean(obj) -> None:
    try:
        obj.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        name, messages = next(iter(exc.message_dict.items()))
        raise Invalid(messages[0], field=name) from exc


RULE_FIELDS = {
    "name",
    "kind",
    "enabled",
    "priority",
    "zone",
    "schedule",
    "within_seconds",
    "raise_by",
    "count",
    "minutes",
    "suppress_seconds",
    "escalate_seconds",
    "procedure",
}


@transaction.atomic
def rule_save(*, actor: Any, port: Port, rule: Rule | None = None, **fields) -> Rule:
    """Create a rule of a port, or change one; every worker reloads it within a second."""
    _require_setup(actor, port)
    unknown = set(fields) - RULE_FIELDS
    if unknown:
        field = sorted(unknown)[0]
        raise Invalid(_("unknown field %(field)s") % {"field": field}, field=field)
    creating = rule is None
    if creating:
        rule = Rule(port=port)
    elif rule.port_id != port.pk:
        raise Invalid(_("the rule belongs to another port"), field="port")
    if "kind" in fields and fields["kind"] not in RuleKind.values:
        raise Invalid(
            _("“%(value)s” is not a kind of rule") % {"value": fields["kind"]}, field="kind"
        )
    zone = fields.get("zone")
    if zone is not None and zone.port_id != port.pk:
        raise Invalid(_("the zone lies in another port"), field="zone")
    procedure = fields.get("procedure")
    if procedure is not None and procedure.port_id != port.pk:
        raise Invalid(_("the procedure belongs to another port"), field="procedure")
    for name, value in fields.items():
        setattr(rule, name, value)
    if not (rule.name or "").strip():
        raise Invalid(_("this field is required"), field="name")
    rule.updated_at = timezone.now()
    _full_clean(rule)
    rule.save()
    state.changed()
    audit.record(
        actor,
        "detection.rule.created" if creating else "detection.rule.changed",
        rule,
        details={"port": port.locode, "kind": rule.kind, "fields": sorted(fields)},
    )
    return rule


@transaction.atomic
def contact_add(
    *, actor: Any, rule: Rule, channel: str, level: int = 0, user=None, url: str = ""
) -> Contact:
    _require_setup(actor, rule.port)
    if channel not in Contact.Channel.values:
        raise Invalid(_("“%(value)s” is not a channel") % {"value": channel}, field="channel")
    if not isinstance(level, int) or not 0 <= level <= 9:
        raise Invalid(_("the level is 0 to 9"), field="level")
    if channel == Contact.Channel.WEBHOOK:
        if not re.match(r"^https?://", url or ""):
            raise Invalid(_("a webhook needs an http or https URL"), field="url")
        if not public_host(url):
            raise Invalid(
                _("a webhook may not point to this platform's own or a private network"),
                field="url",
            )
        user = None
    else:
        url = ""
        if user is None:
            raise Invalid(_("choose the person to notify"), field="user")
        from port2port.core.models import Membership

        if not Membership.objects.filter(user=user, organisation__ports=rule.port).exists():
            raise Invalid(_("this person works for no organisation of the port"), field="user")
        if channel == Contact.Channel.EMAIL and not user.email:
            raise Invalid(_("this person has no e-mail address"), field="user")
    contact = Contact(rule=rule, channel=channel, level=level, user=user, url=url)
    _full_clean(contact)
    contact.save()
    state.changed()
    audit.record(
        actor,
        "detection.contact.added",
        rule,
        details={"channel": channel, "level": level, "user": str(user) if user else ""},
    )
    return contact


@transaction.atomic
def contact_remove(*, actor: Any, contact: Contact) -> None:
    _require_setup(actor, contact.rule.port)
    audit.record(
        actor,
        "detection.contact.removed",
        contact.rule,
        details={"channel": contact.channel, "level": contact.level},
    )
    contact.delete()
    state.changed()


def _steps(value) -> list[str]:
    if isinstance(value, str):
        value = [line.strip() for line in value.splitlines()]
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise Invalid(_("the steps are a list of text"), field="steps")
    steps = [s.strip() for s in value if s.strip()]
    if not steps:
        raise Invalid(_("a procedure has at least one step"), field="steps")
    if len(steps) > 50 or any(len(s) > 500 for s in steps):
        raise Invalid(_("at most 50 steps of 500 characters"), field="steps")
    return steps


@transaction.atomic
def procedure_save(
    *, actor: Any, port: Port, name: str, steps, procedure: Procedure | None = None
) -> Procedure:
    _require_setup(actor, port)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise Invalid(_("name the procedure (at most 100 characters)"), field="name")
    creating = procedure is None
    if creating:
        procedure = Procedure(port=port)
    elif procedure.port_id != port.pk:
        raise Invalid(_("the procedure belongs to another port"), field="port")
    procedure.name, procedure.steps = name, _steps(steps)
    procedure.save()
    state.changed()
    audit.record(
        actor,
        "detection.procedure.created" if creating else "detection.procedure.changed",
        procedure,
        details={"port": port.locode, "steps": len(procedure.steps)},
    )
    return procedure


# --- hotlists -----------------------------------------------------------------------------------


def _require_hotlist(actor: Any, owner: Organisation, port: Port | None) -> None:
    """An organisation keeps hotlists for its own ports; a list for every port's cameras only
    for a national body (no port of its own) or a platform admin."""
    result = reach(actor, Perm.DETECTION_HOTLIST_MANAGE)
    if not result.covers(owner.pk):
        raise Forbidden(_("you may not keep hotlists for this organisation"))
    own_ports = {p.pk for p in owner.ports.all()}
    if port is None:
        if own_ports and not result.everything:
            raise Invalid(
                _("choose the port: only national bodies keep lists for every port"), field="port"
            )
    elif own_ports and port.pk not in own_ports:
        raise Invalid(_("the organisation is not in this port"), field="port")


# A list's settings (hotlist_save's arguments besides the keeper): what a change may send.
HOTLIST_SETTINGS = (
    "name",
    "priority",
    "max_differences",
    "port",
    "valid_from",
    "valid_until",
    "active",
)


@transaction.atomic
def hotlist_save(
    *,
    actor: Any,
    owner: Organisation,
    name: str,
    priority: int,
    max_differences: int = 0,
    port: Port | None = None,
    valid_from: date | None = None,
    valid_until: date | None = None,
    active: bool = True,
    hotlist: Hotlist | None = None,
) -> Hotlist:
    _require_hotlist(actor, owner, port)
    creating = hotlist is None
    if creating:
        hotlist = Hotlist(owner=owner)
    elif hotlist.owner_id != owner.pk:
        raise Forbidden(_("you may not keep hotlists for this organisation"))
    if valid_from and valid_until and valid_until < valid_from:
        raise Invalid(_("the end lies before the start"), field="valid_until")
    hotlist.name = (name or "").strip()
    hotlist.priority = priority
    hotlist.max_differences = max_differences
    hotlist.port = port
    hotlist.valid_from, hotlist.valid_until, hotlist.active = valid_from, valid_until, bool(active)
    _full_clean(hotlist)
    hotlist.save()
    state.changed()
    audit.record(
        actor,
        "detection.hotlist.created" if creating else "detection.hotlist.changed",
        hotlist,
        organisation=owner,
        details={"name": hotlist.name, "priority": hotlist.priority},
    )
    return hotlist


def parse_entries(
    text: str, *, today: date | None = None
) -> tuple[list[tuple[str, str, date | None]], list[str]]:
    """Lines `PLATE[;reason[;valid until YYYY-MM-DD]]` (or commas): entries and line errors. An
    entry valid until a day already past would never match: that line is an error."""
    today = today or timezone.localdate()
    entries, errors = [], []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in re.split(r"[;,\t]", line, maxsplit=2)]
        try:
            plate = normalise_plate(parts[0])
        except ValidationError as exc:
            errors.append(_("line %(n)s: %(error)s") % {"n": number, "error": exc.messages[0]})
            continue
        reason = parts[1][:200] if len(parts) > 1 else ""
        until = None
        if len(parts) > 2 and parts[2]:
            try:
                until = date.fromisoformat(parts[2])
            except ValueError:
                errors.append(
                    _("line %(n)s: “%(value)s” is not a date (YYYY-MM-DD)")
                    % {"n": number, "value": parts[2][:20]}
                )
                continue
            if until < today:
                errors.append(
                    _("line %(n)s: the date %(value)s has already passed")
                    % {"n": number, "value": until.isoformat()}
                )
                continue
        entries.append((plate, reason, until))
    return entries, errors


@transaction.atomic
def hotlist_entries_add(*, actor: Any, hotlist: Hotlist, text: str) -> int:
    """Add or update plates; nothing is stored when a line is wrong."""
    _require_hotlist(actor, hotlist.owner, hotlist.port)
    entries, errors = parse_entries(text)
    if errors:
        raise Invalid("; ".join(errors[:20]), field="entries")
    if hotlist.max_differences and hotlist.entries.count() + len(entries) > FUZZY_LIMIT:
        raise Invalid(
            _("a list that allows differences holds at most %(n)s plates") % {"n": FUZZY_LIMIT},
            field="entries",
        )
    if not entries:
        raise Invalid(_("give at least one plate"), field="entries")
    existing = {e.plate: e for e in hotlist.entries.filter(plate__in=[p for p, _r, _u in entries])}
    new, changed = [], []
    for plate, reason, until in entries:
        entry = existing.get(plate)
        if entry is None:
            entry = HotlistEntry(hotlist=hotlist, plate=plate, reason=reason, valid_until=until)
            existing[plate] = entry
            new.append(entry)
        else:
            entry.reason, entry.valid_until = reason, until
            changed.append(entry)
    HotlistEntry.objects.bulk_create(new, batch_size=5000)
    HotlistEntry.objects.bulk_update(changed, ["reason", "valid_until"], batch_size=5000)
    state.changed()
    audit.record(
        actor,
        "detection.hotlist.entries_added",
        hotlist,
        organisation=hotlist.owner,
        details={"added": len(new), "changed": len(changed)},
    )
    return len(new) + len(changed)


@transaction.atomic
def hotlist_entry_remove(*, actor: Any, entry: HotlistEntry) -> None:
    hotlist = entry.hotlist
    _require_hotlist(actor, hotlist.owner, hotlist.port)
    audit.record(
        actor,
        "detection.hotlist.entry_removed",
        hotlist,
        organisation=hotlist.owner,
        details={"plate": entry.plate},
    )
    entry.delete()
    state.changed()


# --- authorised drone flights -------------------------------------------------------------------


@transaction.atomic
def flight_create(
    *,
    actor: Any,
    port: Port,
    operator: str,
    starts_at: datetime,
    ends_at: datetime,
    zone: Zone | None = None,
    drone_id: str = "",
) -> AuthorisedFlight:
    _require_setup(actor, port)
    if zone is not None and zone.port_id != port.pk:
        raise Invalid(_("the zone lies in another port"), field="zone")
    # A time without its offset is ambiguous (the pages give Europe/Brussels time, aware).
    for name, moment in (("starts_at", starts_at), ("ends_at", ends_at)):
        if isinstance(moment, datetime) and timezone.is_naive(moment):
            raise Invalid(
                _("give the time with its UTC offset, e.g. 2030-05-01T08:00:00+02:00"), field=name
            )
    if not starts_at or not ends_at or ends_at <= starts_at:
        raise Invalid(_("the end lies before the start"), field="ends_at")
    if ends_at - starts_at > timedelta(days=31):
        raise Invalid(_("a flight authorisation lasts at most 31 days"), field="ends_at")
    flight = AuthorisedFlight(
        port=port,
        zone=zone,
        operator=(operator or "").strip(),
        drone_id=(drone_id or "").strip(),
        starts_at=starts_at,
        ends_at=ends_at,
    )
    _full_clean(flight)
    flight.save()
    state.changed()
    audit.record(
        actor,
        "detection.flight.authorised",
        flight,
        details={"port": port.locode, "operator": flight.operator, "drone": flight.drone_id},
    )
    return flight


@transaction.atomic
def hotlist_active_set(*, actor: Any, hotlist: Hotlist, active: bool) -> Hotlist:
    """Switch a list off (its plates raise nothing) or on again."""
    _require_hotlist(actor, hotlist.owner, hotlist.port)
    hotlist.active = bool(active)
    hotlist.save(update_fields=["active"])
    state.changed()
    audit.record(
        actor,
        "detection.hotlist.active_set",
        hotlist,
        organisation=hotlist.owner,
        details={"active": hotlist.active},
    )
    return hotlist


@transaction.atomic
def flight_end(*, actor: Any, flight: AuthorisedFlight) -> AuthorisedFlight:
    """End an authorisation now: from here on its drone raises alarms again."""
    _require_setup(actor, flight.port)
    now = timezone.now()
    if flight.ends_at <= now:
        raise Conflict(_("this authorisation has already ended"), field="ends_at")
    flight.ends_at = max(now, flight.starts_at + timedelta(seconds=1))
    flight.save(update_fields=["ends_at"])
    state.changed()
    audit.record(actor, "detection.flight.ended", flight, details={"port": flight.port.locode})
    return flight


# --- retention ----------------------------------------------------------------------------------

DEFAULT_RETENTION = {
    EventKind.PLATE_READ: 30,  # personal data: a month unless the port decides otherwise
    EventKind.OBJECT_DETECTED: 90,
    EventKind.FENCE_ALARM: 365,
    EventKind.THERMAL_ALARM: 365,
    EventKind.DRONE_DETECTED: 365,
    EventKind.VESSEL_POSITION: 90,
    EventKind.VESSEL_STATIC: 90,
}
DEAD_LETTER_DAYS = 30


def retention_days() -> dict:
    days = {str(k): v for k, v in DEFAULT_RETENTION.items()}
    days.update(dict(Retention.objects.values_list("kind", "days")))
    return days


@transaction.atomic
def retention_set(*, actor: Any, kind: str, days: int) -> Retention:
    """Platform-wide: how long events of one kind are kept (platform admins)."""
    if not reach(actor, Perm.DETECTION_RULE_MANAGE).everything:
        raise Forbidden(_("only platform admins set how long events are kept"))
    if kind not in EventKind.values:
        raise Invalid(_("“%(value)s” is not a kind of event") % {"value": kind}, field="kind")
    if not isinstance(days, int) or not 1 <= days <= 3650:
        raise Invalid(_("between 1 and 3650 days"), field="days")
    retention, _created = Retention.objects.update_or_create(kind=kind, defaults={"days": days})
    state.changed()  # workers refuse events older than this
    audit.record(actor, "detection.retention.set", retention, details={"kind": kind, "days": days})
    return retention
