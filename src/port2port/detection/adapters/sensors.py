"""Our own JSON schema for fence, thermal and drone detectors (one object, a list of objects,
or JSON lines: one object per line).

    {
      "type": "fence" | "thermal" | "drone",        required
      "id": "fz-0042-17",                           required: the sender's id, unique per message
      "device": "ZEE-FENCE-12",                     required: fence segment, camera or detector
      "at": "2025-03-01T02:14:07+01:00",            required: ISO 8601 with UTC offset
      "zone": "zeebrugge-lng",                      optional
      "label": "person",                            optional: what was seen (thermal, fence)
      "latitude": 51.33, "longitude": 3.20,         optional, WGS84 degrees, both or neither
      "confidence": 0.87,                           optional, 0..1
      drone only, all optional:
      "drone_id": "1581F5FKD229400F",               serial / Remote ID
      "altitude_m": 85.5,
      "pilot_latitude": 51.32, "pilot_longitude": 3.19
    }

Error messages are plain English for the dead-letter table, not translated.
"""

from __future__ import annotations

from typing import Any

from port2port.detection.adapters.events import (
    AdapterError,
    Event,
    Kind,
    Source,
    from_iso,
    latitude,
    load_json,
    longitude,
    mapping,
    number,
    text,
)

KINDS = {"fence": Kind.FENCE_ALARM, "thermal": Kind.THERMAL_ALARM, "drone": Kind.DRONE_DETECTED}


def parse(payload: bytes | str) -> list[Event]:
    """Events from one JSON object or a JSON list of them."""
    message = load_json(payload, what="sensor")
    if isinstance(message, list):
        return [_event(item, what=f"sensor item {index}") for index, item in enumerate(message)]
    return [_event(message, what="sensor")]


def parse_lines(text_: str) -> tuple[list[Event], list[AdapterError]]:
    """JSON lines: every good line gives events, every bad one an error naming its line."""
    events: list[Event] = []
    errors: list[AdapterError] = []
    if not isinstance(text_, str):
        return events, [AdapterError("sensor lines: input must be text")]
    for number_, line in enumerate(text_.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.extend(parse(line))
        except AdapterError as exc:
            errors.append(AdapterError(f"line {number_}: {exc}"))
    return events, errors


def _event(item: Any, *, what: str) -> Event:
    message = mapping(item, what=what)
    kind_name = message.get("type")
    if not isinstance(kind_name, str) or kind_name not in KINDS:
        raise AdapterError(f"{what}: 'type' must be fence, thermal or drone")
    what = f"{what} ({kind_name})"
    stamp = text(message, "at", what=what, required=True)
    if not isinstance(message["at"], str):
        raise AdapterError(f"{what}: 'at' must be an ISO 8601 time")
    lat = latitude(number(message, "latitude", what=what), what=what)
    lon = longitude(number(message, "longitude", what=what), what=what)
    if (lat is None) != (lon is None):
        raise AdapterError(f"{what}: give both 'latitude' and 'longitude' or neither")
    score = number(message, "confidence", what=what)
    if score is not None and not 0 <= score <= 1:
        raise AdapterError(f"{what}: 'confidence' {score} is outside 0..1")
    zone = text(message, "zone", what=what)
    extra: dict[str, Any] = {}
    if kind_name == "drone":
        drone_id = text(message, "drone_id", what=what)
        if drone_id:
            extra["drone_id"] = drone_id
        altitude = number(message, "altitude_m", what=what)
        if altitude is not None:
            if not -500 <= altitude <= 20_000:
                raise AdapterError(f"{what}: 'altitude_m' {altitude} is not a plausible altitude")
            extra["altitude_m"] = altitude
        pilot_lat = latitude(number(message, "pilot_latitude", what=what), what=what)
        pilot_lon = longitude(number(message, "pilot_longitude", what=what), what=what)
        if (pilot_lat is None) != (pilot_lon is None):
            raise AdapterError(f"{what}: give both pilot coordinates or neither")
        if pilot_lat is not None:
            extra["pilot_latitude"], extra["pilot_longitude"] = pilot_lat, pilot_lon
    return Event(
        source=Source.SENSOR,
        source_id=text(message, "id", what=what, required=True),
        kind=KINDS[kind_name],
        device=text(message, "device", what=what, required=True),
        at=from_iso(stamp, what=what),
        confidence=score,
        label=text(message, "label", what=what, default="drone" if kind_name == "drone" else ""),
        zones=(zone,) if zone else (),
        latitude=lat,
        longitude=lon,
        extra=extra,
    )
