"""Plate Recognizer results: the Snapshot API response (`results`, `camera_id`, `timestamp`,
`filename`) and the same data wrapped by a webhook as {"hook": {...}, "data": {...}}. Scores are
0..1; a timestamp without offset is UTC, as the service sends it. Error messages are plain
English for the dead-letter table, not translated.
"""

from __future__ import annotations

from typing import Any

from port2port.detection.adapters.events import (
    AdapterError,
    Event,
    Kind,
    Source,
    confidence,
    digest,
    from_iso,
    load_json,
    mapping,
    number,
    plate_text,
    text,
)


def parse(payload: bytes | str) -> list[Event]:
    """One PLATE_READ per plate in the result."""
    what = "platerecognizer"
    message = mapping(load_json(payload, what=what), what=what)
    hook = None
    if "data" in message and "results" not in message:
        hook = mapping(message.get("hook") or {}, what=f"{what} 'hook'")
        message = mapping(message["data"], what=f"{what} 'data'")
    results = message.get("results")
    if not isinstance(results, list):
        raise AdapterError(f"{what}: 'results' must be a list")
    stamp = text(message, "timestamp", what=what, required=True)
    at = from_iso(stamp, what=what, assume_utc=True)
    device = text(message, "camera_id", what=what)
    if not device and hook is not None:
        device = text(hook, "id", what=f"{what} 'hook'")
    filename = text(message, "filename", what=what)
    events = []
    for index, item in enumerate(results):
        where = f"{what} result {index}"
        result = mapping(item, what=where)
        raw = text(result, "plate", what=where, required=True)
        extra: dict[str, Any] = {}
        if filename:
            extra["filename"] = filename
        region = result.get("region")
        if isinstance(region, dict) and isinstance(region.get("code"), str):
            extra["region"] = region["code"][:20]
        vehicle = result.get("vehicle")
        if isinstance(vehicle, dict) and isinstance(vehicle.get("type"), str):
            extra["vehicle_type"] = vehicle["type"][:40]
        events.append(
            Event(
                source=Source.PLATERECOGNIZER,
                # The service gives no id: the same read of the same image gives the same one.
                source_id=digest(device, stamp, filename, index, raw),
                kind=Kind.PLATE_READ,
                device=device,
                at=at,
                plate=plate_text(raw),
                confidence=confidence(number(result, "score", what=where)),
                label="vehicle",
                extra=extra,
            )
        )
    return events
