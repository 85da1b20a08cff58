"""The read path of anonymous reporting: a report is read by the teams it was sealed to, never by
anyone else (its contents cannot even be decrypted without such a team's key)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth

from port2port.core.roles import Perm
from port2port.core.visibility import reach

from .models import Channel, Report, ReportStat, TriageTeam


@dataclass
class QueueFilter:
    status: str = ""
    channel: str = ""
    category: str = ""
    mine: bool = False


def triage_reach(actor: Any):
    """Where the actor triages: their own teams' organisations. Unlike elsewhere, platform admins
    get no blanket reach: a report is sealed to its teams and read by them only."""
    from port2port.core.visibility import Reach, SystemActor

    result = reach(actor, Perm.REPORTING_REPORT_TRIAGE)
    if result.everything and not isinstance(actor, SystemActor):
        grants = actor.grants() if hasattr(actor, "grants") else []
        return Reach(
            org_ids=frozenset(
                m.organisation_id for m in grants if Perm.REPORTING_REPORT_TRIAGE in m.perms()
            )
        )
    return result


def reports_visible_to(viewer: Any, filters: QueueFilter | None = None) -> QuerySet[Report]:
    """The one visibility rule of reports: those sealed to a team of the viewer's organisations."""
    result = triage_reach(viewer)
    qs = Report.objects.select_related("channel", "team", "port", "assigned_to")
    if not result:
        return qs.none()
    if not result.everything:
        qs = qs.filter(
            pk__in=Report.objects.filter(accesses__team__organisation_id__in=result.org_ids).values(
                "pk"
            )
        )
    f = filters or QueueFilter()
    if f.status:
        qs = qs.filter(status=f.status)
    if f.channel:
        qs = qs.filter(channel__slug=f.channel)
    if f.category:
        qs = qs.filter(category=f.category)
    if f.mine:
        qs = qs.filter(assigned_to_id=getattr(viewer, "pk", None))
    return qs


def teams_of(viewer: Any) -> QuerySet[TriageTeam]:
    """The triage teams the viewer works in."""
    result = reach(viewer, Perm.REPORTING_REPORT_TRIAGE)
    teams = TriageTeam.objects.select_related("organisation")
    if result.everything:
        return teams
    return teams.filter(organisation_id__in=result.org_ids) if result else teams.none()


def forward_targets(report: Report) -> QuerySet[TriageTeam]:
    """Every other team: a national report about Liège goes to the Liège team."""
    return TriageTeam.objects.exclude(pk=report.team_id).prefetch_related("ports")


def channels_public() -> QuerySet[Channel]:
    return Channel.objects.filter(active=True).prefetch_related("ports")


def channels_managed_by(viewer: Any) -> QuerySet[Channel]:
    result = reach(viewer, Perm.REPORTING_CHANNEL_MANAGE)
    channels = Channel.objects.select_related("team", "team__organisation")
    if result.everything:
        return channels
    return channels.filter(team__organisation_id__in=result.org_ids) if result else channels.none()


def statistics(viewer: Any) -> dict:
    """Counts only, never content: per channel, category, port and month, and the share of
    reports sent without contact details (anonymous); deleted reports count through ReportStat."""
    if not reach(viewer, Perm.REPORTING_STATS_VIEW):
        return {}
    rows: dict = {}

    def add(channel, category, port, month, with_contact, count):
        key = (channel, category, port or "", month.strftime("%Y-%m"))
        total, anonymous = rows.get(key, (0, 0))
        rows[key] = (total + count, anonymous + (0 if with_contact else count))

    live = (
        Report.objects.annotate(month=TruncMonth("submitted_hour"))
        .values("channel__name", "category", "port__locode", "month", "with_contact")
        .annotate(n=Count("pk"))
    )
    for row in live:
        add(
            row["channel__name"],
            row["category"],
            row["port__locode"],
            row["month"],
            row["with_contact"],
            row["n"],
        )
    for stat in ReportStat.objects.select_related("channel", "port"):
        add(
            stat.channel.name,
            stat.category,
            stat.port.locode if stat.port else "",
            stat.month,
            stat.with_contact,
            stat.count,
        )
    total = sum(t for t, _a in rows.values())
    anonymous = sum(a for _t, a in rows.values())
    return {
        "rows": [
            {
                "channel": k[0],
                "category": k[1],
                "port": k[2],
                "month": k[3],
                "reports": v[0],
                "anonymous": v[1],
            }
            for k, v in sorted(
                rows.items(), key=lambda kv: (kv[0][3], kv[0][0], kv[0][1]), reverse=True
            )
        ],
        "total": total,
        "anonymous_share": round(anonymous / total, 3) if total else None,
    }


def open_reports_count(viewer: Any) -> int:
    return reports_visible_to(viewer).filter(~Q(status=Report.Status.CLOSED)).count()
