"""Frigate NVR messages over MQTT: `frigate/events` (tracked objects) and `frigate/reviews`.

Formats as documented at https://docs.frigate.video/integrations/mqtt/. Only `after` is read:
it is the object's state after the change the message reports. Error messages are plain
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
    from_epoch,
    load_json,
    mapping,
    number,
    plate_text,
    text,
    text_list,
)

MESSAGE_TYPES = ("new", "update", "end")


def parse_event(payload: bytes | str) -> list[Event]:
    """A `frigate/events` message: one OBJECT_DETECTED, plus a PLATE_READ when a plate was read."""
    what = "frigate event"
    kind, after = _envelope(payload, what=what)
    object_id = text(after, "id", what=what, required=True)
    camera = text(after, "camera", what=what, required=True)
    label = text(after, "label", what=what, required=True)
    at = from_epoch(number(after, "start_time", what=what, required=True), what=what)
    score = number(after, "top_score", what=what)
    if score is None:
        score = number(after, "score", what=what)
    zones = text_list(after, "current_zones", what=what)
    entered = text_list(after, "entered_zones", what=what)
    extra: dict[str, Any] = {"type": kind}
    if entered:
        extra["entered_zones"] = entered
    end_time = number(after, "end_time", what=what)
    if end_time is not None:
        extra["end_time"] = end_time
    if after.get("false_positive") is True:
        extra["false_positive"] = True
    sub_label, sub_score = _sub_label(after.get("sub_label"), what=what)
    if sub_label:
        extra["sub_label"] = sub_label
        if sub_score is not None:
            extra["sub_label_score"] = sub_score
    raw_plate = text(after, "recognized_license_plate", what=what)
    plate = plate_text(raw_plate) if raw_plate else ""
    common = {"source": Source.FRIGATE, "device": camera, "at": at, "zones": zones}
    # An object sends many updates: each is its own event (a person entering a zone later, a
    # better plate read), told apart by the frame they describe.
    frame = number(after, "frame_time", what=what) if kind == "update" else None
    ident = f"{object_id}:{kind}" if frame is None else f"{object_id}:{kind}:{frame:.3f}"
    events = [
        Event(
            source_id=ident,
            kind=Kind.OBJECT_DETECTED,
            plate=plate,
            confidence=confidence(score),
            label=label,
            extra=extra,
            **common,
        )
    ]
    if plate:
        plate_score = number(after, "recognized_license_plate_score", what=what)
        events.append(
            Event(
                source_id=f"{ident}:plate",
                kind=Kind.PLATE_READ,
                plate=plate,
                confidence=confidence(plate_score),
                label=label,
                extra={"type": kind, "object_id": object_id},
                **common,
            )
        )
    return events


def parse_review(payload: bytes | str) -> list[Event]:
    """A `frigate/reviews` message: one OBJECT_DETECTED for the review item (alert or detection)."""
    what = "frigate review"
    kind, after = _envelope(payload, what=what)
    review_id = text(after, "id", what=what, required=True)
    camera = text(after, "camera", what=what, required=True)
    at = from_epoch(number(after, "start_time", what=what, required=True), what=what)
    data = mapping(after.get("data", {}), what=f"{what} 'data'")
    objects = text_list(data, "objects", what=what)
    extra: dict[str, Any] = {"type": kind, "severity": text(after, "severity", what=what)}
    if objects[1:]:
        extra["objects"] = objects
    sub_labels = text_list(data, "sub_labels", what=what)
    if sub_labels:
        extra["sub_labels"] = sub_labels
    end_time = number(after, "end_time", what=what)
    if end_time is not None:
        extra["end_time"] = end_time
    return [
        Event(
            source=Source.FRIGATE,
            source_id=f"review:{review_id}:{kind}",
            kind=Kind.OBJECT_DETECTED,
            device=camera,
            at=at,
            label=objects[0] if objects else "",
            zones=text_list(data, "zones", what=what),
            extra=extra,
        )
    ]


def _envelope(payload: bytes | str, *, what: str) -> tuple[str, dict]:
    message = mapping(load_json(payload, what=what), what=what)
    kind = message.get("type")
    if kind not in MESSAGE_TYPES:
        raise AdapterError(f"{what}: 'type' must be one of {', '.join(MESSAGE_TYPES)}")
    return kind, mapping(message.get("after"), what=f"{what} 'after'")


def _sub_label(value: Any, *, what: str) -> tuple[str, float | None]:
    """`sub_label` is null, a name, or [name, score] depending on the Frigate version."""
    if value is None or value == "":
        return "", None
    if isinstance(value, str):
        return value[:100], None
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        score = number({"score": value[1]}, "score", what=f"{what} 'sub_label'")
        return value[0][:100], confidence(score)
    raise AdapterError(f"{what}: 'sub_label' must be null, text or [name, score]")
