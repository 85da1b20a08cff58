"""Demo gate access: badges and plates for the demo people, rights on their facility's zones,
an office-hours schedule, positive and expired verifications, and a banned person."""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from port2port.core import audit
from port2port.core.models import Person
from port2port.sites.models import Facility, Zone

from .models import AccessRight, Badge, Plate, PortBan, Schedule, Verification
from .snapshot import change_record


def seed_access_demo() -> int:
    created = _seed_staff()
    created += _seed_workforce()
    created += _seed_visitors_today()
    return created


def _seed_staff() -> int:
    if Badge.objects.exists():
        return 0
    rng = random.Random(21)  # noqa: S311 - demo data
    today = timezone.localdate()
    office, _ = Schedule.objects.get_or_create(
        name="Weekdays 06:00-22:00",
        defaults={"windows": [{"day": d, "start": "06:00", "end": "22:00"} for d in range(5)]},
    )
    facilities = list(Facility.objects.select_related("operator", "port"))
    by_operator = {f.operator_id: f for f in facilities}
    created = 0
    for n, person in enumerate(
        Person.objects.select_related("organisation").order_by("family_name", "given_name", "pk")
    ):
        Badge.objects.create(
            person=person,
            number=f"AP-{100000 + n}",
            kind=Badge.Kind.ALFAPASS,
            valid_until=today + timedelta(days=700),
        )
        created += 1
        if n % 3 == 0:
            Plate.objects.create(person=person, number=f"1ABC{100 + n}")
        facility = by_operator.get(person.organisation_id)
        if facility is None and person.organisation.kind == "company" and facilities:
            facility = facilities[n % len(facilities)]  # hauliers drive to a terminal
        if facility is not None:
            for zone in Zone.objects.filter(facility=facility, parent__isnull=True):
                AccessRight.objects.create(
                    person=person, zone=zone, schedule=office if n % 2 else None
                )
        if rng.random() < 0.3:
            decided = today - timedelta(days=rng.choice([100, 2000]))
            Verification.objects.create(
                person=person,
                category="Terminal operations",
                status="positive",
                decided_on=decided,
                valid_until=decided.replace(year=decided.year + 5),
            )
    driver = Person.objects.filter(user__username="driver.haulage").first()
    if driver is not None:  # the haulier's driver comes to the Antwerp terminals at any hour
        AccessRight.objects.filter(person=driver).delete()
        for zone in Zone.objects.filter(facility__port__locode="BEANR", parent__isnull=True):
            AccessRight.objects.create(person=driver, zone=zone)
    banned = Person.objects.filter(family_name="Hendrickx").first()
    if banned is not None:
        PortBan.objects.create(
            person=banned,
            starts_on=today - timedelta(days=30),
            ends_on=today + timedelta(days=3 * 365),
            source="Court of first instance, Antwerp (demo)",
        )
    change_record(None)
    audit.record(None, "demo.access.seeded", details={"badges": created})
    return created


WORKFORCE = 3000  # "thousands of people and badges across the demo ports"
_JOBS = [
    "Dock worker",
    "Straddle carrier driver",
    "Lasher",
    "Crane operator",
    "Checker",
    "Reefer technician",
]


def national_number(birth, serial: int) -> str:
    """A made-up Belgian national register number with valid check digits."""
    base = f"{birth:%y%m%d}{serial % 1000:03d}"
    check = 97 - (int(("2" if birth.year >= 2000 else "") + base) % 97)
    return f"{base}{check:02d}"


def _seed_workforce() -> int:
    """Thousands of terminal and haulage workers in staff groups: badges, some plates, identities,
    verifications (some expired), a few port bans; anti-passback on two areas."""
    from datetime import date

    from port2port.core.demo import _FAMILY, _GIVEN
    from port2port.core.models import Organisation, OrganisationKind
    from port2port.sites.models import Area

    from .models import AccessGroup, Identity

    if AccessGroup.objects.filter(name="Terminal workforce").exists():
        return 0
    rng = random.Random(5)  # noqa: S311 - demo data
    today = timezone.localdate()
    office = Schedule.objects.filter(name="Weekdays 06:00-22:00").first()
    shifts, _ = Schedule.objects.get_or_create(
        name="Shifts 05:00-23:00, closed on public holidays",
        defaults={
            "windows": [{"day": d, "start": "05:00", "end": "23:00"} for d in range(7)],
            "holidays": [f"{today.year}-12-25", f"{today.year + 1}-01-01"],
        },
    )
    operators = list(
        Organisation.objects.filter(
            kind=OrganisationKind.FACILITY_OPERATOR, facilities__isnull=False
        )
        .distinct()
        .order_by("name")
    )
    if not operators:
        return 0
    groups = {}
    for organisation in operators:
        group = AccessGroup.objects.create(
            organisation=organisation, name="Terminal workforce", kind=AccessGroup.Kind.STAFF
        )
        for zone in Zone.objects.filter(facility__operator=organisation, parent__isnull=True):
            AccessRight.objects.create(group=group, zone=zone, schedule=shifts)
        groups[organisation.pk] = group
    people, identities, badges, plates, verifications, bans = [], [], [], [], [], []
    number = 200000
    for n in range(WORKFORCE):
        organisation = operators[n % len(operators)]
        person = Person(
            organisation=organisation,
            given_name=rng.choice(_GIVEN),
            family_name=rng.choice(_FAMILY),
            job_title=rng.choice(_JOBS),
        )
        people.append(person)
        birth = date(1960 + rng.randrange(45), 1 + rng.randrange(12), 1 + rng.randrange(28))
        identities.append(
            Identity(
                person=person,
                birth_date=birth,
                nationality=rng.choice(["BE"] * 8 + ["NL", "PL", "PT", "RO"]),
                national_number=national_number(birth, n) if n < 1000 else None,
            )
        )
        number += 1
        state = "active" if rng.random() > 0.02 else rng.choice(["blocked", "inactive"])
        badges.append(
            Badge(
                person=person,
                number=f"AP-{number}",
                state=state,
                valid_until=today + timedelta(days=rng.randrange(-20, 1500)),
            )
        )
        if rng.random() < 0.25:
            plates.append(
                Plate(person=person, number=f"2{chr(65 + n % 26)}{chr(65 + n // 26 % 26)}X{n:04d}")
            )
        if rng.random() < 0.4:
            decided = today - timedelta(days=rng.randrange(30, 2200))
            verifications.append(
                Verification(
                    person=person,
                    category="Terminal operations",
                    status="positive",
                    decided_on=decided,
                    valid_until=decided + timedelta(days=5 * 365),
                )
            )
        if n % 250 == 17:
            bans.append(
                PortBan(
                    person=person,
                    starts_on=today - timedelta(days=rng.randrange(1, 400)),
                    ends_on=today + timedelta(days=rng.randrange(30, 3000)),
                    source="Court of appeal, Antwerp (demo)",
                )
            )
    Person.objects.bulk_create(people, batch_size=500)
    Identity.objects.bulk_create(identities, batch_size=500)
    Badge.objects.bulk_create(badges, batch_size=500)
    Plate.objects.bulk_create(plates, batch_size=500)
    Verification.objects.bulk_create(verifications, batch_size=500)
    PortBan.objects.bulk_create(bans, batch_size=500)
    through = AccessGroup.members.through
    through.objects.bulk_create(
        [through(accessgroup_id=groups[p.organisation_id].pk, person_id=p.pk) for p in people],
        batch_size=1000,
    )
    if office is not None and operators:
        night = AccessGroup.objects.create(
            organisation=operators[0], name="Office staff", kind=AccessGroup.Kind.STAFF
        )
        for zone in Zone.objects.filter(facility__operator=operators[0], code__endswith="-OFFICE"):
            AccessRight.objects.create(group=night, zone=zone, schedule=office)
    # Anti-passback: soft on Antwerp's left bank, hard on Zeebrugge's western port.
    Area.objects.filter(code="LINKEROEVER").update(anti_passback="soft", presence_timeout=720)
    Area.objects.filter(code="WESTERN-PORT").update(anti_passback="hard", presence_timeout=720)
    change_record(None)
    audit.record(
        None,
        "demo.access.workforce",
        details={"people": len(people), "badges": len(badges), "bans": len(bans)},
    )
    return len(people)


def _seed_visitors_today() -> int:
    """Visitors announced for today by the shipping agency at the Antwerp and Zeebrugge terminals:
    one of each verification mode, in each state the desk meets."""
    from datetime import datetime, time

    from port2port.core.models import Organisation
    from port2port.core.visibility import SYSTEM

    from . import services
    from .models import Visit, VisitorPolicy

    agency = Organisation.objects.filter(short_name="SSA").first()
    if agency is None:
        return 0
    today = timezone.localdate()
    start = timezone.make_aware(datetime.combine(today, time(0, 0)))
    if Visit.objects.filter(starts_at__gte=start, starts_at__lt=start + timedelta(days=1)).exists():
        return 0
    created = 0
    now = timezone.now()  # 07:00 to 20:00, stretched so that the demo's visitors are due now
    opens = min(start + timedelta(hours=7), now - timedelta(hours=1))
    closes = max(start + timedelta(hours=20), now + timedelta(hours=4))
    for code, accepts_unverified in (("BEANR-0869", True), ("BEZEE-0001", False)):
        facility = Facility.objects.filter(code=code).first()
        if facility is None:
            continue
        policy, _ = VisitorPolicy.objects.get_or_create(
            facility=facility, defaults={"accepts_unverified": accepts_unverified}
        )
        policy.announcers.add(agency)
        quay = Zone.objects.filter(facility=facility, code__endswith="-QUAY").first()
        if quay is None:
            continue
        banned = (
            PortBan.objects.select_related("person", "person__identity")
            .filter(ends_on__gte=today, person__identity__birth_date__isnull=False)
            .first()
        )
        badge = Badge.objects.filter(person__organisation=agency).first()
        visitors = [
            {
                "mode": "verified",
                "given_name": "Joris",
                "family_name": "Van Acker",
                "national_number": national_number(datetime(1979, 4, 2).date(), 451),
                "company": "Bureau Veritas",
                "plate": "1-VIS-001" if code == "BEANR-0869" else "1-VIS-101",
            },
            {
                "mode": "verified",
                "given_name": "Ana",
                "family_name": "Ferreira",
                "national_number": national_number(datetime(1986, 9, 14).date(), 302),
                "company": "Crew change",
            },
        ]
        if badge is not None:
            visitors.append(
                {
                    "mode": "badge_holder",
                    "given_name": badge.person.given_name,
                    "family_name": badge.person.family_name,
                    "badge_number": badge.number,
                    "company": agency.name,
                }
            )
        if accepts_unverified:
            visitors.append(
                {
                    "mode": "unverified",
                    "given_name": "Piotr",
                    "family_name": "Nowak",
                    "birth_date": "1990-01-20",
                    "nationality": "PL",
                    "company": "Ship chandler",
                }
            )
            if banned is not None:
                identity = getattr(banned.person, "identity", None)
                visitors.append(
                    {
                        "mode": "unverified",
                        "given_name": banned.person.given_name,
                        "family_name": banned.person.family_name,
                        "birth_date": identity.birth_date.isoformat()
                        if identity and identity.birth_date
                        else "",
                        "company": "Ship supplies",
                    }
                )
        visit = services.visit_announce(
            actor=SYSTEM,
            facility=facility,
            zone=quay,
            announcer=agency,
            vessel="MSC Aurora" if code == "BEANR-0869" else "Finnmerchant",
            purpose="Crew change and class survey",
            starts_at=opens,
            ends_at=closes,
            visitors=visitors,
        )
        created += len(visitors)
        first = visit.visitors.order_by("family_name").filter(mode="verified").first()
        if first is not None:  # one approved, then checked in: a temporary right and a plate
            services.visitor_decide(actor=SYSTEM, visitor=first, approve=True)
            services.visitor_check_in(actor=SYSTEM, visitor=first)
    return created
