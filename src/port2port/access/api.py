"""Access API: gate controllers (device or organisation tokens), the security desk, announcers,
screening imports."""

from datetime import date, datetime
from uuid import UUID

from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from ninja.security import HttpBearer
from ninja.throttling import AuthRateThrottle

from port2port.core.apibase import Pagination, SessionAuth, TokenAuth
from port2port.core.errors import Invalid
from port2port.core.visibility import one_or_404
from port2port.sites.models import Facility, Zone

from . import csv_import, selectors, services
from .models import Visitor


class DeviceAuth(HttpBearer):
    """`Authorization: Bearer gd_<prefix>_<secret>`: a gate controller's own token."""

    openapi_description = "A gate device token, shown once when the device is registered."

    def authenticate(self, request, token: str):
        if not token.startswith(f"{services.DEVICE_PREFIX}_"):
            return None  # an organisation token: the next authenticator answers
        return services.device_authenticate(token)


GATE_AUTH = [DeviceAuth(), TokenAuth(), SessionAuth()]
# A gate asks as fast as people pass; the platform-wide limit would refuse a busy gate.
GATE_THROTTLE = [AuthRateThrottle("100000/m")]

router = Router(tags=["access"])


class DecideIn(Schema):
    gate: str
    badge: str | None = None
    plate: str | None = None
    identity: str | None = None  # an itsme / OpenID subject the gate verified
    direction: str = "in"
    at: datetime | None = None


class DecideOut(Schema):
    decision: str
    reasons: list[str]
    messages: list[str]


def decide_answer(actor, payload: DecideIn) -> dict:
    """The answer to a gate: here and in the gate's fast lane (`gate_asgi.py`)."""
    given = [
        (kind, value)
        for kind, value in (
            ("badge", payload.badge),
            ("plate", payload.plate),
            ("identity", payload.identity),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise Invalid(_("give one of badge, plate or identity"), field="badge")
    [(kind, value)] = given
    decision = services.gate_decide(
        actor=actor,
        gate_code=payload.gate,
        kind=kind,
        value=value,
        direction=payload.direction,
        at=payload.at,
    )
    return {
        "decision": "grant" if decision.granted else "deny",
        "reasons": [str(r) for r in decision.reasons],
        "messages": [services.reason_text(r) for r in decision.reasons],
    }


@router.post("/decide", response=DecideOut, auth=GATE_AUTH, throttle=GATE_THROTTLE)
def decide(request, payload: DecideIn):
    """Grant or deny at a gate, with machine-readable reasons and a sentence for each.
    Gate device tokens are answered by the fast lane in front of Django, with the same answer."""
    return decide_answer(request.auth, payload)


@router.get("/gates/{code}/allow-list", auth=GATE_AUTH)
def allow_list(request, code: str, hours: int = 12):
    """The gate's signed offline allow-list: who may pass when, for the next `hours`."""
    return services.gate_allow_list(actor=request.auth, gate_code=code, hours=hours)


@router.get("/signing-key", auth=GATE_AUTH)
def signing_key(request):
    """The Ed25519 public key that signs allow-lists."""
    from .allowlist import public_key

    return public_key()


# Decision log -------------------------------------------------------------------------------


class DecisionOut(Schema):
    at: datetime
    gate: str = Field(alias="gate_code")
    credential_kind: str
    credential: str
    person: UUID | None = Field(None, alias="person_id")
    direction: str
    decision: str
    reasons: list[str]

    @staticmethod
    def resolve_decision(obj) -> str:
        return "grant" if obj.granted else "deny"


@router.get("/decisions", response=list[DecisionOut])
@paginate(Pagination)
def decisions(
    request,
    gate: str = "",
    day: date | None = None,
    person: UUID | None = None,
    refused_only: bool = False,
):
    """The decision log, newest first: "why was this person refused at 07:42?"."""
    filters = selectors.DecisionFilter(gate=gate, day=day, refused_only=refused_only)
    if person is not None:
        filters.person = selectors.person_for_access(request.auth, person)
    return selectors.decisions_visible_to(request.auth, filters)


# Screening imports --------------------------------------------------------------------------


class LineOut(Schema):
    line: int
    ok: bool
    message: str


class ImportOut(Schema):
    kind: str
    dry_run: bool
    stored: int
    lines: list[LineOut]


@router.post("/import/{kind}", response=ImportOut)
def import_csv(request, kind: str, dry_run: bool = False, valid_only: bool = False):
    """A CSV file as the request body (people, badges, bans, verifications, extracts, rights):
    every line is checked; nothing is stored while a line is wrong unless `valid_only`."""
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(_("the file is not UTF-8 text"), field="file") from exc
    report = csv_import.csv_import(
        actor=request.auth, kind=kind, text=text, dry_run=dry_run, valid_only=valid_only
    )
    return {
        "kind": report.kind,
        "dry_run": report.dry_run,
        "stored": report.stored,
        "lines": [{"line": n.number, "ok": n.ok, "message": n.message} for n in report.lines],
    }


# Visitors -----------------------------------------------------------------------------------


class VisitorIn(Schema):
    mode: str
    given_name: str
    family_name: str
    birth_date: date | None = None
    nationality: str = ""
    company: str = ""
    badge_number: str = ""
    national_number: str = ""
    plate: str = ""


class VisitIn(Schema):
    facility: UUID
    zone: UUID
    announcer: UUID
    purpose: str
    starts_at: datetime
    ends_at: datetime
    vessel: str = ""
    location: str = ""
    visitors: list[VisitorIn]


class VisitorOut(Schema):
    id: UUID
    given_name: str
    family_name: str
    mode: str
    status: str
    ban_state: str | None = None  # for the terminal's desk only; announcers do not see it
    rejection_reason: str
    plate: str


class VisitOut(Schema):
    id: UUID
    facility: str
    zone: str
    announcer: str
    vessel: str
    location: str
    purpose: str
    starts_at: datetime
    ends_at: datetime
    visitors: list[VisitorOut]


def _visit_out(visit, viewer) -> dict:
    from port2port.core.roles import Perm
    from port2port.core.visibility import reach

    desk = reach(viewer, Perm.ACCESS_VISITOR_DECIDE).covers(visit.facility.operator_id)
    visitors = [
        {
            "id": v.pk,
            "given_name": v.given_name,
            "family_name": v.family_name,
            "mode": v.mode,
            "status": v.status,
            "ban_state": v.ban_state if desk else None,
            "rejection_reason": v.rejection_reason,
            "plate": v.plate,
        }
        for v in visit.visitors.all()
    ]
    return {
        "id": visit.pk,
        "facility": visit.facility.code,
        "zone": visit.zone.code,
        "announcer": visit.announcer.name,
        "vessel": visit.vessel,
        "location": visit.location,
        "purpose": visit.purpose,
        "starts_at": visit.starts_at,
        "ends_at": visit.ends_at,
        "visitors": visitors,
    }


@router.get("/visits", response=list[VisitOut])
@paginate(Pagination)
def visits(request, day: date | None = None):
    """The visits of a day (today by default) the caller announced or decides on."""
    return [_visit_out(v, request.auth) for v in selectors.visits_today(request.auth, day)]


@router.post("/visits", response={201: VisitOut})
def visit_announce(request, payload: VisitIn):
    """Announce visitors (an approved announcer of the terminal)."""
    from port2port.core.models import Organisation

    facility = one_or_404(Facility.objects.all(), pk=payload.facility)
    zone = one_or_404(Zone.objects.all(), pk=payload.zone)
    announcer = one_or_404(Organisation.objects.all(), pk=payload.announcer)
    visit = services.visit_announce(
        actor=request.auth,
        facility=facility,
        zone=zone,
        announcer=announcer,
        purpose=payload.purpose,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        vessel=payload.vessel,
        location=payload.location,
        visitors=[v.dict() for v in payload.visitors],
    )
    return Status(201, _visit_out(visit, request.auth))


@router.get("/visits/{visit_id}", response=VisitOut)
def visit_detail(request, visit_id: UUID):
    return _visit_out(
        one_or_404(selectors.visits_visible_to(request.auth), pk=visit_id), request.auth
    )


class DecideVisitorIn(Schema):
    approve: bool
    reason: str = ""


class VisitorStateOut(VisitorOut):
    checks: list[dict]


def _visitor_state(visitor: Visitor) -> dict:
    return {
        **{f: getattr(visitor, f) for f in VisitorOut.model_fields if f != "id"},
        "id": visitor.pk,
        "checks": [
            {"at": c.at.isoformat(), "result": c.result, "basis": c.basis}
            for c in visitor.ban_checks.all()
        ],
    }


def _visitor(request, visitor_id) -> Visitor:
    return one_or_404(selectors.visitors_visible_to(request.auth), pk=visitor_id)


@router.post("/visitors/{visitor_id}/decision", response=VisitorStateOut)
def visitor_decide(request, visitor_id: UUID, payload: DecideVisitorIn):
    """Approve, or reject with a reason."""
    visitor = services.visitor_decide(
        actor=request.auth,
        visitor=_visitor(request, visitor_id),
        approve=payload.approve,
        reason=payload.reason,
    )
    return _visitor_state(visitor)


@router.post("/visitors/{visitor_id}/ban-check", response=VisitorStateOut)
def visitor_ban_check(request, visitor_id: UUID):
    visitor = _visitor(request, visitor_id)
    services.visitor_ban_check(actor=request.auth, visitor=visitor)
    return _visitor_state(visitor)


@router.post("/visitors/{visitor_id}/check-in", response=VisitorStateOut)
def visitor_check_in(request, visitor_id: UUID):
    """At arrival: a temporary right and the plate whitelisted for ANPR until the visit ends."""
    visitor = services.visitor_check_in(actor=request.auth, visitor=_visitor(request, visitor_id))
    return _visitor_state(visitor)


@router.post("/visitors/{visitor_id}/check-out", response=VisitorStateOut)
def visitor_check_out(request, visitor_id: UUID):
    visitor = services.visitor_check_out(actor=request.auth, visitor=_visitor(request, visitor_id))
    return _visitor_state(visitor)
