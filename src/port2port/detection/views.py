"""Pages of detection: the control room (live queue, map, device health), an alarm and its
handling, the live stream, and the set-up pages (rules, contacts, procedures, hotlists, flights),
the alarm history, the event search and the dead letters. They only translate between HTTP and
the selectors and services."""

from __future__ import annotations

import asyncio
import json
import queue
import time

from asgiref.sync import sync_to_async
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.core.paginator import Paginator
from django.db.models import Case, Count, IntegerField, Value, When
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from port2port.core.errors import AppError, Forbidden, NotFound
from port2port.core.forms import run_service
from port2port.core.models import Organisation, Port, User
from port2port.core.roles import Perm
from port2port.core.visibility import one_or_404, reach
from port2port.sites import selectors as site_selectors
from port2port.sites.models import DeviceKind

from . import selectors, services
from .forms import (
    RULE_COMMON,
    RULE_KIND_FIELDS,
    AlarmFilterForm,
    CloseForm,
    ContactForm,
    EntriesForm,
    EntrySearchForm,
    EventFilterForm,
    FlightForm,
    HotlistForm,
    NoteForm,
    ProcedureForm,
    RuleForm,
    ShareForm,
    StepForm,
)
from .live import hub
from .models import AlarmEntry, AlarmState, EventKind, RuleKind
from .text import alarm_summary, delivery_to

QUEUE_LIMIT = 200  # open alarms in the control room's queue; the history lists all
PAGE_SIZE = 50
KEEPALIVE_SECONDS = 15
# The queue's order: new first, then the most urgent, then the latest.
STATE_RANK = Case(
    When(state=AlarmState.NEW, then=Value(0)),
    When(state=AlarmState.ACKNOWLEDGED, then=Value(1)),
    When(state=AlarmState.IN_PROGRESS, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


# --- who may open what ---------------------------------------------------------------------------


def _require_watch(viewer) -> None:
    if not selectors.may_watch(viewer):
        raise Forbidden(_("your roles do not include the control room"))


def _require_setup(viewer) -> None:
    if not selectors.may_set_up(viewer):
        raise Forbidden(_("your roles do not include setting up detection"))


def _may_keep_hotlists(viewer) -> bool:
    return bool(reach(viewer, Perm.DETECTION_HOTLIST_MANAGE))


def _may_set_retention(viewer) -> bool:
    return reach(viewer, Perm.DETECTION_RULE_MANAGE).everything


def _page(request, **context) -> dict:
    """What every detection page needs: the section and which sub-pages the user may open."""
    viewer = request.user
    return {
        "section": "detection",
        "can_watch": selectors.may_watch(viewer),
        "can_set_up": selectors.may_set_up(viewer),
        "can_hotlists": _may_keep_hotlists(viewer) or selectors.may_set_up(viewer),
        "can_dead_letters": selectors.may_read_dead_letters(viewer),
        **context,
    }


def _ports(ids) -> list[Port]:
    """Ports by id (None: every port), by name."""
    ports = Port.objects.all() if ids is None else Port.objects.filter(pk__in=ids)
    return list(ports.order_by("name"))


def _port_by_locode(ports: list[Port], locode: str | None) -> Port | None:
    locode = (locode or "").strip().upper()
    return next((p for p in ports if p.locode == locode), None)


def _setup_port(request) -> tuple[list[Port], Port]:
    """The ports the user sets up detection in, and the chosen one (`?port=`, else the first)."""
    ports = _ports(site_selectors.port_ids_for(request.user, Perm.DETECTION_RULE_MANAGE))
    if not ports:
        raise Forbidden(_("your roles do not include setting up detection"))
    wanted = request.GET.get("port")
    port = _port_by_locode(ports, wanted) if wanted else ports[0]
    if port is None:
        raise NotFound(_("port not found"))
    return ports, port


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- the control room ----------------------------------------------------------------------------


def _open_alarms(viewer, port: Port | None = None):
    alarms = selectors.alarms_visible_to(viewer).exclude(state=AlarmState.CLOSED)
    if port is not None:
        alarms = alarms.filter(port=port)
    return alarms.annotate(state_rank=STATE_RANK).order_by("state_rank", "priority", "-last_at")


def _summarised(alarms) -> list:
    alarms = list(alarms)
    for alarm in alarms:
        alarm.summary = alarm_summary(alarm)
    return alarms


def _device_feature(device) -> dict:
    return {
        "type": "Feature",
        "id": str(device.pk),
        "geometry": device.geometry,
        "properties": {
            "kind": device.kind,
            "kind_label": str(device.get_kind_display()),
            "code": device.code,
            "name": device.name,
        },
    }


def _alarm_point(alarm) -> dict | None:
    if alarm.latitude is None or alarm.longitude is None:
        return None
    return {
        "id": str(alarm.pk),
        "lat": alarm.latitude,
        "lon": alarm.longitude,
        "summary": alarm.summary,
        "url": reverse("detection:alarm", args=[alarm.pk]),
    }


def _health(viewer, port: Port) -> list[dict]:
    """The port's devices with when each was last heard of, and whether it has gone silent."""
    now = timezone.now()
    rows = []
    for device in site_selectors.devices_of(viewer, port).order_by("code"):
        rows.append({"device": device, "silent": device.is_silent(now)})
    return rows


def _map_port(request, ports: list[Port]) -> Port | None:
    """The port on the map: `?map=` among the watched ports, else the first one."""
    wanted = request.GET.get("map")
    if wanted:
        port = _port_by_locode(ports, wanted)
        if port is None:
            raise NotFound(_("port not found"))
        return port
    return ports[0] if ports else None


def _queue(request) -> tuple[list[Port], Port | None, list]:
    """The watched ports, the port the queue is narrowed to (`?port=`), and the queue."""
    ports = _ports(selectors.watched_ports(request.user))
    queue_port = _port_by_locode(ports, request.GET.get("port")) if len(ports) > 1 else None
    return ports, queue_port, _summarised(_open_alarms(request.user, queue_port)[:QUEUE_LIMIT])


@login_required
def control_room_view(request):
    viewer = request.user
    _require_watch(viewer)
    ports, queue_port, alarms = _queue(request)
    map_port = _map_port(request, ports)
    map_data = None
    if map_port is not None:
        on_map = _open_alarms(viewer, map_port)[:QUEUE_LIMIT]
        map_data = {
            "port": str(map_port.pk),
            "area": site_selectors.port_map(viewer, map_port),
            "devices": {
                "type": "FeatureCollection",
                "features": [
                    _device_feature(d)
                    for d in site_selectors.devices_of(viewer, map_port)
                    if d.active and d.geometry
                ],
            },
            "alarms": [p for p in map(_alarm_point, _summarised(on_map)) if p],
        }
    return render(
        request,
        "detection/control_room.html",
        _page(
            request,
            alarms=alarms,
            ports=ports,
            queue_port=queue_port,
            map_port=map_port,
            map_data=map_data,
            health=_health(viewer, map_port) if map_port else [],
            device_kinds=DeviceKind.choices,
            tile_url=settings.SITES_TILE_URL,
        ),
    )


@login_required
@require_GET
def queue_view(request):
    """The queue's rows alone (the page reloads them after its live connection came back)."""
    _require_watch(request.user)
    _ports_seen, _port, alarms = _queue(request)
    return render(request, "detection/_queue_rows.html", {"alarms": alarms})


@login_required
@require_GET
def health_view(request):
    """The device health table of a port (refreshed by the control room every 30 s)."""
    viewer = request.user
    _require_watch(viewer)
    ports = _ports(selectors.watched_ports(viewer))
    port = _map_port(request, ports)
    return render(
        request,
        "detection/_health.html",
        {"health": _health(viewer, port) if port else [], "map_port": port},
    )


# --- the live stream -----------------------------------------------------------------------------


def _visible(message: dict, ports: frozenset | None, owners: frozenset | None) -> bool:
    """The stream's filter: the same rule as selectors.alarms_visible_to, on ids as text."""
    port = message.get("port")
    if message.get("type") == "alarm":
        return ports is None or owners is None or port in ports or message.get("owner") in owners
    if message.get("type") == "vessel":
        return ports is None or port in ports
    return False


def _frame(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


def _event_frame(viewer, message: dict, language: str) -> str:
    """The text/event-stream frame of one hub message for this viewer ("" to send nothing)."""
    if message.get("type") == "vessel":
        keys = ("port", "mmsi", "lat", "lon", "name", "speed", "course")
        return _frame("vessel", {key: message.get(key) for key in keys})
    try:
        alarm = selectors.alarm_get(viewer, message.get("id"))
    except NotFound:
        return ""
    html = ""
    if alarm.state != AlarmState.CLOSED:
        with translation.override(language):
            alarm.summary = alarm_summary(alarm)
            html = render_to_string("detection/_alarm_row.html", {"alarm": alarm})
    return _frame(
        "alarm",
        {
            "id": str(alarm.pk),
            "html": html,
            "state": alarm.state,
            "priority": alarm.priority,
            "lat": alarm.latitude,
            "lon": alarm.longitude,
            "port": str(alarm.port_id),
            "new": bool(message.get("new")),
        },
    )


# Sent first: the browser learns the connection is open, and how soon to come back after a break.
STREAM_OPENING = "retry: 3000\n: connected\n\n"


STREAM_MAX_SECONDS = 3600  # then the browser reconnects, and is checked afresh


def _still_allowed(viewer, session) -> bool:
    """At every keepalive: the account is active, the session not ended, the roles still hold."""
    from port2port.core.visibility import forget

    fresh = User.objects.filter(pk=viewer.pk, is_active=True).first()
    if fresh is None or not session.exists(session.session_key):
        return False
    forget(fresh)
    return selectors.may_watch(fresh)


def _stream_sync(viewer, ports, owners, language, session):
    """For WSGI servers (a thread per request): a blocking queue."""
    subscriber = hub.subscribe_sync()
    ends = time.monotonic() + STREAM_MAX_SECONDS
    try:
        yield STREAM_OPENING
        while not subscriber.dropped and time.monotonic() < ends:
            try:
                message = subscriber.queue.get(timeout=KEEPALIVE_SECONDS)
            except queue.Empty:
                if not _still_allowed(viewer, session):
                    return
                yield ": keepalive\n\n"
                continue
            if _visible(message, ports, owners):
                frame = _event_frame(viewer, message, language)
                if frame:
                    yield frame
    finally:
        hub.unsubscribe(subscriber)


async def _stream_async(viewer, ports, owners, language, session):
    """For ASGI servers: awaits the hub's queue in the event loop; renders in a thread."""
    subscriber = hub.subscribe()
    # Rendering runs beside the thread that serves the ingest requests, not behind them.
    frame_of = sync_to_async(_event_frame, thread_sensitive=False)
    allowed = sync_to_async(_still_allowed)
    ends = time.monotonic() + STREAM_MAX_SECONDS
    try:
        yield STREAM_OPENING
        while not subscriber.dropped and time.monotonic() < ends:
            try:
                message = await asyncio.wait_for(subscriber.queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                if not await allowed(viewer, session):
                    return
                yield ": keepalive\n\n"
                continue
            if _visible(message, ports, owners):
                frame = await frame_of(viewer, message, language)
                if frame:
                    yield frame
    finally:
        hub.unsubscribe(subscriber)


@login_required
@require_GET
def stream_view(request):
    """Server-sent events: the alarms and vessels the viewer may see, as they change. A client
    that falls too far behind is let go; its browser reconnects and reloads the queue."""
    viewer = request.user
    _require_watch(viewer)

    def as_text(ids):
        return None if ids is None else frozenset(str(i) for i in ids)

    ports = as_text(selectors.watched_ports(viewer))
    owners = as_text(selectors.hotlist_owners(viewer))
    language = translation.get_language()
    if isinstance(request, ASGIRequest):
        stream = _stream_async(viewer, ports, owners, language, request.session)
    else:
        stream = _stream_sync(viewer, ports, owners, language, request.session)
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


# --- an alarm ------------------------------------------------------------------------------------


def _timeline(viewer, alarm) -> list[dict]:
    labels = dict(AlarmEntry.Kind.choices)
    rows = []
    for at, kind, text, user, event in selectors.alarm_timeline(viewer, alarm):
        if event is not None:
            label = event.get_kind_display()
            detail = " · ".join(v for v in (event.device_code, event.plate, event.label) if v)
        else:
            label, detail = labels.get(kind, kind), text
        rows.append({"at": at, "kind": kind, "label": label, "text": detail, "user": user})
    return rows


def _alarm_parts(request, alarm, *, step_error: str = "") -> dict:
    """What the live parts of an alarm's page show: its state, its steps, its timeline."""
    viewer = request.user
    alarm.summary = alarm_summary(alarm)
    return {
        "alarm": alarm,
        "steps": list(alarm.steps.select_related("done_by")),
        "timeline": _timeline(viewer, alarm),
        "can_handle": selectors.may_handle(viewer, alarm),
        "is_open": alarm.state != AlarmState.CLOSED,
        "step_error": step_error,
    }


def _alarm_context(request, alarm, **forms) -> dict:
    viewer = request.user
    context = _page(request, **_alarm_parts(request, alarm))
    can_share = (
        alarm.state == AlarmState.CLOSED
        and not alarm.shared_item_id
        and bool(reach(viewer, Perm.SHARING_ITEM_CREATE))
    )
    share_form = None
    if can_share:
        title, body = services.share_draft(alarm)
        share_form = ShareForm(prefix="share", initial={"title": title, "body": body})
    deliveries = list(selectors.deliveries_of(viewer, alarm))
    for delivery in deliveries:
        delivery.to = delivery_to(delivery)
    context.update(
        nearest=selectors.nearest_camera(viewer, alarm),
        deliveries=deliveries,
        note_form=NoteForm(prefix="note"),
        close_form=CloseForm(prefix="close"),
        share_form=share_form,
    )
    context.update(forms)
    return context


@login_required
def alarm_view(request, alarm_id):
    _require_watch(request.user)
    alarm = selectors.alarm_get(request.user, alarm_id)
    return render(request, "detection/alarm.html", _alarm_context(request, alarm))


@login_required
@require_GET
def alarm_live_view(request, alarm_id):
    """The alarm's state, steps and timeline alone (the page refreshes them when it changes)."""
    _require_watch(request.user)
    alarm = selectors.alarm_get(request.user, alarm_id)
    return render(request, "detection/_alarm_live.html", _alarm_parts(request, alarm))


# action -> (its form, the form's name in the page or None, what it does)
ALARM_ACTIONS = {
    "acknowledge": (
        forms.Form,
        None,
        lambda actor, alarm, data: services.alarm_acknowledge(actor=actor, alarm=alarm),
    ),
    "take": (
        forms.Form,
        None,
        lambda actor, alarm, data: services.alarm_take(actor=actor, alarm=alarm),
    ),
    "escalate": (
        forms.Form,
        None,
        lambda actor, alarm, data: services.alarm_escalate(actor=actor, alarm=alarm),
    ),
    "step": (
        StepForm,
        None,
        lambda actor, alarm, data: services.alarm_step_tick(
            actor=actor, alarm=alarm, position=data["position"], done=data["done"]
        ),
    ),
    "note": (
        NoteForm,
        "note_form",
        lambda actor, alarm, data: services.alarm_note(actor=actor, alarm=alarm, text=data["text"]),
    ),
    "close": (
        CloseForm,
        "close_form",
        lambda actor, alarm, data: services.alarm_close(
            actor=actor, alarm=alarm, report=data["report"]
        ),
    ),
    "share": (
        ShareForm,
        "share_form",
        lambda actor, alarm, data: services.alarm_share(actor=actor, alarm=alarm, **data),
    ),
}


def _done_message(action: str, result) -> str:
    if action == "share":
        return _("Shared as “%(title)s”.") % {"title": result.title}
    if action == "step":
        return _("Step saved.")
    if action == "escalate":
        from .models import Delivery

        level = result.escalation_level
        if not Delivery.objects.filter(alarm=result, level=level).exists():
            return _(
                "Escalated to level %(level)s, where nobody is on the list: nobody was notified."
            ) % {"level": level}
        return _("Escalated to level %(level)s; its contacts are notified.") % {"level": level}
    return {
        "acknowledge": _("Alarm acknowledged."),
        "take": _("You have taken the alarm in hand."),
        "note": _("Note saved."),
        "close": _("Alarm closed."),
    }[action]


def _errors(form) -> str:
    return "; ".join(str(e) for errors in form.errors.values() for e in errors)


@login_required
@require_POST
def alarm_action_view(request, alarm_id, action):
    if action not in ALARM_ACTIONS:
        raise NotFound(_("unknown action"))
    _require_watch(request.user)
    alarm = selectors.alarm_get(request.user, alarm_id)
    form_class, key, act = ALARM_ACTIONS[action]
    prefix = action if key else None
    form = form_class(request.POST, prefix=prefix)
    done, result = run_service(form, lambda data: act(request.user, alarm, data))
    if request.headers.get("HX-Request"):  # a step ticked in place: answer the live parts
        alarm = selectors.alarm_get(request.user, alarm_id)
        parts = _alarm_parts(request, alarm, step_error="" if done else _errors(form))
        return render(request, "detection/_alarm_live.html", parts)
    if done:
        messages.success(request, _done_message(action, result))
        return redirect("detection:alarm", alarm_id=alarm.pk)
    if key is None:
        messages.error(request, _errors(form))
        return redirect("detection:alarm", alarm_id=alarm.pk)
    alarm = selectors.alarm_get(request.user, alarm_id)  # as stored: nothing of a refusal stays
    return render(
        request, "detection/alarm.html", _alarm_context(request, alarm, **{key: form}), status=422
    )


# --- lists: alarms, events, dead letters ---------------------------------------------------------


@login_required
def alarms_view(request):
    viewer = request.user
    _require_watch(viewer)
    ports = _ports(selectors.watched_ports(viewer))
    form = AlarmFilterForm(request.GET or None, ports=ports)
    alarms = selectors.alarms_visible_to(viewer)
    rule = hotlist = None
    if form.is_valid():
        data = form.cleaned_data
        alarms = selectors.alarms_matching(
            viewer,
            state=data["state"],
            port=data["port"],
            rule=data["rule"],
            hotlist=data["hotlist"],
        )
        if data["rule"]:
            rule = selectors.rules_visible_to(viewer).filter(pk=data["rule"]).first()
        if data["hotlist"]:
            hotlist = selectors.hotlists_visible_to(viewer).filter(pk=data["hotlist"]).first()
    alarms = alarms.order_by("-last_at")
    page = Paginator(alarms, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = _summarised(page.object_list)
    return render(
        request,
        "detection/alarms.html",
        _page(
            request,
            form=form,
            page=page,
            query=_query_without_page(request),
            rule=rule,
            hotlist=hotlist,
        ),
    )


@login_required
def events_view(request):
    """Event search. Plate reads are personal data: only the control room's people see them,
    each in the ports they watch (selectors.events_visible_to)."""
    viewer = request.user
    _require_watch(viewer)
    form = EventFilterForm(request.GET or None)
    events = selectors.events_visible_to(viewer).order_by("-at")
    if form.is_valid():
        data = form.cleaned_data
        if data["plate"]:
            plate = data["plate"].upper().replace("-", "").replace(" ", "").replace(".", "")
            events = events.filter(plate=plate)
            services.plate_searched(actor=viewer, plate=plate, found=events.count())
        if data["kind"]:
            events = events.filter(kind=data["kind"])
        if data["device"]:
            events = events.filter(device_code__iexact=data["device"].strip())
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "detection/events.html",
        _page(
            request,
            form=form,
            page=page,
            query=_query_without_page(request),
            event_kinds=EventKind,
        ),
    )


DEAD_PAYLOAD_SHOWN = 500


@login_required
def dead_letters_view(request):
    """The dead letters of the ports where the viewer sets up detection; the retention of events
    (platform-wide) for platform admins."""
    viewer = request.user
    if not selectors.may_read_dead_letters(viewer):
        raise Forbidden(_("your roles do not include setting up detection"))
    page = Paginator(selectors.dead_letters_visible_to(viewer), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for letter in page.object_list:
        letter.shown = letter.payload[:DEAD_PAYLOAD_SHOWN]
        letter.cut = len(letter.payload) > DEAD_PAYLOAD_SHOWN
    can_set_retention = _may_set_retention(viewer)
    if request.method == "POST":  # retention per kind of event (the service refuses others)
        try:
            days = int(request.POST.get("days", ""))
        except ValueError:
            days = -1
        try:
            services.retention_set(actor=request.user, kind=request.POST.get("kind", ""), days=days)
        except AppError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Retention saved."))
        return redirect("detection:dead_letters")
    retention = []
    if can_set_retention:
        days = services.retention_days()
        retention = [(value, label, days.get(value)) for value, label in EventKind.choices]
    return render(
        request,
        "detection/dead_letters.html",
        _page(
            request,
            page=page,
            query="",
            retention=retention,
            can_set_retention=can_set_retention,
        ),
    )


# --- set-up: rules and their contacts ------------------------------------------------------------


@login_required
def rules_view(request):
    viewer = request.user
    _require_setup(viewer)
    ports, port = _setup_port(request)
    rules = (
        selectors.rules_visible_to(viewer)
        .filter(port=port)
        .annotate(alarm_count=Count("alarms"))
        .order_by("name")
    )
    return render(
        request,
        "detection/rules.html",
        _page(request, ports=ports, port=port, rules=rules, kinds=RuleKind.choices),
    )


def _rule_form(viewer, port: Port, kind: str, data=None, initial=None) -> RuleForm:
    from port2port.access.models import Schedule

    return RuleForm(
        data,
        kind=kind,
        initial=initial,
        zones=site_selectors.zones_of(viewer, port).order_by("code"),
        schedules=Schedule.objects.order_by("name"),
        procedures=selectors.procedures_visible_to(viewer).filter(port=port).order_by("name"),
    )


def _rule_fields(form: RuleForm) -> dict:
    return {name: form.cleaned_data[name] for name in form.fields}


@login_required
def rule_create_view(request):
    viewer = request.user
    _require_setup(viewer)
    ports, port = _setup_port(request)
    kind = request.GET.get("kind", "")
    if kind not in RuleKind.values:
        return render(
            request,
            "detection/rule_kind.html",
            _page(request, ports=ports, port=port, kinds=RuleKind.choices),
        )
    form = _rule_form(viewer, port, kind, request.POST or None, initial={"enabled": True})
    if request.method == "POST":
        done, rule = run_service(
            form,
            lambda data: services.rule_save(
                actor=viewer, port=port, kind=kind, **_rule_fields(form)
            ),
        )
        if done:
            messages.success(request, _("Rule %(name)s created.") % {"name": rule.name})
            return redirect("detection:rule", rule_id=rule.pk)
    return render(
        request,
        "detection/rule_form.html",
        _page(request, port=port, form=form, kind_label=RuleKind(kind).label, rule=None),
    )


@login_required
def rule_view(request, rule_id):
    """A rule: its settings (editable) and its contacts."""
    viewer = request.user
    _require_setup(viewer)
    rule = selectors.rule_get(viewer, rule_id)
    names = RULE_COMMON + RULE_KIND_FIELDS.get(rule.kind, [])
    initial = {name: getattr(rule, name) for name in names}
    form = _rule_form(viewer, rule.port, rule.kind, request.POST or None, initial=initial)
    if request.method == "POST":
        done, rule = run_service(
            form,
            lambda data: services.rule_save(
                actor=viewer, port=rule.port, rule=rule, **_rule_fields(form)
            ),
        )
        if done:
            messages.success(request, _("Rule %(name)s saved.") % {"name": rule.name})
            return redirect("detection:rule", rule_id=rule.pk)
        rule = selectors.rule_get(viewer, rule_id)
    return render(
        request,
        "detection/rule_form.html",
        _page(
            request,
            port=rule.port,
            form=form,
            rule=rule,
            kind_label=RuleKind(rule.kind).label,
            contacts=selectors.contacts_of(viewer, rule),
            contact_form=ContactForm(prefix="contact", users=selectors.contact_users(viewer, rule)),
            alarm_count=selectors.alarms_visible_to(viewer).filter(rule=rule).count(),
        ),
        status=422 if form.is_bound else 200,
    )


@login_required
@require_POST
def contact_add_view(request, rule_id):
    viewer = request.user
    _require_setup(viewer)
    rule = selectors.rule_get(viewer, rule_id)
    form = ContactForm(request.POST, prefix="contact", users=selectors.contact_users(viewer, rule))
    done, _contact = run_service(
        form,
        lambda data: services.contact_add(
            actor=viewer,
            rule=rule,
            channel=data["channel"],
            level=data["level"],
            user=data["user"],
            url=data["url"] or "",
        ),
    )
    if done:
        messages.success(request, _("Contact added."))
    else:
        messages.error(request, _errors(form))
    return redirect("detection:rule", rule_id=rule.pk)


@login_required
@require_POST
def contact_remove_view(request, rule_id, contact_id):
    viewer = request.user
    _require_setup(viewer)
    rule = selectors.rule_get(viewer, rule_id)
    contact = selectors.contact_get(viewer, rule, contact_id)
    try:
        services.contact_remove(actor=viewer, contact=contact)
        messages.success(request, _("Contact removed."))
    except AppError as error:
        messages.error(request, error.message)
    return redirect("detection:rule", rule_id=rule.pk)


# --- set-up: procedures --------------------------------------------------------------------------


@login_required
def procedures_view(request):
    viewer = request.user
    _require_setup(viewer)
    ports, port = _setup_port(request)
    form = ProcedureForm(request.POST or None)
    if request.method == "POST":
        done, procedure = run_service(
            form,
            lambda data: services.procedure_save(
                actor=viewer, port=port, name=data["name"], steps=data["steps"]
            ),
        )
        if done:
            messages.success(request, _("Procedure %(name)s saved.") % {"name": procedure.name})
            return redirect(f"{reverse('detection:procedures')}?port={port.locode}")
    procedures = selectors.procedures_visible_to(viewer).filter(port=port).order_by("name")
    return render(
        request,
        "detection/procedures.html",
        _page(request, ports=ports, port=port, procedures=procedures, form=form),
        status=422 if form.is_bound else 200,
    )


@login_required
def procedure_view(request, procedure_id):
    viewer = request.user
    _require_setup(viewer)
    procedure = selectors.procedure_get(viewer, procedure_id)
    form = ProcedureForm(
        request.POST or None,
        initial={"name": procedure.name, "steps": "\n".join(procedure.steps)},
    )
    if request.method == "POST":
        done, procedure = run_service(
            form,
            lambda data: services.procedure_save(
                actor=viewer,
                port=procedure.port,
                procedure=procedure,
                name=data["name"],
                steps=data["steps"],
            ),
        )
        if done:
            messages.success(request, _("Procedure %(name)s saved.") % {"name": procedure.name})
            return redirect(f"{reverse('detection:procedures')}?port={procedure.port.locode}")
        procedure = selectors.procedure_get(viewer, procedure_id)
    return render(
        request,
        "detection/procedure_form.html",
        _page(request, procedure=procedure, port=procedure.port, form=form),
        status=422 if form.is_bound else 200,
    )


# --- set-up: authorised drone flights ------------------------------------------------------------


@login_required
def flights_view(request):
    viewer = request.user
    _require_setup(viewer)
    ports, port = _setup_port(request)
    zones = site_selectors.zones_of(viewer, port).order_by("code")
    form = FlightForm(request.POST or None, zones=zones)
    if request.method == "POST":
        done, _flight = run_service(
            form, lambda data: services.flight_create(actor=viewer, port=port, **data)
        )
        if done:
            messages.success(request, _("Flight authorised."))
            return redirect(f"{reverse('detection:flights')}?port={port.locode}")
    flights = selectors.flights_visible_to(viewer).filter(port=port).order_by("-starts_at")
    page = Paginator(flights, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "detection/flights.html",
        _page(
            request,
            ports=ports,
            port=port,
            page=page,
            now=timezone.now(),
            form=form,
            query=_query_without_page(request),
        ),
        status=422 if form.is_bound else 200,
    )


# --- hotlists ------------------------------------------------------------------------------------


def _require_hotlists(viewer) -> None:
    if not (_may_keep_hotlists(viewer) or selectors.may_set_up(viewer)):
        raise Forbidden(_("your roles do not include hotlists"))


def _hotlist_owners(viewer):
    """The organisations for which the viewer keeps hotlists."""
    result = reach(viewer, Perm.DETECTION_HOTLIST_MANAGE)
    owners = Organisation.objects.order_by("name")
    return owners if result.everything else owners.filter(pk__in=result.org_ids)


@login_required
def hotlists_view(request):
    viewer = request.user
    _require_hotlists(viewer)
    owners = _hotlist_owners(viewer)
    form = None
    if owners.exists():
        form = HotlistForm(request.POST or None, owners=owners, ports=Port.objects.order_by("name"))
    if request.method == "POST" and form is not None:
        done, hotlist = run_service(form, lambda data: services.hotlist_save(actor=viewer, **data))
        if done:
            messages.success(request, _("Hotlist %(name)s created.") % {"name": hotlist.name})
            return redirect("detection:hotlist", hotlist_id=hotlist.pk)
    hotlists = selectors.hotlists_visible_to(viewer).annotate(entry_count=Count("entries"))
    return render(
        request,
        "detection/hotlists.html",
        _page(request, hotlists=hotlists, form=form),
        status=422 if form is not None and form.is_bound else 200,
    )


def _hotlist_settings_form(hotlist, data=None) -> HotlistForm:
    """The list's settings; its port among the keeper's ports (a national body's: any)."""
    ports = hotlist.owner.ports.order_by("name")
    if not ports.exists():
        ports = Port.objects.order_by("name")
    return HotlistForm(
        data,
        prefix="settings",
        ports=ports,
        initial={name: getattr(hotlist, name) for name in services.HOTLIST_SETTINGS},
    )


def _may_change_hotlist(viewer, hotlist) -> bool:
    return reach(viewer, Perm.DETECTION_HOTLIST_MANAGE).covers(hotlist.owner_id)


def _hotlist_context(request, hotlist, entries_form=None, settings_form=None) -> dict:
    viewer = request.user
    can_change = _may_change_hotlist(viewer, hotlist)
    search = EntrySearchForm(request.GET or None)
    entries = selectors.entries_of(viewer, hotlist)
    if search.is_valid() and search.cleaned_data["q"]:
        wanted = search.cleaned_data["q"].upper().replace("-", "").replace(" ", "")
        entries = entries.filter(plate__contains=wanted)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    alarms = _summarised(
        selectors.alarms_visible_to(viewer).filter(hotlist=hotlist).order_by("-last_at")[:20]
    )
    return _page(
        request,
        hotlist=hotlist,
        page=page,
        search=search,
        query=_query_without_page(request),
        can_change=can_change,
        entries_form=entries_form or EntriesForm(),
        settings_form=(settings_form or _hotlist_settings_form(hotlist)) if can_change else None,
        alarms=alarms,
    )


@login_required
def hotlist_view(request, hotlist_id):
    """A list: its settings (changed here by its keeper), its plates and the alarms it raised."""
    viewer = request.user
    _require_hotlists(viewer)
    hotlist = selectors.hotlist_get(viewer, hotlist_id)
    if request.method != "POST":
        return render(request, "detection/hotlist.html", _hotlist_context(request, hotlist))
    if not _may_change_hotlist(viewer, hotlist):
        raise Forbidden(_("you may not keep hotlists for this organisation"))
    form = _hotlist_settings_form(hotlist, request.POST)
    done, saved = run_service(
        form,
        lambda data: services.hotlist_save(
            actor=viewer, owner=hotlist.owner, hotlist=hotlist, **data
        ),
    )
    if done:
        messages.success(request, _("Hotlist %(name)s saved.") % {"name": saved.name})
        return redirect("detection:hotlist", hotlist_id=hotlist.pk)
    hotlist = selectors.hotlist_get(viewer, hotlist_id)  # as stored: nothing of a refusal stays
    return render(
        request,
        "detection/hotlist.html",
        _hotlist_context(request, hotlist, settings_form=form),
        status=422,
    )


@login_required
@require_POST
def hotlist_entries_view(request, hotlist_id):
    viewer = request.user
    _require_hotlists(viewer)
    hotlist = selectors.hotlist_get(viewer, hotlist_id)
    form = EntriesForm(request.POST)
    done, count = run_service(
        form,
        lambda data: services.hotlist_entries_add(
            actor=viewer, hotlist=hotlist, text=data["entries"]
        ),
    )
    if done:
        messages.success(
            request,
            ngettext(
                "%(n)s plate stored (a plate already on the list takes the new reason and date).",
                "%(n)s plates stored (a plate already on the list takes the new reason and date).",
                count,
            )
            % {"n": count},
        )
        return redirect("detection:hotlist", hotlist_id=hotlist.pk)
    return render(
        request,
        "detection/hotlist.html",
        _hotlist_context(request, hotlist, entries_form=form),
        status=422,
    )


@login_required
@require_POST
def hotlist_entry_remove_view(request, hotlist_id, entry_id):
    viewer = request.user
    _require_hotlists(viewer)
    hotlist = selectors.hotlist_get(viewer, hotlist_id)
    entry = one_or_404(
        selectors.entries_of(viewer, hotlist).select_related("hotlist__owner", "hotlist__port"),
        pk=entry_id,
    )
    try:
        services.hotlist_entry_remove(actor=viewer, entry=entry)
        messages.success(request, _("%(plate)s removed.") % {"plate": entry.plate})
    except AppError as error:
        messages.error(request, error.message)
    return redirect("detection:hotlist", hotlist_id=hotlist.pk)


@login_required
@require_POST
def hotlist_active_view(request, hotlist_id):
    viewer = request.user
    _require_hotlists(viewer)
    hotlist = selectors.hotlist_get(viewer, hotlist_id)
    try:
        services.hotlist_active_set(
            actor=viewer, hotlist=hotlist, active=request.POST.get("active") == "1"
        )
        messages.success(request, _("Saved."))
    except AppError as error:
        messages.error(request, error.message)
    return redirect("detection:hotlist", hotlist_id=hotlist.pk)


@login_required
@require_POST
def flight_end_view(request, flight_id):
    viewer = request.user
    _require_setup(viewer)
    flight = selectors.flight_get(viewer, flight_id)
    try:
        services.flight_end(actor=viewer, flight=flight)
        messages.success(request, _("The authorisation has ended."))
    except AppError as error:
        messages.error(request, error.message)
    return redirect(f"{reverse('detection:flights')}?port={flight.port.locode}")
