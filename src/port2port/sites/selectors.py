"""The one read path of sites: a viewer sees the map of the ports of their organisations.

Organisations above every port (NAMB, CMB, national services, federal police, customs) see every
port; platform admins too.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from port2port.core.errors import NotFound
from port2port.core.models import Organisation, OrganisationKind, Port
from port2port.core.roles import Perm
from port2port.core.visibility import one_or_404, reach

from .models import Area, Device, Facility, Gate, Zone


def port_ids_for(viewer: Any, perm: Perm = Perm.SITES_SITE_VIEW) -> frozenset | None:
    """Ports in which `viewer` may use `perm`; None means every port."""
    result = reach(viewer, perm)
    if result.everything:
        return None
    if not result:
        return frozenset()
    orgs = Organisation.objects.filter(pk__in=result.org_ids).prefetch_related("ports")
    ports: set = set()
    for organisation in orgs:
        own = {p.pk for p in organisation.ports.all()}
        if not own:  # a national body: the whole map
            return None
        ports |= own
    return frozenset(ports)


def _in_ports(queryset: QuerySet, viewer: Any, field: str = "port_id") -> QuerySet:
    ports = port_ids_for(viewer)
    return queryset if ports is None else queryset.filter(**{f"{field}__in": ports})


def ports_visible_to(viewer: Any) -> QuerySet[Port]:
    return _in_ports(Port.objects.all(), viewer, "pk")


def port_get(viewer: Any, locode: str) -> Port:
    port = ports_visible_to(viewer).filter(locode=(locode or "").upper()).first()
    if port is None:
        raise NotFound(_("port not found"))
    return port


def areas_of(viewer: Any, port: Port) -> QuerySet[Area]:
    return _in_ports(Area.objects.filter(port=port), viewer)


def facilities_of(viewer: Any, port: Port) -> QuerySet[Facility]:
    return _in_ports(Facility.objects.filter(port=port).select_related("operator", "area"), viewer)


def zones_of(viewer: Any, port: Port) -> QuerySet[Zone]:
    return _in_ports(Zone.objects.filter(port=port).select_related("parent", "facility"), viewer)


def gates_of(viewer: Any, port: Port) -> QuerySet[Gate]:
    return _in_ports(Gate.objects.filter(port=port).prefetch_related("leads_into"), viewer)


def gate_get(viewer: Any, code: str) -> Gate:
    gate = _in_ports(Gate.objects.all(), viewer).filter(code=code).first()
    if gate is None:
        raise NotFound(_("gate not found"))
    return gate


def site_get(viewer: Any, model, site_id):
    return one_or_404(_in_ports(model.objects.all(), viewer), pk=site_id)


def may_change(viewer: Any, port: Port, facility: Facility | None = None) -> bool:
    """Port authority staff change every site of their port; a facility's operator its own
    facility, zones and gates; platform admins everything."""
    change = reach(viewer, Perm.SITES_SITE_CHANGE)
    if change.everything:
        return True
    if Organisation.objects.filter(
        pk__in=change.org_ids, kind=OrganisationKind.PORT_AUTHORITY, ports=port
    ).exists():
        return True
    return facility is not None and facility.operator_id in change.org_ids


def may_change_device(viewer: Any, device) -> bool:
    """Port authority staff change every device of their port; a facility's operator the
    devices it owns in its own facility (not those of police or the port in its zones)."""
    if not may_change(viewer, device.port, device.zone.facility if device.zone else None):
        return False
    if may_change(viewer, device.port):
        return True
    return device.owner_id in reach(viewer, Perm.SITES_SITE_CHANGE).org_ids


def port_map(viewer: Any, port: Port) -> dict:
    """The port as one GeoJSON FeatureCollection for the map page."""
    features = []

    def add(kind: str, obj, **properties):
        features.append(
            {
                "type": "Feature",
                "id": str(obj.pk),
                "geometry": obj.geometry,
                "properties": {"kind": kind, "code": obj.code, "name": obj.name, **properties},
            }
        )

    for area in areas_of(viewer, port):
        add("area", area)
    for facility in facilities_of(viewer, port):
        add("facility", facility, operator=facility.operator.name)
    for zone in zones_of(viewer, port):
        add(
            "zone",
            zone,
            restricted=zone.restricted,
            critical=zone.critical,
            parent=zone.parent.code if zone.parent else "",
        )
    for gate in gates_of(viewer, port):
        add("gate", gate, gate_kind=gate.kind, leads_into=[z.code for z in gate.leads_into.all()])
    return {"type": "FeatureCollection", "features": features}


def devices_of(viewer: Any, port: Port) -> QuerySet[Device]:
    return _in_ports(
        Device.objects.filter(port=port).select_related("zone", "gate", "owner"), viewer
    )


def device_get(viewer: Any, device_id) -> Device:
    """One device of the ports `viewer` sees; any other answers NotFound."""
    return one_or_404(
        _in_ports(Device.objects.select_related("port", "zone", "gate", "owner"), viewer),
        pk=device_id,
    )
