"""Triage pages of anonymous reporting: the queue, a report and what the team does with it, its
attachments, the statistics and the channels. They only translate between HTTP and the services
and selectors; each opening of a report is audited by `services.report_open`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from port2port.core.errors import Forbidden, Invalid
from port2port.core.forms import run_service
from port2port.core.models import Membership, User
from port2port.core.roles import Perm
from port2port.core.visibility import one_or_404, reach

from . import questionnaire, selectors, services
from .forms import (
    AssignForm,
    ChannelSettingsForm,
    ForwardForm,
    NewChannelForm,
    NoteForm,
    QueueFilterForm,
    ShareForm,
    StatusForm,
    TeamForm,
)
from .models import Attachment, Category, Report, TriageTeam

QUEUE_PAGE_SIZE = 50


def _require(request, perm: Perm) -> None:
    if not reach(request.user, perm):
        raise Forbidden(
            {
                Perm.REPORTING_REPORT_TRIAGE: _("your roles do not include triaging reports"),
                Perm.REPORTING_STATS_VIEW: _("your roles do not include reporting statistics"),
                Perm.REPORTING_CHANNEL_MANAGE: _(
                    "your roles do not include managing reporting channels"
                ),
            }[perm]
        )


def _page_context(request, **context) -> dict:
    """What every triage page needs: the section and which of the sub-pages the user may open."""
    return {
        "section": "reporting",
        "can_triage": bool(reach(request.user, Perm.REPORTING_REPORT_TRIAGE)),
        "can_stats": bool(reach(request.user, Perm.REPORTING_STATS_VIEW)),
        "can_manage": bool(reach(request.user, Perm.REPORTING_CHANNEL_MANAGE)),
        **context,
    }


# The queue ------------------------------------------------------------------------------------


@login_required
def queue_view(request):
    _require(request, Perm.REPORTING_REPORT_TRIAGE)
    form = QueueFilterForm(request.GET or None, channels=selectors.channels_public())
    filters = selectors.QueueFilter()
    if form.is_valid():
        data = form.cleaned_data
        filters = selectors.QueueFilter(
            status=data["status"],
            channel=data["channel"],
            category=data["category"],
            mine=data["mine"],
        )
    page = Paginator(selectors.reports_visible_to(request.user, filters), QUEUE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    counted = dict(
        selectors.reports_visible_to(request.user)
        .exclude(status=Report.Status.CLOSED)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    open_counts = [
        {"status": value, "label": label, "count": counted.get(value, 0)}
        for value, label in Report.Status.choices
        if value != Report.Status.CLOSED
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reporting/queue.html",
        _page_context(
            request, form=form, page=page, query=query.urlencode(), open_counts=open_counts
        ),
    )


# A report -------------------------------------------------------------------------------------


def _report(request, report_id) -> Report:
    _require(request, Perm.REPORTING_REPORT_TRIAGE)
    return one_or_404(selectors.reports_visible_to(request.user), pk=report_id)


def _members(report: Report):
    """Who the report can be assigned to: the people of its team's organisation who triage."""
    memberships = Membership.objects.filter(organisation_id=report.team.organisation_id)
    ids = [
        m.user_id for m in memberships if Perm.REPORTING_REPORT_TRIAGE in m.perms()
    ]  # roles are a list in JSON: the permission is worked out in Python
    return User.objects.filter(pk__in=ids, is_active=True).select_related("person")


def _choice_label(question: dict, value: str) -> str:
    for choice in question.get("choices") or []:
        if choice.get("value") == value:
            return questionnaire.label({"key": value, "label": choice.get("label")})
    return value


def _answer_rows(report: Report, answers: dict) -> list[tuple[str, str, bool]]:
    """(label, value, long text) of what the reporter answered, in the questionnaire's order."""
    port = report.port.name if report.port else answers.get("port", "")
    category = answers.get("category", report.category)
    rows = [
        (_("Category"), Category(category).label if category in Category.values else category),
        (_("Port"), port),
        (_("Place"), answers.get("place", "")),
        (_("Latitude"), answers.get("latitude", "")),
        (_("Longitude"), answers.get("longitude", "")),
        (_("When"), answers.get("when", "")),
    ]
    result = [(label, str(value), False) for label, value in rows if value not in ("", None)]
    result.append((_("What happened"), answers.get("what", ""), True))
    for question in report.channel.questionnaire:
        value = answers.get(question["key"])
        if value in ("", None):
            continue
        if question.get("type") == "choice":
            value = _choice_label(question, value)
        elif question.get("type") == "yes_no":
            value = {"yes": _("yes"), "no": _("no")}.get(value, value)
        result.append(
            (questionnaire.label(question), str(value), question.get("type") == "textarea")
        )
    return result


def _report_context(request, report: Report, **forms) -> dict:
    opened = services.report_open(actor=request.user, report=report)
    context = _page_context(
        request,
        report=report,
        answers=_answer_rows(report, opened.answers),
        contact=opened.answers.get("contact", ""),
        thread=opened.messages,
        attachments=opened.attachments,
        can_share=bool(reach(request.user, Perm.SHARING_ITEM_CREATE)),
        assign_form=AssignForm(
            members=_members(report), initial={"user": report.assigned_to_id}, prefix="assign"
        ),
        status_form=StatusForm(
            initial={"status": report.status, "reason": report.close_reason}, prefix="status"
        ),
        note_form=NoteForm(prefix="note"),
        reply_form=NoteForm(prefix="reply"),
        forward_form=ForwardForm(teams=selectors.forward_targets(report), prefix="forward"),
        share_form=ShareForm(prefix="share"),
    )
    context.update(forms)
    return context


@login_required
def report_view(request, report_id):
    report = _report(request, report_id)
    return render(request, "reporting/report.html", _report_context(request, report))


def _assign(actor, report: Report, data: dict):
    user = actor if data.get("me") else data.get("user")
    return services.report_assign(actor=actor, report=report, user=user)


def _status(actor, report: Report, data: dict):
    return services.report_status_set(
        actor=actor, report=report, status=data["status"], reason=data["reason"]
    )


def _note(actor, report: Report, data: dict):
    return services.report_note(actor=actor, report=report, body=data["body"], internal=True)


def _reply(actor, report: Report, data: dict):
    return services.report_note(actor=actor, report=report, body=data["body"], internal=False)


def _forward(actor, report: Report, data: dict):
    return services.report_forward(actor=actor, report=report, team=data["team"])


def _share(actor, report: Report, data: dict):
    return services.report_share(actor=actor, report=report, **data)


# action -> (its form, the form's name in the page, what it does)
REPORT_ACTIONS = {
    "assign": (AssignForm, "assign_form", _assign),
    "status": (StatusForm, "status_form", _status),
    "note": (NoteForm, "note_form", _note),
    "reply": (NoteForm, "reply_form", _reply),
    "forward": (ForwardForm, "forward_form", _forward),
    "share": (ShareForm, "share_form", _share),
}


def _done_message(action: str, result) -> str:
    if action == "forward":
        return _("Forwarded to %(team)s; your team can still read the report.") % {
            "team": result.team.name
        }
    if action == "share":
        return _("Shared as “%(title)s”.") % {"title": result.title}
    return {
        "assign": _("Assignment saved."),
        "status": _("Status saved."),
        "note": _("Internal note saved; the reporter does not see it."),
        "reply": _("Reply sent; the reporter reads it with the receipt."),
    }[action]


@login_required
def report_action_view(request, report_id, action):
    if request.method != "POST":
        return redirect("reporting:report", report_id=report_id)
    if action not in REPORT_ACTIONS:
        raise Invalid(_("unknown action"), field="action")
    report = _report(request, report_id)
    form_class, key, act = REPORT_ACTIONS[action]
    extra = {}
    if action == "assign":
        extra["members"] = _members(report)
    elif action == "forward":
        extra["teams"] = selectors.forward_targets(report)
    form = form_class(request.POST, prefix=action, **extra)
    done, result = run_service(form, lambda data: act(request.user, report, data))
    if done:
        messages.success(request, _done_message(action, result))
        return redirect("reporting:report", report_id=report.pk)
    report = _report(request, report_id)  # as stored: a refused change leaves nothing behind
    return render(
        request,
        "reporting/report.html",
        _report_context(request, report, **{key: form}),
        status=422,
    )


EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "application/pdf": ".pdf",
    "video/mp4": ".mp4",
}


@login_required
def attachment_view(request, attachment_id):
    """The metadata-free copy of an image to look at, or the original (evidence) as a download;
    never cached. The reporter's file name stays out of the headers."""
    _require(request, Perm.REPORTING_REPORT_TRIAGE)
    visible = selectors.reports_visible_to(request.user).values("pk")
    attachment = one_or_404(
        Attachment.objects.select_related("report__team").filter(report__in=visible),
        pk=attachment_id,
    )
    original = bool(request.GET.get("original"))
    data = services.attachment_read(actor=request.user, attachment=attachment, original=original)
    served_original = original or attachment.cleaned is None
    response = HttpResponse(data, content_type=attachment.content_type)
    name = f"report-attachment-{attachment.pk}{EXTENSIONS.get(attachment.content_type, '')}"
    disposition = "attachment" if served_original else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# Statistics and channels ----------------------------------------------------------------------


@login_required
def stats_view(request):
    _require(request, Perm.REPORTING_STATS_VIEW)
    stats = selectors.statistics(request.user)
    rows = [
        {
            **row,
            "category_label": Category(row["category"]).label
            if row["category"] in Category.values
            else row["category"],
        }
        for row in stats.get("rows", [])
    ]
    share = stats.get("anonymous_share")
    return render(
        request,
        "reporting/stats.html",
        _page_context(
            request,
            rows=rows,
            total=stats.get("total", 0),
            anonymous=sum(row["anonymous"] for row in rows),
            anonymous_percent=None if share is None else share * 100,
        ),
    )


def _channel_prefix(channel) -> str:
    return f"channel-{channel.pk}"


def _managed_teams(user):
    result = reach(user, Perm.REPORTING_CHANNEL_MANAGE)
    teams = TriageTeam.objects.select_related("organisation").order_by("name")
    return teams if result.everything else teams.filter(organisation_id__in=result.org_ids)


def _managed_organisations(user):
    from port2port.core.models import Organisation

    result = reach(user, Perm.REPORTING_CHANNEL_MANAGE)
    orgs = Organisation.objects.order_by("name")
    return orgs if result.everything else orgs.filter(pk__in=result.org_ids)


def _channel_form(channel, user, data=None) -> ChannelSettingsForm:
    return ChannelSettingsForm(
        data,
        prefix=_channel_prefix(channel),
        teams=_managed_teams(user),
        initial={
            "name": channel.name,
            "questionnaire": channel.questionnaire,
            "languages": channel.languages,
            "retention_days": channel.retention_days,
            "reports_per_minute": channel.reports_per_minute,
            "team": channel.team_id,
            "ports": list(channel.ports.all()),
            "intro": channel.intro,
            "active": channel.active,
        },
    )


def _save_channel(user, data, *, slug, channel=None):
    return services.channel_save(
        actor=user,
        team=data["team"],
        slug=slug,
        name=data["name"],
        questions=data["questionnaire"] if data["questionnaire"] is not None else [],
        languages=data["languages"],
        intro=data["intro"] if data["intro"] is not None else {},
        ports=list(data["ports"]),
        retention_days=data["retention_days"],
        reports_per_minute=data["reports_per_minute"],
        channel=channel,
        active=data["active"],
    )


@login_required
def channels_view(request):
    """The channels the user manages (questionnaire, languages, team, ports, retention), a new
    channel, and a new triage team (its keys are made by the platform)."""
    _require(request, Perm.REPORTING_CHANNEL_MANAGE)
    user = request.user
    action = request.POST.get("action", "save") if request.method == "POST" else ""
    new_form = NewChannelForm(
        request.POST if action == "create" else None,
        prefix="new",
        teams=_managed_teams(user),
        initial={
            "languages": ["nl", "fr", "en", "de"],
            "retention_days": 365,
            "reports_per_minute": 30,
            "active": True,
        },
    )
    team_form = TeamForm(
        request.POST if action == "team" else None,
        prefix="team",
        organisations=_managed_organisations(user),
    )
    bound, status = None, 200
    if request.method == "POST":
        if action == "create":
            done, _saved = run_service(
                new_form, lambda data: _save_channel(user, data, slug=data["slug"])
            )
            message = _("Channel created.")
        elif action == "team":
            done, _saved = run_service(
                team_form,
                lambda data: services.team_create(
                    actor=user,
                    organisation=data["organisation"],
                    name=data["name"],
                    ports=list(data["ports"]),
                ),
            )
            message = _("Triage team created, with its keys.")
        else:
            channel = one_or_404(
                selectors.channels_managed_by(user), pk=request.POST.get("channel")
            )
            form = _channel_form(channel, user, request.POST)
            done, _saved = run_service(
                form, lambda data: _save_channel(user, data, slug=channel.slug, channel=channel)
            )
            message = _("Channel saved.")
            if not done:
                bound = (channel.pk, form)
        if done:
            messages.success(request, message)
            return redirect("reporting:channels")
        status = 422
    entries = [
        (channel, bound[1] if bound and bound[0] == channel.pk else _channel_form(channel, user))
        for channel in selectors.channels_managed_by(user).prefetch_related("ports")
    ]
    return render(
        request,
        "reporting/channels.html",
        _page_context(request, entries=entries, new_form=new_form, team_form=team_form),
        status=status,
    )
