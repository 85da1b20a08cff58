"""The detection input adapters: real-format samples in, normalised events out; anything else
gives an AdapterError, never another exception."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import reduce

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from port2port.detection.adapters import ais, frigate, openalpr, platerecognizer, sensors
from port2port.detection.adapters.events import AdapterError, Event, Kind

RECEIVED = datetime(2025, 3, 1, 1, 14, 7, tzinfo=UTC)

FRIGATE_EVENT = {
    "type": "update",
    "before": {"id": "1607123955.475377-mxklsc", "camera": "gate_3_lpr", "label": "car"},
    "after": {
        "id": "1607123955.475377-mxklsc",
        "camera": "gate_3_lpr",
        "frame_time": 1740791650.2,
        "snapshot": {"frame_time": 1740791650.2, "box": [415, 489, 528, 700], "score": 0.77},
        "label": "car",
        "sub_label": None,
        "top_score": 0.958984375,
        "false_positive": False,
        "start_time": 1740791647.0,
        "end_time": None,
        "score": 0.7890625,
        "box": [424, 500, 536, 712],
        "area": 23744,
        "ratio": 2.113207,
        "region": [264, 450, 667, 853],
        "current_zones": ["gate_3_in"],
        "entered_zones": ["approach", "gate_3_in"],
        "thumbnail": None,
        "has_snapshot": True,
        "has_clip": True,
        "stationary": False,
        "motionless_count": 0,
        "position_changes": 2,
        "attributes": {},
        "current_attributes": [],
        "recognized_license_plate": "1-ABC-123",
        "recognized_license_plate_score": 0.91,
    },
}

FRIGATE_REVIEW = {
    "type": "new",
    "before": {},
    "after": {
        "id": "1718987129.308396-fqk5ka",
        "camera": "lng_fence_north",
        "start_time": 1740791647.5,
        "end_time": None,
        "severity": "alert",
        "thumb_path": "/media/frigate/clips/review/thumb-lng_fence_north-1718987129.webp",
        "data": {
            "detections": ["1718987128.947436-g92ztx"],
            "objects": ["person", "car"],
            "sub_labels": [],
            "zones": ["lng_perimeter"],
            "audio": [],
        },
    },
}

ALPR_GROUP = {
    "version": 2,
    "data_type": "alpr_group",
    "epoch_start": 1740791647123,
    "epoch_end": 1740791648456,
    "frame_start": 101,
    "frame_end": 130,
    "company_id": "8a3f5c3e-0000-4000-8000-000000000001",
    "agent_uid": "zeebrugge-gate-3",
    "agent_version": "4.1.1",
    "agent_type": "alprd",
    "camera_id": 1834271,
    "gps_latitude": 51.3328,
    "gps_longitude": 3.2012,
    "country": "eu",
    "uuids": ["zeebrugge-gate-3-1834271-1740791647123"],
    "plate_indexes": [0],
    "candidates": [
        {"plate": "1ABC123", "confidence": 94.1, "matches_template": 1},
        {"plate": "1A8C123", "confidence": 81.0, "matches_template": 0},
    ],
    "best_plate": {"plate": "1ABC123", "confidence": 94.1, "region": "be"},
    "best_confidence": 94.1,
    "best_plate_number": "1ABC123",
    "best_region": "be",
    "best_region_confidence": 88,
    "matches_template": True,
    "best_uuid": "zeebrugge-gate-3-1834271-1740791647123",
    "best_index": 0,
    "travel_direction": 92.5,
    "is_parked": False,
    "is_preview": False,
}

ALPR_RESULTS = {
    "version": 2,
    "data_type": "alpr_results",
    "epoch_time": 1740791647123,
    "img_width": 1920,
    "img_height": 1080,
    "processing_time_ms": 42.1,
    "error": False,
    "regions_of_interest": [],
    "results": [
        {
            "plate": "1ABC123",
            "confidence": 94.1,
            "matches_template": 1,
            "plate_index": 0,
            "region": "be",
            "region_confidence": 88,
            "processing_time_ms": 11.2,
            "requested_topn": 10,
            "coordinates": [{"x": 10, "y": 10}, {"x": 80, "y": 10}],
            "candidates": [{"plate": "1ABC123", "confidence": 94.1, "matches_template": 1}],
        },
        {"plate": "AB-123-CD", "confidence": 102.0, "region": "fr"},
    ],
    "uuid": "antwerp-gate-1-1740791647123",
    "camera_id": 42,
    "site_id": "antwerp-kaai-730",
}

PLATE_RECOGNIZER = {
    "processing_time": 288.758,
    "results": [
        {
            "box": {"xmin": 143, "ymin": 481, "xmax": 282, "ymax": 575},
            "plate": "1abc123",
            "region": {"code": "be", "score": 0.747},
            "score": 0.904,
            "candidates": [{"score": 0.904, "plate": "1abc123"}],
            "dscore": 0.99,
            "vehicle": {"score": 0.92, "type": "Truck", "box": {}},
        }
    ],
    "filename": "1617_7M83K_car.jpg",
    "version": 1,
    "camera_id": "ostend-gate-2",
    "timestamp": "2025-03-01T01:14:07.574008Z",
}

SENSOR_FENCE = {
    "type": "fence",
    "id": "fz-0042-17",
    "device": "ZEE-FENCE-12",
    "at": "2025-03-01T02:14:07+01:00",
    "zone": "zeebrugge-lng",
    "latitude": 51.33,
    "longitude": 3.2,
    "confidence": 0.87,
}

SENSOR_DRONE = {
    "type": "drone",
    "id": "dd-991",
    "device": "ANT-DRONE-1",
    "at": "2025-03-01T01:14:07Z",
    "drone_id": "1581F5FKD229400F",
    "altitude_m": 85.5,
    "pilot_latitude": 51.32,
    "pilot_longitude": 3.19,
}

AIS_POSITION = "!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C"
AIS_STATIC = [
    "!AIVDM,2,1,4,A,55O0W7`00001L@gCWGA2uItLth@DqtL5@F22220j1h742t0Ht0000000,0*08",
    "!AIVDM,2,2,4,A,000000000000000,2*20",
]


def dumps(value) -> bytes:
    return json.dumps(value).encode()


# --- examples ------------------------------------------------------------------------------------


def test_frigate_car_with_plate_gives_object_and_plate_read():
    obj, read = frigate.parse_event(dumps(FRIGATE_EVENT))
    assert obj.kind == Kind.OBJECT_DETECTED and read.kind == Kind.PLATE_READ
    # Each update of an object is an event of its own, told apart by the frame it describes.
    assert obj.source_id == "1607123955.475377-mxklsc:update:1740791650.200"
    assert read.source_id == "1607123955.475377-mxklsc:update:1740791650.200:plate"
    later = {**FRIGATE_EVENT, "after": {**FRIGATE_EVENT["after"], "frame_time": 1740791651.0}}
    assert frigate.parse_event(dumps(later))[0].source_id != obj.source_id
    assert (read.plate, read.confidence, read.device) == ("1ABC123", 0.91, "gate_3_lpr")
    assert obj.label == "car" and obj.confidence == 0.958984375 and obj.zones == ("gate_3_in",)
    assert obj.at == datetime(2025, 3, 1, 1, 14, 7, tzinfo=UTC)
    assert obj.extra["entered_zones"] == ("approach", "gate_3_in")


@pytest.mark.parametrize(
    ("sub_label", "expected"), [(None, None), ("Jan", "Jan"), (["Jan", 0.82], "Jan")]
)
def test_frigate_sub_label_shapes(sub_label, expected):
    message = json.loads(json.dumps(FRIGATE_EVENT))
    message["after"].update(sub_label=sub_label, recognized_license_plate=None, label="person")
    [event] = frigate.parse_event(json.dumps(message))
    assert event.extra.get("sub_label") == expected and event.plate == ""


def test_frigate_review_gives_one_event_with_first_object():
    [event] = frigate.parse_review(dumps(FRIGATE_REVIEW))
    assert (event.kind, event.label, event.device) == (
        Kind.OBJECT_DETECTED,
        "person",
        "lng_fence_north",
    )
    assert event.zones == ("lng_perimeter",) and event.extra["severity"] == "alert"
    assert event.source_id == "review:1718987129.308396-fqk5ka:new"


def test_frigate_rejects_unknown_type_and_missing_after():
    with pytest.raises(AdapterError, match="'type'"):
        frigate.parse_event(dumps({**FRIGATE_EVENT, "type": "start"}))
    with pytest.raises(AdapterError, match="'after'"):
        frigate.parse_event(dumps({"type": "end", "before": {}}))


def test_openalpr_group():
    [event] = openalpr.parse(dumps(ALPR_GROUP))
    assert event.kind == Kind.PLATE_READ and event.plate == "1ABC123"
    assert event.confidence == pytest.approx(0.941) and event.device == "1834271"
    assert event.at == datetime(2025, 3, 1, 1, 14, 7, 123000, tzinfo=UTC)
    assert event.source_id == "group:zeebrugge-gate-3-1834271-1740791647123"
    assert (event.latitude, event.longitude) == (51.3328, 3.2012)


def test_openalpr_results_one_event_per_plate_and_confidence_clamped():
    first, second = openalpr.parse(dumps(ALPR_RESULTS))
    assert [first.plate, second.plate] == ["1ABC123", "AB123CD"]
    assert second.confidence == 1.0 and second.extra["region"] == "fr"
    assert first.source_id != second.source_id and first.device == "42"


def test_openalpr_heartbeat_is_no_event_and_unknown_type_an_error():
    assert openalpr.parse('{"data_type": "heartbeat"}') == []
    with pytest.raises(AdapterError, match="data_type"):
        openalpr.parse('{"data_type": "alpr_bogus"}')


def test_platerecognizer_snapshot_and_webhook_give_same_event():
    [event] = platerecognizer.parse(dumps(PLATE_RECOGNIZER))
    hook = {"hook": {"target": "https://p2p/hook", "id": "ostend-gate-2", "event": "recognition"}}
    [wrapped] = platerecognizer.parse(dumps({**hook, "data": PLATE_RECOGNIZER}))
    assert event == wrapped
    assert (event.plate, event.confidence, event.device) == ("1ABC123", 0.904, "ostend-gate-2")
    assert event.at == datetime(2025, 3, 1, 1, 14, 7, 574008, tzinfo=UTC)
    assert event.extra == {
        "filename": "1617_7M83K_car.jpg",
        "region": "be",
        "vehicle_type": "Truck",
    }


def test_unreadable_plate_kept_as_raw_uppercase():
    message = json.loads(json.dumps(PLATE_RECOGNIZER))
    message["results"][0]["plate"] = "x"
    [event] = platerecognizer.parse(json.dumps(message))
    assert event.plate == "X"


def test_sensor_fence_and_drone():
    [fence] = sensors.parse(dumps(SENSOR_FENCE))
    assert fence.kind == Kind.FENCE_ALARM and fence.zones == ("zeebrugge-lng",)
    assert fence.at == datetime(2025, 3, 1, 1, 14, 7, tzinfo=UTC)
    [drone] = sensors.parse(dumps(SENSOR_DRONE))
    assert drone.kind == Kind.DRONE_DETECTED and drone.label == "drone"
    assert drone.extra == {
        "drone_id": "1581F5FKD229400F",
        "altitude_m": 85.5,
        "pilot_latitude": 51.32,
        "pilot_longitude": 3.19,
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "radar"}, "'type'"),
        ({"at": "2025-03-01T02:14:07"}, "no UTC offset"),
        ({"at": None}, "missing field 'at'"),
        ({"latitude": 91}, "latitude"),
        ({"confidence": 1.5}, "confidence"),
        ({"device": ["x"]}, "'device' must be text"),
        ({"id": None}, "missing field 'id'"),
    ],
)
def test_sensor_errors_name_the_problem(change, message):
    with pytest.raises(AdapterError, match=message):
        sensors.parse(dumps({**SENSOR_FENCE, **change}))


def test_sensor_json_lines_collects_errors_per_line():
    text = "\n".join([json.dumps(SENSOR_FENCE), "{not json", "", json.dumps(SENSOR_DRONE)])
    events, errors = sensors.parse_lines(text)
    assert [e.kind for e in events] == [Kind.FENCE_ALARM, Kind.DRONE_DETECTED]
    assert len(errors) == 1 and str(errors[0]).startswith("line 2:")


def test_ais_position_report():
    [event], errors = ais.parse_lines(AIS_POSITION, RECEIVED)
    assert errors == []
    assert (event.kind, event.mmsi, event.at) == (Kind.VESSEL_POSITION, 366053209, RECEIVED)
    assert (event.latitude, event.longitude) == (
        pytest.approx(37.802118),
        pytest.approx(-122.341618),
    )
    assert (event.speed_knots, event.course) == (0.0, pytest.approx(219.3))


def test_ais_multi_part_waits_for_all_parts():
    assembler = ais.AisAssembler(received_at=RECEIVED)
    assert assembler.feed(AIS_STATIC[0]) == []
    [event] = assembler.feed(AIS_STATIC[1])
    assert event.kind == Kind.VESSEL_STATIC and event.mmsi == 368060190
    assert event.label == "P/V_GOLDEN_GATE" and event.extra["callsign"] == "WDK4954"
    again, _ = ais.parse_lines("\n".join(AIS_STATIC), RECEIVED)
    assert again[0].source_id == event.source_id  # redelivery: same idempotency key


def test_ais_bad_lines_are_errors_not_exceptions():
    lines = [
        AIS_POSITION[:-1] + "D",  # bad checksum
        "hello world",
        AIS_STATIC[1],  # second part without the first
        AIS_STATIC[0],  # first part never completed
        AIS_POSITION,
    ]
    events, errors = ais.parse_lines("\n".join(lines), RECEIVED)
    assert len(events) == 1
    messages = [str(error) for error in errors]
    assert (
        "checksum" in messages[0] and "line 2" in messages[1] and "without the parts" in messages[2]
    )
    assert "incomplete" in messages[3] and len(messages) == 4


def test_ais_not_available_position_is_none():
    # Type 1 with lat 91 / lon 181 (not available), built and checksummed here.
    from pyais.encode import encode_dict

    [sentence] = encode_dict({"type": 1, "mmsi": 205123456, "lat": 91, "lon": 181, "speed": 102.3})
    [event], errors = ais.parse_lines(sentence, RECEIVED)
    assert errors == [] and event.mmsi == 205123456
    assert (event.latitude, event.longitude, event.speed_knots) == (None, None, None)


# --- fuzz: a list of Events or an AdapterError, nothing else -------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
_DROP = object()


def mutated(value):
    """The real example with any field replaced by arbitrary JSON or left out."""
    if isinstance(value, dict):
        fields = {k: st.one_of(mutated(v), json_values, st.just(_DROP)) for k, v in value.items()}
        return st.fixed_dictionaries(fields).map(
            lambda d: {k: v for k, v in d.items() if v is not _DROP}
        )
    if isinstance(value, list):
        return st.tuples(*[mutated(v) for v in value]).map(list) if value else json_values
    return st.one_of(st.just(value), json_values)


def accepts_or_rejects(parse, payload):
    try:
        result = parse(payload)
    except AdapterError as exc:
        assert str(exc)
        return
    assert isinstance(result, list) and all(isinstance(event, Event) for event in result)
    for event in result:
        assert event.at.tzinfo is not None and event.at.utcoffset().total_seconds() == 0
        assert event.confidence is None or 0 <= event.confidence <= 1
        assert event.latitude is None or -90 <= event.latitude <= 90
        assert event.longitude is None or -180 <= event.longitude <= 180


JSON_ADAPTERS = [
    (frigate.parse_event, FRIGATE_EVENT),
    (frigate.parse_review, FRIGATE_REVIEW),
    (openalpr.parse, ALPR_GROUP),
    (openalpr.parse, ALPR_RESULTS),
    (platerecognizer.parse, PLATE_RECOGNIZER),
    (sensors.parse, SENSOR_FENCE),
    (sensors.parse, SENSOR_DRONE),
]


@pytest.mark.parametrize(("parse", "example"), JSON_ADAPTERS)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_fuzz_mutated_examples(parse, example, data):
    accepts_or_rejects(parse, json.dumps(data.draw(mutated(example))))


@pytest.mark.parametrize("parse", sorted({p for p, _ in JSON_ADAPTERS}, key=repr))
@settings(max_examples=100, deadline=None)
@given(
    payload=st.one_of(st.binary(max_size=200), st.text(max_size=200), json_values.map(json.dumps))
)
def test_fuzz_arbitrary_input(parse, payload):
    accepts_or_rejects(parse, payload)


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(st.one_of(st.text(max_size=100), json_values.map(json.dumps)), max_size=5))
def test_fuzz_sensor_lines(lines):
    events, errors = sensors.parse_lines("\n".join(lines))
    assert all(isinstance(e, Event) for e in events)
    assert all(isinstance(e, AdapterError) for e in errors)


SIX_BIT = "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw"


def checksummed(body: str) -> str:
    return f"!{body}*{reduce(lambda acc, c: acc ^ ord(c), body, 0):02X}"


sentences = st.builds(
    lambda count, number, seq, channel, payload, fill: checksummed(
        f"AIVDM,{count},{number},{seq},{channel},{payload},{fill}"
    ),
    st.integers(1, 3),
    st.integers(1, 3),
    st.sampled_from(["", "1", "7"]),
    st.sampled_from(["A", "B", ""]),
    st.text(SIX_BIT, max_size=60),
    st.integers(0, 5),
)


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.one_of(sentences, st.sampled_from([AIS_POSITION, *AIS_STATIC]), st.text(max_size=80)),
        max_size=8,
    )
)
def test_fuzz_ais_lines(lines):
    events, errors = ais.parse_lines("\n".join(lines), RECEIVED)
    assert all(isinstance(e, Event) and e.mmsi is not None for e in events)
    assert all(isinstance(e, AdapterError) for e in errors)
    for event in events:
        assert event.latitude is None or -90 <= event.latitude <= 90
        assert event.longitude is None or -180 <= event.longitude <= 180


@settings(max_examples=100, deadline=None)
@given(payload=st.binary(max_size=200))
def test_fuzz_ais_bytes(payload):
    assembler = ais.AisAssembler(received_at=RECEIVED)
    try:
        result = assembler.feed(payload)
    except AdapterError:
        return
    assert all(isinstance(e, Event) for e in result)
