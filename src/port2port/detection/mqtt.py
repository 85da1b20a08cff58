"""The MQTT ingest worker (issue 6, part 2): device feeds from a broker into the pipeline, at
least once and stored once.

The worker keeps a persistent session (MQTT 3.1.1, `clean_session=False`, a stable client id), so
the broker holds QoS 1 messages while it is down, and acknowledges a message only after the batch
that contains it is committed (paho's `manual_ack`). A worker killed at any moment loses nothing:
what it had not acknowledged comes again, and what it had stored already is recognised by its
event uid. Several workers share the load with one shared subscription (`$share/GROUP/topic`).

paho's network thread only queues what arrives; the main thread takes batches from the queue and
hands them to `Pipeline.stream` (one job per format), which stores each batch in a writer thread
while it reads the next; a batch is acknowledged once all of it is committed. A database error
stops nothing: the batches not yet acknowledged are tried again, in order, until they are stored.

Topics: `frigate/events`, `frigate/reviews`, `alpr/<camera>`, `platerecognizer/<camera>`,
`sensors/<device>` and `ais/<receiver>` tell their format by name; the last level names the device
when a message does not (AIS never does). AIS sentences come one per message, in order, per topic.
With a shared subscription the parts of one multi-part AIS message may reach different workers:
subscribe to AIS topics without `$share`, or have the receiver publish all parts in one message.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from django.db import DatabaseError, InterfaceError, connection, transaction

from .ingest import FORMATS, Job, Message, Outcome, Pipeline

log = logging.getLogger(__name__)

DEFAULT_CLIENT_ID = "port2port-ingest"
DEFAULT_BATCH = 500
BATCH_WINDOW = 0.05  # seconds a batch may wait for more messages
# A pause this long ends the batch early: with the broker's in-flight limit reached (Mosquitto's
# max_inflight_messages) nothing more comes until we acknowledge, so waiting is time lost.
IDLE_GAP = 0.005
# With a batch in hand, how long nothing must come before it is finished and acknowledged (the
# broker may be waiting for that acknowledgement to send more).
IN_HAND_WAIT = 0.01
STATUS_SECONDS = 10.0
RETRY_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0

# The topics subscribed when none is given: what the common devices and `port2port simulate` use.
DEFAULT_TOPICS = (
    "frigate/events",
    "frigate/reviews",
    "alpr/#=openalpr",
    "openalpr/#=openalpr",
    "platerecognizer/#=platerecognizer",
    "sensors/#=sensor",
    "p2p/#=sensor",
    "ais/#=ais",
)
# First topic level -> format (Frigate's levels are <prefix>/events and <prefix>/reviews).
_FIRST_LEVEL = {
    "alpr": "openalpr",
    "openalpr": "openalpr",
    "platerecognizer": "platerecognizer",
    "ais": "ais",
    "sensors": "sensor",
    "p2p": "sensor",
}
# Formats whose topics end with the sending device (alpr/<camera>, ais/<receiver>, ...).
_DEVICE_IN_TOPIC = {"openalpr", "platerecognizer", "sensor", "ais"}


class ConfigError(ValueError):
    """A broker URL or topic the worker cannot use; the message says why."""


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    tls: bool = False
    username: str = ""
    password: str = ""

    @classmethod
    def from_url(cls, url: str) -> Broker:
        """mqtt://[user:password@]host[:1883] or mqtts://...[:8883]."""
        parts = urlsplit(url)
        if parts.scheme not in {"mqtt", "mqtts", "tcp", "ssl"}:
            raise ConfigError(f"broker URL {url!r}: use mqtt://HOST:PORT or mqtts://HOST:PORT")
        if not parts.hostname:
            raise ConfigError(f"broker URL {url!r} names no host")
        tls = parts.scheme in {"mqtts", "ssl"}
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise ConfigError(f"broker URL {url!r}: the port is not a number") from None
        return cls(
            host=parts.hostname,
            port=port,
            tls=tls,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
        )


@dataclass(frozen=True)
class Subscription:
    """A topic filter as subscribed (maybe `$share/GROUP/...`) and the format of its messages."""

    topic: str
    fmt: str

    @property
    def filter(self) -> str:
        """The filter messages are matched against: without the `$share/GROUP/` prefix."""
        return unshared(self.topic)

    @classmethod
    def parse(cls, value: str) -> Subscription:
        """`TOPIC=FORMAT`, or `TOPIC` alone when its format follows from its name."""
        topic, _, fmt = value.partition("=")
        topic, fmt = topic.strip(), fmt.strip()
        if not topic:
            raise ConfigError(f"topic {value!r} is empty")
        if topic.startswith("$share/") and len(topic.split("/", 2)) < 3:
            raise ConfigError(f"topic {topic!r}: a shared subscription is $share/GROUP/TOPIC")
        if fmt:
            if fmt not in FORMATS:
                raise ConfigError(
                    f"topic {topic!r}: unknown format {fmt!r} (one of {', '.join(FORMATS)})"
                )
            return cls(topic, fmt)
        if any(level in {"+", "#"} for level in unshared(topic).split("/")):
            example = format_of(topic.replace("#", "x").replace("+", "x")) or "sensor"
            raise ConfigError(
                f"topic {topic!r} has wildcards: give its format, e.g. {topic}={example}"
            )
        guessed = format_of(topic)
        if guessed is None:
            raise ConfigError(
                f"cannot tell the format of topic {topic!r}: give it, e.g. {topic}=sensor"
            )
        return cls(topic, guessed)


def unshared(topic: str) -> str:
    """`$share/GROUP/a/b` -> `a/b`; other topics unchanged."""
    if topic.startswith("$share/"):
        parts = topic.split("/", 2)
        return parts[2] if len(parts) == 3 else ""
    return topic


def format_of(topic: str) -> str | None:
    """The format a topic name implies, or None."""
    levels = unshared(topic).split("/")
    if len(levels) >= 2 and levels[1] == "events" and levels[0].startswith("frigate"):
        return "frigate"
    if len(levels) >= 2 and levels[1] == "reviews" and levels[0].startswith("frigate"):
        return "frigate-review"
    return _FIRST_LEVEL.get(levels[0].lower())


def topic_device(topic: str, fmt: str) -> str:
    """The device a topic names (its last level: alpr/<camera>, ais/<receiver>), or ""."""
    levels = topic.split("/")
    if fmt in _DEVICE_IN_TOPIC and len(levels) >= 2:
        return levels[-1]
    return ""


@dataclass(slots=True)
class Received:
    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int  # the connection it came on: an ack is only valid on that one


@dataclass
class Taken:
    """A batch taken from the broker: acknowledged when every job made of it is stored."""

    items: list[Received]
    jobs: list
    strays: list[Received]  # messages no subscription matches: kept as dead letters
    left: int = 0
    outcome: Outcome = field(default_factory=Outcome)


class Worker:
    """Subscribes, stores batches, acknowledges what is stored; `run()` blocks until stopped."""

    def __init__(
        self,
        *,
        broker: Broker,
        subscriptions: list[Subscription],
        client_id: str = DEFAULT_CLIENT_ID,
        device: str = "",
        batch: int = DEFAULT_BATCH,
        pipeline: Pipeline | None = None,
        out: Callable[[str], None] | None = None,
        status_seconds: float = STATUS_SECONDS,
    ):
        if not subscriptions:
            raise ConfigError("no topic to subscribe to")
        self.broker = broker
        self.subscriptions = list(subscriptions)
        self.client_id = client_id
        self.device = device
        self.batch = max(1, batch)
        self.pipeline = pipeline or Pipeline()
        self.out = out or (lambda line: print(line, flush=True))
        self.status_seconds = status_seconds
        self.total = Outcome()
        self.acked = 0
        self._queue: queue.Queue[Received] = queue.Queue()
        self._stop = threading.Event()
        self._generation = 0
        self._client = None
        self._unmatched: set[str] = set()
        self._unreachable = False
        self._held: list[Received] = []  # AIS parts waiting for the rest of their message
        self._unacked: list[Taken] = []  # taken from the broker, not yet all stored
        self._again: list[Taken] = []  # to be stored again after an error
        self._wait = RETRY_SECONDS
        self._last_status = time.monotonic()
        self._reported = Outcome()

    # --- paho's network thread: queue and report, nothing else ------------------------------------

    def _on_connect(self, client, _userdata, flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            self.out(f"mqtt: the broker refused the connection: {reason_code}")
            return
        self._generation += 1
        self._unreachable = False
        resumed = "resumed" if flags.session_present else "new"
        self.out(
            f"mqtt: connected to {self.broker.host}:{self.broker.port} as {self.client_id}"
            f" ({resumed} session)"
        )
        client.subscribe([(s.topic, 1) for s in self.subscriptions])

    def _on_subscribe(self, _client, _userdata, _mid, reason_codes, _properties) -> None:
        for sub, code in zip(self.subscriptions, reason_codes, strict=False):
            if code.is_failure:
                self.out(f"mqtt: subscription to {sub.topic} refused: {code}")
        topics = ", ".join(f"{s.topic}={s.fmt}" for s in self.subscriptions)
        self.out(f"mqtt: subscribed to {topics}")

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        if not self._stop.is_set():
            self.out(f"mqtt: disconnected ({reason_code}); reconnecting")

    def _on_connect_fail(self, _client, _userdata) -> None:
        if not self._unreachable:
            self._unreachable = True
            self.out(f"mqtt: cannot reach {self.broker.host}:{self.broker.port}; retrying")

    def _on_message(self, _client, _userdata, message) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:  # brokers refuse such topics; keep the message anyway
            topic = bytes(message._topic).decode("utf-8", "replace")
        self._queue.put(
            Received(topic, message.payload, message.mid, message.qos, self._generation)
        )

    # --- the main thread ----------------------------------------------------------------------------

    def _connect(self):
        import paho.mqtt.client as mqtt

        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password or None)
        if self.broker.tls:
            client.tls_set()
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_message = self._on_message
        client.reconnect_delay_set(1, 30)
        client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        client.loop_start()
        return client

    def stop(self, *_args) -> None:
        """Finish the batch in hand, acknowledge it and disconnect (SIGTERM, SIGINT)."""
        self._stop.set()

    def run(self) -> int:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        self._client = client = self._connect()
        self._last_status = time.monotonic()
        self._reported = Outcome()
        try:
            self._consume()
        finally:
            try:
                self.pipeline.flush()
            except Exception:
                log.exception("mqtt: could not record when devices were last seen")
            client.disconnect()
            client.loop_stop()
        self._status(self._reported, time.monotonic() - self._last_status)
        self.out("mqtt: stopped")
        return 0

    def _consume(self) -> None:
        """Store what comes until stopped; after an error, the batches not yet acknowledged
        again, in order, with a growing pause."""
        self._wait = RETRY_SECONDS
        while not self._stop.is_set():
            try:
                self.pipeline.stream(self._jobs(), on_stored=self._stored)
            except Exception as exc:
                kind = "database" if isinstance(exc, DatabaseError | InterfaceError) else "ingest"
                waiting = sum(len(taken.items) for taken in self._unacked)
                log.exception("mqtt: %s error; %d messages are tried again", kind, waiting)
                self.out(f"mqtt: {kind} error ({exc}); retrying the batch in {self._wait:.0f} s")
                _reconnect_database()
                self._again = list(self._unacked)
                if self._stop.wait(self._wait):
                    return
                self._wait = min(RETRY_MAX_SECONDS, self._wait * 2)

    def _jobs(self):
        """The pipeline's jobs: first those of batches not yet stored, then those of new
        batches from the broker, until stopped. A batch counts as taken (to be sent again
        after an error) before anything of it is written."""
        again, self._again = self._again, []
        for taken in again:
            taken.left, taken.outcome = len(taken.jobs), Outcome()
            yield from self._start(taken)
        while not self._stop.is_set():
            self._status_now_and_then()
            items = self._take()
            if not items:
                # Nothing came: let the stream finish the batch in hand, so that it is
                # acknowledged (the broker sends no more than its in-flight window without).
                yield None
                continue
            taken = self._taken(items)
            self._unacked.append(taken)
            yield from self._start(taken)

    def _start(self, taken: Taken):
        """Keep the batch's strays (again after an error: a dead letter is kept once), then
        its jobs; a batch of strays alone is done at once."""
        if taken.strays:
            taken.outcome.add(_strays(taken.strays, f"mqtt {self.client_id}"))
        if not taken.jobs:
            self._done(taken)
            return
        yield from taken.jobs

    def _taken(self, items: list[Received]) -> Taken:
        """One job per format; each message keeps the device its topic names. Nothing is
        written yet."""
        groups: dict[str, list[Message]] = {}
        strays: list[Received] = []
        for item in items:
            fmt = self._format_of(item.topic)
            if fmt is None:
                strays.append(item)
                continue
            device = self.device or topic_device(item.topic, fmt)
            groups.setdefault(fmt, []).append(Message(item.payload, f"mqtt:{item.topic}", device))
        sender = f"mqtt {self.client_id}"
        taken = Taken(items, [], strays)
        taken.jobs = [
            Job(fmt, messages, sender=sender, token=taken) for fmt, messages in groups.items()
        ]
        taken.left = len(taken.jobs)
        return taken

    def _stored(self, job: Job, outcome: Outcome) -> None:
        taken = job.token
        taken.outcome.add(outcome)
        taken.left -= 1
        if taken.left == 0:
            self._done(taken)

    def _done(self, taken: Taken) -> None:
        self._ack(taken.items)
        self.total.add(taken.outcome)
        self._unacked.remove(taken)
        self._wait = RETRY_SECONDS

    def _status_now_and_then(self) -> None:
        clock = time.monotonic()
        if clock - self._last_status >= self.status_seconds:
            self._status(self._reported, clock - self._last_status)
            self._reported = _copy(self.total)
            self._last_status = clock

    def _take(self) -> list[Received]:
        """Up to `batch` messages: what arrives within BATCH_WINDOW of the first one, after the
        AIS parts held back from the previous batch."""
        try:  # with a batch in hand, not long: it is acknowledged once nothing else comes
            first = self._queue.get(timeout=IN_HAND_WAIT if self._unacked else 0.5)
        except queue.Empty:
            return []
        batch = [*self._held, first]
        deadline = time.monotonic() + BATCH_WINDOW
        while len(batch) < self.batch + len(self._held):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self._queue.get(timeout=min(remaining, IDLE_GAP)))
            except queue.Empty:
                break
        # The first parts of an AIS message whose last part has not come yet wait, unacknowledged,
        # for the next batch: acknowledged alone, they would be lost with a worker killed before
        # the rest arrives (the broker sends the rest, not them, to the next worker).
        waiting = _unfinished_ais(batch, self._format_of)
        self._held = [item for n, item in enumerate(batch) if n in waiting]
        return [item for n, item in enumerate(batch) if n not in waiting]

    def _format_of(self, topic: str) -> str | None:
        """The format of the subscription the topic matches. A persistent session also keeps the
        subscriptions of earlier runs with other --topic: their messages are read in the format
        their topic implies, else kept as dead letters."""
        import paho.mqtt.client as mqtt

        for sub in self.subscriptions:
            if mqtt.topic_matches_sub(sub.filter, topic):
                return sub.fmt
        fmt = format_of(topic)
        family = f"{topic.split('/', 1)[0]}/..."  # say it once per kind of device, not per device
        if family not in self._unmatched and len(self._unmatched) < 1000:
            self._unmatched.add(family)
            self.out(
                f"mqtt: messages on {family} match no --topic (a subscription the broker kept from"
                f" an earlier run of {self.client_id}?): "
                + (f"read as {fmt}" if fmt else "kept as dead letters")
            )
        return fmt

    def _ack(self, batch: list[Received]) -> None:
        generation = self._generation
        for item in batch:
            # A message of an earlier connection comes again on this one: its old packet id means
            # nothing now, and the copy is recognised as a duplicate.
            if item.qos and item.generation == generation:
                self._client.ack(item.mid, item.qos)
                self.acked += 1

    def _status(self, since: Outcome, seconds: float) -> None:
        total = self.total
        rate = (total.accepted + total.duplicates - since.accepted - since.duplicates) / max(
            seconds, 0.001
        )
        self.out(
            f"mqtt: accepted {total.accepted}, duplicates {total.duplicates},"
            f" rejected {len(total.rejected)}; alarms raised {total.raised},"
            f" updated {total.updated} ({rate:.0f} events/s)"
        )


def _unfinished_ais(batch: list[Received], format_of_topic) -> set[int]:
    """Positions in `batch` of AIS messages holding parts of a multi-part message whose later
    parts are not in the batch (checked per topic: a receiver sends the parts in order)."""
    open_parts: dict[str, tuple[list[int], int, int]] = {}  # topic -> (positions, count, next)
    for n, item in enumerate(batch):
        if format_of_topic(item.topic) != "ais":
            continue
        for line in bytes(item.payload).splitlines():
            count, part = _fragment(line)
            current = open_parts.pop(item.topic, None)
            if count > 1 and part == 1:
                open_parts[item.topic] = ([n], count, 2)
            elif current is not None and (count, part) == current[1:] and part < count:
                positions = current[0] if current[0][-1] == n else [*current[0], n]
                open_parts[item.topic] = (positions, count, part + 1)
    return {n for positions, _, _ in open_parts.values() for n in positions}


def _fragment(line: bytes) -> tuple[int, int]:
    """(fragment count, fragment number) of an NMEA sentence; (1, 1) when it is not one."""
    line = line.strip()
    if line.startswith(b"\\") and line.count(b"\\") >= 2:  # an NMEA 4.10 tag block first
        line = line.rsplit(b"\\", 1)[1]
    fields = line.split(b",", 3)
    try:
        return int(fields[1]), int(fields[2])
    except (IndexError, ValueError):
        return 1, 1


def _copy(outcome: Outcome) -> Outcome:
    return Outcome(outcome.accepted, outcome.duplicates, [], outcome.raised, outcome.updated)


def _strays(items: list[Received], sender: str = "") -> Outcome:
    """Messages on a topic none of our subscriptions matches: a persistent session keeps the
    subscriptions of earlier runs. Kept as dead letters so that nobody loses them unseen."""
    from .ingest import Message, _dead
    from .models import DeadLetter

    reason = "no --topic of the worker matches this topic, and its name implies no format"
    with transaction.atomic():
        DeadLetter.objects.bulk_create(
            [
                _dead("", Message(item.payload, f"mqtt:{item.topic}"), reason, sender=sender)
                for item in items
            ],
            ignore_conflicts=True,  # the same message delivered again is kept once
        )
    return Outcome(rejected=[(f"mqtt:{item.topic}", reason) for item in items])


def _reconnect_database() -> None:
    """Drop a broken connection so that the retry opens a new one."""
    if connection.in_atomic_block:  # not ours to close (a caller's transaction, a test)
        return
    try:
        connection.close()
    except Exception:
        log.debug("mqtt: closing the database connection failed", exc_info=True)
