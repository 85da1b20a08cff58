"""AIS NMEA 0183 sentences (`!AIVDM` received, `!AIVDO` own ship), one per line, decoded with
pyais. Multi-part messages are held by `AisAssembler` until all their parts are in.

Position reports (types 1, 2, 3, 18, 19, 27) give VESSEL_POSITION events, static data (5, 24)
VESSEL_STATIC with the ship's name; other types are read and ignored. AIS carries no date, so
events take the receiver's time. Error messages are plain English for the dead-letter table,
not translated.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from pyais.messages import NMEAMessage

from port2port.detection.adapters.events import AdapterError, Event, Kind, Source

POSITION_TYPES = {1, 2, 3, 18, 19, 27}
STATIC_TYPES = {5, 24}
MAX_LINE = 400  # NMEA sentences are at most 82 characters; tag blocks add some
MAX_PENDING = 256  # unfinished multi-part messages kept at once


class AisAssembler:
    """Feeds sentences one at a time; returns events once a message is complete."""

    def __init__(self, *, received_at: datetime | None = None, device: str = ""):
        self.received_at = received_at
        self.device = device
        self._pending: dict[tuple, list[NMEAMessage]] = {}

    def feed(self, line: str | bytes, received_at: datetime | None = None) -> list[Event]:
        """Events from one sentence ([] while a multi-part message is incomplete)."""
        at = _utc(received_at or self.received_at or datetime.now(UTC))
        sentence = _sentence(line)
        if sentence is None:
            return []
        if sentence.is_single:
            return self._events([sentence], at)
        key = (sentence.seq_id, sentence.channel, sentence.frag_cnt)
        parts = self._pending.get(key, [])
        if sentence.frag_num == 1:
            parts = []
        elif len(parts) + 1 != sentence.frag_num:
            self._pending.pop(key, None)
            raise AdapterError(
                f"AIS: part {sentence.frag_num} of {sentence.frag_cnt} arrived without the parts"
                " before it"
            )
        parts.append(sentence)
        if len(parts) < sentence.frag_cnt:
            self._pending[key] = parts
            if len(self._pending) > MAX_PENDING:
                self._pending.pop(next(iter(self._pending)))
            return []
        self._pending.pop(key, None)
        return self._events(parts, at)

    def incomplete(self) -> list[AdapterError]:
        """Errors for the multi-part messages still waiting for parts, which are dropped."""
        errors = [
            AdapterError(f"AIS: multi-part message incomplete: {len(parts)} of {key[2]} parts")
            for key, parts in self._pending.items()
        ]
        self._pending.clear()
        return errors

    def _events(self, parts: list[NMEAMessage], at: datetime) -> list[Event]:
        raw = b"\n".join(part.raw for part in parts)
        try:
            message = NMEAMessage.assemble_from_iterable(parts) if len(parts) > 1 else parts[0]
            fields = message.decode().asdict()
        except Exception as exc:  # pyais raises many types on odd payloads; any is bad input
            raise AdapterError(f"AIS: cannot decode message ({type(exc).__name__})") from None
        return _event(fields, raw, at, self.device)


def parse_lines(
    text: str, received_at: datetime, *, device: str = ""
) -> tuple[list[Event], list[AdapterError]]:
    """Every line of `text`: the events decoded and an error per bad line, never an exception."""
    events: list[Event] = []
    errors: list[AdapterError] = []
    try:
        assembler = AisAssembler(received_at=_utc(received_at), device=device)
        lines = text.splitlines()
    except (AdapterError, AttributeError, TypeError):
        return events, [AdapterError("AIS: input must be text and received_at an aware datetime")]
    for number, line in enumerate(lines, start=1):
        try:
            events.extend(assembler.feed(line))
        except AdapterError as exc:
            errors.append(AdapterError(f"line {number}: {exc}"))
    return events, errors + assembler.incomplete()


def _sentence(line: str | bytes) -> NMEAMessage | None:
    if isinstance(line, str):
        try:
            line = line.encode("ascii")
        except UnicodeEncodeError:
            raise AdapterError("AIS: sentence has non-ASCII characters") from None
    if not isinstance(line, bytes):
        raise AdapterError("AIS: sentence must be text")
    line = line.strip()
    if not line:
        return None
    if len(line) > MAX_LINE:
        raise AdapterError(f"AIS: line longer than {MAX_LINE} characters")
    try:
        sentence = NMEAMessage(line)
    except Exception as exc:  # pyais raises many types on garbage; any is bad input
        raise AdapterError(f"AIS: not an AIS sentence ({type(exc).__name__})") from None
    if not sentence.is_valid:
        raise AdapterError("AIS: bad checksum")
    if not 1 <= sentence.frag_num <= sentence.frag_cnt <= 9:
        raise AdapterError("AIS: bad fragment number or count")
    return sentence


def _event(fields: dict[str, Any], raw: bytes, at: datetime, device: str) -> list[Event]:
    msg_type = fields.get("msg_type")
    mmsi = fields.get("mmsi")
    if not isinstance(mmsi, int):
        raise AdapterError("AIS: message without MMSI")
    common = {
        "source": Source.AIS,
        "source_id": hashlib.sha256(raw).hexdigest()[:32],
        "device": device,
        "at": at,
        "mmsi": mmsi,
    }
    if msg_type in POSITION_TYPES:
        slow = msg_type == 27  # type 27 has coarser fields and other "not available" values
        speed = _available(fields.get("speed"), 63 if slow else 102.3)
        course = _available(fields.get("course"), 511 if slow else 360)
        lat = _available(fields.get("lat"), 91)
        lon = _available(fields.get("lon"), 181)
        extra = {"msg_type": msg_type}
        heading = _available(fields.get("heading"), 511)
        if heading is not None:
            extra["heading"] = heading
        if isinstance(fields.get("status"), Enum):
            extra["status"] = int(fields["status"].value)
        if fields.get("shipname"):
            extra["shipname"] = str(fields["shipname"])
        return [
            Event(
                kind=Kind.VESSEL_POSITION,
                latitude=lat if lat is not None and -90 <= lat <= 90 else None,
                longitude=lon if lon is not None and -180 <= lon <= 180 else None,
                speed_knots=speed,
                course=course if course is None or 0 <= course < 360 else None,
                extra=extra,
                **common,
            )
        ]
    if msg_type in STATIC_TYPES:
        extra = {"msg_type": msg_type}
        for key in ("shipname", "callsign", "destination", "imo", "ship_type"):
            value = fields.get(key)
            if isinstance(value, Enum):
                value = value.value
            if value not in (None, "", 0):
                extra[key] = value
        return [
            Event(
                kind=Kind.VESSEL_STATIC, label=str(extra.get("shipname", "")), extra=extra, **common
            )
        ]
    return []


def _available(value: Any, not_available: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value == not_available:
        return None
    return float(value)


def _utc(at: datetime) -> datetime:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise AdapterError("AIS: received_at must be an aware datetime")
    return at.astimezone(UTC)
