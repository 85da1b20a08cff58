"""Pages that set up gate access: groups, schedules, CSV import, gate devices."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from port2port.core.errors import Forbidden, NotFound
from port2port.core.forms import run_service
from port2port.core.roles import Perm
from port2port.core.selectors import organisations_where, people_visible_to
from port2port.core.visibility import one_or_404, reach
from port2port.sites.models import Gate
from port2port.sites.selectors import may_change

from . import csv_import, selectors, services
from .forms_setup import (
    DeviceForm,
    GroupForm,
    GroupMemberForm,
    GroupMemberRemoveForm,
    GroupRightForm,
    ImportConfirmForm,
    ImportForm,
    ScheduleForm,
)
from .models import AccessGroup, Schedule


def _require_manager(request) -> None:
    if not reach(request.user, Perm.ACCESS_CREDENTIAL_MANAGE):
        raise Forbidden(_("your roles do not include managing access rights"))


# Groups ---------------------------------------------------------------------------------------


@login_required
def groups_view(request):
    _require_manager(request)
    form = GroupForm(
        request.POST or None,
        organisations=organisations_where(request.user, Perm.ACCESS_CREDENTIAL_MANAGE),
    )
    if request.method == "POST":
        done, group = run_service(
            form,
            lambda data: services.group_create(
                actor=request.user,
                organisation=data["organisation"],
                name=data["name"],
                kind=data["kind"],
            ),
        )
        if done:
            messages.success(request, _("Group %(name)s created.") % {"name": group.name})
            return redirect("access:group", group_id=group.pk)
    groups = (
        selectors.groups_visible_to(request.user)
        .prefetch_related("rights__zone", "rights__schedule")
        .order_by("organisation__name", "name")
    )
    return render(
        request,
        "access/groups.html",
        {"groups": groups, "form": form, "section": "access"},
        status=422 if form.errors else 200,
    )


def _member_choices(request, group: AccessGroup):
    """Staff groups hold the organisation's own people; visitor groups anyone the viewer sees."""
    if group.kind == AccessGroup.Kind.STAFF:
        people = people_visible_to(request.user, organisation=group.organisation)
    else:
        people = people_visible_to(request.user)
    return people.exclude(pk__in=group.members.values("pk")).order_by("family_name", "given_name")


def _group_forms(request, group: AccessGroup, data=None, action: str = "") -> dict:
    """The group page's forms; only the one that was posted is bound."""
    return {
        "member_form": GroupMemberForm(
            data if action == "member_add" else None, people=_member_choices(request, group)
        ),
        "right_form": GroupRightForm(
            data if action == "right" else None,
            zones=selectors.zones_for_rights(request.user),
            schedules=Schedule.objects.order_by("name"),
        ),
        "remove_form": GroupMemberRemoveForm(
            data if action == "member_remove" else None, members=group.members.all()
        ),
    }


@login_required
def group_view(request, group_id):
    _require_manager(request)
    group = one_or_404(selectors.groups_visible_to(request.user), pk=group_id)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    forms = _group_forms(request, group, request.POST, action)
    if request.method == "POST":
        if action == "member_add":
            done, _result = run_service(
                forms["member_form"],
                lambda data: services.group_member_add(
                    actor=request.user, group=group, person=data["person"]
                ),
            )
        elif action == "member_remove":
            done, _result = run_service(
                forms["remove_form"],
                lambda data: services.group_member_remove(
                    actor=request.user, group=group, person=data["person"]
                ),
            )
        elif action == "right":
            done, _result = run_service(
                forms["right_form"],
                lambda data: services.group_right_grant(actor=request.user, group=group, **data),
            )
        else:
            raise NotFound(_("unknown action"))
        if done:
            messages.success(request, _("Saved; gates apply it within a second."))
            return redirect("access:group", group_id=group.pk)
    context = {
        "group": group,
        "members": group.members.select_related("organisation").order_by(
            "family_name", "given_name"
        ),
        "rights": group.rights.select_related("zone", "zone__port", "schedule"),
        "action": action,
        "section": "access",
        **forms,
    }
    return render(
        request, "access/group.html", context, status=422 if request.method == "POST" else 200
    )


# Schedules ------------------------------------------------------------------------------------


def _readable_windows(schedule: Schedule) -> list[str]:
    """Readable weekly windows: the days that share the same hours on one line, Monday first."""
    by_hours: dict[tuple[str, str], list[int]] = {}
    for window in schedule.windows or []:
        try:
            day, start, end = int(window["day"]), str(window["start"]), str(window["end"])
        except (KeyError, TypeError, ValueError):
            continue  # the service refuses such windows; old rows are shown without them
        by_hours.setdefault((start, end), []).append(day)
    return [
        "{days} {start}–{end}".format(
            days=", ".join(str(WEEKDAYS.get(d, d)) for d in sorted(days)), start=start, end=end
        )
        for (start, end), days in sorted(by_hours.items(), key=lambda item: min(item[1]))
    ]


@login_required
def schedules_view(request):
    _require_manager(request)
    form = ScheduleForm(request.POST or None)
    if request.method == "POST":
        done, schedule = run_service(
            form,
            lambda data: services.schedule_create(
                actor=request.user,
                name=data["name"],
                windows=form.windows(),
                holidays=data["holidays"],
            ),
        )
        if done:
            messages.success(request, _("Schedule %(name)s created.") % {"name": schedule.name})
            return redirect("access:schedules")
    schedules = [
        {"schedule": s, "windows": _readable_windows(s)} for s in Schedule.objects.order_by("name")
    ]
    return render(
        request,
        "access/schedules.html",
        {"schedules": schedules, "form": form, "section": "access"},
        status=422 if form.errors else 200,
    )


# CSV import -----------------------------------------------------------------------------------


def _may_send_back(text: str) -> bool:
    """The confirm form carries the file back as a form field: Django refuses a request whose
    fields are larger than DATA_UPLOAD_MAX_MEMORY_SIZE (the form is multipart: no escaping)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit is None or len(text.encode()) <= limit - 16 * 1024


def _require_importer(request) -> None:
    if not (
        reach(request.user, Perm.ACCESS_CREDENTIAL_MANAGE)
        or reach(request.user, Perm.ACCESS_BAN_REGISTER)
    ):
        raise Forbidden(_("your roles do not include importing access data"))


@login_required
def import_view(request):
    _require_importer(request)
    confirming = request.method == "POST" and request.POST.get("step") == "confirm"
    form = ImportForm(
        request.POST if request.method == "POST" and not confirming else None, request.FILES or None
    )
    confirm_form = ImportConfirmForm(request.POST if confirming else None)
    posted = confirm_form if confirming else form
    report, text, kind = None, "", ""
    if request.method == "POST":

        def run(data):
            if confirming:
                return csv_import.csv_import(
                    actor=request.user,
                    kind=data["kind"],
                    text=data["text"],
                    dry_run=False,
                    valid_only=data["valid_only"],
                )
            return csv_import.csv_import(
                actor=request.user,
                kind=data["kind"],
                text=data["file"],
                dry_run=data["dry_run"],
            )

        _done, report = run_service(posted, run)
        if report is not None:
            kind = posted.cleaned_data["kind"]
            text = posted.cleaned_data["text" if confirming else "file"]
    context = {
        "form": form,
        "confirm_form": confirm_form,
        "report": report,
        "columns": [
            {
                "kind": label,
                "required": csv_import.COLUMNS[key][0],
                "optional": csv_import.COLUMNS[key][1],
            }
            for key, label in form.fields["kind"].choices
        ],
        "section": "access",
    }
    if report is not None:
        valid = len(report.lines) - len(report.errors)
        context.update(valid_count=valid, error_count=len(report.errors))
        if report.dry_run and valid:
            context["can_confirm"] = _may_send_back(text)
            context["confirm_form"] = ImportConfirmForm(initial={"kind": kind, "text": text})
    status = 422 if posted.errors else 200
    return render(request, "access/import.html", context, status=status)


# Gate devices ---------------------------------------------------------------------------------


def _manageable_gates(request):
    """Gates whose site the viewer runs (their terminal, or every gate of their port)."""
    gates = Gate.objects.select_related("port", "facility").order_by("code")
    ids = [g.pk for g in gates if may_change(request.user, g.port, g.facility)]
    if not ids:
        raise Forbidden(_("you do not run a site with gates"))
    return gates.filter(pk__in=ids)


@login_required
def devices_view(request):
    gates = _manageable_gates(request)
    form = DeviceForm(request.POST or None, gates=gates)
    issued = None
    if request.method == "POST":
        _done, issued = run_service(
            form,
            lambda data: services.device_issue(
                actor=request.user, gate=data["gate"], name=data["name"]
            ),
        )
        if issued is not None:
            form = DeviceForm(gates=gates)
    context = {
        "devices": selectors.devices_for(request.user),
        "form": form,
        "section": "access",
    }
    if issued is not None:
        device, secret = issued
        context.update(
            device=device,
            secret=secret,
            decide_url=request.build_absolute_uri("/api/v1/access/decide"),
            allow_list_url=request.build_absolute_uri(
                f"/api/v1/access/gates/{device.gate.code}/allow-list"
            ),
        )
    response = render(request, "access/devices.html", context, status=422 if form.errors else 200)
    response["Cache-Control"] = "no-store"  # the page may hold a device's secret
    return response


@login_required
@require_POST
def device_revoke_view(request, device_id):
    device = next(
        (d for d in selectors.devices_for(request.user) if str(d.pk) == str(device_id)), None
    )
    if device is None:
        raise NotFound(_("gate device not found"))
    services.device_revoke(actor=request.user, device=device)
    messages.success(
        request,
        _("Device %(name)s revoked; the gate refuses its token within seconds.")
        % {"name": device.name},
    )
    return redirect("access:devices")
