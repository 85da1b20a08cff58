"""What detection does by the clock: escalations, silent devices and vessels, refused gate
decisions, notifications and retention. `tick()` runs every few seconds in the web process on the
embedded default (`port2port serve` starts it) or in a worker of its own
(`port2port detection clock`)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from django.db import close_old_connections, transaction
from django.utils import timezone

from port2port.core import audit
from port2port.core.visibility import SYSTEM

from .models import Alarm, AlarmState, DeadLetter, Event

log = logging.getLogger(__name__)
TICK_SECONDS = 2.0
PURGE_SECONDS = 3600.0


def escalate_due(now=None) -> int:
    """Alarms nobody acknowledged in time: the next person on the list is notified."""
    from .services import escalate

    now = now or timezone.now()
    done = 0
    due = Alarm.objects.filter(state=AlarmState.NEW, escalate_at__lte=now).values_list(
        "pk", flat=True
    )
    for alarm_id in list(due[:100]):
        with transaction.atomic():
            alarm = (
                Alarm.objects.select_for_update(of=("self",))
                .select_related("rule")
                .filter(pk=alarm_id, state=AlarmState.NEW, escalate_at__lte=now)
                .first()
            )
            if alarm is not None:
                escalate(alarm, actor=SYSTEM)
                done += 1
    return done


def purge(now=None) -> dict:
    """Delete events past their kind's retention, and dead letters after 30 days."""
    from .services import DEAD_LETTER_DAYS, retention_days

    now = now or timezone.now()
    counts = {}
    for kind, days in retention_days().items():
        deleted, _ = Event.objects.filter(kind=kind, at__lt=now - timedelta(days=days)).delete()
        if deleted:
            counts[kind] = deleted
    dead, _ = DeadLetter.objects.filter(
        received_at__lt=now - timedelta(days=DEAD_LETTER_DAYS)
    ).delete()
    if dead:
        counts["dead_letters"] = dead
    if counts:
        audit.record(SYSTEM, "detection.retention.purged", details=counts)
    return counts


class Clock:
    def __init__(self, pipeline=None):
        from .ingest import pipeline as default

        self.pipeline = pipeline or default
        self.decision_id: int | None = None
        self.event_id: int | None = None
        self.purged = 0.0

    def _vessels(self, detector) -> None:
        """Positions stored by other workers since the last tick (ingest may run elsewhere)."""
        from .engine import inside
        from .models import EventKind

        positions = Event.objects.filter(kind=EventKind.VESSEL_POSITION)
        if self.event_id is None:
            self.event_id = positions.order_by("-id").values_list("id", flat=True).first() or 0
            return
        rows = positions.filter(id__gt=self.event_id).order_by("id")[:20000]
        areas = detector.indexes.port_areas.items()
        for row_id, mmsi, at, lat, lon in rows.values_list(
            "id", "mmsi", "at", "latitude", "longitude"
        ):
            self.event_id = row_id
            if mmsi is None or lat is None or lon is None:
                continue
            port_id = next((p for p, rings in areas if inside(rings, lon, lat)), None)
            detector.note_vessel(mmsi, at, lat, lon, port_id, detector.names.get(mmsi, ""))

    def tick(self, now=None) -> dict:
        now = now or timezone.now()
        result = {"escalated": escalate_due(now)}
        result.update(self._rules(now))
        if time.monotonic() - self.purged > PURGE_SECONDS:
            self.purged = time.monotonic()
            result["purged"] = purge(now)
        from django.conf import settings

        from .notify import kick, send_pending

        if getattr(settings, "DETECTION_NOTIFY_THREAD", True):
            kick()  # the sender's own thread: a slow receiver never holds up escalations
        else:
            result["sent"] = send_pending(now=now)
        return result

    def _rules(self, now) -> dict:
        from port2port.access.models import GateDecision
        from port2port.sites.models import Device
        from port2port.sites.models import silent as device_silent

        from .live import publish

        pipeline = self.pipeline
        with pipeline._lock:
            detector = pipeline.detector()
            self._vessels(detector)
            detector.check_vessels(now)
            detector.expire(now)
            with transaction.atomic():
                pipeline._flush_seen(force=True)
            devices = {d.id: d for d in detector.indexes.devices.values()}
            silent = Device.objects.filter(
                active=True, silent_after__gt=0, pk__in=list(devices)
            ).values_list("pk", "last_seen_at", "watched_since", "silent_after")
            for device_id, last_seen, since, minutes in silent:
                if device_silent(last_seen, since, minutes, now):
                    detector.device_silent(devices[device_id], last_seen, now)
            decisions = GateDecision.objects.filter(granted=False)
            if self.decision_id is None:
                self.decision_id = (
                    GateDecision.objects.order_by("-id").values_list("id", flat=True).first() or 0
                )
            rows = decisions.filter(id__gt=self.decision_id).order_by("id")[:5000]
            for row_id, gate_code, port_id, at, credential in rows.values_list(
                "id", "gate_code", "gate__port_id", "at", "credential"
            ):
                self.decision_id = row_id
                if port_id is not None:
                    detector.gate_refused(gate_code, port_id, at, credential)
            actions = detector.take()
            if not actions:
                return {"raised": 0}
            try:
                with transaction.atomic():
                    out, _raised = pipeline._store(actions, detector)
            except Exception:
                pipeline.reset()
                raise
        publish(out)
        from .notify import kick

        kick()
        return {"raised": len(actions.new), "updated": len(actions.updates)}


_thread: threading.Thread | None = None


def start_background(interval: float = TICK_SECONDS) -> None:
    """Run the clock in a daemon thread of this process (the embedded default)."""
    global _thread
    if _thread is not None:
        return
    clock = Clock()

    def run() -> None:
        while True:
            time.sleep(interval)
            try:
                clock.tick()
            except Exception:
                log.exception("detection clock: tick failed; retrying")
            finally:
                close_old_connections()

    _thread = threading.Thread(target=run, name="detection-clock", daemon=True)
    _thread.start()
