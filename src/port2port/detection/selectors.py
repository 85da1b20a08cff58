"""The one read path of detection.

A port's control room (and its security officers and port authority) sees the alarms, events
and devices of its ports; a national body with the permission sees every port. The owner of a
hotlist (police) sees the alarms its lists raised, wherever the camera stood. Rules, procedures
and flights are seen by those who may set them up in that port. Dead letters carry raw device
input of every port: platform admins only.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from port2port.core.roles import Perm
from port2port.core.visibility import one_or_404, reach
from port2port.sites.selectors import port_ids_for

from .models import (
    Alarm,
    AuthorisedFlight,
    DeadLetter,
    Delivery,
    Event,
    Hotlist,
    HotlistEntry,
    Procedure,
    Rule,
)


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


def may_handle(viewer: Any, alarm: Alarm) -> bool:
    ports = port_ids_for(viewer, Perm.DETECTION_ALARM_HANDLE)
    return ports is None or alarm.port_id in ports


def alarm_timeline(viewer: Any, alarm: Alarm) -> list[tuple]:
    """(moment, kind, text, user, event) of the alarm, oldest first; events come with it."""
    alarm_get(viewer, alarm.pk)  # the caller's alarm must be visible to the caller
    uids = list(alarm.links.values_list("event_uid", flat=True)[:200])
    events = {e.uid: e for e in Event.objects.filter(uid__in=uids).select_related("zone")}
    rows = [(e.at, "event", "", None, events.get(link)) for link in uids if (e := events.get(link))]
    rows += [
        (entry.at, entry.kind, entry.text, entry.user, None)
        for entry in alarm.entries.select_related("user")
    ]
    rows.sort(key=lambda row: row[0])
    return rows


def deliveries_of(viewer: Any, alarm: Alarm) -> QuerySet[Delivery]:
    alarm_get(viewer, alarm.pk)
    return alarm.deliveries.select_related("user").order_by("created_at")


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


def procedures_visible_to(viewer: Any) -> QuerySet[Procedure]:
    return _ports(Procedure.objects.select_related("port"), viewer, Perm.DETECTION_RULE_MANAGE)


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


def dead_letters_visible_to(viewer: Any) -> QuerySet[DeadLetter]:
    if reach(viewer, Perm.DETECTION_RULE_MANAGE).everything:
        return DeadLetter.objects.all()
    return DeadLetter.objects.none()
