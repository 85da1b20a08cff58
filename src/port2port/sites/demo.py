"""Demo map of the Belgian ports: areas, ISPS facilities, nested zones and gates (approximate)."""

from __future__ import annotations

from port2port.core import audit
from port2port.core.models import Organisation, Port

from .geojson import rectangle, validate_geometry
from .models import Area, Facility, Gate, GateKind, Zone

# port, area code/name, centre (lon, lat), facilities: (code, name, operator short name, offset)
MAP = [
    (
        "BEANR",
        "LINKEROEVER",
        "Left bank (Waasland)",
        (4.255, 51.28),
        [
            ("BEANR-0913", "Deurganck Gateway Terminal", "DGT", (0.0, 0.01)),
            ("BEANR-0869", "Scheldt Container Terminal", "SCT", (0.03, -0.01)),
        ],
    ),
    (
        "BEZEE",
        "WESTERN-PORT",
        "Western port",
        (3.19, 51.335),
        [
            ("BEZEE-0001", "Zeebrugge Short Sea Terminal", "ZSST", (0.0, 0.0)),
            ("BEZEE-0002", "Zeebrugge Car Terminal", "ZCT", (0.02, -0.01)),
        ],
    ),
    (
        "BEGNE",
        "KLUIZENDOK",
        "Kluizendok",
        (3.765, 51.155),
        [("BEGNE-0101", "Ghent Bulk & Container Terminal", "GBCT", (0.0, 0.0))],
    ),
    (
        "BEOST",
        "OOSTEROEVER",
        "East bank",
        (2.935, 51.23),
        [("BEOST-0001", "Ostend Ro-Ro Terminal", "ORT", (0.0, 0.0))],
    ),
    (
        "BEBRU",
        "VERGOTE",
        "Vergote dock",
        (4.36, 50.87),
        [("BEBRU-0001", "Brussels Trimodal Terminal", "BTT", (0.01, 0.0))],
    ),
    (
        "BELGG",
        "TRILOGIPORT",
        "Trilogiport",
        (5.635, 50.71),
        [("BELGG-0001", "Liège Trilogiport Terminal", "LTT", (0.0, 0.0))],
    ),
    (
        "BEGNK",
        "GENK-ZUID",
        "Genk south",
        (5.49, 50.95),
        [("BEGNK-0001", "Genk Inland Container Terminal", "GICT", (0.0, 0.0))],
    ),
]


def seed_sites_demo() -> int:
    created = 0
    orgs = {o.short_name: o for o in Organisation.objects.all()}
    for locode, area_code, area_name, (lon, lat), facilities in MAP:
        port = Port.objects.filter(locode=locode).first()
        if port is None or Area.objects.filter(port=port, code=area_code).exists():
            continue
        area = Area.objects.create(
            port=port, code=area_code, name=area_name, geometry=rectangle(lon, lat, 0.12, 0.06)
        )
        audit.record(None, "demo.area.created", area)
        created += 1
        for code, name, short, (dx, dy) in facilities:
            if short not in orgs:
                continue
            flon, flat = lon + dx, lat + dy
            facility = Facility.objects.create(
                port=port,
                code=code,
                name=name,
                operator=orgs[short],
                area=area,
                geometry=rectangle(flon, flat, 0.03, 0.015),
            )
            yard = Zone.objects.create(
                port=port,
                code=f"{code}-YARD",
                name=f"{name}: container yard",
                facility=facility,
                restricted=True,
                geometry=rectangle(flon, flat, 0.025, 0.012),
            )
            quay = Zone.objects.create(
                port=port,
                code=f"{code}-QUAY",
                name=f"{name}: quay apron",
                facility=facility,
                parent=yard,
                restricted=True,
                geometry=rectangle(flon, flat + 0.004, 0.02, 0.003),
            )
            reefer = Zone.objects.create(
                port=port,
                code=f"{code}-REEFER",
                name=f"{name}: reefer stack",
                facility=facility,
                parent=yard,
                restricted=True,
                critical=True,
                geometry=rectangle(flon + 0.006, flat - 0.003, 0.006, 0.003),
            )
            office = Zone.objects.create(
                port=port,
                code=f"{code}-OFFICE",
                name=f"{name}: gate office",
                facility=facility,
                geometry=rectangle(flon - 0.011, flat - 0.005, 0.003, 0.002),
            )
            for n, (gate_kind, zones, gx) in enumerate(
                [
                    (GateKind.BOTH, [office, yard], -0.0125),
                    (GateKind.ENTRY, [quay], 0.0),
                    (GateKind.BOTH, [reefer], 0.006),
                ],
                start=1,
            ):
                gate = Gate.objects.create(
                    port=port,
                    code=f"{code}-G{n}",
                    name=f"{name}: gate {n}",
                    facility=facility,
                    kind=gate_kind,
                    geometry=validate_geometry(
                        {"type": "Point", "coordinates": [flon + gx, flat - 0.006 + 0.001 * n]}
                    ),
                )
                gate.leads_into.set(zones)
            created += 1
            audit.record(None, "demo.facility.created", facility)
    return created
