"""Sites API: ports, their map as GeoJSON, zones and gates; creation for those who may change."""

from datetime import datetime
from uuid import UUID

from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import ConfigDict

from port2port.core.apibase import Pagination, referenced
from port2port.core.models import Organisation

from . import selectors, services
from .models import Device, Facility, Gate, Zone

router = Router(tags=["sites"])


class ZoneOut(Schema):
    id: UUID
    code: str
    name: str
    port: str = Field(alias="port.locode")
    parent: str | None = Field(None, alias="parent.code")
    facility: str | None = Field(None, alias="facility.code")
    restricted: bool
    critical: bool
    geometry: dict


class GateOut(Schema):
    id: UUID
    code: str
    name: str
    kind: str
    port: str = Field(alias="port.locode")
    leads_into: list[str]
    geometry: dict

    @staticmethod
    def resolve_leads_into(obj) -> list[str]:
        return [z.code for z in obj.leads_into.all()]


class ZoneIn(Schema):
    code: str
    name: str
    geometry: dict
    facility: UUID | None = None
    parent: UUID | None = None
    restricted: bool = False
    critical: bool = False


class GateIn(Schema):
    code: str
    name: str
    geometry: dict
    kind: str = "both"
    leads_into: list[UUID]
    facility: UUID | None = None


class FacilityIn(Schema):
    code: str
    name: str
    geometry: dict
    operator: UUID


@router.get("/ports/{locode}/map", response=dict)
def port_map(request, locode: str):
    return selectors.port_map(request.auth, selectors.port_get(request.auth, locode))


@router.get("/ports/{locode}/zones", response=list[ZoneOut])
@paginate(Pagination)
def zones(request, locode: str):
    return selectors.zones_of(
        request.auth, selectors.port_get(request.auth, locode)
    ).select_related("port")


@router.get("/ports/{locode}/gates", response=list[GateOut])
@paginate(Pagination)
def gates(request, locode: str):
    return selectors.gates_of(
        request.auth, selectors.port_get(request.auth, locode)
    ).select_related("port")


@router.post("/ports/{locode}/zones", response={201: ZoneOut})
def zone_create(request, locode: str, payload: ZoneIn):
    port = selectors.port_get(request.auth, locode)
    data = payload.dict()
    data["facility"] = (
        selectors.site_get(request.auth, Facility, data["facility"]) if data["facility"] else None
    )
    data["parent"] = (
        selectors.site_get(request.auth, Zone, data["parent"]) if data["parent"] else None
    )
    return Status(201, services.zone_create(actor=request.auth, port=port, **data))


@router.post("/ports/{locode}/gates", response={201: GateOut})
def gate_create(request, locode: str, payload: GateIn):
    port = selectors.port_get(request.auth, locode)
    data = payload.dict()
    data["facility"] = (
        selectors.site_get(request.auth, Facility, data["facility"]) if data["facility"] else None
    )
    data["leads_into"] = [selectors.site_get(request.auth, Zone, z) for z in data["leads_into"]]
    return Status(201, services.gate_create(actor=request.auth, port=port, **data))


@router.post("/ports/{locode}/facilities", response={201: dict})
def facility_create(request, locode: str, payload: FacilityIn):
    from port2port.core.selectors import organisation_get

    port = selectors.port_get(request.auth, locode)
    operator: Organisation = organisation_get(request.auth, payload.operator)
    facility = services.facility_create(
        actor=request.auth,
        port=port,
        code=payload.code,
        name=payload.name,
        geometry=payload.geometry,
        operator=operator,
    )
    return Status(201, {"id": str(facility.pk), "code": facility.code})


class DeviceOut(Schema):
    id: UUID
    code: str
    name: str
    kind: str
    port: str = Field(alias="port.locode")
    zone: str | None = Field(None, alias="zone.code")
    gate: str | None = Field(None, alias="gate.code")
    owner: UUID = Field(alias="owner_id")
    geometry: dict
    active: bool
    silent_after: int
    last_seen_at: datetime | None
    watched_since: datetime


class DeviceIn(Schema):
    model_config = ConfigDict(extra="forbid")

    code: str
    name: str
    kind: str
    geometry: dict
    owner: UUID
    zone: UUID | None = None
    gate: UUID | None = None
    silent_after: int = 15


class DevicePatch(Schema):
    """Only the fields sent change; `zone` or `gate` null takes the device out of it."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    geometry: dict | None = None
    zone: UUID | None = None
    gate: UUID | None = None
    owner: UUID | None = None
    silent_after: int | None = None


class DeviceTokenOut(Schema):
    device: str
    token: str


@router.get("/ports/{locode}/devices", response=list[DeviceOut])
@paginate(Pagination)
def devices(request, locode: str):
    return selectors.devices_of(request.auth, selectors.port_get(request.auth, locode))


@router.post("/ports/{locode}/devices", response={201: DeviceOut})
def device_create(request, locode: str, payload: DeviceIn):
    from port2port.core.selectors import organisation_get

    port = selectors.port_get(request.auth, locode)
    data = payload.dict()
    data["owner"] = _referenced(
        "owner", lambda pk: organisation_get(request.auth, pk), data["owner"]
    )
    data["zone"] = _referenced(
        "zone", lambda pk: selectors.site_get(request.auth, Zone, pk), data["zone"]
    )
    data["gate"] = _referenced(
        "gate", lambda pk: selectors.site_get(request.auth, Gate, pk), data["gate"]
    )
    return Status(201, services.device_create(actor=request.auth, port=port, **data))


@router.post("/devices/{device_id}/token", response={201: DeviceTokenOut})
def device_token(request, device_id: UUID):
    """A new token for the device; the old one stops working. Shown once."""
    device = selectors.site_get(request.auth, Device, device_id)
    secret = services.device_token_issue(actor=request.auth, device=device)
    return Status(201, {"device": device.code, "token": secret})


class DeviceActiveIn(Schema):
    active: bool


@router.post("/devices/{device_id}/active", response=DeviceOut)
def device_active(request, device_id: UUID, payload: DeviceActiveIn):
    """Switch a device off (its token no longer works, it is no longer watched) or on."""
    device = selectors.site_get(request.auth, Device, device_id)
    return services.device_active_set(actor=request.auth, device=device, active=payload.active)


def _referenced(field: str, find, value):
    """An object the body refers to by id (None: none); see core.apibase.referenced."""
    return None if value is None else referenced(field, find, value)


@router.get("/devices/{device_id}", response=DeviceOut)
def device(request, device_id: UUID):
    return selectors.device_get(request.auth, device_id)


@router.patch("/devices/{device_id}", response=DeviceOut)
def device_update(request, device_id: UUID, payload: DevicePatch):
    """Change a device's name, geometry, zone, gate, owner or silence threshold."""
    from port2port.core.selectors import organisation_get

    device = selectors.device_get(request.auth, device_id)
    changes = payload.dict(exclude_unset=True)
    finders = {
        "zone": lambda pk: selectors.site_get(request.auth, Zone, pk),
        "gate": lambda pk: selectors.site_get(request.auth, Gate, pk),
        "owner": lambda pk: organisation_get(request.auth, pk),
    }
    for field, find in finders.items():
        if field in changes:
            changes[field] = _referenced(field, find, changes[field])
    return services.device_update(actor=request.auth, device=device, **changes)
