"""The one normalised event every adapter produces, and the checks they share.

Error messages here are for operators reading the dead-letter table: plain English, not
translated on purpose, so they stay out of the i18n catalogue.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

import orjson
from django.core.exceptions import ValidationError

from port2port.access.identifiers import _PLATE_SEPARATORS, normalise_plate


class AdapterError(ValueError):
    """Input an adapter cannot turn into events; the message names the problem."""


class Source(StrEnum):
    FRIGATE = "frigate"
    OPENALPR = "openalpr"
    PLATERECOGNIZER = "platerecognizer"
    AIS = "ais"
    SENSOR = "sensor"


class Kind(StrEnum):
    PLATE_READ = "plate_read"
    OBJECT_DETECTED = "object_detected"
    FENCE_ALARM = "fence_alarm"
    THERMAL_ALARM = "thermal_alarm"
    DRONE_DETECTED = "drone_detected"
    VESSEL_POSITION = "vessel_position"
    VESSEL_STATIC = "vessel_static"


@dataclass(slots=True)
class Event:
    """One thing a device saw, at one moment; `source_id` makes redelivery idempotent. Not
    frozen: a frozen dataclass costs twice the time to build, and the ingest builds 100,000 a
    second; nothing changes an event after its adapter made it."""

    source: str
    source_id: str
    kind: str
    device: str
    at: datetime
    plate: str = ""
    confidence: float | None = None
    label: str = ""
    zones: tuple[str, ...] = ()
    latitude: float | None = None
    longitude: float | None = None
    mmsi: int | None = None
    speed_knots: float | None = None
    course: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False)


# --- shared checks -------------------------------------------------------------------------------

MAX_PAYLOAD = 1_000_000  # bytes; a device message is a few kB, anything bigger is not one


def load_json(payload: bytes | str, *, what: str) -> Any:
    """Parse a JSON payload, turning every failure into an AdapterError. orjson: several times
    faster than the standard library, strict UTF-8 (no unpaired surrogates reach the database),
    no NaN, and a nesting limit of its own."""
    if isinstance(payload, bytes | bytearray | memoryview):
        if len(payload) > MAX_PAYLOAD:
            raise AdapterError(f"{what}: payload larger than {MAX_PAYLOAD} bytes")
        if not isinstance(payload, bytes):
            payload = bytes(payload)
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError as bad:
                raise AdapterError(f"{what}: payload is not UTF-8 ({bad.reason})") from None
            raise AdapterError(f"{what}: {_json_problem(exc)}") from None
    if not isinstance(payload, str):
        raise AdapterError(f"{what}: payload must be bytes or text, not {type(payload).__name__}")
    if len(payload) > MAX_PAYLOAD:
        raise AdapterError(f"{what}: payload larger than {MAX_PAYLOAD} characters")
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise AdapterError(f"{what}: {_json_problem(exc)}") from None


def _json_problem(exc: orjson.JSONDecodeError) -> str:
    if "depth limit" in exc.msg or "recursion" in exc.msg:
        return "JSON nested too deeply"
    return f"not valid JSON ({exc})"


def mapping(value: Any, *, what: str) -> dict:
    if not isinstance(value, dict):
        raise AdapterError(f"{what} must be a JSON object, not {_type(value)}")
    return value


def text(obj: dict, key: str, *, what: str, required: bool = False, default: str = "") -> str:
    """A string field (numbers are accepted and turned into text, e.g. camera ids)."""
    value = obj.get(key)
    if type(value) is str and value:  # the common case first: this runs for every field
        return value if len(value) <= 200 else value[:200]
    if value is None or value == "":
        if required:
            raise AdapterError(f"{what}: missing field {key!r}")
        return default
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise AdapterError(f"{what}: field {key!r} must be text, not {_type(value)}")
    return str(value)[:200]


def number(obj: dict, key: str, *, what: str, required: bool = False) -> float | None:
    value = obj.get(key)
    if type(value) is float and value - value == 0.0:  # finite: inf - inf and nan are nan
        return value
    if value is None:
        if required:
            raise AdapterError(f"{what}: missing field {key!r}")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AdapterError(f"{what}: field {key!r} must be a number, not {_type(value)}")
    try:
        result = float(value)
    except OverflowError:
        raise AdapterError(f"{what}: field {key!r} is out of range") from None
    if not math.isfinite(result):
        raise AdapterError(f"{what}: field {key!r} is not a finite number")
    return result


def text_list(obj: dict, key: str, *, what: str) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise AdapterError(f"{what}: field {key!r} must be a list of text")
    return tuple(dict.fromkeys(item[:100] for item in value))[:50]


def confidence(value: float | None) -> float | None:
    """Clamp to 0..1; outside formats round and overshoot."""
    if value is None or not math.isfinite(value):
        return None
    return min(1.0, max(0.0, value))


def latitude(value: float | None, *, what: str) -> float | None:
    if value is not None and not -90.0 <= value <= 90.0:
        raise AdapterError(f"{what}: latitude {value} is outside -90..90")
    return value


def longitude(value: float | None, *, what: str) -> float | None:
    if value is not None and not -180.0 <= value <= 180.0:
        raise AdapterError(f"{what}: longitude {value} is outside -180..180")
    return value


# Earliest and latest moments a device clock may plausibly report.
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def from_epoch(seconds: float | None, *, what: str) -> datetime:
    if seconds is None:
        raise AdapterError(f"{what}: missing time")
    try:
        at = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise AdapterError(f"{what}: time {seconds} is out of range") from None
    return plausible(at, what=what)


def from_iso(value: str, *, what: str, assume_utc: bool = False) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise AdapterError(f"{what}: time {value[:40]!r} is not ISO 8601") from None
    if at.tzinfo is UTC:
        return plausible(at, what=what)
    if at.tzinfo is None or at.utcoffset() is None:
        if not assume_utc:
            raise AdapterError(f"{what}: time {value[:40]!r} has no UTC offset")
        at = at.replace(tzinfo=UTC)
    try:
        return plausible(at.astimezone(UTC), what=what)
    except OverflowError:
        raise AdapterError(f"{what}: time {value[:40]!r} is out of range") from None


def plausible(at: datetime, *, what: str) -> datetime:
    if not _EARLIEST <= at < _LATEST:
        raise AdapterError(f"{what}: time {at.isoformat()} is not between 2000 and 2100")
    return at


@lru_cache(maxsize=65_536)  # the same trucks pass every day: most reads are plates seen before
def plate_text(raw: str) -> str:
    """A plate as the access engine stores it, or the raw uppercase text when it is not valid."""
    try:
        return normalise_plate(raw)
    except ValidationError:
        return _PLATE_SEPARATORS.sub("", raw).upper()[:20]


def digest(*parts: object) -> str:
    """A stable id for formats that carry none: the same message always gives the same id."""
    data = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )
