"""The one read path of detection.

A port's control room (and its security officers and port authority) sees the alarms, events
and devices of its ports; a national body with the permission sees every port. The owner of a
hotlist (police) sees the alarms its lists raised, wherever the camera stood. Rules, procedures
and flights are seen by those who may set them up in that port. Dead letters carry raw device
input: a port's dead letters are read by those who may set up detection in that port, dead
letters of no known port by platform admins only.
"""

from __future__ import annotations

import math
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from port2port.core.errors import Invalid
from port2port.core.roles import Perm
from port2port.core.visibility import one_or_404, reach
from port2port.sites import selectors as site_selectors
from port2port.sites.models import Device, DeviceKind
from port2port.sites.selectors import port_ids_for

from .models import (
    Alarm,
    AlarmState,
    AuthorisedFlight,
    Contact,
    DeadLetter,
    Delivery,
    Event,
    Hotlist,
    HotlistEntry,
    Procedure,
    Rule,
    RuleKind,
)
from .text import entry_text

TIMELINE_EVENTS = 200  # the newest events of a long alarm; its entries are all shown
CAMERA_KINDS = (DeviceKind.AI_CAMERA, DeviceKind.THERMAL, DeviceKind.ANPR)


def _ports(queryset: QuerySet, viewer: Any, perm: Perm, field: str = "port_id") -> QuerySet:
    ports = port_ids_for(viewer, perm)
    return queryset if ports is None else queryset.filter(**{f"{field}__in": ports})


def may_watch(viewer: Any) -> bool:
    return bool(reach(viewer, Perm.DETECTION_ALARM_VIEW)) or bool(
        reach(viewer, Perm.DETECTION_HOTLIST_MANAGE)
    )


def may_set_up(viewer: Any) -> bool:
    return bool(reach(viewer, Perm.DETECTION_RULE_MANAGE))


def watched_ports(viewer: Any) -> frozenset | None:
    """Ports whose alarms the viewer sees live; None: every port."""
    return port_ids_for(viewer, Perm.DETECTION_ALARM_VIEW)


def hotlist_owners(viewer: Any) -> frozenset | None:
    """Organisations whose hotlists' alarms the viewer sees; None: all."""
    result = reach(viewer, Perm.DETECTION_HOTLIST_MANAGE)
    if result.everything:
        return None
    return frozenset(result.org_ids)


def alarms_visible_to(viewer: Any) -> QuerySet[Alarm]:
    ports = watched_ports(viewer)
    owners = hotlist_owners(viewer)
    queryset = Alarm.objects.select_related("port", "zone", "device", "rule", "hotlist")
    if ports is None or owners is None:
        return queryset
    return queryset.filter(Q(port_id__in=ports) | Q(hotlist__owner_id__in=owners))


def alarm_get(viewer: Any, alarm_id) -> Alarm:
    return one_or_404(alarms_visible_to(viewer), pk=alarm_id)


def alarms_matching(
    viewer: Any,
    *,
    state: str | None = None,
    kind: str | None = None,
    port: str | None = None,
    rule=None,
    hotlist=None,
    open: bool | None = None,
) -> QuerySet[Alarm]:
    """The viewer's alarms narrowed by the history's filters; a state or kind that does not
    exist is refused (Invalid naming it) rather than answered with nothing."""
    if state and state not in AlarmState.values:
        raise Invalid(
            _("“%(value)s” is not a state of an alarm; one of: %(values)s")
            % {"value": state, "values": ", ".join(AlarmState.values)},
            field="state",
        )
    if kind and kind not in RuleKind.values:
        raise Invalid(
            _("“%(value)s” is not a kind of alarm; one of: %(values)s")
            % {"value": kind, "values": ", ".join(RuleKind.values)},
            field="kind",
        )
    alarms = alarms_visible_to(viewer)
    if state:
        alarms = alarms.filter(state=state)
    if kind:
        alarms = alarms.filter(kind=kind)
    if open:
        alarms = alarms.exclude(state=AlarmState.CLOSED)
    if port:
        alarms = alarms.filter(port__locode=port.strip().upper())
    if rule:
        alarms = alarms.filter(rule_id=rule)
    if hotlist:
        alarms = alarms.filter(hotlist_id=hotlist)
    return alarms


def may_handle(viewer: Any, alarm: Alarm) -> bool:
    ports = port_ids_for(viewer, Perm.DETECTION_ALARM_HANDLE)
    return ports is None or alarm.port_id in ports


def alarm_timeline(viewer: Any, alarm: Alarm) -> list[tuple]:
    """(moment, kind, text, user, event) of the alarm, oldest first: its newest linked events
    (TIMELINE_EVENTS of them) and every entry, the engine's codes in the reader's words."""
    alarm_get(viewer, alarm.pk)  # the caller's alarm must be visible to the caller
    newest = alarm.links.order_by("-at", "-id").values_list("event_uid", flat=True)
    uids = list(newest[:TIMELINE_EVENTS])
    events = {e.uid: e for e in Event.objects.filter(uid__in=uids).select_related("zone")}
    rows = [(e.at, "event", "", None, events.get(link)) for link in uids if (e := events.get(link))]
    rows += [
        (entry.at, entry.kind, entry_text(entry.kind, entry.text), entry.user, None)
        for entry in alarm.entries.select_related("user")
    ]
    rows.sort(key=lambda row: row[0])
    return rows


def deliveries_of(viewer: Any, alarm: Alarm) -> QuerySet[Delivery]:
    alarm_get(viewer, alarm.pk)
    return alarm.deliveries.select_related("user").order_by("created_at")


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Metres between two nearby points (equirectangular: exact enough inside a port)."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6_371_000 * math.hypot(x, y)


def nearest_camera(viewer: Any, alarm: Alarm) -> tuple[Device, float] | None:
    """(camera, metres): the active camera of the alarm's port, among those the viewer sees on
    the map, closest to where the alarm is (its position, else its device's)."""
    alarm_get(viewer, alarm.pk)
    if alarm.latitude is not None and alarm.longitude is not None:
        where = (alarm.latitude, alarm.longitude)
    else:
        where = alarm.device.position() if alarm.device else None
    if where is None:
        return None
    best = None
    cameras = site_selectors.devices_of(viewer, alarm.port).filter(
        kind__in=CAMERA_KINDS, active=True
    )
    for camera in cameras.order_by("code"):
        position = camera.position()
        if position is None:
            continue
        metres = _distance_m(where[0], where[1], position[0], position[1])
        if best is None or metres < best[1]:
            best = (camera, metres)
    return best


def events_visible_to(viewer: Any) -> QuerySet[Event]:
    return _ports(Event.objects.select_related("zone", "port"), viewer, Perm.DETECTION_ALARM_VIEW)


def rules_visible_to(viewer: Any) -> QuerySet[Rule]:
    return _ports(
        Rule.objects.select_related("port", "zone", "schedule", "procedure"),
        viewer,
        Perm.DETECTION_RULE_MANAGE,
    )


def rule_get(viewer: Any, rule_id) -> Rule:
    return one_or_404(rules_visible_to(viewer), pk=rule_id)


def contacts_of(viewer: Any, rule: Rule) -> QuerySet[Contact]:
    rule_get(viewer, rule.pk)
    return rule.contacts.select_related("user", "user__person", "rule__port")


def contact_get(viewer: Any, rule: Rule, contact_id) -> Contact:
    return one_or_404(contacts_of(viewer, rule), pk=contact_id)


def contact_users(viewer: Any, rule: Rule) -> QuerySet:
    """Whom a rule's alarms may reach: active users of the organisations of the rule's port."""
    from port2port.core.models import User

    ports = port_ids_for(viewer, Perm.DETECTION_RULE_MANAGE)
    if ports is not None and rule.port_id not in ports:
        return User.objects.none()
    return (
        User.objects.filter(is_active=True, memberships__organisation__ports=rule.port_id)
        .select_related("person")
        .distinct()
        .order_by("username")
    )


def procedures_visible_to(viewer: Any) -> QuerySet[Procedure]:
    return _ports(Procedure.objects.select_related("port"), viewer, Perm.DETECTION_RULE_MANAGE)


def procedure_get(viewer: Any, procedure_id) -> Procedure:
    return one_or_404(procedures_visible_to(viewer), pk=procedure_id)


def flights_visible_to(viewer: Any) -> QuerySet[AuthorisedFlight]:
    return _ports(
        AuthorisedFlight.objects.select_related("port", "zone"),
        viewer,
        Perm.DETECTION_RULE_MANAGE,
    )


def hotlists_visible_to(viewer: Any) -> QuerySet[Hotlist]:
    """Lists the viewer's organisation keeps, and those bound to a port it sets up."""
    owners = hotlist_owners(viewer)
    if owners is None:
        return Hotlist.objects.select_related("owner", "port")
    ports = port_ids_for(viewer, Perm.DETECTION_RULE_MANAGE)
    condition = Q(owner_id__in=owners)
    if ports is None:
        condition |= Q(port__isnull=False)
    elif ports:
        condition |= Q(port_id__in=ports)
    return Hotlist.objects.filter(condition).select_related("owner", "port")


def hotlist_get(viewer: Any, hotlist_id) -> Hotlist:
    return one_or_404(hotlists_visible_to(viewer), pk=hotlist_id)


def entries_of(viewer: Any, hotlist: Hotlist) -> QuerySet[HotlistEntry]:
    hotlist_get(viewer, hotlist.pk)
    return hotlist.entries.all()


def flight_get(viewer: Any, flight_id) -> AuthorisedFlight:
    return one_or_404(flights_visible_to(viewer), pk=flight_id)


def may_read_dead_letters(viewer: Any) -> bool:
    """Whoever sets up detection somewhere reads the dead letters of those ports."""
    return may_set_up(viewer)


def dead_letters_visible_to(viewer: Any) -> QuerySet[DeadLetter]:
    """Platform admins: all. Who sets up detection in a port: the dead letters of that port (a
    national body with the permission: of every port); a dead letter of no known port: admins."""
    letters = DeadLetter.objects.select_related("port")
    if reach(viewer, Perm.DETECTION_RULE_MANAGE).everything:
        return letters
    ports = port_ids_for(viewer, Perm.DETECTION_RULE_MANAGE)
    if ports is None:
        return letters.filter(port__isnull=False)
    return letters.filter(port_id__in=ports)
