"""Reporting API for triage teams: the queue, a report (decrypted, each opening audited), what the
team does with it, forward targets and statistics. The reporter's side has no API."""

from datetime import datetime
from uuid import UUID

from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from port2port.core.apibase import Pagination
from port2port.core.errors import Forbidden, Invalid
from port2port.core.models import User
from port2port.core.roles import Perm
from port2port.core.visibility import one_or_404, reach

from . import selectors, services
from .models import Category, Report

router = Router(tags=["reporting"])


def _require(viewer, perm: Perm) -> None:
    if not reach(viewer, perm):
        raise Forbidden(
            _("your roles do not include triaging reports")
            if perm == Perm.REPORTING_REPORT_TRIAGE
            else _("your roles do not include reporting statistics")
        )


def _report(request, report_id: UUID) -> Report:
    _require(request.auth, Perm.REPORTING_REPORT_TRIAGE)
    return one_or_404(selectors.reports_visible_to(request.auth), pk=report_id)


class ReportRowOut(Schema):
    id: UUID
    submitted_hour: datetime
    channel: str = Field(alias="channel.slug")
    channel_name: str = Field(alias="channel.name")
    category: str
    port: str | None = Field(None, alias="port.locode")
    language: str
    status: str
    close_reason: str
    assigned_to: UUID | None = Field(None, alias="assigned_to_id")
    team: UUID = Field(alias="team_id")
    team_name: str = Field(alias="team.name")
    with_contact: bool
    updated_at: datetime


class MessageOut(Schema):
    author: str
    internal: bool
    user: str | None = None
    at: datetime
    body: str

    @staticmethod
    def resolve_user(obj) -> str | None:
        return obj["user"].get_username() if obj.get("user") else None


class AttachmentOut(Schema):
    id: UUID
    content_type: str
    size: int
    name: str
    cleaned: bool


class ReportOut(Schema):
    """A report as its team reads it: the reporter's answers, the thread, the attachments."""

    report: ReportRowOut
    answers: dict
    messages: list[MessageOut]
    attachments: list[AttachmentOut]


class AssignIn(Schema):
    user: UUID | None = None


class StatusIn(Schema):
    status: str
    reason: str = ""


class NoteIn(Schema):
    body: str
    internal: bool = True


class NoteOut(Schema):
    id: int
    internal: bool
    at: datetime


class ForwardIn(Schema):
    team: UUID


class ShareIn(Schema):
    title: str
    body: str
    tlp: str = "amber"
    distribution: str = "organisation"


class SharedOut(Schema):
    id: UUID
    title: str
    tlp: str
    distribution: str


class TeamOut(Schema):
    id: UUID
    name: str
    organisation: UUID = Field(alias="organisation_id")
    ports: list[str]

    @staticmethod
    def resolve_ports(obj) -> list[str]:
        return [p.locode for p in obj.ports.all()]


class StatRowOut(Schema):
    month: str
    channel: str
    category: str
    port: str
    reports: int
    anonymous: int


class StatsOut(Schema):
    rows: list[StatRowOut]
    total: int
    anonymous_share: float | None = None


@router.get("/reports", response=list[ReportRowOut])
@paginate(Pagination)
def reports(request, status: str = "", channel: str = "", category: str = "", mine: bool = False):
    """The queue of the caller's teams, newest first; `mine` keeps those assigned to the caller."""
    _require(request.auth, Perm.REPORTING_REPORT_TRIAGE)
    if status and status not in Report.Status.values:
        raise Invalid(_("“%(value)s” is not a status") % {"value": status}, field="status")
    if category and category not in Category.values:
        raise Invalid(_("“%(value)s” is not a category") % {"value": category}, field="category")
    filters = selectors.QueueFilter(status=status, channel=channel, category=category, mine=mine)
    return selectors.reports_visible_to(request.auth, filters)


@router.get("/reports/{report_id}", response=ReportOut)
def report_detail(request, report_id: UUID):
    """The report decrypted for the caller's team; the opening is recorded in the audit log."""
    return services.report_open(actor=request.auth, report=_report(request, report_id))


@router.post("/reports/{report_id}/assign", response=ReportRowOut)
def report_assign(request, report_id: UUID, payload: AssignIn):
    """Assign to a member of the report's team (`null`: to nobody)."""
    report = _report(request, report_id)
    user = None
    if payload.user is not None:
        user = User.objects.filter(pk=payload.user, is_active=True).first()
        if user is None:
            raise Invalid(_("assign the report to a member of its team"), field="user")
    return services.report_assign(actor=request.auth, report=report, user=user)


@router.post("/reports/{report_id}/status", response=ReportRowOut)
def report_status(request, report_id: UUID, payload: StatusIn):
    """new, triage, forwarded or closed (closing needs the reason)."""
    return services.report_status_set(
        actor=request.auth,
        report=_report(request, report_id),
        status=payload.status,
        reason=payload.reason,
    )


@router.post("/reports/{report_id}/notes", response={201: NoteOut})
def report_note(request, report_id: UUID, payload: NoteIn):
    """An internal note of the team, or (`internal: false`) a reply the reporter reads."""
    message = services.report_note(
        actor=request.auth,
        report=_report(request, report_id),
        body=payload.body,
        internal=payload.internal,
    )
    return Status(201, message)


@router.get("/reports/{report_id}/forward-targets", response=list[TeamOut])
@paginate(Pagination)
def forward_targets(request, report_id: UUID):
    """The teams the report can be forwarded to, with their ports."""
    return selectors.forward_targets(_report(request, report_id)).select_related("organisation")


@router.post("/reports/{report_id}/forward", response=ReportRowOut)
def report_forward(request, report_id: UUID, payload: ForwardIn):
    """Hand the report to another team; the caller's team keeps its access."""
    report = _report(request, report_id)
    team = selectors.forward_targets(report).filter(pk=payload.team).first()
    if team is None:
        raise Invalid(_("choose one of the other teams"), field="team")
    return services.report_forward(actor=request.auth, report=report, team=team)


@router.post("/reports/{report_id}/share", response={201: SharedOut})
def report_share(request, report_id: UUID, payload: ShareIn):
    """A sanitised sharing item in the team's own words: nothing of the reporter is copied."""
    item = services.report_share(
        actor=request.auth, report=_report(request, report_id), **payload.dict()
    )
    return Status(201, item)


@router.get("/teams", response=list[TeamOut])
@paginate(Pagination)
def teams(request):
    """The triage teams the caller works in."""
    _require(request.auth, Perm.REPORTING_REPORT_TRIAGE)
    return selectors.teams_of(request.auth).prefetch_related("ports")


@router.get("/statistics", response=StatsOut)
def statistics(request):
    """Counts per month, channel, category and port, and the share of anonymous reports."""
    _require(request.auth, Perm.REPORTING_STATS_VIEW)
    stats = selectors.statistics(request.auth)
    return {
        "rows": stats.get("rows", []),
        "total": stats.get("total", 0),
        "anonymous_share": stats.get("anonymous_share"),
    }
