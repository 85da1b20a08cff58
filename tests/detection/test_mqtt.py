"""The MQTT ingest worker against a real broker (Mosquitto): messages are stored once however often
they come, nothing is lost while the worker is down, and a worker killed (SIGKILL) at random
moments in a 100,000-message stream loses no event and neither loses nor doubles an alarm."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from django.db import OperationalError, connections
from django.utils import timezone

from port2port.detection.ingest import Outcome
from port2port.detection.mqtt import (
    Broker,
    ConfigError,
    Received,
    Subscription,
    format_of,
    topic_device,
    unshared,
)

AIS_STATIC = [
    "!AIVDM,2,1,4,A,55O0W7`00001L@gCWGA2uItLth@DqtL5@F22220j1h742t0Ht0000000,0*08",
    "!AIVDM,2,2,4,A,000000000000000,2*20",
]
MOSQUITTO = "/usr/sbin/mosquitto"
needs_broker = pytest.mark.skipif(
    not os.path.exists(MOSQUITTO), reason=f"Mosquitto is not installed ({MOSQUITTO})"
)


# --- topics and broker URLs (no broker needed) ----------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "fmt"),
    [
        ("frigate/events", "frigate"),
        ("frigate/reviews", "frigate-review"),
        ("alpr/BEZEE-ANPR1", "openalpr"),
        ("openalpr/gate-3", "openalpr"),
        ("platerecognizer/cam", "platerecognizer"),
        ("ais/BEZEE-AIS1", "ais"),
        ("sensors/BEZEE-FENCE1", "sensor"),
        ("p2p/fence", "sensor"),
        ("$share/ingest/frigate/events", "frigate"),
        ("$share/ingest/ais/BEZEE-AIS1", "ais"),
        ("weather/wind", None),
    ],
)
def test_format_follows_from_the_topic(topic, fmt):
    assert format_of(topic) == fmt


def test_subscriptions():
    assert Subscription.parse("frigate/events") == Subscription("frigate/events", "frigate")
    assert Subscription.parse("alpr/+=openalpr") == Subscription("alpr/+", "openalpr")
    shared = Subscription.parse("$share/g1/sensors/#=sensor")
    assert (shared.topic, shared.filter, shared.fmt) == (
        "$share/g1/sensors/#",
        "sensors/#",
        "sensor",
    )
    assert Subscription.parse("$share/g1/frigate/reviews").fmt == "frigate-review"
    for bad, message in [
        ("alpr/+", "wildcards"),
        ("$share/g/ais/#", "wildcards"),
        ("weather/wind", "cannot tell"),
        ("sensors/x=radar", "unknown format"),
        ("$share/g", "shared subscription"),
        ("=sensor", "empty"),
    ]:
        with pytest.raises(ConfigError, match=message):
            Subscription.parse(bad)
    assert unshared("$share/g/a/b") == "a/b" and unshared("a/b") == "a/b"
    assert topic_device("ais/BEZEE-AIS1", "ais") == "BEZEE-AIS1"
    assert topic_device("frigate/events", "frigate") == ""


def test_broker_urls():
    assert Broker.from_url("mqtt://127.0.0.1:1884") == Broker("127.0.0.1", 1884)
    assert Broker.from_url("mqtts://u:p%40ss@broker.example") == Broker(
        "broker.example", 8883, True, "u", "p@ss"
    )
    for bad in ("http://x:1883", "mqtt://:1883", "mqtt://x:port"):
        with pytest.raises(ConfigError):
            Broker.from_url(bad)


class FlakyPipeline:
    """A stream that fails `failures` times with a database error, then stores everything."""

    def __init__(self, failures: int):
        self.failures = failures
        self.calls: list = []

    def stream(self, jobs, *, on_stored):
        for job in jobs:
            if job is None:  # nothing came for a moment
                continue
            assert job.sender == "mqtt port2port-ingest"  # dead letters name the worker
            self.calls.append(
                (job.fmt, [m.channel for m in job.messages], [m.device for m in job.messages])
            )
            if self.failures:
                self.failures -= 1
                raise OperationalError("database is locked")
            on_stored(job, Outcome(accepted=len(job.messages)))
        return Outcome()

    def flush(self):
        pass


def flaky_worker(monkeypatch, failures: int, batches=None):
    """A worker; given `batches`, its broker hands them out one after the other, then stops it."""
    from port2port.detection import mqtt

    monkeypatch.setattr(mqtt, "RETRY_SECONDS", 0.01)
    lines, acks = [], []
    worker = mqtt.Worker(
        broker=Broker("localhost", 1883),
        subscriptions=[Subscription.parse("sensors/+=sensor"), Subscription.parse("ais/#=ais")],
        pipeline=FlakyPipeline(failures),
        out=lines.append,
    )
    worker._client = SimpleNamespace(ack=lambda mid, qos: acks.append((mid, qos)))
    if batches is not None:
        waiting = list(batches)

        def take():
            if waiting:
                return waiting.pop(0)
            worker.stop()
            return []

        worker._take = take
    return worker, lines, acks


@pytest.mark.django_db
def test_a_database_error_retries_the_same_batch_and_acknowledges_only_after(monkeypatch):
    from port2port.detection.models import DeadLetter

    batch = [
        Received("sensors/F1", b"{}", 1, 1, 0),
        Received("ais/BEZEE-AIS1", b"!AIVDM", 2, 1, 0),
        Received("sensors/F2", b"{}", 3, 1, 0),
        Received("weather/wind", b"12 kn", 4, 1, 0),  # subscriptions of an earlier run
        Received("alpr/CAM9", b"{}", 5, 1, 0),
    ]
    acked_while_failing = []
    worker, lines, acks = flaky_worker(monkeypatch, failures=2, batches=[batch])
    worker.out = lambda line: (lines.append(line), acked_while_failing.extend(acks))
    worker._consume()
    assert acked_while_failing == []  # nothing acknowledged while it failed
    # One job per format; each message keeps the device its topic names.
    sensors = ("sensor", ["mqtt:sensors/F1", "mqtt:sensors/F2"], ["F1", "F2"])
    assert worker.pipeline.calls == [  # the same batch again until stored, nothing dropped
        sensors,
        sensors,
        sensors,
        ("ais", ["mqtt:ais/BEZEE-AIS1"], ["BEZEE-AIS1"]),
        ("openalpr", ["mqtt:alpr/CAM9"], ["CAM9"]),  # its topic tells its format
    ]
    assert sum("retrying the batch" in line for line in lines) == 2
    assert worker.total.accepted == 4 and worker.total.rejected == [
        ("mqtt:weather/wind", DeadLetter.objects.get().reason)
    ]
    assert DeadLetter.objects.get().sender == "mqtt port2port-ingest"
    assert sum("match no --topic" in line for line in lines) == 2
    assert acks == [(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)]
    assert worker._unacked == []
    # A message of an earlier connection is not acknowledged on this one: it comes again.
    worker._generation = 1
    acks.clear()
    worker._ack([Received("sensors/F1", b"{}", 5, 1, 0), Received("sensors/F1", b"{}", 6, 1, 1)])
    assert acks == [(6, 1)]


@pytest.mark.django_db
def test_stopped_while_retrying_acknowledges_nothing(monkeypatch):
    batch = [Received("sensors/F1", b"{}", 1, 1, 0)]
    worker, lines, acks = flaky_worker(monkeypatch, failures=10**6, batches=[batch])
    worker.out = lambda line: (lines.append(line), worker.stop())  # stopped while it waits
    worker._consume()
    assert acks == [] and len(worker.pipeline.calls) == 1
    assert [taken.items for taken in worker._unacked] == [batch]


@pytest.mark.django_db
def test_a_failure_keeping_strays_loses_nothing_of_the_batch(monkeypatch):
    from port2port.detection import mqtt
    from port2port.detection.models import DeadLetter

    real, tries = mqtt._strays, []

    def flaky(items, sender=""):
        tries.append(len(items))
        if len(tries) == 1:
            raise OperationalError("database is locked")
        return real(items, sender)

    monkeypatch.setattr(mqtt, "_strays", flaky)
    batch = [Received("weather/wind", b"12 kn", 1, 1, 0), Received("sensors/F1", b"{}", 2, 1, 0)]
    only_strays = [Received("weather/rain", b"3 mm", 3, 1, 0)]
    worker, lines, acks = flaky_worker(monkeypatch, failures=0, batches=[batch, only_strays])
    worker._consume()
    assert tries == [1, 1, 1]  # the first batch's strays again, then the second's
    assert sum("retrying the batch" in line for line in lines) == 1
    assert worker.pipeline.calls == [("sensor", ["mqtt:sensors/F1"], ["F1"])]
    assert acks == [(1, 1), (2, 1), (3, 1)] and worker._unacked == []
    assert DeadLetter.objects.count() == 2 and len(worker.total.rejected) == 2


def test_first_parts_of_an_ais_message_wait_unacknowledged_for_the_rest(monkeypatch):
    worker, _lines, _acks = flaky_worker(monkeypatch, failures=0)
    first, second = (part.encode() for part in AIS_STATIC)
    for item in [
        Received("ais/A", first, 1, 1, 0),
        Received("sensors/F1", b"{}", 2, 1, 0),
        Received("ais/B", first, 3, 1, 0),
        Received("ais/B", second, 4, 1, 0),
        Received("ais/C", b"\\s:r1,c:1740791647*7B\\" + first, 5, 1, 0),  # with a tag block
    ]:
        worker._queue.put(item)
    assert [item.mid for item in worker._take()] == [2, 3, 4]
    assert [item.mid for item in worker._held] == [1, 5]
    worker._queue.put(Received("ais/A", second, 6, 1, 0))
    assert [item.mid for item in worker._take()] == [1, 6]  # together, in order
    assert [item.mid for item in worker._held] == [5]


# --- a broker, a database a worker process can reach, the worker --------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker(tmp_path):
    """Our own Mosquitto on a free loopback port; it queues without limit for absent sessions."""
    port = _free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence false\n"
        "max_queued_messages 0\n"
        "max_inflight_messages 100\n"
    )
    log = (tmp_path / "mosquitto.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - the system's broker, our config
        [MOSQUITTO, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Mosquitto did not start: {(tmp_path / 'mosquitto.log').read_text()}")
            time.sleep(0.05)
    yield f"mqtt://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)
    log.close()


def _postgres_url(settings: dict) -> str:
    user, password = quote(settings.get("USER") or "", safe=""), settings.get("PASSWORD") or ""
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    host = settings.get("HOST") or ""
    host = quote(host, safe="") if host.startswith("/") else host
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{quote(settings['NAME'], safe='')}"


@pytest.fixture
def database_url(database_on_file):
    """The test database as a worker process reaches it. PostgreSQL's test database is used as it
    is (the tests are transactional, so what they write is committed); SQLite's is copied into a
    file (conftest.database_on_file)."""
    connection = connections["default"]
    if connection.vendor == "postgresql":
        return _postgres_url(connection.settings_dict)
    if connection.vendor != "sqlite":
        pytest.skip(f"no worker database URL for {connection.vendor}")
    return f"sqlite:///{connection.settings_dict['NAME']}"


class WorkerProcess:
    """`port2port ingest mqtt` in a process of its own, its output in a file."""

    def __init__(self, tmp_path: Path, database_url: str, broker: str, *args: str):
        self.log = tmp_path / "worker.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "PORT2PORT_VAR": str(tmp_path / "var"),
            "SECRET_KEY": "test-mqtt",
            "LOG_LEVEL": "WARNING",
        }
        self.command = [sys.executable, "-m", "port2port.cli", "ingest", "mqtt"]
        self.command += ["--broker", broker, *args]
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, *, wait: bool = True) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own command
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self.starts += 1
        if wait:
            self.wait_for("mqtt: subscribed", offset)

    def wait_for(self, text: str, offset: int = 0, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output()[offset:]:
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not say {text!r}:\n{self.output()[-3000:]}")
            time.sleep(0.05)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)

    def cleanup(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def worker_factory(tmp_path, database_url, broker):
    workers: list[WorkerProcess] = []

    def make(*args: str) -> WorkerProcess:
        worker = WorkerProcess(tmp_path, database_url, broker, *args)
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.cleanup()


class Publisher:
    """Publishes with QoS 1 as fast as the broker takes it, at most OUTSTANDING unconfirmed
    (paho numbers messages in 16 bits: far more in its queue and a number would be reused)."""

    OUTSTANDING = 10_000

    def __init__(self, url: str):
        import paho.mqtt.client as mqtt

        broker = Broker.from_url(url)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(1000)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.pending: deque = deque()

    def publish(self, topic: str, payload: bytes | str) -> None:
        info = self.client.publish(topic, payload, qos=1)
        assert info.rc == 0, f"publish failed: {info.rc}"
        self.pending.append(info)
        if len(self.pending) > self.OUTSTANDING:
            self.pending.popleft().wait_for_publish(timeout=60)

    def close(self) -> None:
        while self.pending:
            self.pending.popleft().wait_for_publish(timeout=60)
        self.client.disconnect()
        self.client.loop_stop()


def wait_until(check, *, timeout: float, settle: float = 0.0):
    """Poll until check() is true (then `settle` more seconds, and check again)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            if settle:
                time.sleep(settle)
            return check()
        time.sleep(0.1)
    return check()


# --- (a) stored once, nothing lost while the worker is down ----------------------------------------


@needs_broker
@pytest.mark.django_db(transaction=True)
def test_worker_stores_once_and_keeps_what_came_while_it_was_down(worker_factory, broker):
    from port2port.detection.models import DeadLetter, Event
    from tests.detection.factories import sensor, world

    world("BEZEE")
    now = timezone.now()
    worker = worker_factory("--client-id", "test-a")
    worker.start()
    publisher = Publisher(broker)
    fence = sensor("fence", "BEZEE-FENCE1", now, "fz-1", confidence=0.9)
    publisher.publish("sensors/BEZEE-FENCE1", fence)
    publisher.publish("sensors/BEZEE-FENCE1", fence)  # delivered again
    alpr = {
        "data_type": "alpr_group",
        "epoch_start": int(now.timestamp() * 1000),
        "best_plate_number": "1ABC123",
        "best_uuid": "gate-1-1",
        "best_confidence": 91.5,
    }
    publisher.publish("alpr/BEZEE-ANPR1", json.dumps(alpr))  # the camera named by the topic
    for part in AIS_STATIC:  # one sentence per message; the topic names the receiver
        publisher.publish("ais/BEZEE-AIS1", part)
    publisher.publish("sensors/BEZEE-FENCE1", "{broken")
    publisher.close()

    assert wait_until(lambda: Event.objects.count() == 3, timeout=30, settle=1.0)
    assert wait_until(lambda: DeadLetter.objects.count() == 1, timeout=10)
    assert sorted(Event.objects.values_list("uid", flat=True)) == sorted(
        [
            "sensor:BEZEE-FENCE1:fz-1",
            "openalpr:BEZEE-ANPR1:group:gate-1-1",
            Event.objects.get(kind="vessel_static").uid,
        ]
    )
    static = Event.objects.get(kind="vessel_static")
    assert (static.mmsi, static.device_code) == (368060190, "BEZEE-AIS1")
    dead = DeadLetter.objects.get()
    assert (dead.channel, dead.format, dead.payload) == (
        "mqtt:sensors/BEZEE-FENCE1",
        "sensor",
        "{broken",
    )
    assert worker.stop() == 0 and "mqtt: stopped" in worker.output()
    assert "accepted 3, duplicates 1, rejected 1" in worker.output()

    # Published while no worker runs: the broker keeps it for the session, and it comes.
    publisher = Publisher(broker)
    publisher.publish("sensors/BEZEE-FENCE1", sensor("fence", "BEZEE-FENCE1", now, "fz-2"))
    publisher.close()
    worker.start()
    assert "resumed session" in worker.output()
    assert wait_until(lambda: Event.objects.count() == 4, timeout=30, settle=0.5)
    assert worker.stop() == 0


# --- (b) the kill test ---------------------------------------------------------------------------

STREAM = 100_000
PERIMETER_EVERY = 100  # a fence event in the guarded zone: all update one perimeter alarm
HOTLIST_EVERY = 500  # a read of a wanted plate, each plate once: one alarm each
KILLS = 4


@needs_broker
@pytest.mark.django_db(transaction=True)
def test_a_batch_that_fills_the_brokers_window_is_acknowledged_and_more_comes(
    worker_factory, broker
):
    """The broker sends at most its in-flight window (100 here) unacknowledged: a batch that
    takes all of it must be acknowledged although nothing else comes, or the worker waits
    forever."""
    from port2port.detection.models import Event
    from tests.detection.factories import sensor, world

    world("BEZEE")
    now = timezone.now()
    worker = worker_factory("--client-id", "test-window", "--batch", "500")
    worker.start()  # the session and its subscription
    assert worker.stop() == 0
    publisher = Publisher(broker)  # queued for the session while no worker runs
    for n in range(350):
        publisher.publish("sensors/BEZEE-FENCE1", sensor("fence", "BEZEE-FENCE1", now, f"w-{n}"))
    publisher.close()
    worker.start()
    assert wait_until(lambda: Event.objects.count() == 350, timeout=60), Event.objects.count()
    assert worker.stop() == 0


def stream(start) -> list[tuple[str, bytes]]:
    """(topic, payload) of the stream; unique ids throughout."""
    messages = []
    for n in range(STREAM):
        at = start + timedelta(milliseconds=n)
        if n % HOTLIST_EVERY == 7:
            plate = f"9KT{n // HOTLIST_EVERY:04d}"
            message = {
                "data_type": "alpr_group",
                "epoch_start": int(at.timestamp() * 1000),
                "camera_id": "BEZEE-ANPR1",
                "best_plate_number": plate,
                "best_uuid": f"kill-{n}",
                "best_confidence": 93.0,
            }
            messages.append(("alpr/BEZEE-ANPR1", json.dumps(message).encode()))
            continue
        device = "BEZEE-FENCE1" if n % PERIMETER_EVERY == 3 else "BEZEE-FENCE2"
        message = {
            "type": "fence",
            "id": f"kill-{n}",
            "device": device,
            "at": at.isoformat(),
            "confidence": 0.9 if device == "BEZEE-FENCE1" else 0.4,
        }
        messages.append((f"sensors/{device}", json.dumps(message).encode()))
    return messages


@needs_broker
@pytest.mark.django_db(transaction=True)
def test_killed_worker_loses_nothing_and_doubles_nothing(worker_factory, broker):
    from django.db.models import Count

    from port2port.detection.models import Alarm, AlarmEvent, Event, Hotlist, HotlistEntry
    from port2port.sites.models import Device, DeviceKind
    from tests.detection.factories import RuleKind, point, rule, world

    w = world("BEZEE")
    Device.objects.create(  # a second fence, in a zone no rule guards: noise
        port=w.port,
        code="BEZEE-FENCE2",
        name="Fence 2",
        kind=DeviceKind.FENCE,
        geometry=point(3.23, 51.36),
        owner=w.authority,
        zone=w.restricted,
    )
    rule(w, RuleKind.PERIMETER, zone=w.quay, suppress_seconds=30 * 86400)
    wanted = Hotlist.objects.create(owner=w.authority, port=w.port, name="Wanted", priority=10)
    plates = {f"9KT{k:04d}" for k in range(STREAM // HOTLIST_EVERY)}
    HotlistEntry.objects.bulk_create(HotlistEntry(hotlist=wanted, plate=p) for p in plates)
    messages = stream(timezone.now() - timedelta(hours=1))
    perimeter_events = sum(1 for topic, _ in messages if topic == "sensors/BEZEE-FENCE1")

    worker = worker_factory(
        "--client-id",
        "kill-test",
        "--topic",
        "sensors/+=sensor",
        "--topic",
        "alpr/+=openalpr",
        "--batch",
        "500",
    )
    worker.start()  # the session and its subscription exist before the first message
    started = time.monotonic()

    def publish_all():
        publisher = Publisher(broker)
        for topic, payload in messages:
            publisher.publish(topic, payload)
        publisher.close()

    publishing = threading.Thread(target=publish_all, name="publisher")
    publishing.start()

    # Kill at random points of the stream's progress, whatever the machine's speed.
    rng = random.Random()
    moments = sorted(rng.uniform(0.05, 0.9) * STREAM for _ in range(KILLS))
    killed_at = []
    for moment in moments:
        wait_until(lambda m=moment: Event.objects.count() >= m, timeout=120)
        time.sleep(rng.uniform(0, 0.3))  # anywhere in a batch: parsing, writing, acknowledging
        worker.kill()
        killed_at.append(Event.objects.count())
        worker.start(wait=False)
    # Once more while it starts: setting up, connecting, resuming its session.
    time.sleep(rng.uniform(0.2, 1.5))
    worker.kill()
    killed_at.append(Event.objects.count())
    worker.start(wait=False)
    publishing.join(timeout=180)

    assert wait_until(lambda: Event.objects.count() >= STREAM, timeout=180, settle=2.0)
    elapsed = time.monotonic() - started
    assert worker.stop() == 0
    print(
        f"\nkill test: {STREAM} messages in {elapsed:.1f} s ({STREAM / elapsed:.0f}/s),"
        f" {len(killed_at)} kills at {killed_at} events stored"
    )
    assert len(killed_at) == KILLS + 1 and all(count < STREAM for count in killed_at)

    assert Event.objects.count() == STREAM
    assert Event.objects.values("uid").distinct().count() == STREAM
    assert set(Event.objects.values_list("uid", flat=True)) == {
        f"sensor:{json.loads(p)['device']}:kill-{n}"
        if topic.startswith("sensors/")
        else f"openalpr:BEZEE-ANPR1:group:kill-{n}"
        for n, (topic, p) in enumerate(messages)
    }

    [perimeter] = Alarm.objects.filter(kind=RuleKind.PERIMETER)
    assert perimeter.count == perimeter_events
    assert AlarmEvent.objects.filter(alarm=perimeter).count() == perimeter_events

    hits = Alarm.objects.filter(kind=RuleKind.HOTLIST).annotate(linked=Count("links"))
    assert sorted(alarm.params["plate"] for alarm in hits) == sorted(plates)
    assert {(alarm.count, alarm.linked) for alarm in hits} == {(1, 1)}
    assert Alarm.objects.count() == 1 + len(plates)
