"""Benchmark: a user's feed, full-text search and STIX import at platform scale (issue 3).

Builds (once per database) 1,000,000 items, 200 organisations, 50 circles and 5,000 users, then
measures for 50 users: the first page of the feed and a full-text search, each beside the same
query without the visibility rule (the baseline; the ratio is the cost of the rule), and the
import rate of a 5,000-indicator STIX bundle.

    make bench                                   # SQLite in a temporary directory
    DATABASE_URL=postgres://.../bench make bench  # PostgreSQL (the database is filled once)
Sizes: BENCH_ITEMS, BENCH_USERS, BENCH_ORGS, BENCH_CIRCLES.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ITEMS = int(os.environ.get("BENCH_ITEMS", "1000000"))
USERS = int(os.environ.get("BENCH_USERS", "5000"))
ORGS = int(os.environ.get("BENCH_ORGS", "200"))
CIRCLES = int(os.environ.get("BENCH_CIRCLES", "50"))
SAMPLE = 50
# Domain words appear in about 1 item in 100 each (what people search for); the rest of the text is
# drawn from a Zipf-like vocabulary of 20,000 filler words, as real prose is.
WORDS = (
    "container reefer seal drone fence badge gate camera smuggling cocaine terminal quay vessel "
    "crane truck driver night inspection scanner recruitment corruption phishing cyber perimeter "
    "zegel haven hek sûreté conteneur quai Hafen Zaun Drohne"
).split()
FILLER = [f"w{n}" for n in range(20_000)]
FILLER_CUMULATIVE = list(itertools.accumulate(1 / (n + 1) for n in range(20_000)))


def text(rng: random.Random, words: int) -> str:
    chosen = rng.choices(FILLER, cum_weights=FILLER_CUMULATIVE, k=words)
    for _ in range(rng.choice([0, 0, 0, 1, 1, 2])):
        chosen[rng.randrange(words)] = rng.choice(WORDS)
    return " ".join(chosen)


def setup() -> None:
    if not os.environ.get("DATABASE_URL"):
        os.environ.setdefault(
            "PORT2PORT_VAR",
            os.environ.get("BENCH_VAR", str(Path(tempfile.gettempdir()) / "p2p-bench-sharing")),
        )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "port2port.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def populate() -> None:
    from django.db import transaction

    from port2port.core.models import Membership, Organisation, OrganisationKind, Person, Port, User
    from port2port.sharing.models import Circle, CircleMember, Item, ItemSearch

    if Item.objects.count() >= ITEMS:
        print(f"reusing the {Item.objects.count()} items already in the database")
        return
    rng = random.Random(42)
    started = time.perf_counter()
    with transaction.atomic():
        ports = [
            Port.objects.get_or_create(
                locode=f"BEB{chr(65 + i)}{chr(65 + i)}",
                defaults={"name": f"Bench port {i}", "kind": "sea"},
            )[0]
            for i in range(10)
        ]
        orgs = Organisation.objects.bulk_create(
            [
                Organisation(
                    name=f"Bench organisation {i}", kind=OrganisationKind.FACILITY_OPERATOR
                )
                for i in range(ORGS)
            ]
        )
        through = Organisation.ports.through
        through.objects.bulk_create(
            [through(organisation_id=o.pk, port_id=ports[i % 10].pk) for i, o in enumerate(orgs)]
        )
        people = Person.objects.bulk_create(
            [
                Person(organisation=orgs[i % ORGS], given_name="Bench", family_name=f"User {i}")
                for i in range(USERS)
            ]
        )
        users = User.objects.bulk_create(
            [
                User(username=f"bench{i}", person=people[i], password="!", clearance_level="none")
                for i in range(USERS)
            ]
        )
        Membership.objects.bulk_create(
            [
                Membership(user=u, organisation_id=people[i].organisation_id, roles=["pfso"])
                for i, u in enumerate(users)
            ]
        )
        circles = Circle.objects.bulk_create(
            [Circle(name=f"Bench circle {i}") for i in range(CIRCLES)]
        )
        members = []
        for circle in circles:
            for org in rng.sample(orgs, 8):
                members.append(CircleMember(circle=circle, organisation=org, status="active"))
        CircleMember.objects.bulk_create(members)
    print(f"organisations, users, circles: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    base = datetime(2026, 1, 1, tzinfo=UTC)
    batch = 10_000
    recipients = Item.recipients.through
    for offset in range(0, ITEMS, batch):
        items, searches, named = [], [], []
        for n in range(offset, min(offset + batch, ITEMS)):
            roll = rng.random()
            distribution, tlp, circle = "platform", "green", None
            if roll < 0.2:
                distribution = "port_community"
            elif roll < 0.4:
                distribution, tlp, circle = "circle", "amber", circles[n % CIRCLES]
            elif roll < 0.5:
                distribution, tlp = "organisation", "amber"
            elif roll < 0.53:
                distribution, tlp = "named", "amber"
            elif roll < 0.55:
                distribution, tlp = "platform", "red"
            title = text(rng, 6)
            item = Item(
                id=uuid.UUID(int=rng.getrandbits(128), version=4),
                source_org=orgs[n % ORGS],
                kind="lesson_learned",
                title=title,
                body=text(rng, 40),
                tlp=tlp,
                distribution=distribution,
                circle=circle,
                created_at=base + timedelta(seconds=n * 30),
                updated_at=base + timedelta(seconds=n * 30),
            )
            items.append(item)
            searches.append(ItemSearch(item=item, language="en", title=item.title, body=item.body))
            if distribution == "named" or tlp == "red":
                named.append(recipients(item_id=item.pk, user_id=users[n % USERS].pk))
        with transaction.atomic():
            Item.objects.bulk_create(items)
            ItemSearch.objects.bulk_create(searches)
            recipients.objects.bulk_create(named)
        if offset % 100_000 == 0:
            print(
                f"  {offset + len(items):>9} items ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"{ITEMS} items: {time.perf_counter() - started:.1f} s")


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] * 1000


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def measure() -> None:
    from django.db import connection

    from port2port.core.models import User
    from port2port.sharing import search, selectors
    from port2port.sharing.models import Item

    rng = random.Random(7)
    users = list(User.objects.filter(username__startswith="bench").order_by("?")[:SAMPLE])
    feed, feed_raw, found, found_raw = [], [], [], []
    for user in users:
        term = rng.choice(WORDS[:24]) if rng.random() < 0.7 else " ".join(rng.sample(WORDS[:24], 2))
        user = User.objects.get(pk=user.pk)
        feed.append(timed(lambda u=user: list(selectors.feed_for(u)[:20])))
        feed_raw.append(
            timed(
                lambda: list(
                    Item.objects.select_related("source_org", "circle")
                    .prefetch_related("topics", "ports")
                    .order_by("-created_at")[:20]
                )
            )
        )
        found.append(
            timed(lambda u=user, t=term: list(search.matching(selectors.feed_for(u), t)[:20]))
        )
        found_raw.append(timed(lambda t=term: list(search.matching(Item.objects.all(), t)[:20])))
    print(
        f"database: {connection.vendor}, items: {Item.objects.count()}, users sampled: {len(users)}"
    )
    print(
        f"feed first page    p95 {p95(feed):7.1f} ms   without the rule {p95(feed_raw):7.1f} ms   ratio {p95(feed) / p95(feed_raw):.2f}"
    )
    print(
        f"full-text search   p95 {p95(found):7.1f} ms   without the rule {p95(found_raw):7.1f} ms   ratio {p95(found) / p95(found_raw):.2f}"
    )


def measure_import() -> None:
    from port2port.core.models import Organisation
    from port2port.core.visibility import OrganisationActor
    from port2port.sharing.adapters.stix import parse_bundle
    from port2port.sharing.services import items_import

    n = 5000
    objects = [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid4()}",
            "created": "2026-11-01T10:00:00.000Z",
            "modified": "2026-11-01T10:00:00.000Z",
            "name": f"bench {i}",
            "pattern": f"[ipv4-addr:value = '10.{i // 65536}.{i // 256 % 256}.{i % 256}']",
            "pattern_type": "stix",
            "valid_from": "2026-11-01T10:00:00Z",
        }
        for i in range(n)
    ]
    data = json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects})
    parse_only = timed(lambda: parse_bundle(data))
    actor = OrganisationActor(Organisation.objects.filter(name__startswith="Bench").first())
    total = timed(lambda: items_import(actor=actor, fmt="stix", data=data, tlp="green"))
    print(
        f"STIX import        {n / total:7.0f} indicators/s (parse only: {n / parse_only:.0f}/s, baseline: json.loads {n / timed(lambda: json.loads(data)):.0f}/s)"
    )


if __name__ == "__main__":
    setup()
    populate()
    measure()
    measure_import()
