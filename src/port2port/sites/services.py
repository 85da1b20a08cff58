"""The only write path of sites: create and change areas, facilities, zones and gates (audited).

Port authority staff (PSO, port authority officer) change every site of their ports; a facility's
own security officers change that facility, its zones and its gates; platform admins everything.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from port2port.core import audit
from port2port.core.errors import Conflict, Forbidden, Invalid
from port2port.core.models import Organisation, Port
from port2port.core.roles import Perm
from port2port.core.visibility import reach

from .geojson import validate_geometry
from .models import Area, Device, DeviceKind, Facility, Gate, GateKind, Zone
from .selectors import may_change, may_change_device


def _require_change(actor: Any, port: Port, facility: Facility | None = None) -> None:
    if not may_change(actor, port, facility):
        raise Forbidden(_("you may not change the sites of this port"))


def _geometry(value: Any) -> dict:
    try:
        return validate_geometry(value)
    except ValueError as exc:
        raise Invalid(str(exc), field="geometry") from exc


def _text(value: Any, field: str, limit: int) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        raise Invalid(_("this field is required"), field=field)
    if len(text) > limit:
        raise Invalid(_("at most %(n)s characters") % {"n": limit}, field=field)
    return text


def _full_clean(obj) -> None:
    """The model's own field checks, as an Invalid naming the first field that fails."""
    try:
        obj.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        name, messages = next(iter(exc.message_dict.items()))
        raise Invalid(messages[0], field=name) from exc


def _save(obj, actor: Any, action: str, details: dict | None = None):
    _full_clean(obj)
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise Conflict(_("this code is already used"), field="code") from exc
    _map_changed()
    audit.record(
        actor, action, obj, details={"port": obj.port.locode, "code": obj.code, **(details or {})}
    )
    return obj


def _map_changed() -> None:
    """Gates decide on the map (zones, gates, areas): every node reloads it within a second."""
    from port2port.access.snapshot import change_record

    change_record(None)
    from port2port.detection.state import changed

    changed()  # detection indexes zones, areas and gates too


@transaction.atomic
def area_anti_passback_set(*, actor: Any, area: Area, mode: str, timeout_minutes: int) -> Area:
    """Anti-passback of an area: off, soft (logged and alarmed) or hard (refused)."""
    from .models import AntiPassback

    _require_change(actor, area.port)
    if mode not in AntiPassback.values:
        raise Invalid(_("“%(value)s” is not off, soft or hard") % {"value": mode}, field="mode")
    if not isinstance(timeout_minutes, int) or not 1 <= timeout_minutes <= 7 * 24 * 60:
        raise Invalid(_("the presence timeout is 1 minute to 7 days"), field="timeout_minutes")
    before = (area.anti_passback, area.presence_timeout)
    area.anti_passback, area.presence_timeout = mode, timeout_minutes
    area.save(update_fields=["anti_passback", "presence_timeout"])
    _map_changed()
    audit.record(
        actor,
        "sites.area.anti_passback_set",
        area,
        details={
            "port": area.port.locode,
            "before": list(before),
            "mode": mode,
            "timeout_minutes": timeout_minutes,
        },
    )
    return area


@transaction.atomic
def area_create(*, actor: Any, port: Port, code: str, name: str, geometry: dict) -> Area:
    _require_change(actor, port)
    area = Area(
        port=port,
        code=_text(code, "code", 40),
        name=_text(name, "name", 200),
        geometry=_geometry(geometry),
    )
    return _save(area, actor, "sites.area.created")


@transaction.atomic
def facility_create(
    *,
    actor: Any,
    port: Port,
    code: str,
    name: str,
    geometry: dict,
    operator: Organisation,
    area: Area | None = None,
) -> Facility:
    _require_change(actor, port)
    if area is not None and area.port_id != port.pk:
        raise Invalid(_("the area lies in another port"), field="area")
    facility = Facility(
        port=port,
        code=_text(code, "code", 40),
        name=_text(name, "name", 200),
        geometry=_geometry(geometry),
        operator=operator,
        area=area,
    )
    return _save(facility, actor, "sites.facility.created", {"operator": operator.name})


@transaction.atomic
def zone_create(
    *,
    actor: Any,
    port: Port,
    code: str,
    name: str,
    geometry: dict,
    facility: Facility | None = None,
    parent: Zone | None = None,
    restricted: bool = False,
    critical: bool = False,
) -> Zone:
    _require_change(actor, port, facility)
    for other, field in ((facility, "facility"), (parent, "parent")):
        if other is not None and other.port_id != port.pk:
            raise Invalid(_("it lies in another port"), field=field)
    zone = Zone(
        port=port,
        code=_text(code, "code", 40),
        name=_text(name, "name", 200),
        geometry=_geometry(geometry),
        facility=facility,
        parent=parent,
        restricted=bool(restricted or critical),  # a critical-function zone is always restricted
        critical=bool(critical),
    )
    return _save(
        zone,
        actor,
        "sites.zone.created",
        {"restricted": zone.restricted, "critical": zone.critical},
    )


@transaction.atomic
def zone_update(*, actor: Any, zone: Zone, **fields) -> Zone:
    _require_change(actor, zone.port, zone.facility)
    allowed = {"name", "geometry", "restricted", "critical", "parent"}
    unknown = set(fields) - allowed
    if unknown:
        raise Invalid(
            _("unknown field %(field)s") % {"field": sorted(unknown)[0]}, field=sorted(unknown)[0]
        )
    if "name" in fields:
        zone.name = _text(fields["name"], "name", 200)
    if "geometry" in fields:
        zone.geometry = _geometry(fields["geometry"])
    if "parent" in fields:
        parent = fields["parent"]
        if parent is not None and (parent.pk == zone.pk or zone in parent.ancestors()):
            raise Invalid(_("a zone cannot lie inside itself"), field="parent")
        if parent is not None and parent.port_id != zone.port_id:
            raise Invalid(_("it lies in another port"), field="parent")
        zone.parent = parent
    if "critical" in fields:
        zone.critical = bool(fields["critical"])
    if "restricted" in fields:
        zone.restricted = bool(fields["restricted"])
    zone.restricted = zone.restricted or zone.critical
    return _save(zone, actor, "sites.zone.updated", {"fields": sorted(fields)})


@transaction.atomic
def gate_create(
    *,
    actor: Any,
    port: Port,
    code: str,
    name: str,
    geometry: dict,
    leads_into: list[Zone],
    kind: str = GateKind.BOTH,
    facility: Facility | None = None,
) -> Gate:
    _require_change(actor, port, facility)
    if kind not in GateKind.values:
        raise Invalid(_("“%(value)s” is not a gate kind") % {"value": kind}, field="kind")
    if not leads_into:
        raise Invalid(_("a gate leads into at least one zone"), field="leads_into")
    if any(z.port_id != port.pk for z in leads_into):
        raise Invalid(_("a zone lies in another port"), field="leads_into")
    gate = Gate(
        port=port,
        code=_text(code, "code", 40),
        name=_text(name, "name", 200),
        geometry=_geometry(geometry),
        kind=kind,
        facility=facility,
    )
    gate = _save(gate, actor, "sites.gate.created", {"zones": [z.code for z in leads_into]})
    gate.leads_into.set(leads_into)
    return gate


DEVICE_TOKEN_PREFIX = "dv"  # noqa: S105 (a prefix, not a secret)


def _device_rules(
    *,
    port: Port,
    kind: str,
    geometry: Any,
    zone: Zone | None,
    gate: Gate | None,
    silent_after: Any,
) -> dict:
    """What `device_create` and `device_update` both check; returns the geometry as validated."""
    for other, field in ((zone, "zone"), (gate, "gate")):
        if other is not None and other.port_id != port.pk:
            raise Invalid(_("it lies in another port"), field=field)
    if gate is not None and kind != DeviceKind.ANPR:
        raise Invalid(_("only an ANPR camera watches a gate"), field="gate")
    if (
        isinstance(silent_after, bool)
        or not isinstance(silent_after, int)
        or not 0 <= silent_after <= 7 * 24 * 60
    ):
        raise Invalid(_("between 0 and 10080 minutes"), field="silent_after")
    return _geometry(geometry)


def _require_device_change(actor: Any, device: Device) -> None:
    if not may_change_device(actor, device):
        raise Forbidden(_("you may not change this device"))


def _device_owner(
    actor: Any, port: Port, owner: Any, *, zone: Zone | None, gate: Gate | None
) -> None:
    """Who may own a device: an organisation of its port. Port authority staff give a device to
    any of them; a facility's operator registers devices of its own facility as its own (it may
    not hand a device, and with it the device's token, to somebody else)."""
    if not isinstance(owner, Organisation):
        raise Invalid(_("this field is required"), field="owner")
    if not owner.ports.filter(pk=port.pk).exists():
        raise Invalid(_("the owner is not an organisation of this port"), field="owner")
    if may_change(actor, port):
        return
    operators = {
        site.facility.operator_id
        for site in (zone, gate)
        if site is not None and site.facility is not None
    }
    if owner.pk not in operators:
        raise Forbidden(_("only the port authority gives a device to another organisation"))


def _device_changed() -> None:
    """Ingest workers index devices by code: tell them to reload."""
    from port2port.detection.state import changed

    changed()


@transaction.atomic
def device_create(
    *,
    actor: Any,
    port: Port,
    code: str,
    name: str,
    kind: str,
    geometry: dict,
    owner: Organisation,
    zone: Zone | None = None,
    gate: Gate | None = None,
    silent_after: int = 15,
) -> Device:
    """Register a camera, fence segment, drone detector or AIS receiver of a port."""
    facility = zone.facility if zone is not None else None
    _require_change(actor, port, facility)
    if gate is not None:
        _require_change(actor, port, gate.facility)
    if kind not in DeviceKind.values:
        raise Invalid(_("“%(value)s” is not a kind of device") % {"value": kind}, field="kind")
    geometry = _device_rules(
        port=port, kind=kind, geometry=geometry, zone=zone, gate=gate, silent_after=silent_after
    )
    _device_owner(actor, port, owner, zone=zone, gate=gate)
    device = Device(
        port=port,
        code=_text(code, "code", 40),
        name=_text(name, "name", 200),
        kind=kind,
        geometry=geometry,
        owner=owner,
        zone=zone,
        gate=gate,
        silent_after=silent_after,
    )
    return _save(device, actor, "sites.device.created", {"kind": kind, "owner": owner.name})


DEVICE_EDITABLE = ("name", "geometry", "zone", "gate", "silent_after", "owner")


@transaction.atomic
def device_update(*, actor: Any, device: Device, **fields) -> Device:
    """Change where a device is, what it watches, who owns it and when it counts as silent.

    Its code (the name it uses in its messages) and its kind stay: register another device for
    those. The rules are those of `device_create`, checked on the device as it would become.
    """
    _require_device_change(actor, device)
    unknown = sorted(set(fields) - set(DEVICE_EDITABLE))
    if unknown:
        raise Invalid(_("unknown field %(field)s") % {"field": unknown[0]}, field=unknown[0])
    new = {name: fields.get(name, getattr(device, name)) for name in DEVICE_EDITABLE}
    if "zone" in fields and new["zone"] != device.zone:
        # A device moves only to where the actor may change too (a facility operator: a zone of
        # their own facility; the port authority: anywhere in the port).
        _require_change(actor, device.port, new["zone"].facility if new["zone"] else None)
    if "gate" in fields and new["gate"] != device.gate:
        # The same for the gate it watched and the one it will watch.
        for gate in (device.gate, new["gate"]):
            if gate is not None:
                _require_change(actor, device.port, gate.facility)
    if "name" in fields:
        new["name"] = _text(new["name"], "name", 200)
    new["geometry"] = _device_rules(
        port=device.port,
        kind=device.kind,
        geometry=new["geometry"],
        zone=new["zone"],
        gate=new["gate"],
        silent_after=new["silent_after"],
    )
    if new["owner"] != device.owner:
        _device_owner(actor, device.port, new["owner"], zone=new["zone"], gate=new["gate"])
    changed = [name for name in DEVICE_EDITABLE if new[name] != getattr(device, name)]
    for name in changed:
        setattr(device, name, new[name])
    if changed:
        _full_clean(device)
        device.save(update_fields=changed)
        _device_changed()
    audit.record(
        actor,
        "sites.device.updated",
        device,
        details={"port": device.port.locode, "code": device.code, "fields": changed},
    )
    return device


@transaction.atomic
def device_active_set(*, actor: Any, device: Device, active: bool) -> Device:
    """Switch a device off (its messages are refused and it is no longer watched) or on."""
    _require_device_change(actor, device)
    switched_on = bool(active) and not device.active
    device.active = bool(active)
    if switched_on:
        # Silence counts from now: the time it was off is not the device's fault.
        device.watched_since = timezone.now()
    device.save(update_fields=["active", "watched_since"] if switched_on else ["active"])
    _device_changed()
    audit.record(
        actor,
        "sites.device.active_set",
        device,
        details={"port": device.port.locode, "code": device.code, "active": device.active},
    )
    return device


@transaction.atomic
def device_token_issue(*, actor: Any, device: Device) -> str:
    """A new token for the device (the old one stops working); the secret is shown once."""
    import hashlib
    import secrets

    _require_change(actor, device.port, device.zone.facility if device.zone else None)
    change = reach(actor, Perm.SITES_SITE_CHANGE)
    if not (change.everything or device.owner_id in change.org_ids):
        raise Forbidden(_("only the device's owner issues its token"))
    prefix = secrets.token_hex(5)
    secret = f"{DEVICE_TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    device.token_prefix = prefix
    device.token_hash = hashlib.sha256(secret.encode()).hexdigest()
    device.save(update_fields=["token_prefix", "token_hash"])
    audit.record(
        actor,
        "sites.device.token_issued",
        device,
        details={"port": device.port.locode, "code": device.code, "prefix": prefix},
    )
    return secret


def device_authenticate(secret: str) -> Device | None:
    """The active device a token belongs to, or None (constant-time on the stored hash)."""
    import hashlib
    import hmac

    parts = (secret or "").split("_", 2)  # the secret itself may hold "_"
    if len(parts) != 3 or parts[0] != DEVICE_TOKEN_PREFIX or not parts[1]:
        return None
    device = Device.objects.filter(token_prefix=parts[1], active=True).first()
    if device is None or not device.token_hash:
        return None
    digest = hashlib.sha256(secret.encode()).hexdigest()
    return device if hmac.compare_digest(digest, device.token_hash) else None
