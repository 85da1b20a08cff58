"""The Belgian demo network (`port2port seed-demo`): deterministic, idempotent, fast.

Seven ports, their authorities, terminals, companies, shipping police, customs, the LCMBs, NAMB,
CMB, the National Drug Commissariat, and people in every role. Identifiers such as VAT numbers are
made up with valid check digits; they belong to no real company.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import audit
from .models import (
    ClearanceLevel,
    Membership,
    Organisation,
    OrganisationKind,
    Person,
    Port,
    PortKind,
    User,
)
from .roles import Role

DEFAULT_DEMO_PASSWORD = "port2port-demo"  # noqa: S105 - printed for the demo on purpose

PORTS = [
    ("BEANR", "Antwerp", PortKind.SEA),
    ("BEZEE", "Zeebrugge", PortKind.SEA),
    ("BEGNE", "Ghent (North Sea Port)", PortKind.SEA),
    ("BEOST", "Ostend", PortKind.SEA),
    ("BEBRU", "Brussels", PortKind.INLAND),
    ("BELGG", "Liège", PortKind.INLAND),
    ("BEGNK", "Limburg port facilities (Genk)", PortKind.INLAND),
]

K = OrganisationKind
# name, short name, kind, ports, enterprise-number base (8 digits; check digits are computed)
ORGANISATIONS = [
    ("Port 2 Port platform operations", "P2P", K.NATIONAL_SERVICE, [], None),
    ("Port of Antwerp-Bruges", "POAB", K.PORT_AUTHORITY, ["BEANR", "BEZEE"], "02483993"),
    ("North Sea Port", "NSP", K.PORT_AUTHORITY, ["BEGNE"], "02071512"),
    ("Port of Ostend", "POO", K.PORT_AUTHORITY, ["BEOST"], "02467831"),
    ("Port of Brussels", "POB", K.PORT_AUTHORITY, ["BEBRU"], "02485671"),
    ("Port de Liège", "PAL", K.PORT_AUTHORITY, ["BELGG"], "02151243"),
    ("Limburg Port Facilities", "LPF", K.PORT_AUTHORITY, ["BEGNK"], "02201130"),
    ("Scheldt Container Terminal", "SCT", K.FACILITY_OPERATOR, ["BEANR"], "04040016"),
    ("Deurganck Gateway Terminal", "DGT", K.FACILITY_OPERATOR, ["BEANR"], "04100023"),
    ("Zeebrugge Short Sea Terminal", "ZSST", K.FACILITY_OPERATOR, ["BEZEE"], "04200035"),
    ("Zeebrugge Car Terminal", "ZCT", K.FACILITY_OPERATOR, ["BEZEE"], "04210047"),
    ("Ghent Bulk & Container Terminal", "GBCT", K.FACILITY_OPERATOR, ["BEGNE"], "04300059"),
    ("Ostend Ro-Ro Terminal", "ORT", K.FACILITY_OPERATOR, ["BEOST"], "04400061"),
    ("Brussels Trimodal Terminal", "BTT", K.FACILITY_OPERATOR, ["BEBRU"], "04500073"),
    ("Liège Trilogiport Terminal", "LTT", K.FACILITY_OPERATOR, ["BELGG"], "04600085"),
    ("Genk Inland Container Terminal", "GICT", K.FACILITY_OPERATOR, ["BEGNK"], "04700097"),
    ("Flanders Haulage", "FLH", K.COMPANY, ["BEANR", "BEGNE"], "05100101"),
    ("Scheldt Shipping Agency", "SSA", K.COMPANY, ["BEANR", "BEZEE"], "05200113"),
    ("Meuse Logistics", "MLO", K.COMPANY, ["BELGG", "BEGNK"], "05300125"),
    ("Federal Police – Shipping Police Antwerp", "SPN-A", K.POLICE, ["BEANR"], None),
    ("Federal Police – Shipping Police Zeebrugge", "SPN-Z", K.POLICE, ["BEZEE", "BEOST"], None),
    ("Federal Police – Shipping Police Ghent", "SPN-G", K.POLICE, ["BEGNE"], None),
    ("Customs and Excise – Antwerp", "AAD&A-A", K.CUSTOMS, ["BEANR"], None),
    ("Customs and Excise – Zeebrugge", "AAD&A-Z", K.CUSTOMS, ["BEZEE", "BEOST"], None),
    ("National Maritime Security Authority (NAMB)", "NAMB", K.AUTHORITY_NAMB, [], None),
    ("Maritime Security Cell (CMB)", "CMB", K.AUTHORITY_CMB, [], None),
    ("LCMB Antwerp", "LCMB-A", K.AUTHORITY_LCMB, ["BEANR"], None),
    ("LCMB Zeebrugge", "LCMB-Z", K.AUTHORITY_LCMB, ["BEZEE"], None),
    ("LCMB Ghent", "LCMB-G", K.AUTHORITY_LCMB, ["BEGNE"], None),
    ("LCMB Ostend", "LCMB-O", K.AUTHORITY_LCMB, ["BEOST"], None),
    ("LCMB Brussels", "LCMB-B", K.AUTHORITY_LCMB, ["BEBRU"], None),
    ("LCMB Liège", "LCMB-L", K.AUTHORITY_LCMB, ["BELGG"], None),
    ("LCMB Limburg", "LCMB-LI", K.AUTHORITY_LCMB, ["BEGNK"], None),
    ("National Drug Commissariat", "NDC", K.NATIONAL_SERVICE, [], None),
]

R = Role
C = ClearanceLevel
# username, given name, family name, organisation short name, roles, clearance, job title
ACCOUNTS = [
    ("admin", "Aline", "Verstraete", "P2P", [R.PLATFORM_ADMIN], C.SECRET, "Platform administrator"),
    (
        "pso.antwerp",
        "Koen",
        "Peeters",
        "POAB",
        [R.PORT_SECURITY_OFFICER],
        C.CONFIDENTIAL,
        "Port security officer",
    ),
    (
        "harbour.antwerp",
        "Sofie",
        "Janssens",
        "POAB",
        [R.PORT_AUTHORITY_OFFICER],
        C.NONE,
        "Harbour lieutenant",
    ),
    (
        "control.zeebrugge",
        "Pieter",
        "Claeys",
        "POAB",
        [R.CONTROL_ROOM_OPERATOR],
        C.NONE,
        "Operator, Central Control Room Zeebrugge",
    ),
    (
        "pso.northsea",
        "Lotte",
        "De Smet",
        "NSP",
        [R.PORT_SECURITY_OFFICER],
        C.CONFIDENTIAL,
        "Port security officer",
    ),
    (
        "pso.ostend",
        "Wim",
        "Vandamme",
        "POO",
        [R.PORT_SECURITY_OFFICER],
        C.NONE,
        "Port security officer",
    ),
    (
        "pso.brussels",
        "Nathalie",
        "Dubois",
        "POB",
        [R.PORT_SECURITY_OFFICER],
        C.NONE,
        "Port security officer",
    ),
    (
        "pso.liege",
        "Julien",
        "Lambert",
        "PAL",
        [R.PORT_SECURITY_OFFICER],
        C.NONE,
        "Responsable sûreté portuaire",
    ),
    (
        "pso.limburg",
        "Ilse",
        "Hermans",
        "LPF",
        [R.PORT_SECURITY_OFFICER],
        C.NONE,
        "Port security officer",
    ),
    ("pfso.sct", "Bram", "Wouters", "SCT", [R.PFSO], C.CONFIDENTIAL, "PFSO"),
    ("desk.sct", "Ines", "Mertens", "SCT", [R.SECURITY_DESK], C.NONE, "Security desk"),
    ("pfso.dgt", "Tom", "Goossens", "DGT", [R.PFSO], C.NONE, "PFSO"),
    ("pfso.zeebrugge", "Eline", "Maes", "ZSST", [R.PFSO], C.NONE, "PFSO"),
    ("pfso.ghent", "Jens", "Willems", "GBCT", [R.PFSO], C.NONE, "PFSO"),
    ("pfso.liege", "Camille", "Renard", "LTT", [R.PFSO], C.NONE, "PFSO"),
    (
        "csm.haulage",
        "Dirk",
        "Jacobs",
        "FLH",
        [R.COMPANY_SECURITY_MANAGER],
        C.NONE,
        "Security manager",
    ),
    ("driver.haulage", "Yusuf", "Demir", "FLH", [R.EMPLOYEE], C.NONE, "Truck driver"),
    ("host.agency", "Marie", "Lemmens", "SSA", [R.VISITOR_HOST], C.NONE, "Vessel agent"),
    (
        "police.antwerp",
        "Geert",
        "Van Damme",
        "SPN-A",
        [R.POLICE_LIAISON],
        C.SECRET,
        "Inspector, shipping police",
    ),
    (
        "customs.antwerp",
        "Hilde",
        "De Wilde",
        "AAD&A-A",
        [R.CUSTOMS_LIAISON],
        C.CONFIDENTIAL,
        "Customs liaison",
    ),
    ("lcmb.antwerp", "Frank", "Smets", "LCMB-A", [R.LCMB_MEMBER], C.CONFIDENTIAL, "LCMB secretary"),
    ("namb.officer", "Anne", "Leclercq", "NAMB", [R.LCMB_MEMBER], C.SECRET, "NAMB officer"),
    ("ndc.analyst", "Ruben", "Michiels", "NDC", [R.EMPLOYEE], C.NONE, "Analyst"),
]

_GIVEN = [
    "Lucas",
    "Emma",
    "Noah",
    "Olivia",
    "Arthur",
    "Louise",
    "Jules",
    "Mila",
    "Adam",
    "Nora",
    "Victor",
    "Lena",
    "Mohamed",
    "Elise",
    "Finn",
    "Hanne",
    "Sem",
    "Amélie",
    "Milan",
    "Zoë",
]
_FAMILY = [
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "De Smet",
    "Dubois",
    "Lambert",
    "Dupont",
    "Martin",
    "Vermeulen",
    "Hendrickx",
]
_STAFF_JOBS = [
    "Crane operator",
    "Straddle carrier driver",
    "Planner",
    "Gate clerk",
    "Lasher",
    "Reefer technician",
    "Security guard",
    "Operations manager",
]


def enterprise_number(base8: str) -> str:
    """A Belgian enterprise number with valid check digits for an 8-digit base."""
    return f"{base8}{97 - int(base8) % 97:02d}"


def demo_password() -> str:
    return settings.PORT2PORT_DEMO_PASSWORD or DEFAULT_DEMO_PASSWORD


def _totp_key(username: str) -> str:
    """Per-installation, per-account key: derived from the SECRET_KEY so re-seeding keeps it."""
    return hmac.new(
        settings.SECRET_KEY.encode(), f"demo-totp:{username}".encode(), hashlib.sha1
    ).hexdigest()


@dataclass
class SeedSummary:
    ports: int
    organisations: int
    people: int
    accounts: int
    created: int

    def __str__(self) -> str:
        return (
            f"demo network: {self.ports} ports, {self.organisations} organisations, {self.people} people, "
            f"{self.accounts} accounts ({self.created} rows created this run)"
        )


@transaction.atomic
def seed_demo() -> SeedSummary:
    """Create what is missing of the demo network; running it again changes nothing."""
    created = 0
    ports = {}
    for locode, name, kind in PORTS:
        port, new = Port.objects.get_or_create(locode=locode, defaults={"name": name, "kind": kind})
        ports[locode] = port
        if new:
            created += 1
            audit.record(None, "demo.port.created", port)
    orgs = {}
    for name, short, kind, locodes, base in ORGANISATIONS:
        vat = f"BE{enterprise_number(base)}" if base else ""
        organisation, new = Organisation.objects.get_or_create(
            name=name,
            defaults={"short_name": short, "kind": kind, "vat_number": vat, "eori_number": vat},
        )
        if new:
            organisation.ports.set([ports[code] for code in locodes])
            created += 1
            audit.record(None, "demo.organisation.created", organisation)
        orgs[short] = organisation

    password = demo_password()
    for username, given, family, short, roles, clearance, job in ACCOUNTS:
        organisation = orgs[short]
        person, new = Person.objects.get_or_create(
            organisation=organisation,
            given_name=given,
            family_name=family,
            defaults={"job_title": job, "email": f"{username}@demo.port2port.be"},
        )
        created += new
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, person=person, email=person.email)
            if clearance != ClearanceLevel.NONE:
                user.clearance_level = clearance
                user.clearance_valid_until = _in_years(3)
            user.set_password(password)
            user.save()
            created += 1
            audit.record(None, "demo.user.created", user, organisation=organisation)
        _, new = Membership.objects.get_or_create(
            user=user, organisation=organisation, defaults={"roles": [str(r) for r in roles]}
        )
        created += new
        if (
            user.requires_second_factor
            and not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        ):
            TOTPDevice.objects.create(
                user=user, name="demo authenticator", key=_totp_key(username), confirmed=True
            )
            created += 1

    rng = random.Random(2025)  # noqa: S311 - demo names, not secrets
    for organisation in orgs.values():
        if organisation.kind not in {K.FACILITY_OPERATOR, K.COMPANY, K.PORT_AUTHORITY}:
            continue
        for _ in range(6):
            given, family = rng.choice(_GIVEN), rng.choice(_FAMILY)
            job = rng.choice(_STAFF_JOBS)
            names = {"organisation": organisation, "given_name": given, "family_name": family}
            if not Person.objects.filter(**names).exists():  # modules may add namesakes
                Person.objects.create(job_title=job, **names)
                created += 1
    from django.apps import apps

    for config in apps.get_app_configs():  # every module seeds its own demo content
        if hasattr(config, "seed_demo"):
            created += config.seed_demo()
    if created:
        audit.record(None, "demo.seeded", details={"created": created})
    return SeedSummary(
        ports=Port.objects.count(),
        organisations=Organisation.objects.count(),
        people=Person.objects.count(),
        accounts=User.objects.count(),
        created=created,
    )


def _in_years(years: int):
    from django.utils import timezone

    today = timezone.localdate()
    return today.replace(year=today.year + years)


def demo_logins() -> tuple[list[dict], str]:
    import base64

    rows = []
    for username, _given, _family, short, roles, _clearance, _job in ACCOUNTS:
        device = TOTPDevice.objects.filter(user__username=username, confirmed=True).first()
        rows.append(
            {
                "username": username,
                "role": f"{', '.join(str(Role(r).label) for r in roles)} · {short}",
                "totp": base64.b32encode(device.bin_key).decode() if device else "",
            }
        )
    return rows, demo_password()


def demo_totp_code(username: str) -> str | None:
    """The current code of a demo account's authenticator; None for any other account."""
    if username not in {row[0] for row in ACCOUNTS}:
        return None
    device = TOTPDevice.objects.filter(user__username=username, confirmed=True).first()
    if device is None:
        return None
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift):0{device.digits}d}"
