"""The demo's detection network: cameras, fences, thermal cameras, drone detectors and AIS
receivers in every port, the rules of each control room, procedures, hotlists and an authorised
drone flight. `port2port simulate` (started by `make demo`) then makes it live."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from port2port.access.models import Schedule
from port2port.core.models import Organisation, OrganisationKind, Port, User
from port2port.sites.models import Area, Device, DeviceKind, Facility, Gate, Zone

from .models import AuthorisedFlight, Contact, Hotlist, HotlistEntry, Procedure, Rule, RuleKind
from .state import changed

PROCEDURES = {
    "perimeter": (
        "Perimeter intrusion",
        [
            "Look at the nearest camera and confirm what is there",
            "Send the patrol to the fence segment",
            "Call the shipping police when a person is confirmed",
            "Inform the PFSO of the terminal",
            "Check the fence after the patrol's report",
        ],
    ),
    "hotlist": (
        "Hotlist hit",
        [
            "Compare the camera image with the plate on the list",
            "Call the shipping police with plate, camera and time",
            "Keep the vehicle in view on the cameras",
        ],
    ),
    "drone": (
        "Unauthorised drone",
        [
            "Locate the pilot on the detector's map",
            "Warn the terminals under the flight path",
            "Call the police drone team",
        ],
    ),
    "vessel": (
        "Vessel anomaly",
        [
            "Call the vessel on VHF",
            "Inform the Vessel Traffic Centre",
            "Send the patrol vessel when there is no answer",
        ],
    ),
}

# kind, name, priority, extra fields; the procedure key
RULES = [
    (RuleKind.HOTLIST, "Hotlist hits", 10, {}, "hotlist"),
    (RuleKind.PERIMETER, "Quay perimeter (always armed)", 40, {"zone": "QUAY"}, "perimeter"),
    (
        RuleKind.PERIMETER,
        "Yard fence outside working hours",
        60,
        {"zone": "YARD", "schedule": True},
        "perimeter",
    ),
    (RuleKind.GATE_NO_RIGHT, "Truck at a gate without a right", 80, {}, None),
    (RuleKind.DRONE, "Drone without authorised flight", 20, {}, "drone"),
    (RuleKind.VESSEL_ZONE, "Vessel in a restricted zone", 30, {}, "vessel"),
    (RuleKind.VESSEL_SILENT, "Vessel stopped sending AIS", 70, {"minutes": 30}, "vessel"),
    (RuleKind.GATE_REFUSALS, "Refusals at one gate", 90, {"count": 5, "minutes": 10}, None),
    (RuleKind.DEVICE_SILENT, "Silent device", 100, {}, None),
]

STOLEN = [
    ("1ABC123", "Stolen truck (Volvo FH, white), reported 2026-11-18"),
    ("2DEF456", "Stolen tractor unit, reported 2026-11-02"),
    ("1XYZ789", "Stolen van used for container break-ins"),
    ("NL12ABC3", "Stolen trailer (NL), Europol notice"),
]
WANTED = [("1QRS555", "Vehicle linked to a cocaine extraction team")]
BANNED = [
    ("1TRK404", "Driver banned from the terminals after a gate crash, 2026-10-03"),
    ("2LDR808", "Access withdrawn: cargo theft at the quay, 2026-09-12"),
]
# Who keeps which list (organisation short name, core/demo.py), the port whose cameras check it,
# name, priority, allowed differences, plates. As services._require_hotlist wants it: an
# organisation with ports binds its lists to one of them; only a national body (no port of its
# own) keeps a list for every port's cameras.
HOTLISTS = [
    # The shipping police of Antwerp: seen by police.antwerp, hits in the control rooms of
    # Antwerp-Bruges (pso.antwerp, control.zeebrugge); the simulator's 1-ABC-123 is on it.
    ("SPN-A", "BEANR", "Stolen vehicles", 10, 0, STOLEN),
    # The National Drug Commissariat: no port of its own, so every port's cameras.
    ("NDC", None, "Vehicles of interest", 5, 1, WANTED),
    # Antwerp-Bruges' own port security (pso.antwerp keeps it) for the Zeebrugge gates.
    ("POAB", "BEZEE", "Banned from the terminals", 30, 0, BANNED),
]


def _point(geometry: dict, dx: float = 0.0, dy: float = 0.0) -> dict:
    """A point inside a zone's polygon (its first corner moved inwards)."""
    ring = geometry["coordinates"][0]
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    lon = (min(lons) + max(lons)) / 2 + dx
    lat = (min(lats) + max(lats)) / 2 + dy
    return {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}


def _line(geometry: dict) -> dict:
    ring = geometry["coordinates"][0]
    return {"type": "LineString", "coordinates": [ring[0], ring[1]]}


@transaction.atomic
def seed_detection_demo() -> int:
    created = 0
    working_hours, made = Schedule.objects.get_or_create(
        name="Working hours Mon-Sat 06:00-22:00",
        defaults={"windows": [{"day": d, "start": "06:00", "end": "22:00"} for d in range(6)]},
    )
    created += made
    for port in Port.objects.all():
        created += _devices(port)
        created += _rules(port, working_hours)
    created += _hotlists()
    created += _flights()
    if created:
        changed()
    return created


def _devices(port: Port) -> int:
    created = 0
    owner = Organisation.objects.filter(kind=OrganisationKind.PORT_AUTHORITY, ports=port).first()
    for facility in Facility.objects.filter(port=port).select_related("operator"):
        zones = {z.code.rsplit("-", 1)[-1]: z for z in Zone.objects.filter(facility=facility)}
        gate = Gate.objects.filter(code=f"{facility.code}-G1").first()
        quay, yard = zones.get("QUAY"), zones.get("YARD")
        if quay is None or yard is None:
            continue
        specs = [
            ("ANPR1", "ANPR gate 1", DeviceKind.ANPR, yard, gate, _point(yard.geometry, -0.002)),
            ("AI1", "AI camera quay", DeviceKind.AI_CAMERA, quay, None, _point(quay.geometry)),
            ("THERM1", "Thermal camera quay", DeviceKind.THERMAL, quay, None,
             _point(quay.geometry, 0.002)),
            ("FENCE1", "Fence quay north", DeviceKind.FENCE, quay, None, _line(quay.geometry)),
            ("FENCE2", "Fence yard east", DeviceKind.FENCE, yard, None, _line(yard.geometry)),
        ]  # fmt: skip
        for suffix, name, kind, zone, at_gate, geometry in specs:
            _, made = Device.objects.get_or_create(
                code=f"{facility.code}-{suffix}",
                defaults={
                    "port": port,
                    "name": f"{facility.name}: {name}",
                    "kind": kind,
                    "zone": zone,
                    "gate": at_gate,
                    "owner": facility.operator,
                    "geometry": geometry,
                    "silent_after": 30,
                },
            )
            created += made
    area = Area.objects.filter(port=port).first()
    if area is not None and owner is not None:
        for suffix, name, kind in (
            ("DRONE1", "Drone detection", DeviceKind.DRONE_DETECTOR),
            ("AIS1", "AIS receiver", DeviceKind.AIS_RECEIVER),
        ):
            _, made = Device.objects.get_or_create(
                code=f"{port.locode}-{suffix}",
                defaults={
                    "port": port,
                    "name": f"{port.name}: {name}",
                    "kind": kind,
                    "owner": owner,
                    "geometry": _point(area.geometry, 0.01, 0.01),
                    "silent_after": 30,
                },
            )
            created += made
    return created


def _rules(port: Port, working_hours: Schedule) -> int:
    if Rule.objects.filter(port=port).exists():
        return 0
    created = 0
    procedures = {}
    for key, (name, steps) in PROCEDURES.items():
        procedures[key] = Procedure.objects.create(port=port, name=name, steps=steps)
        created += 1
    first_facility = Facility.objects.filter(port=port).order_by("code").first()
    operators = _users(port, "control_room_operator")
    officers = _users(port, "port_security_officer")
    for kind, name, priority, extra, procedure in RULES:
        fields = {}
        if "zone" in extra:
            if first_facility is None:
                continue
            zone = Zone.objects.filter(code=f"{first_facility.code}-{extra['zone']}").first()
            if zone is None:
                continue
            fields["zone"] = zone
        if extra.get("schedule"):
            fields["schedule"] = working_hours
        for key in ("minutes", "count"):
            if key in extra:
                fields[key] = extra[key]
        rule = Rule.objects.create(
            port=port,
            kind=kind,
            name=name,
            priority=priority,
            procedure=procedures.get(procedure),
            escalate_seconds=120,
            **fields,
        )
        created += 1
        for user in operators:
            if user.email:
                Contact.objects.create(rule=rule, level=0, channel="email", user=user)
        for user in officers:
            if user.email:
                Contact.objects.create(rule=rule, level=1, channel="email", user=user)
    return created


def _users(port: Port, role: str) -> list[User]:
    from port2port.core.models import Membership

    memberships = Membership.objects.filter(organisation__ports=port).select_related("user")
    return list({m.user.pk: m.user for m in memberships if role in (m.roles or [])}.values())


def _hotlists() -> int:
    if Hotlist.objects.exists():
        return 0
    created = 0
    for keeper, locode, name, priority, differences, plates in HOTLISTS:
        owner = Organisation.objects.filter(short_name=keeper).prefetch_related("ports").first()
        port = Port.objects.filter(locode=locode).first() if locode else None
        if owner is None or (locode and port is None):
            continue
        own_ports = {p.pk for p in owner.ports.all()}
        if (port is None and own_ports) or (port is not None and port.pk not in own_ports):
            continue  # a list its keeper could not have made (services._require_hotlist)
        hotlist = Hotlist.objects.create(
            owner=owner, port=port, name=name, priority=priority, max_differences=differences
        )
        HotlistEntry.objects.bulk_create(
            HotlistEntry(hotlist=hotlist, plate=plate, reason=reason) for plate, reason in plates
        )
        created += 1 + len(plates)
    return created


def _flights() -> int:
    port = Port.objects.filter(locode="BEANR").first()
    if port is None or AuthorisedFlight.objects.exists():
        return 0
    start = timezone.now().replace(hour=6, minute=0, second=0, microsecond=0)
    AuthorisedFlight.objects.create(
        port=port,
        operator="Port of Antwerp-Bruges drone team (inspection flights)",
        drone_id="PAB-DRONE-01",
        starts_at=start,
        ends_at=start + timedelta(days=30),
    )
    return 1
