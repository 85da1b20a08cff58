"""Benchmark: detection ingest (issue 6), end to end on one worker, beside a raw bulk insert.

End to end = parse (the real adapters) → device and zone lookup → duplicate check → every rule
kind active (hotlists with look-alikes, gate rights through the access engine, perimeter with
AI-camera correlation, drones, vessels) → events stored → alarms stored and published, through
`Pipeline.stream` as the MQTT worker runs it (a writer thread stores each batch while the next is
read). The baseline inserts the very same event rows with the same bulk statement and nothing
else, in one thread, in the same run, on the same database. Batches of 5,000 messages.

Also: the worker's memory with 1,000,000 hotlist entries.

Runs on SQLite in a temporary directory; then, when PostgreSQL answers at BENCH_PG
(default postgres://postgres@127.0.0.1:5432/postgres), again in a fresh database there.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

EVENTS = int(os.environ.get("BENCH_EVENTS", "200000"))
BATCH = 5000
HOTLIST = int(os.environ.get("BENCH_HOTLIST", "1000000"))


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def setup_django(home: Path) -> None:
    os.environ.setdefault("PORT2PORT_VAR", str(home))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "port2port.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build_world():
    from port2port.core.models import Organisation, Port
    from port2port.detection.models import Hotlist, HotlistEntry, Rule, RuleKind
    from port2port.detection.state import changed
    from port2port.sites.models import Area, Device, DeviceKind, Gate, Zone

    def square(lon, lat, half):
        ring = [
            [lon - half, lat - half],
            [lon + half, lat - half],
            [lon + half, lat + half],
            [lon - half, lat + half],
            [lon - half, lat - half],
        ]
        return {"type": "Polygon", "coordinates": [ring]}

    port = Port.objects.create(locode="BEZEE", name="Zeebrugge")
    owner = Organisation.objects.create(name="Port authority", kind="port_authority")
    owner.ports.add(port)
    Area.objects.create(port=port, code="A", name="Harbour", geometry=square(3.2, 51.33, 0.05))
    devices = {"anpr": [], "fence": [], "thermal": [], "ai": [], "drone": [], "ais": []}
    zones = []
    for n in range(20):
        zone = Zone.objects.create(
            port=port,
            code=f"Z{n}",
            name=f"Zone {n}",
            geometry=square(3.2 + n * 0.001, 51.33, 0.0005),
            restricted=n == 0,
        )
        zones.append(zone)
        gate = Gate.objects.create(
            port=port,
            code=f"G{n}",
            name=f"Gate {n}",
            geometry={"type": "Point", "coordinates": [3.2, 51.33]},
        )
        gate.leads_into.set([zone])
        point = {"type": "Point", "coordinates": [3.2 + n * 0.001, 51.33]}
        for kind, key in (
            (DeviceKind.ANPR, "anpr"),
            (DeviceKind.FENCE, "fence"),
            (DeviceKind.THERMAL, "thermal"),
            (DeviceKind.AI_CAMERA, "ai"),
        ):
            device = Device.objects.create(
                port=port,
                code=f"{key.upper()}-{n}",
                name=f"{key} {n}",
                kind=kind,
                geometry=point,
                owner=owner,
                zone=zone,
                gate=gate if key == "anpr" else None,
            )
            devices[key].append(device.code)
    for key, kind in (("drone", DeviceKind.DRONE_DETECTOR), ("ais", DeviceKind.AIS_RECEIVER)):
        Device.objects.create(
            port=port,
            code=f"{key.upper()}-0",
            name=key,
            kind=kind,
            geometry={"type": "Point", "coordinates": [3.2, 51.33]},
            owner=owner,
        )
        devices[key].append(f"{key.upper()}-0")
    for kind in RuleKind.values:
        Rule.objects.create(port=port, kind=kind, name=kind, priority=50)
    stolen = Hotlist.objects.create(owner=owner, name="Stolen", priority=10)
    fuzzy = Hotlist.objects.create(owner=owner, name="Wanted", priority=5, max_differences=1)
    rng = random.Random(7)
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    plates = set()
    while len(plates) < 10_000:
        plates.add(
            f"{rng.randint(1, 2)}{''.join(rng.choice(letters) for _ in range(3))}{rng.randint(0, 999):03d}"
        )
    plates = sorted(plates)
    HotlistEntry.objects.bulk_create(
        [HotlistEntry(hotlist=stolen, plate=p, reason="stolen") for p in plates[:9_900]]
        + [HotlistEntry(hotlist=fuzzy, plate=p, reason="wanted") for p in plates[9_900:]],
        batch_size=5000,
    )
    # The trucks that come every day: a person each, a plate, a right on every zone.
    from port2port.access.models import AccessRight
    from port2port.access.models import Plate as AccessPlate
    from port2port.core.models import Person

    people = [
        Person(organisation=owner, given_name="Driver", family_name=str(n)) for n in range(2000)
    ]
    Person.objects.bulk_create(people, batch_size=1000)
    regulars = [f"1R{n:05d}" for n in range(2000)]
    AccessPlate.objects.bulk_create(
        [AccessPlate(person=p, number=plate) for p, plate in zip(people, regulars, strict=True)],
        batch_size=1000,
    )
    AccessRight.objects.bulk_create(
        [AccessRight(person=p, zone=z, effect="grant") for p in people for z in zones],
        batch_size=5000,
    )
    changed()
    return devices, zones, plates, regulars


def messages(devices, plates, regulars, count: int, seed: int):
    """(format, payload) in a realistic mix: plate reads, fence noise and intrusions, thermal,
    AI-camera persons, drones, AIS positions. Most reads are regular trucks with a right; 1 in
    100 is unknown and 1 in 200 is on a hotlist."""
    from pyais.encode import encode_dict

    rng = random.Random(seed)
    # Recent: older events are stored without the rules (DETECTION_LATE_SECONDS).
    night = datetime.now(UTC) - timedelta(minutes=30)
    ais_lines = [
        encode_dict(
            {
                "msg_type": 1,
                "mmsi": 205000000 + n,
                "lat": 51.33 + (n % 50) * 0.0003,
                "lon": 3.18 + (n % 40) * 0.0005,
                "speed": 2.5,
                "course": 90.0,
                "second": n % 60,
            },
            radio_channel="A",
        )[0]
        for n in range(2000)
    ]
    out = []
    for n in range(count):
        at = night + timedelta(milliseconds=n)
        roll = rng.random()
        if roll < 0.40:
            chance = rng.random()
            if chance < 0.005:
                plate = rng.choice(plates)
            elif chance < 0.015:
                plate = f"1U{rng.randint(0, 99999):05d}"
            else:
                plate = rng.choice(regulars)
            payload = {
                "data_type": "alpr_group",
                "camera_id": rng.choice(devices["anpr"]),
                "epoch_start": int(at.timestamp() * 1000),
                "best_plate_number": plate,
                "best_confidence": 90.0,
                "best_uuid": f"b{seed}-{n}",
            }
            out.append(("openalpr", json.dumps(payload)))
        elif roll < 0.85:
            kind = "fence" if roll < 0.75 else "thermal"
            payload = {
                "type": kind,
                "id": f"s{seed}-{n}",
                "device": rng.choice(devices[kind]),
                "at": at.isoformat(),
                "confidence": 0.9 if rng.random() < 0.1 else 0.3,  # mostly noise
            }
            out.append(("sensor", json.dumps(payload)))
        elif roll < 0.93:
            payload = {
                "type": "new",
                "after": {
                    "id": f"{seed}.{n}-p",
                    "camera": rng.choice(devices["ai"]),
                    "label": "person",
                    "start_time": at.timestamp(),
                    "top_score": 0.8,
                },
            }
            out.append(("frigate", json.dumps(payload)))
        elif roll < 0.95:
            payload = {
                "type": "drone",
                "id": f"d{seed}-{n}",
                "device": devices["drone"][0],
                "at": at.isoformat(),
                "drone_id": f"DJI-{rng.randint(1, 20)}",
            }
            out.append(("sensor", json.dumps(payload)))
        else:
            out.append(("ais", ais_lines[n % len(ais_lines)] + "\n"))
    return out


def run_once() -> dict:
    from django.db import transaction
    from django.utils import timezone

    from port2port.detection.ingest import Message, Pipeline, _insert_events
    from port2port.detection.live import hub
    from port2port.detection.models import Alarm, Event

    devices, _zones, plates, regulars = build_world()
    pipeline = Pipeline()
    pipeline.detector(force=True)  # a worker loads its indexes and the access snapshot at start
    from port2port.access.snapshot import store

    store.get()
    subscriber = hub.subscribe_sync()
    stream = messages(devices, plates, regulars, EVENTS, seed=1)
    # AIS is line-based: one message carries many lines, as an AIS receiver sends them.
    by_format: dict = {}
    for fmt, payload in stream:
        by_format.setdefault(fmt, []).append(payload)
    batches = []
    for fmt, payloads in by_format.items():
        if fmt == "ais":
            for start in range(0, len(payloads), BATCH):
                batches.append((fmt, [Message("".join(payloads[start : start + BATCH]), "bench")]))
        else:
            for start in range(0, len(payloads), BATCH):
                batches.append(
                    (fmt, [Message(p, "bench") for p in payloads[start : start + BATCH]])
                )
    # As the MQTT worker runs: each batch stored by a writer thread while the next is read.
    from port2port.detection.ingest import Job

    started = time.perf_counter()
    jobs = (Job(fmt, batch, default_device=devices["ais"][0]) for fmt, batch in batches)
    accepted = pipeline.stream(jobs).accepted
    e2e = time.perf_counter() - started
    pushed = subscriber.queue.qsize()
    alarms = Alarm.objects.count()
    # The baseline: the same rows, the same statement, nothing else.
    from port2port.detection.ingest import Row

    detector = pipeline.detector()
    rows = []
    for fmt, batch in batches:
        for message in batch:
            events, _errors = pipeline.parse(fmt, message, timezone.now())
            for event in events:
                from dataclasses import replace

                event = replace(event, source_id="raw-" + event.source_id)
                info = (
                    detector.indexes.devices.get(event.device) or detector.indexes.devices["AIS-0"]
                )
                from port2port.detection.ingest import event_uid

                rows.append(Row(event_uid(event), event, info, info.zone_id))
    from port2port.detection.ingest import event_params, insert_rows

    now = timezone.now()
    params = event_params(rows, now)
    started = time.perf_counter()
    for start in range(0, len(params), BATCH):
        with transaction.atomic():
            insert_rows(params[start : start + BATCH])
    raw = time.perf_counter() - started
    distinct = len({p[0] for p in params})
    assert Event.objects.count() == accepted + distinct, "every row stored once"
    del _insert_events
    return {
        "events": accepted,
        "e2e_rate": accepted / e2e,
        "raw_rate": len(params) / raw,
        "alarms": alarms,
        "pushed": pushed,
    }


def fill_hotlist() -> None:
    """1,000,000 plates on one list, with the bulk path (the worker then loads them)."""
    from django.db import connection, transaction

    from port2port.core.models import Organisation
    from port2port.detection.models import Hotlist, HotlistEntry

    Hotlist.objects.all().delete()
    owner = Organisation.objects.first()
    big = Hotlist.objects.create(owner=owner, name="National", priority=20)
    table = HotlistEntry._meta.db_table
    rng = random.Random(3)
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    plates = {"".join(rng.choice(letters) for _ in range(7)) for _ in range(int(HOTLIST * 1.05))}
    hotlist_id = big.pk.hex if connection.vendor == "sqlite" else big.pk
    rows = [(hotlist_id, plate, "") for plate in list(plates)[:HOTLIST]]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (hotlist_id, plate, reason) VALUES (%s, %s, %s)",  # noqa: S608
            rows,
        )


def memory() -> dict:
    """In a fresh process, as a worker starts: Django, then the indexes with the hotlist."""
    import gc

    from port2port.detection.state import load_indexes

    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    indexes = load_indexes()
    build = time.perf_counter() - started
    gc.collect()
    after = rss_mb()
    started = time.perf_counter()
    probes = 100_000
    today = datetime(2026, 11, 20).date()
    for n in range(probes):
        indexes.hotlists.lookup(f"1ABC{n:03d}", None, today)
    lookup = (time.perf_counter() - started) / probes
    return {
        "entries": indexes.hotlists.size,
        "rss_before": before,
        "rss_after": after,
        "build_s": build,
        "lookup_us": lookup * 1e6,
    }


def child(database: str) -> int:
    """One database's run (a process of its own, so memory figures are this worker's)."""
    home = Path(tempfile.mkdtemp(prefix="p2p-bench-detection-"))
    if database != "sqlite":
        os.environ["DATABASE_URL"] = database
    setup_django(home)
    from django.db import connection

    result = run_once()
    vendor = connection.vendor
    print(
        f"{vendor:10} end to end {result['e2e_rate']:>10,.0f} events/s   "
        f"raw bulk insert {result['raw_rate']:>10,.0f} rows/s   "
        f"ratio {result['e2e_rate'] / result['raw_rate']:.0%}   "
        f"({result['events']:,} events, {result['alarms']} alarms, {result['pushed']} pushes)",
        flush=True,
    )
    fill_hotlist()
    env = {**os.environ, "PORT2PORT_VAR": str(home)}
    if database != "sqlite":
        env["DATABASE_URL"] = database
    return subprocess.call([sys.executable, __file__, "--memory", database, str(home)], env=env)


def memory_child(database: str, home: Path) -> int:
    setup_django(home)
    from django.db import connection

    vendor = connection.vendor
    mem = memory()
    print(
        f"{vendor:10} hotlist {mem['entries']:,} entries: worker RSS {mem['rss_after']:.0f} MB "
        f"(before the index {mem['rss_before']:.0f} MB), built in {mem['build_s']:.1f} s, "
        f"lookup {mem['lookup_us']:.1f} µs",
        flush=True,
    )
    return 0


def _postgres_url() -> str | None:
    base = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres")
    try:
        import psycopg

        name = "p2p_bench_detection"
        with psycopg.connect(base, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        return base.rsplit("/", 1)[0] + "/" + name
    except Exception as exc:  # no PostgreSQL here: SQLite only
        print(f"PostgreSQL not reachable ({type(exc).__name__}); SQLite only")
        return None


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        return child(sys.argv[2])
    if len(sys.argv) > 3 and sys.argv[1] == "--memory":
        return memory_child(sys.argv[2], Path(sys.argv[3]))
    print(
        f"detection ingest: {EVENTS:,} messages in batches of {BATCH:,}, all rules active; "
        f"goal >= 100,000 events/s and >= 50% of the raw insert"
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    status = subprocess.call([sys.executable, __file__, "--child", "sqlite"], env=env)
    url = _postgres_url()
    if url:
        status |= subprocess.call([sys.executable, __file__, "--child", url], env=env)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
