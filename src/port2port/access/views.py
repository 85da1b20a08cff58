"""Pages of gate access: the security desk, the decision log, a person's access."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from port2port.core.errors import AppError, Forbidden, Invalid
from port2port.core.forms import add_service_errors, run_service
from port2port.core.models import Person
from port2port.core.roles import Perm
from port2port.core.selectors import people_visible_to
from port2port.core.visibility import one_or_404, reach

from . import selectors, services
from .forms import (
    BadgeForm,
    BadgeStateForm,
    BanForm,
    DecideForm,
    DecisionFilterForm,
    ExtractForm,
    IdentityForm,
    PlateForm,
    RejectForm,
    RightForm,
    VerificationForm,
    VisitForm,
    VisitorFormSet,
)
from .models import (
    Badge,
    CriminalRecordExtract,
    Identity,
    Plate,
    PortBan,
    Schedule,
    Verification,
)


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
    identity = Identity.objects.filter(person=person).first()
    context = {
        "person": person,
        "identity": identity,
        "can_edit_identity": reach(viewer, Perm.CORE_PERSON_CHANGE).covers(person.organisation_id),
        "extracts": CriminalRecordExtract.objects.filter(person=person) if can_manage else [],
        "groups": selectors.groups_visible_to(viewer).filter(members=person),
        "group_rights": selectors.group_rights_of(person, viewer),
        "visits": selectors.visitors_visible_to(viewer).filter(person=person)[:10],
        "identity_form": IdentityForm(
            initial={
                "birth_date": identity.birth_date,
                "nationality": identity.nationality,
                "national_number": identity.national_number,
                "oidc_subject": identity.oidc_subject,
            }
            if identity
            else None
        ),
        "verification_form": VerificationForm(),
        "extract_form": ExtractForm(initial={"checked_on": timezone.localdate()}),
        "badge_states": [
            (b, BadgeStateForm(initial={"badge": b.number, "state": b.state}))
            for b in Badge.objects.filter(person=person)
        ],
        "ban_state": selectors.ban_state(person),
        "bans": PortBan.objects.filter(person=person) if can_ban else [],
        "badges": Badge.objects.filter(person=person),
        "plates": Plate.objects.filter(person=person),
        "verifications": Verification.objects.filter(person=person),
        "rights": person.access_rights.select_related("zone", "schedule", "visitor"),
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


def _badge_state_set(*, actor, person, badge: str, state: str):
    found = Badge.objects.filter(person=person, number=badge).first()
    if found is None:
        raise Invalid(_("this person has no badge %(number)s") % {"number": badge}, field="badge")
    return services.badge_set_state(actor=actor, badge=found, state=state)


# action -> (form, its name in the page, the service that stores it)
PERSON_ACTIONS = {
    "badge": (BadgeForm, "badge_form", services.badge_issue),
    "badge-state": (BadgeStateForm, "badge_state_form", _badge_state_set),
    "plate": (PlateForm, "plate_form", services.plate_register),
    "right": (RightForm, "right_form", services.right_grant),
    "ban": (BanForm, "ban_form", services.ban_register),
    "identity": (IdentityForm, "identity_form", services.identity_set),
    "verification": (VerificationForm, "verification_form", services.verification_record),
    "extract": (ExtractForm, "extract_form", services.extract_record),
}


@login_required
def person_action_view(request, person_id, action):
    if request.method != "POST":
        return redirect("access:person", person_id=person_id)
    if action not in PERSON_ACTIONS:
        raise Invalid(_("unknown action"), field="action")
    person = selectors.person_for_access(request.user, person_id)
    form_class, key, store = PERSON_ACTIONS[action]
    form = form_class(
        request.POST, request.FILES, **(_right_choices(request) if action == "right" else {})
    )
    done, _result = run_service(form, lambda data: store(actor=request.user, person=person, **data))
    if done:
        messages.success(request, _("Saved; gates apply it within a second."))
        return redirect("access:person", person_id=person.pk)
    return render(
        request, "access/person.html", _person_context(request, person, **{key: form}), status=422
    )


@login_required
def person_photo_view(request, person_id):
    """The identity photo, to whoever may see the person's access page; never cached publicly."""
    from django.http import FileResponse, Http404

    person = selectors.person_for_access(request.user, person_id)
    identity = Identity.objects.filter(person=person).first()
    if identity is None or not identity.photo:
        raise Http404
    try:
        response = FileResponse(identity.photo.open("rb"))
    except FileNotFoundError as exc:
        raise Http404 from exc
    response["Cache-Control"] = "private, no-store"
    response["Content-Type"] = "image/png" if identity.photo.name.endswith(".png") else "image/jpeg"
    return response


# Visitors -------------------------------------------------------------------------------------


def _visit_form(request, data=None) -> VisitForm:
    from port2port.core.models import Organisation
    from port2port.sites.models import Zone

    announce = reach(request.user, Perm.ACCESS_VISITOR_ANNOUNCE)
    announcers = Organisation.objects.order_by("name")
    if not announce.everything:
        announcers = announcers.filter(pk__in=announce.org_ids)
    facilities = selectors.facilities_for_visits(request.user, Perm.ACCESS_VISITOR_ANNOUNCE)
    zones = Zone.objects.filter(facility__in=facilities).select_related("facility")
    return VisitForm(data, announcers=announcers, facilities=facilities, zones=zones)


@login_required
def visits_view(request):
    """The desk's visitors of a day (approve, reject, check in and out), and the announcer's."""
    can_announce = bool(reach(request.user, Perm.ACCESS_VISITOR_ANNOUNCE))
    can_decide = bool(reach(request.user, Perm.ACCESS_VISITOR_DECIDE))
    if not (can_announce or can_decide):
        raise Forbidden(_("your roles do not include visitors"))
    from datetime import date as date_type

    try:
        day = date_type.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        day = timezone.localdate()
    return render(
        request,
        "access/visits.html",
        {
            "day": day,
            "visits": selectors.visits_today(request.user, day),
            "can_announce": can_announce,
            "decides": set(
                selectors.facilities_for_visits(
                    request.user, Perm.ACCESS_VISITOR_DECIDE
                ).values_list("pk", flat=True)
            ),
            "reject_form": RejectForm(),
            "section": "access",
        },
    )


@login_required
def visit_announce_view(request):
    if not reach(request.user, Perm.ACCESS_VISITOR_ANNOUNCE):
        raise Forbidden(_("your roles do not include announcing visitors"))
    form = _visit_form(request, request.POST or None)
    formset = VisitorFormSet(request.POST or None, prefix="visitor")
    if request.method == "POST":
        formset_ok = formset.is_valid()
        visitors = [f.cleaned_data for f in formset.forms if formset_ok and f.cleaned_data]
        if formset_ok and not visitors:
            form.add_error(None, _("announce at least one visitor"))
        elif formset_ok:
            done, visit = run_service(
                form,
                lambda data: services.visit_announce(actor=request.user, visitors=visitors, **data),
            )
            if done:
                messages.success(
                    request,
                    _("%(n)s visitor(s) announced; the terminal's desk approves them.")
                    % {"n": len(visitors)},
                )
                return redirect(f"{reverse('access:visits')}?day={visit.starts_at:%Y-%m-%d}")
    return render(
        request,
        "access/visit_announce.html",
        {"form": form, "formset": formset, "section": "access"},
        status=422 if request.method == "POST" else 200,
    )


VISITOR_ACTIONS = {
    "approve": lambda actor, visitor, data: services.visitor_decide(
        actor=actor, visitor=visitor, approve=True
    ),
    "reject": lambda actor, visitor, data: services.visitor_decide(
        actor=actor, visitor=visitor, approve=False, reason=data.get("reason", "")
    ),
    "ban-check": lambda actor, visitor, data: services.visitor_ban_check(
        actor=actor, visitor=visitor
    ),
    "check-in": lambda actor, visitor, data: services.visitor_check_in(
        actor=actor, visitor=visitor
    ),
    "check-out": lambda actor, visitor, data: services.visitor_check_out(
        actor=actor, visitor=visitor
    ),
}


@login_required
def visitor_action_view(request, visitor_id, action):
    if request.method != "POST":
        return redirect("access:visits")
    if action not in VISITOR_ACTIONS:
        raise Invalid(_("unknown action"), field="action")
    visitor = one_or_404(selectors.visitors_visible_to(request.user), pk=visitor_id)
    day = timezone.localdate(visitor.visit.starts_at)
    try:
        VISITOR_ACTIONS[action](request.user, visitor, request.POST)
    except AppError as error:
        messages.error(request, f"{visitor}: {error.message}")
    else:
        done = {
            "approve": _("%(name)s approved."),
            "reject": _("%(name)s rejected."),
            "ban-check": _("Port-ban check for %(name)s: %(result)s."),
            "check-in": _(
                "%(name)s checked in: temporary right and plate active until the visit ends."
            ),
            "check-out": _(
                "%(name)s checked out: right ended, plate removed from the ANPR whitelist."
            ),
        }[action]
        messages.success(
            request, done % {"name": visitor, "result": visitor.get_ban_state_display()}
        )
    return redirect(f"{reverse('access:visits')}?day={day:%Y-%m-%d}#visitor-{visitor.pk}")
