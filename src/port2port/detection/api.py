"""Detection API: device feeds in, alarms and their handling, rules, contacts, procedures,
hotlists, authorised flights, dead letters and retention.

A reference in a request body (a zone, a schedule, a procedure, an owner, a port, a user) to
something that does not exist or is not the caller's to use answers 422 naming the field; an
object named in the path answers 404. A body field the endpoint does not know answers 422.
"""

import logging
from datetime import date, datetime
from uuid import UUID

from django.db import InterfaceError, OperationalError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from ninja.security import HttpBearer
from ninja.throttling import AuthRateThrottle
from pydantic import ConfigDict

from port2port.core.apibase import Pagination, SessionAuth, TokenAuth, referenced
from port2port.core.errors import AppError, Forbidden, Invalid, Unavailable
from port2port.core.roles import Perm
from port2port.core.visibility import one_or_404, reach
from port2port.sites import selectors as site_selectors

from . import selectors, services
from .ingest import FORMATS, Message, pipeline
from .state import device_info
from .text import delivery_to

log = logging.getLogger(__name__)

router = Router(tags=["detection"])
READ = [TokenAuth(), SessionAuth()]


class Body(Schema):
    """A request body: a field the endpoint does not know is refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


def _reference(queryset: QuerySet, field: str, **lookup):
    """The object a body refers to, among those the caller may use; else Invalid naming the
    field (the request is wrong, not the address)."""
    return referenced(field, one_or_404, queryset, **lookup)


def _port_reference(viewer, locode: str, field: str = "port"):
    return _reference(
        site_selectors.ports_visible_to(viewer), field, locode=(locode or "").strip().upper()
    )


class DeviceTokenAuth(HttpBearer):
    """`Authorization: Bearer dv_<prefix>_<secret>`: a sensor's own token."""

    openapi_description = "A detection device token (cameras, fences, detectors, AIS receivers)."

    def authenticate(self, request, token: str):
        from port2port.sites.services import DEVICE_TOKEN_PREFIX, device_authenticate

        if not token.startswith(f"{DEVICE_TOKEN_PREFIX}_"):
            return None
        return device_authenticate(token)


# Devices send as fast as they see; the platform-wide request limit would drop their events.
FEED_THROTTLE = [AuthRateThrottle("100000/m")]
MAX_LINES = 10_000
MAX_BODY = 10_000_000


class TooLarge(AppError):
    status = 413
    code = "too_large"


class IngestOut(Schema):
    accepted: int
    late: int = Field(
        0,
        description="Of the accepted: events older than the rules look at "
        "(DETECTION_LATE_SECONDS), stored without raising alarms.",
    )
    duplicates: int
    rejected: list[dict]
    alarms_raised: int
    alarms_updated: int


@router.post(
    "/ingest",
    response=IngestOut,
    auth=[DeviceTokenAuth(), TokenAuth()],
    throttle=FEED_THROTTLE,
    openapi_extra={
        "requestBody": {
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
            "description": "JSON lines (one message per line), or NMEA lines for `ais`.",
        }
    },
)
def ingest(request, format: str = Query(..., description=", ".join(FORMATS))):
    """A batch of device messages of one format. Each line is checked on its own: bad lines are
    kept as dead letters with the reason and named in the answer; the rest is stored once."""
    from port2port.sites.models import Device

    if format not in FORMATS:
        raise Invalid(
            _("unknown format “%(value)s”; one of: %(formats)s")
            % {"value": format, "formats": ", ".join(FORMATS)},
            field="format",
        )
    sender = request.auth
    device = owner_id = None
    if isinstance(sender, Device):
        device = device_info(sender, sender.gate.code if sender.gate else "")
        who = f"device {sender.code}"
    elif reach(sender, Perm.DETECTION_EVENT_INGEST) and getattr(sender, "organisation", None):
        owner_id = sender.organisation.pk  # a gateway of the owner: its devices only
        who = f"{sender} of {sender.organisation.name}"
    else:
        raise Forbidden(_("this token may not send device events"))
    raw = request.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise TooLarge(
            _("a batch is at most %(n)s MB; send smaller batches") % {"n": MAX_BODY // 1_000_000}
        )
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid(_("the body is not UTF-8 text"), field="body") from None
    lines = body.splitlines()
    if len(lines) > MAX_LINES:
        raise Invalid(_("at most %(n)s lines in one batch") % {"n": MAX_LINES}, field="body")
    if format == "ais":
        messages = [Message(body, "http")]
    else:
        messages = [
            Message(line, f"line {n}") for n, line in enumerate(lines, start=1) if line.strip()
        ]
    try:
        outcome = pipeline.ingest(format, messages, device=device, owner_id=owner_id, sender=who)
    except (OperationalError, InterfaceError) as exc:  # busy or gone: nothing is stored
        log.warning("detection: a batch from %s was not stored: %s", who, exc)
        raise Unavailable(
            _("the database is busy; nothing was stored, send the batch again")
        ) from exc
    return {
        "accepted": outcome.accepted,
        "late": outcome.late,
        "duplicates": outcome.duplicates,
        "rejected": [{"where": where, "reason": reason} for where, reason in outcome.rejected],
        "alarms_raised": outcome.raised,
        "alarms_updated": outcome.updated,
    }


# --- alarms --------------------------------------------------------------------------------------


class StepOut(Schema):
    position: int
    text: str
    done_at: datetime | None


class AlarmOut(Schema):
    id: UUID
    port: str = Field(alias="port.locode")
    kind: str
    priority: int
    state: str
    summary: str
    params: dict
    zone: str | None = Field(None, alias="zone.code")
    device: str | None = Field(None, alias="device.code")
    rule: UUID | None = Field(None, alias="rule_id")
    hotlist: UUID | None = Field(None, alias="hotlist_id")
    latitude: float | None
    longitude: float | None
    first_at: datetime
    last_at: datetime
    count: int
    escalation_level: int
    report: str
    shared_item: UUID | None = Field(
        None, alias="shared_item_id", description="The sharing item the incident became."
    )

    @staticmethod
    def resolve_summary(obj) -> str:
        from .text import alarm_summary

        return alarm_summary(obj)


class DeliveryOut(Schema):
    """One notification of the alarm (the delivery log); a webhook is named by its host only."""

    channel: str
    to: str
    level: int
    state: str = Field(description="pending, sent or failed")
    attempts: int
    last_error: str
    created_at: datetime
    sent_at: datetime | None

    @staticmethod
    def resolve_to(obj) -> str:
        return delivery_to(obj)


class CameraOut(Schema):
    id: UUID
    code: str
    name: str
    kind: str
    metres: int


class AlarmDetailOut(AlarmOut):
    steps: list[StepOut]
    timeline: list[dict]
    deliveries: list[DeliveryOut]
    nearest_camera: CameraOut | None = Field(
        None, description="The port's camera closest to the alarm, as the alarm page shows it."
    )

    @staticmethod
    def resolve_steps(obj) -> list:
        return list(obj.steps.all())

    @staticmethod
    def resolve_timeline(obj) -> list[dict]:
        return obj.timeline_rows

    @staticmethod
    def resolve_deliveries(obj) -> list:
        return obj.delivery_rows

    @staticmethod
    def resolve_nearest_camera(obj) -> dict | None:
        return obj.nearest_row


class AlarmFilter(Schema):
    state: str | None = Field(None, description="new, acknowledged, in_progress or closed")
    kind: str | None = Field(None, description="The kind of rule that raised it")
    port: str | None = Field(None, description="UN/LOCODE")
    rule: UUID | None = None
    hotlist: UUID | None = None
    open: bool | None = None


@router.get("/alarms", response=list[AlarmOut], auth=READ)
@paginate(Pagination)
def alarms(request, filters: Query[AlarmFilter]):
    return selectors.alarms_matching(request.auth, **filters.dict())


def _detail(viewer, alarm):
    alarm.timeline_rows = [
        {
            "at": at,
            "kind": kind,
            "text": text,
            "user": str(user) if user else "",
            "event": {"kind": event.kind, "device": event.device_code, "plate": event.plate}
            if event
            else None,
        }
        for at, kind, text, user, event in selectors.alarm_timeline(viewer, alarm)
    ]
    alarm.delivery_rows = list(selectors.deliveries_of(viewer, alarm))
    nearest = selectors.nearest_camera(viewer, alarm)
    alarm.nearest_row = (
        {
            "id": nearest[0].pk,
            "code": nearest[0].code,
            "name": nearest[0].name,
            "kind": nearest[0].kind,
            "metres": round(nearest[1]),
        }
        if nearest
        else None
    )
    return alarm


def _fresh(viewer, alarm_id):
    """The alarm as stored now, with everything its detail shows."""
    return _detail(viewer, selectors.alarm_get(viewer, alarm_id))


@router.get("/alarms/{alarm_id}", response=AlarmDetailOut, auth=READ)
def alarm(request, alarm_id: UUID):
    return _fresh(request.auth, alarm_id)


class StepIn(Body):
    done: bool = True


class NoteIn(Body):
    text: str


class CloseIn(Body):
    report: str


class ShareIn(Body):
    title: str
    body: str
    tlp: str = Field("amber", description="clear, green, amber or amber+strict")
    distribution: str = Field(
        "port_community", description="organisation, port_community or platform"
    )


class ShareDraftOut(Schema):
    title: str
    body: str


@router.post("/alarms/{alarm_id}/acknowledge", response=AlarmDetailOut)
def alarm_acknowledge(request, alarm_id: UUID):
    alarm = services.alarm_acknowledge(
        actor=request.auth, alarm=selectors.alarm_get(request.auth, alarm_id)
    )
    return _fresh(request.auth, alarm.pk)


@router.post("/alarms/{alarm_id}/take", response=AlarmDetailOut)
def alarm_take(request, alarm_id: UUID):
    alarm = services.alarm_take(
        actor=request.auth, alarm=selectors.alarm_get(request.auth, alarm_id)
    )
    return _fresh(request.auth, alarm.pk)


@router.post("/alarms/{alarm_id}/steps/{position}", response=AlarmDetailOut)
def alarm_step(request, alarm_id: UUID, position: int, payload: StepIn):
    alarm = selectors.alarm_get(request.auth, alarm_id)
    services.alarm_step_tick(actor=request.auth, alarm=alarm, position=position, done=payload.done)
    return _fresh(request.auth, alarm.pk)


@router.post("/alarms/{alarm_id}/notes", response=AlarmDetailOut)
def alarm_note(request, alarm_id: UUID, payload: NoteIn):
    alarm = selectors.alarm_get(request.auth, alarm_id)
    services.alarm_note(actor=request.auth, alarm=alarm, text=payload.text)
    return _fresh(request.auth, alarm.pk)


@router.post("/alarms/{alarm_id}/escalate", response=AlarmDetailOut)
def alarm_escalate(request, alarm_id: UUID):
    alarm = services.alarm_escalate(
        actor=request.auth, alarm=selectors.alarm_get(request.auth, alarm_id)
    )
    return _fresh(request.auth, alarm.pk)


@router.post("/alarms/{alarm_id}/close", response=AlarmDetailOut)
def alarm_close(request, alarm_id: UUID, payload: CloseIn):
    alarm = services.alarm_close(
        actor=request.auth, alarm=selectors.alarm_get(request.auth, alarm_id), report=payload.report
    )
    return _fresh(request.auth, alarm.pk)


@router.get("/alarms/{alarm_id}/share-draft", response=ShareDraftOut, auth=READ)
def alarm_share_draft(request, alarm_id: UUID):
    """A sanitised title and text to start from: no plates, names, vessels, devices or times."""
    title, body = services.share_draft(selectors.alarm_get(request.auth, alarm_id))
    return {"title": title, "body": body}


@router.post("/alarms/{alarm_id}/share", response={201: AlarmDetailOut})
def alarm_share(request, alarm_id: UUID, payload: ShareIn):
    """Share a closed alarm's incident as a sharing item, in the sharer's own words."""
    alarm = selectors.alarm_get(request.auth, alarm_id)
    services.alarm_share(actor=request.auth, alarm=alarm, **payload.dict())
    return Status(201, _fresh(request.auth, alarm.pk))


# --- rules and their contacts --------------------------------------------------------------------


class RuleOut(Schema):
    id: UUID
    port: str = Field(alias="port.locode")
    name: str
    kind: str
    enabled: bool
    priority: int
    zone: UUID | None = Field(None, alias="zone_id")
    schedule: UUID | None = Field(None, alias="schedule_id")
    within_seconds: int
    raise_by: int
    count: int
    minutes: int
    suppress_seconds: int
    escalate_seconds: int
    procedure: UUID | None = Field(None, alias="procedure_id")
    alarms: int = 0

    @staticmethod
    def resolve_alarms(obj) -> int:
        return obj.alarms.count()


class RuleIn(Body):
    name: str | None = None
    kind: str | None = None
    enabled: bool | None = None
    priority: int | None = None
    zone: UUID | None = None
    schedule: UUID | None = None
    within_seconds: int | None = None
    raise_by: int | None = None
    count: int | None = None
    minutes: int | None = None
    suppress_seconds: int | None = None
    escalate_seconds: int | None = None
    procedure: UUID | None = None


def _rule_fields(viewer, port, payload: RuleIn) -> dict:
    from port2port.access.models import Schedule

    data = payload.dict(exclude_unset=True)
    choices = {
        "zone": lambda: site_selectors.zones_of(viewer, port),
        "schedule": lambda: Schedule.objects.all(),
        "procedure": lambda: selectors.procedures_visible_to(viewer).filter(port=port),
    }
    for name, queryset in choices.items():
        if data.get(name):
            data[name] = _reference(queryset(), name, pk=data[name])
    return data


@router.get("/rules", response=list[RuleOut], auth=READ)
@paginate(Pagination)
def rules(request):
    return selectors.rules_visible_to(request.auth)


@router.get("/rules/{rule_id}", response=RuleOut, auth=READ)
def rule(request, rule_id: UUID):
    return selectors.rule_get(request.auth, rule_id)


@router.post("/ports/{locode}/rules", response={201: RuleOut})
def rule_create(request, locode: str, payload: RuleIn):
    port = site_selectors.port_get(request.auth, locode)
    data = _rule_fields(request.auth, port, payload)
    for required in ("name", "kind"):
        if not data.get(required):
            raise Invalid(_("this field is required"), field=required)
    return Status(201, services.rule_save(actor=request.auth, port=port, **data))


@router.patch("/rules/{rule_id}", response=RuleOut)
def rule_update(request, rule_id: UUID, payload: RuleIn):
    rule = selectors.rule_get(request.auth, rule_id)
    data = _rule_fields(request.auth, rule.port, payload)
    return services.rule_save(actor=request.auth, port=rule.port, rule=rule, **data)


class ContactOut(Schema):
    id: UUID
    channel: str
    level: int
    user: UUID | None = Field(None, alias="user_id")
    name: str = Field("", description="The person notified (e-mail and web push)")
    url: str = Field(description="The webhook's URL (webhooks)")

    @staticmethod
    def resolve_name(obj) -> str:
        if obj.user is None:
            return ""
        return str(obj.user.person) if obj.user.person_id else obj.user.get_username()


class ContactIn(Body):
    channel: str = Field(description="email, webhook or web_push")
    level: int = Field(0, description="0 at once, 1 after the first escalation, ...")
    user: UUID | None = Field(None, description="The person to notify (e-mail, web push)")
    url: str = Field("", description="The webhook's http(s) URL")


@router.get("/rules/{rule_id}/contacts", response=list[ContactOut], auth=READ)
@paginate(Pagination)
def rule_contacts(request, rule_id: UUID):
    return selectors.contacts_of(request.auth, selectors.rule_get(request.auth, rule_id))


@router.post("/rules/{rule_id}/contacts", response={201: ContactOut})
def rule_contact_add(request, rule_id: UUID, payload: ContactIn):
    rule = selectors.rule_get(request.auth, rule_id)
    user = None
    if payload.user is not None:
        user = _reference(selectors.contact_users(request.auth, rule), "user", pk=payload.user)
    contact = services.contact_add(
        actor=request.auth,
        rule=rule,
        channel=payload.channel,
        level=payload.level,
        user=user,
        url=payload.url,
    )
    return Status(201, contact)


@router.delete("/rules/{rule_id}/contacts/{contact_id}", response={204: None})
def rule_contact_remove(request, rule_id: UUID, contact_id: UUID):
    rule = selectors.rule_get(request.auth, rule_id)
    contact = selectors.contact_get(request.auth, rule, contact_id)
    services.contact_remove(actor=request.auth, contact=contact)
    return Status(204, None)


# --- procedures ----------------------------------------------------------------------------------


class ProcedureOut(Schema):
    id: UUID
    port: str = Field(alias="port.locode")
    name: str
    steps: list[str]


class ProcedureIn(Body):
    name: str
    steps: list[str] = Field(description="The steps, in the order the operator follows them")


class ProcedurePatch(Body):
    """Only the fields sent change."""

    name: str | None = None
    steps: list[str] | None = None


class PortFilter(Schema):
    port: str | None = Field(None, description="UN/LOCODE")


@router.get("/procedures", response=list[ProcedureOut], auth=READ)
@paginate(Pagination)
def procedures(request, filters: Query[PortFilter]):
    queryset = selectors.procedures_visible_to(request.auth)
    if filters.port:
        queryset = queryset.filter(port__locode=filters.port.strip().upper())
    return queryset


@router.get("/procedures/{procedure_id}", response=ProcedureOut, auth=READ)
def procedure(request, procedure_id: UUID):
    return selectors.procedure_get(request.auth, procedure_id)


@router.post("/ports/{locode}/procedures", response={201: ProcedureOut})
def procedure_create(request, locode: str, payload: ProcedureIn):
    port = site_selectors.port_get(request.auth, locode)
    return Status(
        201,
        services.procedure_save(
            actor=request.auth, port=port, name=payload.name, steps=payload.steps
        ),
    )


@router.patch("/procedures/{procedure_id}", response=ProcedureOut)
def procedure_update(request, procedure_id: UUID, payload: ProcedurePatch):
    procedure = selectors.procedure_get(request.auth, procedure_id)
    data = payload.dict(exclude_unset=True)
    return services.procedure_save(
        actor=request.auth,
        port=procedure.port,
        procedure=procedure,
        name=data.get("name", procedure.name),
        steps=data.get("steps", procedure.steps),
    )


# --- hotlists ------------------------------------------------------------------------------------


class HotlistOut(Schema):
    id: UUID
    name: str
    owner: UUID = Field(alias="owner_id")
    port: str | None = Field(None, alias="port.locode")
    priority: int
    max_differences: int
    valid_from: date | None
    valid_until: date | None
    active: bool
    entries: int = 0

    @staticmethod
    def resolve_entries(obj) -> int:
        return obj.entries.count()


class HotlistIn(Body):
    name: str
    owner: UUID
    priority: int = Field(50, ge=0, le=100)
    max_differences: int = Field(0, ge=0, le=2)
    port: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    active: bool = True


class HotlistPatch(Body):
    """Only the fields sent change; `port` null makes it a list for every port (national
    bodies only). The owner never changes."""

    name: str | None = None
    priority: int | None = Field(None, ge=0, le=100)
    max_differences: int | None = Field(None, ge=0, le=2)
    port: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    active: bool | None = None


class EntriesIn(Body):
    entries: str = Field(description="Lines PLATE;reason;valid-until (YYYY-MM-DD)")


class EntryOut(Schema):
    id: int
    plate: str
    reason: str
    valid_until: date | None


class ActiveIn(Body):
    active: bool


@router.get("/hotlists", response=list[HotlistOut], auth=READ)
@paginate(Pagination)
def hotlists(request):
    return selectors.hotlists_visible_to(request.auth)


@router.get("/hotlists/{hotlist_id}", response=HotlistOut, auth=READ)
def hotlist(request, hotlist_id: UUID):
    return selectors.hotlist_get(request.auth, hotlist_id)


@router.post("/hotlists", response={201: HotlistOut})
def hotlist_create(request, payload: HotlistIn):
    from port2port.core.selectors import organisations_visible_to

    data = payload.dict()
    data["owner"] = _reference(organisations_visible_to(request.auth), "owner", pk=data["owner"])
    data["port"] = _port_reference(request.auth, data["port"]) if data["port"] else None
    return Status(201, services.hotlist_save(actor=request.auth, **data))


@router.patch("/hotlists/{hotlist_id}", response=HotlistOut)
def hotlist_update(request, hotlist_id: UUID, payload: HotlistPatch):
    hotlist = selectors.hotlist_get(request.auth, hotlist_id)
    data = payload.dict(exclude_unset=True)
    if "port" in data:
        data["port"] = _port_reference(request.auth, data["port"]) if data["port"] else None
    settings = {name: getattr(hotlist, name) for name in services.HOTLIST_SETTINGS}
    settings.update(data)
    return services.hotlist_save(
        actor=request.auth, owner=hotlist.owner, hotlist=hotlist, **settings
    )


@router.post("/hotlists/{hotlist_id}/active", response=HotlistOut)
def hotlist_active(request, hotlist_id: UUID, payload: ActiveIn):
    hotlist = selectors.hotlist_get(request.auth, hotlist_id)
    return services.hotlist_active_set(actor=request.auth, hotlist=hotlist, active=payload.active)


@router.get("/hotlists/{hotlist_id}/entries", response=list[EntryOut], auth=READ)
@paginate(Pagination)
def hotlist_entries(request, hotlist_id: UUID):
    hotlist = selectors.hotlist_get(request.auth, hotlist_id)
    return selectors.entries_of(request.auth, hotlist)


@router.post("/hotlists/{hotlist_id}/entries", response={201: dict}, auth=READ)
def hotlist_entries_add(request, hotlist_id: UUID, payload: EntriesIn):
    hotlist = selectors.hotlist_get(request.auth, hotlist_id)
    count = services.hotlist_entries_add(actor=request.auth, hotlist=hotlist, text=payload.entries)
    return Status(201, {"stored": count})


@router.delete("/hotlists/{hotlist_id}/entries/{entry_id}", response={204: None}, auth=READ)
def hotlist_entry_remove(request, hotlist_id: UUID, entry_id: int):
    hotlist = selectors.hotlist_get(request.auth, hotlist_id)
    entry = one_or_404(
        selectors.entries_of(request.auth, hotlist).select_related(
            "hotlist__owner", "hotlist__port"
        ),
        pk=entry_id,
    )
    services.hotlist_entry_remove(actor=request.auth, entry=entry)
    return Status(204, None)


# --- events and dead letters ---------------------------------------------------------------------


class EventOut(Schema):
    uid: str
    kind: str
    source: str
    device: str = Field(alias="device_code")
    port: str | None = Field(None, alias="port.locode")
    zone: str | None = Field(None, alias="zone.code")
    at: datetime
    plate: str
    label: str
    confidence: float | None
    latitude: float | None
    longitude: float | None
    mmsi: int | None
    data: dict


class EventFilter(Schema):
    kind: str | None = None
    plate: str | None = None
    device: str | None = None
    since: datetime | None = None


@router.get("/events", response=list[EventOut], auth=READ)
@paginate(Pagination)
def events(request, filters: Query[EventFilter]):
    queryset = selectors.events_visible_to(request.auth)
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    if filters.plate:
        plate = filters.plate.upper().replace("-", "").replace(" ", "").replace(".", "")
        queryset = queryset.filter(plate=plate)
        services.plate_searched(actor=request.auth, plate=plate, found=queryset.count())
    if filters.device:
        queryset = queryset.filter(device_code__iexact=filters.device)
    if filters.since:
        queryset = queryset.filter(at__gte=filters.since)
    return queryset


class DeadLetterOut(Schema):
    id: int
    received_at: datetime
    format: str
    channel: str
    sender: str
    port: str | None = Field(None, alias="port.locode")
    reason: str
    payload: str


@router.get("/dead-letters", response=list[DeadLetterOut], auth=READ)
@paginate(Pagination)
def dead_letters(request):
    """Input that did not become an event: of the ports where the caller sets up detection
    (platform admins: all, also those of no known port)."""
    return selectors.dead_letters_visible_to(request.auth)


# --- authorised flights --------------------------------------------------------------------------


class FlightIn(Body):
    operator: str
    starts_at: datetime = Field(description="With its UTC offset, e.g. 2030-05-01T08:00:00+02:00")
    ends_at: datetime = Field(description="With its UTC offset")
    zone: UUID | None = None
    drone_id: str = ""


class FlightOut(Schema):
    id: UUID
    port: str = Field(alias="port.locode")
    zone: str | None = Field(None, alias="zone.code")
    operator: str
    drone_id: str
    starts_at: datetime
    ends_at: datetime


@router.get("/flights", response=list[FlightOut], auth=READ)
@paginate(Pagination)
def flights(request, filters: Query[PortFilter]):
    queryset = selectors.flights_visible_to(request.auth).order_by("-starts_at")
    if filters.port:
        queryset = queryset.filter(port__locode=filters.port.strip().upper())
    return queryset


@router.post("/ports/{locode}/flights", response={201: FlightOut})
def flight_create(request, locode: str, payload: FlightIn):
    port = site_selectors.port_get(request.auth, locode)
    data = payload.dict()
    if data["zone"]:
        data["zone"] = _reference(
            site_selectors.zones_of(request.auth, port), "zone", pk=data["zone"]
        )
    return Status(201, services.flight_create(actor=request.auth, port=port, **data))


@router.post("/flights/{flight_id}/end", response=FlightOut)
def flight_end(request, flight_id: UUID):
    flight = selectors.flight_get(request.auth, flight_id)
    return services.flight_end(actor=request.auth, flight=flight)


# --- retention -----------------------------------------------------------------------------------


class RetentionOut(Schema):
    kind: str
    days: int


class RetentionIn(Body):
    days: int


@router.get("/retention", response=list[RetentionOut], auth=READ)
def retention(request):
    """How long each kind of event is kept (ANPR reads are personal data)."""
    if not selectors.may_watch(request.auth) and not selectors.may_set_up(request.auth):
        raise Forbidden(_("your roles do not include detection"))
    return [{"kind": k, "days": d} for k, d in services.retention_days().items()]


@router.put("/retention/{kind}", response=RetentionOut)
def retention_set(request, kind: str, payload: RetentionIn):
    row = services.retention_set(actor=request.auth, kind=kind, days=payload.days)
    return {"kind": row.kind, "days": row.days}
