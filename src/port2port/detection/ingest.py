"""The ingest pipeline: raw messages → adapters → events → rules → stored → alarms published.

One `Pipeline` per worker process. `ingest()` takes a batch of raw messages of one format and,
in one transaction, stores the new events with the database's bulk insert (`INSERT … ON CONFLICT
(uid) DO NOTHING`, one statement for the batch), the dead letters, and the alarms the rules
raised or updated. Only after the commit are the alarms pushed to the control rooms, and only
then may the caller acknowledge the messages (MQTT QoS 1): a worker killed at any moment loses
nothing, and a message delivered again is recognised by its event's uid and stored once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

import orjson
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from port2port.access.engine import decide as access_decide
from port2port.access.snapshot import store as access_store
from port2port.core import audit
from port2port.core.visibility import SYSTEM

from . import state
from .adapters import ais, frigate, openalpr, platerecognizer, sensors
from .adapters.events import AdapterError
from .engine import Actions, Detector, DeviceInfo, NewAlarm, OpenAlarm, Row, inside
from .models import (
    Alarm,
    AlarmEntry,
    AlarmEvent,
    AlarmState,
    AlarmStep,
    Contact,
    DeadLetter,
    Delivery,
    Event,
    HotlistEntry,
)

log = logging.getLogger(__name__)

# Formats and the adapter that reads one message of each; "ais" is read line by line.
FORMATS = {
    "frigate": frigate.parse_event,
    "frigate-review": frigate.parse_review,
    "openalpr": openalpr.parse,
    "platerecognizer": platerecognizer.parse,
    "sensor": sensors.parse,
    "ais": None,
}
REFRESH_SECONDS = 1.0
SEEN_FLUSH_SECONDS = 10.0
VESSEL_PUSH_SECONDS = 2.0
EXPIRE_SECONDS = 60.0
MAX_DEAD_PAYLOAD = 65_536


@dataclass
class Message:
    payload: bytes | str
    channel: str = ""
    device: str = ""  # the device its channel names (an MQTT topic's last level), if any


@dataclass
class Outcome:
    accepted: int = 0
    duplicates: int = 0
    rejected: list = field(default_factory=list)  # (channel, reason)
    raised: int = 0
    updated: int = 0
    late: int = 0  # accepted, but too old for the rules: stored without raising anything

    def add(self, other: Outcome) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)
        self.raised += other.raised
        self.updated += other.updated
        self.late += other.late


@dataclass
class Batch:
    """A batch read and judged by the rules, ready to be stored in one transaction."""

    rows: list
    dead: list
    actions: Actions
    outcome: Outcome
    now: datetime
    spoke: list  # the devices heard from
    detector: Detector  # whose rules judged it


@dataclass
class Job:
    """One batch for `Pipeline.stream`, with what `Pipeline.ingest` takes besides it."""

    fmt: str
    messages: list
    device: DeviceInfo | None = None
    owner_id: object = None
    default_device: str = ""
    sender: str = ""
    token: object = None  # the caller's own: what to acknowledge when it is stored

    def source(self) -> dict:
        return {
            "device": self.device,
            "owner_id": self.owner_id,
            "default_device": self.default_device,
            "sender": self.sender,
        }


def _close_connection() -> None:
    """The writer thread's database connection ends with the stream."""
    from django.db import connection as thread_connection

    thread_connection.close()


def late_seconds() -> float:
    """How old an event may arrive and still raise alarms (settings.DETECTION_LATE_SECONDS)."""
    from django.conf import settings

    return float(getattr(settings, "DETECTION_LATE_SECONDS", 24 * 3600))


def event_uid(event) -> str:
    """The event's identity across redeliveries. AIS messages are the same whichever receiver
    heard them; every other source names its messages per device."""
    if event.source == "ais":  # the same sentence heard again a minute later is news
        uid = f"ais:{event.source_id}:{event.at:%Y%m%d%H%M}"
    else:
        uid = f"{event.source}:{event.device}:{event.source_id}"
    if len(uid) > 120:
        uid = f"{event.source}:h:{hashlib.sha256(uid.encode()).hexdigest()}"
    return uid


class Pipeline:
    def __init__(self, *, publish: bool = True):
        self.publish_live = publish
        self._detector: Detector | None = None
        self._checked = 0.0
        self._lock = threading.RLock()
        self._rule_extras: dict = {}  # rule id -> (procedure steps, contacts at level 0)
        self._seen: dict = {}  # device id -> newest event moment, flushed every few seconds
        self._seen_flushed = time.monotonic()
        self._vessel_pushed: dict = {}
        self._ais: dict = {}  # channel -> AisAssembler (MQTT: parts arrive one message each)
        self._expired = time.monotonic()
        self._seen_lock = threading.Lock()
        self._inflight: frozenset = frozenset()  # uids of the batch the writer stores (stream)
        # Alarms this worker raised that the store counted into another worker's open alarm
        # (raised id -> that alarm's id), of the batch stored last and of the one being stored.
        # Only the store reads and writes them, one batch after the other: a batch judged while
        # the one before it was being stored still names the raised id, and its repeats must
        # reach the alarm that holds the key (later batches know it: `_claimed`).
        self._claims: dict = {}
        self._claims_before: dict = {}

    # --- state ----------------------------------------------------------------------------------

    def detector(self, *, force: bool = False) -> Detector:
        """The rule state, reloaded when the rules changed (checked every second), with what
        the last stored batches found out applied."""
        detector = self._current_detector(force)
        detector.apply_deferred()
        return detector

    def _current_detector(self, force: bool) -> Detector:
        now = time.monotonic()
        if self._detector is not None and not force and now - self._checked < REFRESH_SECONDS:
            return self._detector
        self._checked = now
        seq = state.current_seq()
        if self._detector is not None and not force and seq == self._detector.indexes.seq:
            return self._detector
        indexes = state.load_indexes()
        if self._detector is None or force:
            detector = Detector(
                indexes,
                open_alarms=state.open_alarms(indexes),
                vessels=self._vessels(indexes),
                people=state.recent_people(),
            )
        else:  # keep what was remembered; only the rules, devices and lists change
            detector = self._detector
            detector.indexes = indexes
        detector.entry_check = _entries
        detector.access_decide = _access_decide
        self._detector = detector
        self._rule_extras = {}
        return detector

    @staticmethod
    def _vessels(indexes):
        for mmsi, (at, lat, lon, _port, name) in state.recent_vessels():
            port_id = next(
                (p for p, rings in indexes.port_areas.items() if inside(rings, lon, lat)), None
            )
            yield mmsi, (at, lat, lon, port_id, name)

    def reset(self) -> None:
        """Forget everything remembered; the next batch reloads from the database."""
        with self._lock:
            self._detector = None
            self._checked = 0.0
            self._ais.clear()
            self._seen.clear()
            self._rule_extras = {}
            self._vessel_pushed.clear()

    # --- parsing --------------------------------------------------------------------------------

    def parse(self, fmt: str, message: Message, received_at: datetime) -> tuple[list, list]:
        """(events, errors) of one message; never raises on bad input."""
        if fmt not in FORMATS:
            return [], [AdapterError(f"unknown format {fmt!r}")]
        if fmt == "ais":
            payload = message.payload
            if isinstance(payload, bytes | bytearray):
                payload = bytes(payload).decode("utf-8", "replace")
            if message.channel.startswith("mqtt:"):  # one sentence per message, parts in order
                assembler = self._ais.get(message.channel)
                if assembler is None:
                    assembler = self._ais[message.channel] = ais.AisAssembler()
                events, errors = [], []
                for line in payload.splitlines():
                    try:
                        events.extend(assembler.feed(line, received_at))
                    except AdapterError as exc:
                        errors.append(exc)
                return events, errors
            assembler = ais.AisAssembler(received_at=received_at)
            events, errors = [], []
            for number, line in enumerate(payload.splitlines(), start=1):
                try:
                    events.extend(assembler.feed(line))
                except AdapterError as exc:
                    error = AdapterError(f"line {number}: {exc}")
                    error.payload = line[:MAX_DEAD_PAYLOAD]
                    errors.append(error)
            return events, errors + assembler.incomplete()
        try:
            return FORMATS[fmt](message.payload), []
        except AdapterError as exc:
            return [], [exc]
        except Exception as exc:  # an adapter bug must not stop the worker
            log.exception("detection: adapter %s failed", fmt)
            return [], [AdapterError(f"{fmt}: cannot read the message ({type(exc).__name__})")]

    # --- the batch ------------------------------------------------------------------------------

    def ingest(
        self,
        fmt: str,
        messages: Iterable[Message],
        *,
        device: DeviceInfo | None = None,
        owner_id=None,
        default_device: str = "",
        sender: str = "",
        now: datetime | None = None,
    ) -> Outcome:
        """Parse, check, evaluate and store one batch. `device`: the sender's own device (HTTP
        with a device token): events must come from it or from another device of its owner.
        `sender` names who sent it, for the dead letters."""
        messages = list(messages)
        with self._lock:
            for attempt in (1, 2):
                try:
                    batch = self._prepare(
                        fmt,
                        messages,
                        device,
                        owner_id,
                        default_device,
                        sender,
                        now or timezone.now(),
                    )
                except BaseException:  # the rules may hold half a batch: start them afresh
                    self.reset()
                    raise
                try:
                    return self._write(batch)
                except IntegrityError:  # another worker raised the same alarm at the same moment
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

    def stream(self, batches: Iterable[Job], *, on_stored=None) -> Outcome:
        """Ingest batches one after the other, storing each in a writer thread while the next
        one is read and judged: one worker keeps both cores busy, its own and the database's.
        Each batch is committed in order, then `on_stored(job, outcome)` runs in this thread
        (the MQTT worker acknowledges there). When storing fails, the rules forget what they
        remembered and the failed batch and the one read meanwhile are stored again, one at a
        time, before the stream goes on; if that fails too, the error is raised and the jobs
        not yet reported stored are the caller's to send again. A `None` among the jobs says
        that nothing more comes for now: the batch in hand is finished and reported (a broker
        sends no more until the caller acknowledges what it has)."""
        from concurrent.futures import ThreadPoolExecutor

        total = Outcome()
        writer = ThreadPoolExecutor(1, thread_name_prefix="detection-writer")
        pending = None  # (future, job) of the batch being stored

        def stored(job, outcome):
            total.add(outcome)
            if on_stored is not None:
                on_stored(job, outcome)

        def collect(now_pending, *read_meanwhile):
            """The pending batch's result; when it failed, it and the batches read meanwhile
            are stored again from their messages, one at a time, by rules started afresh."""
            future, job = now_pending
            try:
                outcome = future.result()
            except Exception:
                log.exception("detection: storing a batch failed; it is stored again")
                self._inflight = frozenset()
                self.reset()
                for again in (job, *read_meanwhile):
                    stored(again, self.ingest(again.fmt, again.messages, **again.source()))
                return False
            self._inflight = frozenset()
            stored(job, outcome)
            return True

        try:
            for job in batches:
                if job is None:
                    if pending is not None:
                        last, pending = pending, None
                        collect(last)
                    continue
                with self._lock:
                    batch = self._prepare(
                        job.fmt,
                        list(job.messages),
                        job.device,
                        job.owner_id,
                        job.default_device,
                        job.sender,
                        timezone.now(),
                    )
                if pending is not None:
                    last, pending = pending, None
                    if not collect(last, job):  # stored again with this one
                        continue
                self._inflight = frozenset(row.uid for row in batch.rows)
                pending = (writer.submit(self._write_in_writer, batch), job)
            if pending is not None:
                last, pending = pending, None
                collect(last)
        except BaseException:
            if pending is not None:  # let the write end before the rules start afresh
                pending[0].exception()
            # Whatever the rules remembered of batches not reported stored may never have
            # happened: start again from the database (the caller sends those again).
            self.reset()
            raise
        finally:
            writer.submit(_close_connection)
            writer.shutdown(wait=True)
        return total

    def _write_in_writer(self, batch: Batch) -> Outcome:
        return self._write(batch, reset=False)

    def _prepare(self, fmt, messages, device, owner_id, default_device, sender, now) -> Batch:
        """Read the messages, check them and run the rules; nothing is stored yet."""
        outcome = Outcome()
        detector = self.detector()
        devices = detector.indexes.devices
        latest = now + FUTURE_SLACK
        live_after = now - timedelta(seconds=late_seconds())
        dead: list[DeadLetter] = []
        rows: dict[str, Row] = {}
        inflight = self._inflight

        def reject(message, reason, payload=None):
            home = device or devices.get(message.device or default_device)  # whose feed
            port_id = home.port_id if home is not None else None
            dead.append(_dead(fmt, message, reason, payload, port_id=port_id, sender=sender))
            outcome.rejected.append((message.channel, reason))

        for message in messages:
            events, errors = self.parse(fmt, message, now)
            for error in errors:
                reject(message, str(error), getattr(error, "payload", None))
            fallback = device.code if device else (message.device or default_device)
            for event in events:
                code = event.device or fallback
                info = devices.get(code)
                reason = ""
                if info is None:
                    reason = f"unknown device {code!r}" if code else "the event names no device"
                elif (
                    device is not None
                    and info.id != device.id
                    and (info.owner_id != device.owner_id or info.port_id != device.port_id)
                ) or (owner_id is not None and info.owner_id != owner_id):
                    reason = f"device {code!r} is not one of the sender's organisation in its port"
                else:
                    reason = _implausible(event, latest)
                live = event.at >= live_after
                if not live and not reason:
                    reason = _too_old(event, now, detector.indexes.retention)
                if reason:
                    reject(message, reason, _event_text(event, message))
                    continue
                if event.device != code:  # formats without a device (AIS): the sender's
                    event.device = code
                uid = event_uid(event)
                if uid in rows or uid in inflight:  # in this batch, or in the one being stored
                    outcome.duplicates += 1
                    continue
                rows[uid] = Row(uid, event, info, _zone_of(detector, info, event), live)
        if rows:
            stored = _existing(list(rows))
            for uid in stored:
                del rows[uid]
            outcome.duplicates += len(stored)
        spoke = {}
        process = detector.process
        for row in rows.values():
            if row.live:
                process(row)
            else:
                outcome.late += 1
            spoke[row.device.code] = row.device
        actions = detector.take()
        if time.monotonic() - self._expired > EXPIRE_SECONDS:
            self._expired = time.monotonic()
            detector.expire(now)
        outcome.accepted = len(rows)
        return Batch(
            list(rows.values()), dead, actions, outcome, now, list(spoke.values()), detector
        )

    def _write(self, batch: Batch, *, reset: bool = True) -> Outcome:
        """Store a prepared batch in one transaction; only then push its alarms live. `reset`:
        on failure, forget what the rules remembered (the caller does it when the rules run in
        another thread)."""
        actions, outcome = batch.actions, batch.outcome
        with self._seen_lock:
            for info in batch.spoke:  # when it last spoke to us, whatever its clock says
                self._seen[info.id] = batch.now
        try:
            with transaction.atomic():
                _insert_events(batch.rows, batch.now)
                if batch.dead:  # a message delivered again is kept once
                    DeadLetter.objects.bulk_create(batch.dead, ignore_conflicts=True)
                messages_out, raised = self._store(actions, batch.detector)
                self._flush_seen(force=False)
        except Exception:
            if reset:
                self.reset()  # what the detector remembered of this batch never happened
            raise
        outcome.raised = raised
        outcome.updated = len(actions.updates) + len(actions.new) - raised
        try:  # stored: whatever fails now must not make the caller send the batch again
            messages_out.extend(self._vessel_messages(batch.rows))
            if self.publish_live and messages_out:
                from .live import publish

                publish(messages_out)
            if raised:
                from .notify import kick

                kick()
        except Exception:
            log.exception("detection: batch stored, but pushing it live failed")
        return outcome

    def _vessel_messages(self, rows) -> list[dict]:
        out = []
        clock = time.monotonic()
        for row in rows:
            event = row.event
            if event.kind != "vessel_position" or event.latitude is None:
                continue
            if clock - self._vessel_pushed.get(event.mmsi, 0) < VESSEL_PUSH_SECONDS:
                continue
            self._vessel_pushed[event.mmsi] = clock
            vessel = self._detector.vessels.get(event.mmsi) if self._detector else None
            port_id = vessel[3] if vessel else None
            out.append(
                {
                    "type": "vessel",
                    "port": str(port_id or row.device.port_id),
                    "mmsi": event.mmsi,
                    "lat": event.latitude,
                    "lon": event.longitude,
                    "name": vessel[4] if vessel else "",
                    "speed": event.speed_knots,
                    "course": event.course,
                }
            )
        if len(self._vessel_pushed) > 100_000:
            self._vessel_pushed.clear()
        return out

    def _flush_seen(self, *, force: bool) -> None:
        clock = time.monotonic()
        if not self._seen or (not force and clock - self._seen_flushed < SEEN_FLUSH_SECONDS):
            return
        from port2port.sites.models import Device

        with self._seen_lock:
            seen, self._seen = self._seen, {}
        self._seen_flushed = clock
        for device_id, at in sorted(seen.items(), key=lambda item: str(item[0])):
            Device.objects.filter(pk=device_id).filter(
                Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=at)
            ).update(last_seen_at=at)

    def flush(self) -> None:
        with self._lock, transaction.atomic():
            self._flush_seen(force=True)

    # --- alarms ---------------------------------------------------------------------------------

    def _extras(self, rule_id) -> tuple[list, list, bool]:
        """The rule's procedure steps, its first contacts, and whether anyone is above them."""
        if rule_id is None:
            return [], [], False
        extras = self._rule_extras.get(rule_id)
        if extras is None:
            from .models import Rule

            rule = Rule.objects.filter(pk=rule_id).select_related("procedure").first()
            steps = list(rule.procedure.steps) if rule and rule.procedure else []
            contacts = list(
                Contact.objects.filter(rule_id=rule_id, level=0)
                .select_related("user")
                .prefetch_related("user__push_subscriptions")
            )
            above = Contact.objects.filter(rule_id=rule_id, level__gt=0).exists()
            extras = self._rule_extras[rule_id] = (steps, contacts, above)
        return extras

    def _claim(self, fresh: list[NewAlarm], detector: Detector, out: list[dict]) -> list[NewAlarm]:
        """New alarms whose key no other worker has open. The database holds at most one open
        alarm per key (a partial unique index); a key another process raised meanwhile counts
        into that alarm instead of doubling it."""
        if not fresh:
            return fresh
        taken = dict(
            Alarm.objects.filter(key__in=[n.key for n in fresh])
            .exclude(state=AlarmState.CLOSED)
            .values_list("key", "id")
        )
        if not taken:
            return fresh
        kept = []
        for new in fresh:
            existing = taken.get(new.key)
            if existing is None:
                kept.append(new)
                continue
            changes = {
                "count": F("count") + new.count,
                "last_at": Greatest(F("last_at"), new.last_at),
                "priority": Least(F("priority"), new.priority),
            }
            Alarm.objects.filter(pk=existing).update(**changes)
            insert_links((existing, u, at) for u, at in new.links)
            self._claims[new.id] = existing
            detector.defer(partial(_claimed, new.key, new.id, existing))
            row = Alarm.objects.filter(pk=existing).values(*_LIVE_FIELDS).first()
            if row:
                out.append(_live(row, new=False))
        return kept

    def _store(self, actions: Actions, detector: Detector) -> tuple[list[dict], int]:
        """Write the batch's alarm actions; returns the live messages to push after commit and
        how many alarms are new (a new one another worker had raised meanwhile counts into
        that one)."""
        out: list[dict] = []
        reopened: list[NewAlarm] = []
        links, notes, updated = [], [], []
        self._claims_before, self._claims = self._claims, {}
        claimed = self._claims_before
        for update in actions.updates.values():
            if claimed:
                update.id = claimed.get(update.id, update.id)
            changes = {
                "count": F("count") + update.count,
                "last_at": Greatest(F("last_at"), update.last_at),
            }
            if update.priority is not None:
                changes["priority"] = Least(F("priority"), update.priority)
            if update.params:  # rare (a person confirmed): read (locked), merge, write
                params = (
                    Alarm.objects.select_for_update()
                    .filter(pk=update.id)
                    .values_list("params", flat=True)
                )
                changes["params"] = {**(params.first() or {}), **_jsonable(update.params)}
            done = (
                Alarm.objects.filter(pk=update.id)
                .exclude(state=AlarmState.CLOSED)
                .update(**changes)
            )
            if not done:  # closed meanwhile: a repeat after closing is a new alarm
                old = Alarm.objects.filter(pk=update.id).first()
                detector.defer(partial(Detector.forget, alarm_ids=[update.id]))
                if old is not None:
                    reopened.append(_again(old, update, detector))
                continue
            updated.append(update.id)
            links.extend((update.id, u, at) for u, at in update.links)
            notes.extend(AlarmEntry(alarm_id=update.id, kind=k, text=t) for k, t in update.notes)
        insert_links(links)
        AlarmEntry.objects.bulk_create(notes)
        if updated:
            rows = Alarm.objects.filter(pk__in=updated).values(*_LIVE_FIELDS)
            out.extend(_live(row, new=False) for row in rows)
        fresh = self._claim(actions.new + reopened, detector, out)
        if not fresh:
            return out, 0
        alarms, steps, entries, links, deliveries = [], [], [], [], []
        for new in fresh:
            rule_id = new.rule.id if new.rule else None
            procedure_steps, contacts, above = self._extras(rule_id)
            escalate = new.rule.escalate_seconds if new.rule and above else 0
            alarm = Alarm(
                id=new.id,
                port_id=new.port_id,
                kind=new.kind,
                rule_id=rule_id,
                hotlist_id=new.hotlist_id,
                key=new.key,
                params=_jsonable(new.params),
                priority=new.priority,
                zone_id=new.zone_id,
                device_id=new.device_id,
                latitude=new.latitude,
                longitude=new.longitude,
                first_at=new.at,
                last_at=new.last_at,
                count=new.count,
                escalate_at=timezone.now() + timedelta(seconds=escalate) if escalate else None,
            )
            alarms.append(alarm)
            steps.extend(
                AlarmStep(alarm_id=new.id, position=n, text=str(text)[:500])
                for n, text in enumerate(procedure_steps, start=1)
            )
            entries.append(AlarmEntry(alarm_id=new.id, kind=AlarmEntry.Kind.RAISED, at=new.at))
            entries.extend(AlarmEntry(alarm_id=new.id, kind=k, text=t) for k, t in new.notes)
            links.extend((new.id, u, at) for u, at in new.links)
            deliveries.extend(_deliveries(new.id, contacts, level=0))
        Alarm.objects.bulk_create(alarms)
        AlarmStep.objects.bulk_create(steps)
        AlarmEntry.objects.bulk_create(entries)
        insert_links(links)
        Delivery.objects.bulk_create(deliveries)
        # One audit record per batch: alarms are raised by machines at machine speed; every
        # human action on them is audited one by one (services.py).
        audit.record(
            SYSTEM,
            "detection.alarm.raised",
            alarms[0] if len(alarms) == 1 else None,
            details={
                "count": len(alarms),
                "alarms": [
                    {"id": str(a.id), "kind": a.kind, "priority": a.priority, "key": a.key}
                    for a in alarms[:100]
                ],
            },
        )
        for row in Alarm.objects.filter(pk__in=[a.id for a in alarms]).values(*_LIVE_FIELDS):
            out.append(_live(row, new=True))
        return out, len(alarms)


_LIVE_FIELDS = (
    "id",
    "port_id",
    "kind",
    "priority",
    "state",
    "count",
    "last_at",
    "latitude",
    "longitude",
    "hotlist__owner_id",
)


def _live(row: dict, *, new: bool) -> dict:
    return {
        "type": "alarm",
        "new": new,
        "id": str(row["id"]),
        "port": str(row["port_id"]),
        "owner": str(row["hotlist__owner_id"] or ""),
        "kind": row["kind"],
        "priority": row["priority"],
        "state": row["state"],
        "count": row["count"],
        "last_at": row["last_at"].isoformat() if row["last_at"] else "",
        "lat": row["latitude"],
        "lon": row["longitude"],
        "sent": time.time(),
    }


def _again(old: Alarm, update, detector: Detector) -> NewAlarm:
    rule = None
    if old.rule_id is not None:
        rule = next(
            (r for rules in detector.indexes.rules.values() for r in rules if r.id == old.rule_id),
            None,
        )
    new = NewAlarm(
        id=uuid.uuid4(),
        port_id=old.port_id,
        kind=old.kind,
        rule=rule,
        hotlist_id=old.hotlist_id,
        key=old.key,
        params=old.params,
        priority=update.priority or old.priority,
        zone_id=old.zone_id,
        device_id=old.device_id,
        latitude=old.latitude,
        longitude=old.longitude,
        at=update.last_at,
        last_at=update.last_at,
        count=max(1, update.count),
        links=list(update.links),
    )
    reopened = OpenAlarm(
        new.id, new.last_at, new.priority, rule.suppress_seconds if rule else 300, old.zone_id
    )
    detector.defer(partial(_remember, old.key, reopened))
    return new


def _remember(key: str, alarm: OpenAlarm, detector: Detector) -> None:
    detector.open[key] = alarm


def _claimed(key: str, raised_id, existing_id, detector: Detector) -> None:
    """The alarm raised as `raised_id` was counted into `existing_id` (another worker's)."""
    current = detector.open.get(key)
    if current is not None and current.id == raised_id:
        current.id = existing_id


def _deliveries(alarm_id, contacts: list, *, level: int) -> list[Delivery]:
    out = []
    for contact in contacts:
        if contact.channel == Contact.Channel.WEBHOOK:
            if contact.url:
                out.append(
                    Delivery(
                        alarm_id=alarm_id, channel=contact.channel, target=contact.url, level=level
                    )
                )
        elif contact.user is not None and contact.user.is_active:
            if contact.channel == Contact.Channel.EMAIL and contact.user.email:
                out.append(
                    Delivery(
                        alarm_id=alarm_id,
                        channel=contact.channel,
                        target=contact.user.email,
                        user=contact.user,
                        level=level,
                    )
                )
            elif contact.channel == Contact.Channel.WEB_PUSH:
                for sub in contact.user.push_subscriptions.all():
                    out.append(
                        Delivery(
                            alarm_id=alarm_id,
                            channel=contact.channel,
                            target=sub.endpoint,
                            user=contact.user,
                            level=level,
                        )
                    )
    return out


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


def _dead(
    fmt: str, message: Message, reason: str, payload=None, *, port_id=None, sender: str = ""
) -> DeadLetter:
    """A dead letter: the reason, and what was wrong (the line or the event, when the message
    is a whole batch of lines), with who sent it and the port of that sender when known."""
    if payload is None:
        payload = message.payload
    if isinstance(payload, bytes | bytearray | memoryview):
        payload = bytes(payload[:MAX_DEAD_PAYLOAD]).decode("utf-8", "replace")
    elif not isinstance(payload, str):
        payload = repr(payload)
    payload = payload[:MAX_DEAD_PAYLOAD].replace("\x00", "\\x00")
    # Kept once per sender and port: the same broken line from two ports is each port's to see.
    digest = hashlib.sha256(
        "\x1f".join((fmt, message.channel, reason, payload, sender, str(port_id or ""))).encode(
            "utf-8", "replace"
        )
    ).hexdigest()
    return DeadLetter(
        format=fmt[:20],
        channel=message.channel[:200],
        sender=sender[:200],
        port_id=port_id,
        reason=reason[:2000],
        payload=payload,
        digest=digest,
    )


def _event_text(event, message: Message):
    """What a dead letter of one event keeps: the message, unless it is a batch of many lines
    (AIS), then the event as read."""
    payload = message.payload
    if len(payload) <= 4096:
        return None
    from dataclasses import asdict

    return json.dumps(asdict(event), default=str, ensure_ascii=True)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
FUTURE_SLACK = timedelta(minutes=5)


def _implausible(event, latest: datetime) -> str:
    """Why an event cannot be stored as it is: a time ahead of ours (`latest`: now and a little
    slack), or text no database keeps (NUL, unpaired surrogates)."""
    if event.at > latest:
        return f"time {event.at.isoformat()} lies in the future (device clock wrong?)"
    extra = event.extra
    texts = "\x1f".join((event.source_id, event.device, event.plate, event.label, *event.zones))
    if _UNSTORABLE.search(texts) or (
        extra and any(type(v) is str and _UNSTORABLE.search(v) for v in extra.values())
    ):
        return "text holds a NUL character or an unpaired surrogate"
    return ""


def _too_old(event, now: datetime, retention: dict) -> str:
    """Why a late event is not even kept: older than its kind's retention (it would be purged
    within the hour, its alarms left without it)."""
    days = retention.get(str(event.kind))
    if days and event.at < now - timedelta(days=days):
        return f"time {event.at.isoformat()} is older than the {days} days {event.kind} events are kept"
    return ""


def _zone_of(detector: Detector, device: DeviceInfo, event):
    """The zone an event names (a Frigate zone with the code of one of ours), else the device's."""
    for name in event.zones:
        zone_id = detector.indexes.zone_codes.get((device.port_id, name.lower()))
        if zone_id is not None:
            return zone_id
    return device.zone_id


def _existing(uids: list[str]) -> set[str]:
    """The uids of a batch that are stored already (redeliveries): one query, the list as one
    parameter (an array on PostgreSQL, a JSON array on SQLite) instead of thousands."""
    table = connection.ops.quote_name(Event._meta.db_table)
    if connection.vendor == "postgresql":
        query, param = f"SELECT uid FROM {table} WHERE uid = ANY(%s)", uids  # noqa: S608
    else:
        query = f"SELECT uid FROM {table} WHERE uid IN (SELECT value FROM json_each(%s))"  # noqa: S608
        param = orjson.dumps(uids).decode()
    with connection.cursor() as cursor:
        cursor.execute(query, [param])
        return {row[0] for row in cursor.fetchall()}


def _entries(entry_ids) -> dict:
    return {
        row[0]: row[1:]
        for row in HotlistEntry.objects.filter(pk__in=entry_ids).values_list(
            "id", "plate", "reason", "valid_until"
        )
    }


def _access_decide(gate_code: str, plate: str, at: datetime):
    """The access engine's answer for a plate read at a gate (`at` in the port's local time)."""
    decision = access_decide(access_store.get(), gate_code, "plate", plate, "in", at)
    return decision.granted, decision.reasons


# --- the bulk insert ------------------------------------------------------------------------------

_COLUMNS = (
    "uid",
    "kind",
    "source",
    "device_code",
    "device_id",
    "port_id",
    "zone_id",
    "at",
    "received_at",
    "plate",
    "label",
    "confidence",
    "latitude",
    "longitude",
    "mmsi",
    "data",
)


def insert_sql() -> str:
    table = connection.ops.quote_name(Event._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _COLUMNS)
    marks = ["%s"] * len(_COLUMNS)
    if connection.vendor == "postgresql":
        marks[-1] = "%s::jsonb"
    return (  # names from the model, not from input
        f"INSERT INTO {table} ({columns}) VALUES ({', '.join(marks)}) "  # noqa: S608
        f"ON CONFLICT ({connection.ops.quote_name('uid')}) DO NOTHING"
    )


def _prepare():
    """Functions that turn ids and moments into what this database's driver takes."""
    if connection.vendor == "sqlite":

        def moment(value: datetime) -> str:  # as Django's SQLite backend writes them
            if value.tzinfo is not UTC:
                value = value.astimezone(UTC)
            return str(value.replace(tzinfo=None))

        def ident(value):
            return value.hex if value is not None and hasattr(value, "hex") else value

        return moment, ident
    return (lambda value: value), (lambda value: value)


def event_params(rows: Iterable[Row], received_at: datetime) -> list[tuple]:
    moment, ident = _prepare()
    received = moment(received_at)
    params = []
    append = params.append
    cache: dict = {}
    dumps = orjson.dumps
    for row in rows:
        event, device = row.event, row.device
        ids = cache.get(device.code)  # by code: a UUID's hash is Python code, a string's is not
        if ids is None:
            ids = cache[device.code] = (
                ident(device.id),
                ident(device.port_id),
                ident(device.zone_id),
            )
        zone = ids[2] if row.zone_id is device.zone_id else ident(row.zone_id)
        data = event.extra
        if event.zones or event.speed_knots is not None or event.course is not None:
            data = dict(data)
            if event.zones:
                data["zones"] = list(event.zones)
            if event.speed_knots is not None:
                data["speed"] = event.speed_knots
            if event.course is not None:
                data["course"] = event.course
        plate, label = event.plate, event.label
        append(
            (
                row.uid,
                event.kind,
                event.source,
                event.device,
                ids[0],
                ids[1],
                zone,
                moment(event.at),
                received,
                plate if len(plate) <= 20 else plate[:20],
                label if len(label) <= 100 else label[:100],
                event.confidence,
                event.latitude,
                event.longitude,
                event.mmsi,
                dumps(data, default=str).decode() if data else "{}",
            )
        )
    return params


def insert_rows(params: list[tuple]) -> None:
    """The database's bulk path for a batch of event rows; a row already stored is skipped.
    SQLite: one prepared INSERT … ON CONFLICT DO NOTHING run over the batch. PostgreSQL: COPY
    straight into the table; only when another worker stored one of the uids meanwhile (the
    batch was checked against the table before), COPY into a temporary table and one INSERT …
    SELECT … ON CONFLICT DO NOTHING. Call it inside a transaction."""
    if not params:
        return
    if connection.vendor != "postgresql":
        _sqlite_insert(params)
        return
    from psycopg.errors import UniqueViolation

    ops = connection.ops
    table = ops.quote_name(Event._meta.db_table)
    columns = ", ".join(ops.quote_name(c) for c in _COLUMNS)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        raw = cursor.cursor  # psycopg's own cursor: COPY is not part of the DB API
        try:
            with transaction.atomic(), raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in params:
                    copy.write_row(row)
            return
        except UniqueViolation:  # the savepoint is rolled back: nothing of the batch is stored
            pass
        cursor.execute(  # names from the model, not from input
            f"CREATE TEMP TABLE IF NOT EXISTS p2p_event_in ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        with raw.copy(f"COPY p2p_event_in ({columns}) FROM STDIN") as copy:
            for row in params:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM p2p_event_in "  # noqa: S608
            f"ON CONFLICT ({ops.quote_name('uid')}) DO NOTHING"
        )
        cursor.execute("TRUNCATE p2p_event_in")


SQLITE_ROWS = int(os.environ.get("DETECTION_SQLITE_ROWS", "250"))


def _sqlite_insert(params: list[tuple]) -> None:
    """SQLite: INSERT … VALUES with many rows at once (250 rows of 16 values, under SQLite's limit of
    32,766), on the driver's own cursor. One statement runs a whole chunk without Python's lock,
    so a writer thread stores while the rules go on (a prepared statement run row by row would
    take the lock back after every row, and wait for it each time)."""
    ops = connection.ops
    table = ops.quote_name(Event._meta.db_table)
    columns = ", ".join(ops.quote_name(c) for c in _COLUMNS)
    one = "(" + ", ".join("?" * len(_COLUMNS)) + ")"

    def statement(rows: int) -> str:
        return (  # names from the model, not from input
            f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * rows)} "  # noqa: S608
            f"ON CONFLICT ({ops.quote_name('uid')}) DO NOTHING"
        )

    connection.ensure_connection()
    # The driver's own errors become Django's (OperationalError, IntegrityError), as those of
    # every other statement do.
    with connection.wrap_database_errors, closing(connection.connection.cursor()) as cursor:
        full = statement(SQLITE_ROWS)
        for start in range(0, len(params), SQLITE_ROWS):
            chunk = params[start : start + SQLITE_ROWS]
            sql = full if len(chunk) == SQLITE_ROWS else statement(len(chunk))
            cursor.execute(sql, [value for row in chunk for value in row])


def insert_links(links: Iterable[tuple]) -> None:
    """Events linked to alarms, (alarm id, event uid, moment): an alarm at a busy fence links
    thousands, so they take the bulk path too; a link made already is skipped."""
    moment, ident = _prepare()
    params = [(ident(alarm_id), uid, moment(at)) for alarm_id, uid, at in links]
    if not params:
        return
    ops = connection.ops
    table = ops.quote_name(AlarmEvent._meta.db_table)
    columns = f"alarm_id, event_uid, {ops.quote_name('at')}"
    conflict = "ON CONFLICT (alarm_id, event_uid) DO NOTHING"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # one statement: the columns as three arrays
            ids, uids, moments = (list(column) for column in zip(*params, strict=True))
            cursor.execute(  # names from the model, not from input
                f"INSERT INTO {table} ({columns}) "  # noqa: S608
                f"SELECT * FROM unnest(%s::uuid[], %s::text[], %s::timestamptz[]) {conflict}",
                [ids, uids, moments],
            )
            return
        cursor.executemany(  # names from the model, not from input
            f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s) {conflict}",  # noqa: S608
            params,
        )


def _insert_events(rows: Iterable[Row], received_at: datetime) -> None:
    insert_rows(event_params(rows, received_at))


pipeline = Pipeline()
