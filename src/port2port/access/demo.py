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
