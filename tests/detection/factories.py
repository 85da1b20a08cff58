"""A small detection world: a port with an area, a quay zone, a gate and one device of each kind."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from port2port.core.models import Organisation, OrganisationKind, Port
from port2port.detection.models import Procedure, Rule, RuleKind
from port2port.sites.models import Area, Device, DeviceKind, Gate, Zone
from tests.core.factories import OrganisationFactory, PortFactory

LON, LAT = 3.20, 51.33


def square(lon: float, lat: float, half: float) -> dict:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


@dataclass
class World:
    port: Port
    authority: Organisation
    area: Area
    quay: Zone
    restricted: Zone
    gate: Gate
    devices: dict


def world(locode: str | None = None, lon: float = LON, lat: float = LAT) -> World:
    port = PortFactory(locode=locode) if locode else PortFactory()
    authority = OrganisationFactory(kind=OrganisationKind.PORT_AUTHORITY, ports=[port])
    area = Area.objects.create(
        port=port, code=f"{port.locode}-A", name="Harbour", geometry=square(lon, lat, 0.05)
    )
    quay = Zone.objects.create(
        port=port, code=f"{port.locode}-QUAY", name="Quay", geometry=square(lon, lat, 0.01)
    )
    restricted = Zone.objects.create(
        port=port,
        code=f"{port.locode}-LNG",
        name="LNG basin",
        geometry=square(lon + 0.03, lat + 0.03, 0.01),
        restricted=True,
    )
    gate = Gate.objects.create(
        port=port, code=f"{port.locode}-G1", name="Gate 1", geometry=point(lon, lat)
    )
    gate.leads_into.set([quay])
    devices = {}
    for kind, suffix, zone in (
        (DeviceKind.ANPR, "ANPR1", quay),
        (DeviceKind.AI_CAMERA, "AI1", quay),
        (DeviceKind.THERMAL, "THERM1", quay),
        (DeviceKind.FENCE, "FENCE1", quay),
        (DeviceKind.DRONE_DETECTOR, "DRONE1", None),
        (DeviceKind.AIS_RECEIVER, "AIS1", None),
    ):
        devices[suffix] = Device.objects.create(
            port=port,
            code=f"{port.locode}-{suffix}",
            name=suffix,
            kind=kind,
            geometry=point(lon + 0.001, lat),
            owner=authority,
            zone=zone,
            gate=gate if kind == DeviceKind.ANPR else None,
        )
    return World(port, authority, area, quay, restricted, gate, devices)


def rule(w: World, kind: str, **fields) -> Rule:
    from port2port.detection.state import changed

    fields.setdefault("name", kind)
    fields.setdefault("priority", 50)
    result = Rule.objects.create(port=w.port, kind=kind, **fields)
    changed()
    return result


def procedure(w: World, *steps: str) -> Procedure:
    return Procedure.objects.create(port=w.port, name="SOP", steps=list(steps))


def sensor(kind: str, device: str, at: datetime, ident: str, **more) -> str:
    message = {"type": kind, "id": ident, "device": device, "at": at.isoformat(), **more}
    return json.dumps(message)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


__all__ = ["RuleKind", "World", "point", "procedure", "rule", "sensor", "square", "utc", "world"]
