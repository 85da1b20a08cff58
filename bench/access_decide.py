"""Benchmark: gate decisions in process (issue 5): 100,000 people, 200,000 credentials, 2,000
zones, 300,000 rights and 5,000 bans, built straight into a snapshot (no database needed for the
engine), measured beside a plain dictionary lookup of the credential in the same run."""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

PEOPLE = int(os.environ.get("BENCH_PEOPLE", "100000"))
DECISIONS = int(os.environ.get("BENCH_DECISIONS", "500000"))


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "port2port.settings")
    os.environ.setdefault("PORT2PORT_VAR", str(Path(tempfile.gettempdir()) / "p2p-bench-access"))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    from port2port.access.engine import ScheduleWindows, Snapshot, decide

    rng = random.Random(5)
    today = date(2026, 11, 21)
    tracemalloc.start()
    snap = Snapshot()
    zones = list(range(2000))
    snap.zone_chain = {z: (z, z // 10) if z >= 10 else (z,) for z in zones}
    snap.critical = set(rng.sample(zones, 100))
    # 500 gates in 50 areas, a fifth of them with anti-passback
    snap.gates = {f"G{n}": (n, (rng.choice(zones),), "both", n % 50, 1) for n in range(500)}
    snap.areas = {a: ("soft" if a % 2 else "hard", 12 * 3600) for a in range(10)}
    # 50 staff groups with rights on 10 zones each; every person in one of them
    snap.group_rights = {
        g: {z: (("grant", 1, None, None),) for z in rng.sample(zones, 10)} for g in range(50)
    }
    snap.schedules = {1: ScheduleWindows(tuple((d, 360, 1320) for d in range(7)), frozenset())}
    for person in range(PEOPLE):
        snap.badges[f"B{person}"] = (person, "active" if rng.random() > 0.02 else "blocked", None)
        snap.plates[f"P{person}"] = (person, None)
        snap.numbers_of[person] = [("badge", f"B{person}"), ("plate", f"P{person}")]
        snap.groups_of[person] = (person % 50,)
    rights = 0
    while rights < 3 * PEOPLE:
        person = rng.randrange(PEOPLE)
        snap.rights.setdefault(person, {}).setdefault(rng.choice(zones), ())
        zone_rules = snap.rights[person]
        zone = rng.choice(list(zone_rules))
        zone_rules[zone] = (
            *zone_rules[zone],
            ("grant", 1 if rng.random() < 0.5 else None, None, None),
        )
        rights += 1
    for person in rng.sample(range(PEOPLE), PEOPLE // 20):
        snap.bans[person] = ((today - timedelta(days=10), today + timedelta(days=300)),)
    for person in rng.sample(range(PEOPLE), PEOPLE // 2):
        snap.verifications[person] = (True, today + timedelta(days=400))
    memory = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()

    at = datetime(2026, 11, 21, 7, 42, tzinfo=UTC)
    # who is inside the anti-passback areas: a third of the people, entered an hour ago
    presence = {
        (person, rng.randrange(10)): ("in", at - timedelta(hours=1))
        for person in range(0, PEOPLE, 3)
    }
    queries = [(f"G{rng.randrange(500)}", f"B{rng.randrange(PEOPLE)}") for _ in range(DECISIONS)]
    started = time.perf_counter()
    hits = 0
    for _gate, badge in queries:
        hits += badge in snap.badges and snap.badges[badge][1] == "active"
    baseline = time.perf_counter() - started
    started = time.perf_counter()
    granted = 0
    for gate, badge in queries:
        granted += decide(snap, gate, "badge", badge, "in", at, presence).granted
    engine_time = time.perf_counter() - started
    print(
        f"people {PEOPLE}, credentials {len(snap.badges) + len(snap.plates)}, zones {len(zones)}, rights {rights}, bans {len(snap.bans)}"
    )
    print(f"snapshot memory            {memory / 2**20:8.1f} MB")
    print(f"baseline dict lookup       {DECISIONS / baseline:12.0f} per second")
    print(
        f"decide() on one core       {DECISIONS / engine_time:12.0f} decisions per second  (ratio {engine_time / baseline:.1f}x the lookup's time; granted {granted})"
    )
    del hits
    return 0


if __name__ == "__main__":
    sys.exit(main())
