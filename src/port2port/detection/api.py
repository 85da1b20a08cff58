"""Detection API: device feeds in, alarms and their handling, rules and hotlists."""

from datetime import date, datetime
from uuid import UUID

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from ninja.security import HttpBearer
from ninja.throttling import AuthRateThrottle

from port2port.core.apibase import Pagination, SessionAuth, TokenAuth
from port2port.core.errors import AppError, Forbidden, Invalid
from port2port.core.roles import Perm
from port2port.core.visibility import one_or_404, reach
from port2port.sites import selectors as site_selectors
from port2port.sites.models import Zone

from . import selectors, services
from .ingest import FORMATS, Message, pipeline
from .state import device_info

router = Router(tags=["detection"])


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
    elif reach(sender, Perm.DETECTION_EVENT_INGEST) and getattr(sender, "organisation", None):
        owner_id = sender.organisation.pk  # a gateway of the owner: its devices only
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
    outcome = pipeline.ingest(format, messages, device=device, owner_id=owner_id)
    return {
        "accepted": outcome.accepted,
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

    @staticmethod
    def resolve_summary(obj) -> str:
        from .text import alarm_summary

        return alarm_summary(obj)


class AlarmDetailOut(AlarmOut):
    steps: list[StepOut]
    timeline: list[dict]

    @staticmethod
    def resolve_steps(obj) -> list:
        return list(obj.steps.all())

    @staticmethod
    def resolve_timeline(obj) -> list[dict]:
        return obj.timeline_rows


class AlarmFilter(Schema):
    state: str | None = None
    port: str | None = None
    open: bool | None = None


@router.get("/alarms", response=list[AlarmOut], auth=[TokenAuth(), SessionAuth()])
@paginate(Pagination)
def alarms(request, filters: Query[AlarmFilter]):
    queryset = selectors.alarms_visible_to(request.auth)
    if filters.state:
        queryset = queryset.filter(state=filters.state)
    if filters.open:
        queryset = queryset.exclude(state="closed")
    if filters.port:
        queryset = queryset.filter(port__locode=filters.port.upper())
    return queryset


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
    return alarm


@router.get("/alarms/{alarm_id}", response=AlarmDetailOut, auth=[TokenAuth(), SessionAuth()])
def alarm(request, alarm_id: UUID):
    return _detail(request.auth, selectors.alarm_get(request.auth, alarm_id))


class StepIn(Schema):
    done: bool = True


class NoteIn(Schema):
    text: str


class CloseIn(Schema):
    report: str


@router.post("/alarms/{alarm_id}/acknowledge", response=AlarmDetailOut)
def alarm_acknowledge(request, alarm_id: UUID):
    alarm = services.alarm_acknowledge(
        actor=request.auth, alarm=selectors.alarm_get(request.auth, alarm_id)
    )
    return _detail(request.auth, selectors.alarm_get(request.auth, alarm.pk))


@router.post("/alarms/{alarm_id}/take", response=AlarmDetailOut)
def alarm_take(request, alarm_id: UUID):
    alarm = services.alarm_take(
        actor=request.auth, alarm=selectors.alarm_get(request.auth, alarm_id)
    )
    return _detail(request.auth, selectors.alarm_get(request.auth, alarm.pk))


@router.post("/alarms/{alarm_id}/steps/{position}", response=AlarmDetailOut)
def alarm_step(request, alarm_id: UUID, position: int, payload: StepIn):
    alarm = selectors.alarm_get(request.auth, alarm_id)
    services.alarm_step_tick(actor=request.auth, alarm=alarm, position=position, done=payload.done)
    return _detail(request.auth, selectors.alarm_get(request.auth, alarm.pk))


@router.post("/alarms/{alarm_id}/notes", response=AlarmDetailOut)
def alarm_note(request, alarm_id: UUID, payload: NoteIn):
    alarm = selectors.alarm_get(request.auth, alarm_id)
    services.alarm_note(actor=request.auth, alarm=alarm, text=payload.text)
    return _detail(request.auth, alarm)


@router.post("/alarms/{alarm_id}/escalate", response=AlarmDetailOut)
def alarm_escalate(request, alarm_id: UUID):
    alarm = services.alarm_escalate(
        actor=request.auth, alarm=selectors.alarm_get(request.auth, alarm_id)
    )
    return _detail(request.auth, selectors.alarm_get(request.auth, alarm.pk))


@router.post("/alarms/{alarm_id}/close", response=AlarmDetailOut)
def alarm_close(request, alarm_id: UUID, payload: CloseIn):
    alarm = services.alarm_close(
        actor=request.auth, alarm=selectors.alarm_get(request.auth, alarm_id), report=payload.report
    )
    return _detail(request.auth, selectors.alarm_get(request.auth, alarm.pk))


# --- rules ---------------------------------------------------------------------------------------


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


class RuleIn(Schema):
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
    if "zone" in data:
        data["zone"] = (
            one_or_404(site_selectors.zones_of(viewer, port), pk=data["zone"])
            if data["zone"]
            else None
        )
    if "schedule" in data:
        data["schedule"] = (
            one_or_404(Schedule.objects.all(), pk=data["schedule"]) if data["schedule"] else None
        )
    if "procedure" in data:
        data["procedure"] = (
            one_or_404(selectors.procedures_visible_to(viewer), pk=data["procedure"])
            if data["procedure"]
            else None
        )
    return data


@router.get("/rules", response=list[RuleOut], auth=[TokenAuth(), SessionAuth()])
@paginate(Pagination)
def rules(request):
    return selectors.rules_visible_to(request.auth)


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


class HotlistIn(Schema):
    name: str
    owner: UUID
    priority: int = Field(50, ge=0, le=100)
    max_differences: int = Field(0, ge=0, le=2)
    port: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    active: bool = True


class EntriesIn(Schema):
    entries: str = Field(description="Lines PLATE;reason;valid-until (YYYY-MM-DD)")


class EntryOut(Schema):
    plate: str
    reason: str
    valid_until: date | None


@router.get("/hotlists", response=list[HotlistOut], auth=[TokenAuth(), SessionAuth()])
@paginate(Pagination)
def hotlists(request):
    return selectors.hotlists_visible_to(request.auth)


@router.post("/hotlists", response={201: HotlistOut})
def hotlist_create(request, payload: HotlistIn):
    from port2port.core.selectors import organisation_get

    data = payload.dict()
    data["owner"] = organisation_get(request.auth, data["owner"])
    data["port"] = site_selectors.port_get(request.auth, data["port"]) if data["port"] else None
    return Status(201, services.hotlist_save(actor=request.auth, **data))


@router.get(
    "/hotlists/{hotlist_id}/entries", response=list[EntryOut], auth=[TokenAuth(), SessionAuth()]
)
@paginate(Pagination)
def hotlist_entries(request, hotlist_id: UUID):
    hotlist = selectors.hotlist_get(request.auth, hotlist_id)
    return selectors.entries_of(request.auth, hotlist)


@router.post(
    "/hotlists/{hotlist_id}/entries", response={201: dict}, auth=[TokenAuth(), SessionAuth()]
)
def hotlist_entries_add(request, hotlist_id: UUID, payload: EntriesIn):
    hotlist = selectors.hotlist_get(request.auth, hotlist_id)
    count = services.hotlist_entries_add(actor=request.auth, hotlist=hotlist, text=payload.entries)
    return Status(201, {"stored": count})


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


@router.get("/events", response=list[EventOut], auth=[TokenAuth(), SessionAuth()])
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
        queryset = queryset.filter(device_code=filters.device)
    if filters.since:
        queryset = queryset.filter(at__gte=filters.since)
    return queryset


class DeadLetterOut(Schema):
    id: int
    received_at: datetime
    format: str
    channel: str
    reason: str
    payload: str


@router.get("/dead-letters", response=list[DeadLetterOut], auth=[TokenAuth(), SessionAuth()])
@paginate(Pagination)
def dead_letters(request):
    return selectors.dead_letters_visible_to(request.auth)


# --- authorised flights --------------------------------------------------------------------------


class FlightIn(Schema):
    operator: str
    starts_at: datetime
    ends_at: datetime
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


@router.post("/ports/{locode}/flights", response={201: FlightOut})
def flight_create(request, locode: str, payload: FlightIn):
    port = site_selectors.port_get(request.auth, locode)
    data = payload.dict()
    data["zone"] = (
        one_or_404(Zone.objects.filter(port=port), pk=data["zone"]) if data["zone"] else None
    )
    return Status(201, services.flight_create(actor=request.auth, port=port, **data))


# --- retention -----------------------------------------------------------------------------------


class RetentionOut(Schema):
    kind: str
    days: int


class RetentionIn(Schema):
    days: int


@router.get("/retention", response=list[RetentionOut], auth=[TokenAuth(), SessionAuth()])
def retention(request):
    """How long each kind of event is kept (ANPR reads are personal data)."""
    if not selectors.may_watch(request.auth) and not selectors.may_set_up(request.auth):
        raise Forbidden(_("your roles do not include detection"))
    return [{"kind": k, "days": d} for k, d in services.retention_days().items()]


@router.put("/retention/{kind}", response=RetentionOut)
def retention_set(request, kind: str, payload: RetentionIn):
    row = services.retention_set(actor=request.auth, kind=kind, days=payload.days)
    return {"kind": row.kind, "days": row.days}


class ActiveIn(Schema):
    active: bool


@router.post("/hotlists/{hotlist_id}/active", response=HotlistOut)
def hotlist_active(request, hotlist_id: UUID, payload: ActiveIn):
    hotlist = selectors.hotlist_get(request.auth, hotlist_id)
    return services.hotlist_active_set(actor=request.auth, hotlist=hotlist, active=payload.active)


@router.post("/flights/{flight_id}/end", response=FlightOut)
def flight_end(request, flight_id: UUID):
    flight = one_or_404(selectors.flights_visible_to(request.auth), pk=flight_id)
    return services.flight_end(actor=request.auth, flight=flight)
