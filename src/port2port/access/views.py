"""Pages of gate access: the security desk, the decision log, a person's access."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from port2port.core.errors import AppError, Forbidden, Invalid
from port2port.core.forms import add_service_errors, run_service
from port2port.core.models import Person
from port2port.core.roles import Perm
from port2port.core.selectors import people_visible_to
from port2port.core.visibility import reach

from . import selectors, services
from .forms import BadgeForm, BanForm, DecideForm, DecisionFilterForm, PlateForm, RightForm
from .models import Badge, Plate, PortBan, Schedule, Verification


def _require_desk(request) -> None:
    if not (
        reach(request.user, Perm.ACCESS_GATE_DECIDE)
        or reach(request.user, Perm.ACCESS_BAN_REGISTER)
    ):
        raise Forbidden(_("your roles do not include gate access"))


@login_required
def desk_view(request):
    _require_desk(request)
    form = DecideForm(request.POST or None, gates=selectors.gates_for(request.user))
    decision = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        kind, value = ("badge", data["badge"]) if data["badge"] else ("plate", data["plate"])
        try:
            decision = services.gate_decide(
                actor=request.user,
                gate_code=data["gate"].code,
                kind=kind,
                value=value,
                direction=data["direction"],
            )
        except Invalid as error:
            add_service_errors(form, error)
        except AppError as error:
            form.add_error(None, error.message)
    search = (request.GET.get("q") or "").strip()
    people = []
    if search:
        people = list(people_visible_to(request.user, search=search)[:20])
        if reach(request.user, Perm.ACCESS_BAN_REGISTER) and len(people) < 20:
            from django.db.models import Q

            more = (
                Person.objects.select_related("organisation")
                .filter(Q(family_name__icontains=search) | Q(given_name__icontains=search))
                .exclude(pk__in=[p.pk for p in people])[: 20 - len(people)]
            )
            people += list(more)
    return render(
        request,
        "access/desk.html",
        {
            "form": form,
            "decision": decision,
            "reasons": [(str(r), services.reason_text(r)) for r in decision.reasons]
            if decision
            else [],
            "alerts": selectors.alerts_for(request.user)[:10],
            "gaps": selectors.verification_gaps(request.user)[:50],
            "refused": selectors.decisions_visible_to(
                request.user, selectors.DecisionFilter(refused_only=True)
            )[:10],
            "q": search,
            "people": people,
            "section": "access",
        },
    )


@login_required
def decisions_view(request):
    if not reach(request.user, Perm.ACCESS_DECISION_VIEW):
        raise Forbidden(_("your roles do not include the decision log"))
    form = DecisionFilterForm(request.GET or None)
    filters = selectors.DecisionFilter()
    if form.is_valid():
        data = form.cleaned_data
        filters = selectors.DecisionFilter(
            gate=data["gate"] or "",
            day=data["day"],
            around=data["around"],
            refused_only=data["refused_only"],
        )
    page = Paginator(selectors.decisions_visible_to(request.user, filters), 50).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "access/decisions.html",
        {"form": form, "page": page, "query": query.urlencode(), "section": "access"},
    )


def _person_context(request, person, **forms):
    viewer = request.user
    can_manage = reach(viewer, Perm.ACCESS_CREDENTIAL_MANAGE).covers(person.organisation_id)
    can_ban = bool(reach(viewer, Perm.ACCESS_BAN_REGISTER))
    context = {
        "person": person,
        "ban_state": selectors.ban_state(person),
        "bans": PortBan.objects.filter(person=person) if can_ban else [],
        "badges": Badge.objects.filter(person=person),
        "plates": Plate.objects.filter(person=person),
        "verifications": Verification.objects.filter(person=person),
        "rights": person.access_rights.select_related("zone", "schedule"),
        "decisions": selectors.decisions_visible_to(
            viewer, selectors.DecisionFilter(person=person)
        )[:20],
        "can_manage": can_manage,
        "can_ban": can_ban,
        "badge_form": BadgeForm(),
        "plate_form": PlateForm(),
        "right_form": RightForm(**_right_choices(request)),
        "ban_form": BanForm(initial={"starts_on": timezone.localdate()}),
        "section": "access",
    }
    context.update(forms)
    return context


@login_required
def person_view(request, person_id):
    person = selectors.person_for_access(request.user, person_id)
    return render(request, "access/person.html", _person_context(request, person))


def _right_choices(request) -> dict:
    return {"zones": selectors.zones_for_rights(request.user), "schedules": Schedule.objects.all()}


# action -> (form, its name in the page, the service that stores it)
PERSON_ACTIONS = {
    "badge": (BadgeForm, "badge_form", services.badge_issue),
    "plate": (PlateForm, "plate_form", services.plate_register),
    "right": (RightForm, "right_form", services.right_grant),
    "ban": (BanForm, "ban_form", services.ban_register),
}


@login_required
def person_action_view(request, person_id, action):
    if request.method != "POST":
        return redirect("access:person", person_id=person_id)
    if action not in PERSON_ACTIONS:
        raise Invalid(_("unknown action"), field="action")
    person = selectors.person_for_access(request.user, person_id)
    form_class, key, store = PERSON_ACTIONS[action]
    form = form_class(request.POST, **(_right_choices(request) if action == "right" else {}))
    done, _result = run_service(form, lambda data: store(actor=request.user, person=person, **data))
    if done:
        messages.success(request, _("Saved; gates apply it within a second."))
        return redirect("access:person", person_id=person.pk)
    return render(
        request, "access/person.html", _person_context(request, person, **{key: form}), status=422
    )
