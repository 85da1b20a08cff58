"""Rekor Scout / OpenALPR agent JSON: `alpr_group` (one vehicle, best plate) and `alpr_results`
(every plate in one frame), told apart by `data_type`. Confidences are percentages, times are
epoch milliseconds. Error messages are plain English for the dead-letter table, not translated.
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
    from_epoch,
    latitude,
    load_json,
    longitude,
    mapping,
    number,
    plate_text,
    text,
)

# Agent messages that carry no plate read.
_IGNORED = {"heartbeat", "alpr_alert", "vehicle"}


def parse(payload: bytes | str) -> list[Event]:
    """PLATE_READ events from one agent message (none for heartbeats)."""
    message = mapping(load_json(payload, what="openalpr"), what="openalpr")
    data_type = message.get("data_type")
    if data_type == "alpr_group":
        return [_group(message)]
    if data_type == "alpr_results":
        return _results(message)
    if isinstance(data_type, str) and data_type in _IGNORED:
        return []
    raise AdapterError("openalpr: 'data_type' must be alpr_group or alpr_results")


def _group(message: dict) -> Event:
    what = "openalpr alpr_group"
    raw = text(message, "best_plate_number", what=what, required=True)
    best = mapping(message.get("best_plate") or {}, what=f"{what} 'best_plate'")
    score = number(message, "best_confidence", what=what)
    if score is None:
        score = number(best, "confidence", what=what)
    uuids = message.get("uuids")
    uuid = text(message, "best_uuid", what=what)
    if not uuid and isinstance(uuids, list) and uuids and isinstance(uuids[0], str):
        uuid = uuids[0]
    start = number(message, "epoch_start", what=what, required=True)
    extra: dict[str, Any] = {"data_type": "alpr_group"}
    for key in ("best_region", "travel_direction", "site_id", "agent_uid"):
        value = message.get(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            extra[key] = value
    lat, lon = _gps(message, what=what)
    return Event(
        source=Source.OPENALPR,
        source_id=f"group:{uuid}" if uuid else f"group:{digest(message)}",
        kind=Kind.PLATE_READ,
        device=text(message, "camera_id", what=what),
        at=from_epoch(start / 1000, what=what),
        plate=plate_text(raw),
        confidence=confidence(score / 100) if score is not None else None,
        latitude=lat,
        longitude=lon,
        extra=extra,
    )


def _results(message: dict) -> list[Event]:
    what = "openalpr alpr_results"
    results = message.get("results")
    if not isinstance(results, list):
        raise AdapterError(f"{what}: 'results' must be a list")
    at = from_epoch(number(message, "epoch_time", what=what, required=True) / 1000, what=what)
    uuid = text(message, "uuid", what=what) or digest(message)
    device = text(message, "camera_id", what=what)
    lat, lon = _gps(message, what=what)
    events = []
    for index, item in enumerate(results):
        result = mapping(item, what=f"{what} result {index}")
        raw = text(result, "plate", what=f"{what} result {index}", required=True)
        score = number(result, "confidence", what=f"{what} result {index}")
        extra: dict[str, Any] = {"data_type": "alpr_results"}
        region = result.get("region")
        if isinstance(region, str):
            extra["region"] = region[:20]
        events.append(
            Event(
                source=Source.OPENALPR,
                source_id=f"results:{uuid}:{index}",
                kind=Kind.PLATE_READ,
                device=device,
                at=at,
                plate=plate_text(raw),
                confidence=confidence(score / 100) if score is not None else None,
                latitude=lat,
                longitude=lon,
                extra=extra,
            )
        )
    return events


def _gps(message: dict, *, what: str) -> tuple[float | None, float | None]:
    lat = latitude(number(message, "gps_latitude", what=what), what=what)
    lon = longitude(number(message, "gps_longitude", what=what), what=what)
    if lat is None or lon is None or (lat == 0 and lon == 0):  # agents send 0, 0 for "unknown"
        return None, None
    return lat, lon
