"""Pages of sharing. They translate between HTTP and services/selectors; the rules live there."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from port2port.core.errors import AppError, Invalid
from port2port.core.forms import add_service_errors, run_service
from port2port.core.models import User
from port2port.core.roles import Perm
from port2port.core.visibility import reach

from . import search, selectors, services
from .forms import (
    AttachmentForm,
    CircleForm,
    CommentForm,
    ImportForm,
    InviteForm,
    ItemForm,
    SightingForm,
    SubscriptionForm,
    WideningForm,
)
from .models import (
    TLP_MEANING,
    CircleMember,
    Kind,
    Subscription,
    Tlp,
    Topic,
    Urgency,
    WideningRequest,
)


def _page(request, queryset, per_page: int = 20):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def _require_view(request) -> None:
    if not reach(request.user, Perm.SHARING_ITEM_VIEW):
        from port2port.core.errors import Forbidden

        raise Forbidden(_("your roles do not include shared knowledge"))


def _people_choices(viewer):
    """People one may name: accounts of organisations the viewer sees (never everyone by default)."""
    from port2port.core.selectors import organisations_visible_to

    return (
        User.objects.filter(
            is_active=True, memberships__organisation__in=organisations_visible_to(viewer)
        )
        .distinct()
        .select_related("person")
    )


@login_required
def feed_view(request):
    _require_view(request)
    filters = selectors.FeedFilter(
        topic=request.GET.get("topic", ""),
        port=request.GET.get("port", ""),
        kind=request.GET.get("kind", ""),
        tlp=request.GET.get("tlp", ""),
        urgency=request.GET.get("urgency", ""),
    )
    page = _page(request, selectors.feed_for(request.user, filters))
    from datetime import datetime

    seen = request.session.get("sharing_feed_seen_at")
    last_seen = datetime.fromisoformat(seen) if seen else None
    if not request.GET.get("page"):
        request.session["sharing_feed_seen_at"] = timezone.now().isoformat()
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "query": query.urlencode(),
        "last_seen": last_seen,
        "topics": Topic.objects.all(),
        "kinds": Kind.choices,
        "tlps": Tlp.choices,
        "urgencies": Urgency.choices,
        "invitations": selectors.invitations_for(request.user),
        "open_requests": selectors.widening_requests_for(request.user).count(),
        "section": "sharing",
    }
    if request.headers.get("HX-Request") == "true":
        return render(request, "sharing/_feed_rows.html", context)
    return render(request, "sharing/feed.html", context)


def _item_form_kwargs(request):
    return {
        "circles": selectors.circles_postable_by(request.user),
        "people": _people_choices(request.user),
    }


@login_required
def item_create_view(request):
    _require_view(request)
    form = ItemForm(request.POST or None, request.FILES or None, **_item_form_kwargs(request))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            item = services.item_create(
                actor=request.user,
                kind=data["kind"],
                title=data["title"],
                body=data["body"],
                language=data["language"],
                topics=[t.slug for t in data["topics"]],
                ports=list(data["ports"]),
                urgency=data["urgency"],
                tlp=data["tlp"],
                distribution=data["distribution"],
                circle=data["circle"],
                recipients=list(data["recipients"]),
                min_clearance=data["min_clearance"],
                files=data.get("files") or [],
            )
        except Invalid as error:
            add_service_errors(form, error)
        except AppError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Shared."))
            return redirect("sharing:item", item_id=item.pk)
    return render(
        request,
        "sharing/item_form.html",
        {"form": form, "tlp_meaning": TLP_MEANING, "section": "sharing"},
    )


@login_required
def item_edit_view(request, item_id):
    item = selectors.item_get(request.user, item_id)
    initial = {
        "kind": item.kind,
        "title": item.title,
        "body": item.body,
        "language": item.language,
        "topics": list(item.topics.all()),
        "ports": list(item.ports.all()),
        "urgency": item.urgency,
        "tlp": item.tlp,
        "distribution": item.distribution,
        "circle": item.circle,
        "recipients": list(item.recipients.all()),
        "min_clearance": item.min_clearance,
    }
    form = ItemForm(
        request.POST or None, initial=initial, with_files=False, **_item_form_kwargs(request)
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["topics"] = [t.slug for t in data["topics"]]
        data["ports"] = list(data["ports"])
        data["recipients"] = list(data["recipients"])
        try:
            services.item_update(actor=request.user, item=item, **data)
        except Invalid as error:
            add_service_errors(form, error)
        except AppError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Changes saved; the earlier text is kept in the history."))
            return redirect("sharing:item", item_id=item.pk)
    return render(
        request,
        "sharing/item_form.html",
        {"form": form, "item": item, "tlp_meaning": TLP_MEANING, "section": "sharing"},
    )


def _item_context(request, item, **extra):
    viewer = request.user
    is_source = item.source_org_id in selectors.orgs_acting_for(viewer, Perm.SHARING_ITEM_CREATE)
    context = {
        "item": item,
        "tlp_meaning": TLP_MEANING.get(item.tlp),
        "comments": selectors.comments_of(viewer, item),
        "sightings": selectors.sightings_of(viewer, item),
        "attachments": item.attachments.all(),
        "indicators": item.indicators.all()[:200],
        "indicator_count": item.indicators.count(),
        # Earlier texts may hold what an edit removed before widening: the source only.
        "versions": item.versions.all() if is_source else [],
        "is_source": is_source,
        "comment_form": CommentForm(),
        "sighting_form": SightingForm(),
        "widening_form": WideningForm(),
        "attachment_form": AttachmentForm(),
        "widening_requests": item.widening_requests.filter(status=WideningRequest.Status.OPEN)
        if is_source
        else [],
        "section": "sharing",
    }
    context.update(extra)
    return context


@login_required
def item_view(request, item_id):
    item = selectors.item_get(request.user, item_id)
    services.notifications_mark_read(
        actor=request.user,
        notification_ids=list(
            selectors.notifications_for(request.user, unread_only=True)
            .filter(item=item)
            .values_list("pk", flat=True)
        ),
    )
    return render(request, "sharing/item.html", _item_context(request, item))


def _item_action(request, item_id, form_class, key, act, files=False):
    item = selectors.item_get(request.user, item_id)
    form = form_class(request.POST, request.FILES if files else None)
    done, message = run_service(form, lambda data: act(item, data))
    if done:
        messages.success(request, message)
        return redirect("sharing:item", item_id=item.pk)
    return render(
        request, "sharing/item.html", _item_context(request, item, **{key: form}), status=422
    )


@login_required
@require_POST
def comment_view(request, item_id):
    def act(item, data):
        services.comment_create(actor=request.user, item=item, body=data["body"])
        return _("Comment added.")

    return _item_action(request, item_id, CommentForm, "comment_form", act)


@login_required
@require_POST
def sighting_view(request, item_id):
    def act(item, data):
        services.sighting_create(
            actor=request.user, item=item, anonymous=data["anonymous"], note=data["note"]
        )
        return _("Thank you: your sighting is recorded.")

    return _item_action(request, item_id, SightingForm, "sighting_form", act)


@login_required
@require_POST
def widening_view(request, item_id):
    def act(item, data):
        services.widening_request_create(actor=request.user, item=item, message=data["message"])
        return _("Your request was sent to the source organisation.")

    return _item_action(request, item_id, WideningForm, "widening_form", act)


@login_required
@require_POST
def attachment_add_view(request, item_id):
    def act(item, data):
        for upload in data["files"]:
            services.attachment_add(actor=request.user, item=item, upload=upload)
        return _("Attachment added.")

    return _item_action(request, item_id, AttachmentForm, "attachment_form", act, files=True)


@login_required
@require_POST
def widening_decide_view(request, request_id):
    widening = WideningRequest.objects.select_related("item").filter(pk=request_id).first()
    if widening is None or not selectors.item_visible_to(request.user, widening.item):
        from port2port.core.errors import NotFound

        raise NotFound(_("request not found"))
    grant = request.POST.get("decision") == "grant"
    services.widening_request_decide(actor=request.user, request=widening, grant=grant)
    if grant:
        messages.success(request, _("Request granted: now widen the item's distribution or TLP."))
        return redirect("sharing:item_edit", item_id=widening.item_id)
    messages.success(request, _("Request declined."))
    return redirect("sharing:item", item_id=widening.item_id)


@login_required
def attachment_view(request, attachment_id):
    """Served only after the visibility check, always as a download, never sniffed by the browser."""
    attachment = selectors.attachment_get(request.user, attachment_id)
    response = FileResponse(
        attachment.file.open("rb"),
        content_type=attachment.content_type,
        as_attachment=True,
        filename=attachment.filename,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def search_view(request):
    _require_view(request)
    text = (request.GET.get("q") or "").strip()
    filters = selectors.FeedFilter(
        topic=request.GET.get("topic", ""),
        port=request.GET.get("port", ""),
        kind=request.GET.get("kind", ""),
        tlp=request.GET.get("tlp", ""),
    )
    page = None
    snippets = {}
    if text:
        results = search.matching(selectors.feed_for(request.user, filters), text)
        page = _page(request, results)
        snippets = search.snippets([item.pk for item in page.object_list], text)
    rows = [(item, snippets.get(item.pk.hex, "")) for item in (page.object_list if page else [])]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "q": text,
        "page": page,
        "rows": rows,
        "filters": filters,
        "query": query.urlencode(),
        "topics": Topic.objects.all(),
        "kinds": Kind.choices,
        "tlps": Tlp.choices,
        "section": "sharing",
    }
    if request.headers.get("HX-Request") == "true":
        return render(request, "sharing/_search_rows.html", context)
    return render(request, "sharing/search.html", context)


# Circles ----------------------------------------------------------------------------------------


@login_required
def circles_view(request):
    _require_view(request)
    return render(
        request,
        "sharing/circles.html",
        {
            "circles": selectors.circles_visible_to(request.user),
            "invitations": selectors.invitations_for(request.user),
            "can_create": reach(request.user, Perm.SHARING_CIRCLE_CREATE),
            "form": CircleForm(),
            "section": "sharing",
        },
    )


@login_required
@require_POST
def circle_create_view(request):
    form = CircleForm(request.POST)
    if form.is_valid():
        try:
            circle = services.circle_create(actor=request.user, **form.cleaned_data)
        except AppError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Circle created."))
            return redirect("sharing:circle", circle_id=circle.pk)
    else:
        messages.error(request, _("Give the circle a name."))
    return redirect("sharing:circles")


@login_required
def circle_view(request, circle_id):
    circle = selectors.circle_get(request.user, circle_id)
    form = InviteForm(request.POST or None)
    owner = selectors.circle_owner(request.user, circle)
    if request.method == "POST" and form.is_valid():
        try:
            services.circle_invite(
                actor=request.user,
                circle=circle,
                organisation=form.cleaned_data["organisation"],
                user=form.cleaned_data["user"],
            )
        except Invalid as error:
            add_service_errors(form, error)
        except AppError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Invitation sent."))
            return redirect("sharing:circle", circle_id=circle.pk)
    v = selectors.sharing_viewer(request.user)
    members = selectors.circle_members(request.user, circle)
    return render(
        request,
        "sharing/circle.html",
        {
            "circle": circle,
            "members": members,
            "mine": [
                m for m in members if m.user_id == v.user_id or m.organisation_id in v.org_ids
            ],
            "owner": owner,
            "form": form,
            "items": selectors.items_visible_to(request.user).filter(circle=circle)[:20],
            "section": "sharing",
        },
        status=422 if form.errors else 200,
    )


def _member(request, member_id) -> CircleMember:
    member = CircleMember.objects.select_related("circle").filter(pk=member_id).first()
    if member is None:
        from port2port.core.errors import NotFound

        raise NotFound(_("membership not found"))
    selectors.circle_get(request.user, member.circle_id)
    return member


@login_required
@require_POST
def circle_respond_view(request, member_id):
    member = _member(request, member_id)
    accept = request.POST.get("decision") == "accept"
    services.circle_respond(actor=request.user, member=member, accept=accept)
    messages.success(request, _("You joined the circle.") if accept else _("Invitation declined."))
    return (
        redirect("sharing:circle", circle_id=member.circle_id)
        if accept
        else redirect("sharing:circles")
    )


@login_required
@require_POST
def circle_leave_view(request, member_id):
    member = _member(request, member_id)
    services.circle_leave(actor=request.user, member=member)
    messages.success(request, _("You left the circle."))
    return redirect("sharing:circles")


@login_required
@require_POST
def circle_owner_view(request, member_id):
    member = _member(request, member_id)
    services.circle_owner_set(
        actor=request.user, member=member, owner=request.POST.get("owner") == "1"
    )
    messages.success(request, _("Owners updated."))
    return redirect("sharing:circle", circle_id=member.circle_id)


# Inbox, subscription, import, export, public page --------------------------------------------------


@login_required
def inbox_view(request):
    _require_view(request)
    if request.method == "POST":
        services.notifications_mark_read(actor=request.user)
        return redirect("sharing:inbox")
    page = _page(request, selectors.notifications_for(request.user))
    return render(request, "sharing/inbox.html", {"page": page, "section": "sharing"})


@login_required
def subscription_view(request):
    _require_view(request)
    subscription = Subscription.objects.filter(user=request.user).first()
    initial = {}
    if subscription:
        initial = {
            "topics": list(subscription.topics.all()),
            "ports": list(subscription.ports.all()),
            "circles": list(subscription.circles.all()),
            "min_urgency": subscription.min_urgency,
            "email": subscription.email,
        }
    form = SubscriptionForm(
        request.POST or None, initial=initial, circles=selectors.circles_visible_to(request.user)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.subscription_set(
            actor=request.user,
            topics=[t.slug for t in data["topics"]],
            ports=list(data["ports"]),
            circles=list(data["circles"]),
            min_urgency=data["min_urgency"],
            email=data["email"],
        )
        messages.success(request, _("Your alerts are saved."))
        return redirect("sharing:subscription")
    return render(request, "sharing/subscription.html", {"form": form, "section": "sharing"})


@login_required
def import_view(request):
    if not reach(request.user, Perm.SHARING_ITEM_IMPORT):
        from port2port.core.errors import Forbidden

        raise Forbidden(_("your roles do not allow imports"))
    form = ImportForm(
        request.POST or None,
        request.FILES or None,
        circles=selectors.circles_postable_by(request.user),
    )
    report = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            report = services.items_import(
                actor=request.user,
                fmt=data["format"],
                data=data["file"].read(),
                tlp=data["tlp"] or None,
                distribution=data["distribution"],
                circle=data["circle"],
            )
        except Invalid as error:
            add_service_errors(form, error)
        except AppError as error:
            form.add_error(None, error.message)
    return render(
        request,
        "sharing/import.html",
        {"form": form, "report": report, "section": "sharing"},
        status=422 if form.errors else 200,
    )


@login_required
def export_view(request):
    bundle = services.items_export_stix(actor=request.user)
    response = HttpResponse(
        json.dumps(bundle, indent=1), content_type="application/stix+json;version=2.1"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="port2port-{timezone.localdate():%Y%m%d}.stix.json"'
    )
    response["Cache-Control"] = "private, no-store"
    return response


def public_view(request):
    """TLP:CLEAR items shared with the whole platform: readable without an account."""
    page = _page(request, selectors.public_items())
    return render(request, "sharing/public.html", {"page": page, "section": "public"})


def public_item_view(request, item_id):
    item = selectors.public_item_get(item_id)
    return render(request, "sharing/public_item.html", {"item": item, "section": "public"})
