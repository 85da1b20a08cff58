"""STIX 2.1 adapter: parse_bundle and build_bundle. Pure: no database, no network."""

from __future__ import annotations

import copy
import json
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import stix2
import stix2validator
import stix2validator.validator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stix2patterns.validator import run_validator

from port2port.sharing.adapters import (
    AdapterError,
    ExportIndicator,
    ExportItem,
    ParseResult,
)
from port2port.sharing.adapters import stix as stix_adapter
from port2port.sharing.adapters.stix import TLP_MARKING_IDS, build_bundle, parse_bundle

TLPS = ["clear", "green", "amber", "amber+strict", "red"]
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
IDENTITY = "identity--0f2a6d1e-5c3b-4a8e-9d7f-1b2c3d4e5f60"
GREEN1 = stix2.TLP_GREEN.id  # TLP 1.0, as STIX 2.1 defines it

# stix2-validator 3.3.1's wheel ships without its JSON schemas (oasis-open/cti-stix-validator
# issue 248); 3.2.0 has them.
VALIDATOR_SCHEMAS = Path(stix2validator.__file__).parent / "schemas-2.1" / "schemas"


@pytest.fixture(autouse=True, scope="module")
def _no_network():
    """Nothing here may reach the network: the validator, in particular, must work offline."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket.socket, "connect_ex", refuse)
        mp.setattr(socket, "create_connection", refuse)
        mp.setattr(socket, "getaddrinfo", refuse)
        yield


def _uid(kind: str) -> str:
    return f"{kind}--{uuid.uuid4()}"


def _indicator(pattern="[ipv4-addr:value = '198.51.100.7']", **extra) -> dict:
    obj = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": _uid("indicator"),
        "created": "2024-05-01T12:00:00.000Z",
        "modified": "2024-05-01T12:00:00.000Z",
        "name": "Bad address",
        "description": "Seen scanning the gate systems",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2024-05-01T12:00:00Z",
    }
    obj.update(extra)
    return obj


def _bundle(*objects) -> dict:
    return {"type": "bundle", "id": _uid("bundle"), "objects": list(objects)}


def _export_item(tlp="green", kind="cyber_indicators", n=2, **extra) -> ExportItem:
    fields = {
        "stix_id": _uid("report"),
        "kind": kind,
        "title": f"Phishing wave ({tlp})",
        "body": "Mails pretending to come from the **harbour master**.",
        "tlp": tlp,
        "created": T0,
        "modified": T0 + timedelta(hours=1),
        "source_name": "Port of Antwerp-Bruges",
        "indicators": [
            ExportIndicator(
                stix_id=_uid("indicator"),
                name=f"C2 address {i}",
                pattern=f"[ipv4-addr:value = '203.0.113.{i}']",
                pattern_type="stix",
                description=f"Seen on day {i}",
                valid_from=T0 - timedelta(days=i),
            )
            for i in range(n)
        ],
    }
    fields.update(extra)
    return ExportItem(**fields)


# --- the validators -------------------------------------------------------------------------


def _oasis_errors(bundle: dict, *, schemas: bool) -> list[str]:
    """The errors the OASIS validator finds (warnings, i.e. SHOULDs, allowed)."""
    options = stix2validator.ValidationOptions(version="2.1", strict=False)
    if schemas:
        result = stix2validator.validate_instance(bundle, options)
    else:
        # Only the validator's own checks (MUSTs and SHOULDs in Python: patterns, timestamps,
        # marking references, vocabularies ...): its JSON schemas are not installed.
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(stix2validator.validator, "_get_error_generator", lambda *a, **k: None)
            result = stix2validator.validate_instance(bundle, options)
    return [] if result.is_valid else [str(e) for e in result.errors]


def _assert_valid_stix(bundle: dict) -> None:
    # The stix2 library's object model, without custom content: required properties, types,
    # references, the TLP 2.0 marking extension.
    parsed = stix2.parse(json.loads(json.dumps(bundle)), allow_custom=False)
    assert len(parsed.objects) == len(bundle["objects"])
    assert _oasis_errors(bundle, schemas=VALIDATOR_SCHEMAS.is_dir()) == []


@pytest.mark.parametrize("tlp", TLPS)
def test_build_output_is_valid_stix_for_every_tlp(tlp):
    items = [
        _export_item(tlp),
        _export_item(tlp, kind="incident_summary", n=0, title="Quay crane outage"),
        _export_item(tlp, kind="lesson_learned", n=0, title="Check the backups"),
        _export_item(tlp, kind="lesson_learned", n=1, title="Lesson with indicators"),
    ]
    bundle = build_bundle(items, identity_name="Port 2 Port")
    _assert_valid_stix(bundle)
    markings = [o for o in bundle["objects"] if o["type"] == "marking-definition"]
    assert [m["id"] for m in markings] == [TLP_MARKING_IDS[tlp]]
    assert markings[0]["name"] == f"TLP:{tlp.upper()}"


@pytest.mark.skipif(
    not VALIDATOR_SCHEMAS.is_dir(),
    reason="the installed stix2-validator has no JSON schemas (the 3.3.1 wheel ships without "
    "them, oasis-open/cti-stix-validator#248); with 3.2.0 this runs the full validation",
)
def test_build_output_passes_the_full_oasis_validator_with_its_schemas():
    items = [_export_item(tlp) for tlp in TLPS]
    items.append(_export_item("amber", kind="lesson_learned", n=0))
    bundle = build_bundle(items, identity_name="Port 2 Port")
    assert _oasis_errors(bundle, schemas=True) == []


def test_the_validators_do_catch_a_broken_bundle():
    """The checks above can fail: a bad pattern and a missing property are errors."""
    bundle = build_bundle([_export_item("green")], identity_name="Port 2 Port")
    indicator = next(o for o in bundle["objects"] if o["type"] == "indicator")
    indicator["pattern"] = "[ipv4-addr:value = '1.2.3.4'"
    assert _oasis_errors(bundle, schemas=VALIDATOR_SCHEMAS.is_dir())
    del indicator["valid_from"]
    with pytest.raises(stix2.exceptions.STIXError):
        stix2.parse(bundle, allow_custom=False)


def test_tlp_2_marking_ids_are_the_official_ones():
    # oasis-open/cti-stix-common-objects, extension-definition-specifications/tlp-2.0
    assert TLP_MARKING_IDS == {
        "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    }
    marking = stix_adapter._tlp_marking("amber+strict")
    assert marking["extensions"] == {
        "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
            "extension_type": "property-extension",
            "tlp_2_0": "amber+strict",
        }
    }
    assert marking["created"] == "2022-10-01T00:00:00.000Z"
    assert "created_by_ref" not in marking


# --- build_bundle ---------------------------------------------------------------------------


def test_build_bundle_shape():
    item = _export_item("amber")
    bundle = build_bundle([item], identity_name="Port 2 Port")
    by_type = {}
    for obj in bundle["objects"]:
        by_type.setdefault(obj["type"], []).append(obj)
    (identity,) = by_type["identity"]
    (report,) = by_type["report"]
    assert identity["name"] == "Port 2 Port"
    assert identity["identity_class"] == "organization"
    assert report["id"] == item.stix_id  # the item's stable id is kept
    assert report["name"] == item.title
    assert report["description"] == item.body
    assert report["created"] == "2024-05-01T12:00:00.000Z"
    assert report["modified"] == "2024-05-01T13:00:00.000Z"
    assert report["object_refs"] == [i.stix_id for i in item.indicators]
    assert [o["id"] for o in by_type["indicator"]] == [i.stix_id for i in item.indicators]
    for obj in by_type["indicator"] + by_type["report"]:
        assert obj["created_by_ref"] == identity["id"]
        assert obj["object_marking_refs"] == [TLP_MARKING_IDS["amber"]]
        assert obj["spec_version"] == "2.1"
    assert by_type["indicator"][1]["valid_from"] == "2024-04-30T12:00:00.000Z"


def test_build_bundle_identity_is_stable_and_bundle_ids_are_fresh():
    one = build_bundle([], identity_name="Port 2 Port")
    two = build_bundle([], identity_name="Port 2 Port")
    other = build_bundle([], identity_name="Another platform")
    assert one["objects"] == two["objects"]  # just the identity
    assert one["id"] != two["id"]
    assert one["objects"][0]["id"] != other["objects"][0]["id"]
    assert uuid.UUID(one["objects"][0]["id"].split("--")[1]).version == 4


def test_build_bundle_ids_without_a_given_stix_id():
    item = _export_item("green", stix_id="")
    item.indicators[0].stix_id = ""
    item.indicators[1].stix_id = "misp-attribute-7"  # not a STIX id: a stable id is made from it
    bundle = build_bundle([item], identity_name="P2P")
    again = build_bundle([item], identity_name="P2P")
    ids = [o["id"] for o in bundle["objects"]]
    ids_again = [o["id"] for o in again["objects"]]
    assert ids[3] == ids_again[3]  # the indicator made from "misp-attribute-7"
    assert ids[2] != ids_again[2]  # fresh uuid4 ids
    assert all(uuid.UUID(i.split("--")[1]).version == 4 for i in ids if "marking" not in i)
    _assert_valid_stix(bundle)


def test_lesson_learned_becomes_a_note_and_an_empty_report_refers_to_the_identity():
    lesson = _export_item("green", kind="lesson_learned", n=0, body="")
    incident = _export_item("green", kind="incident_summary", n=0)
    bundle = build_bundle([lesson, incident], identity_name="P2P")
    identity_id = bundle["objects"][0]["id"]
    note = next(o for o in bundle["objects"] if o["type"] == "note")
    report = next(o for o in bundle["objects"] if o["type"] == "report")
    assert note["id"] == "note--" + lesson.stix_id.split("--")[1]
    assert note["abstract"] == lesson.title
    assert note["content"] == lesson.title  # content is required, the body was empty
    assert note["object_refs"] == [identity_id]
    assert report["object_refs"] == [identity_id]
    _assert_valid_stix(bundle)


def test_indicators_stix_cannot_carry_are_left_out_and_named():
    item = _export_item("green", n=1)
    item.indicators += [
        ExportIndicator("", "Plain text note", "", "", "", None),
        ExportIndicator("", "Broken", "[ipv4-addr:value = ", "stix", "", None),
        ExportIndicator("", "Snort rule", "alert tcp any any -> any 80", "snort", "", None),
    ]
    bundle = build_bundle([item], identity_name="P2P")
    _assert_valid_stix(bundle)
    indicators = [o for o in bundle["objects"] if o["type"] == "indicator"]
    assert [i.get("name") for i in indicators] == ["C2 address 0", "Snort rule"]
    report = next(o for o in bundle["objects"] if o["type"] == "report")
    assert "Plain text note: it has no pattern" in report["description"]
    assert "Broken: invalid STIX pattern" in report["description"]


def test_a_shared_indicator_is_written_once_with_the_most_restrictive_tlp():
    shared = _export_item("clear", n=1).indicators[0]
    open_item = _export_item("clear", n=0, indicators=[shared])
    red_item = _export_item("red", n=0, indicators=[shared])
    bundle = build_bundle([open_item, red_item], identity_name="P2P")
    indicators = [o for o in bundle["objects"] if o["type"] == "indicator"]
    assert len(indicators) == 1
    assert indicators[0]["object_marking_refs"] == [TLP_MARKING_IDS["red"]]
    _assert_valid_stix(bundle)


def test_naive_datetimes_and_unknown_tlp_are_written_safely():
    item = _export_item("purple", created=datetime(2024, 1, 2, 3, 4, 5), modified=T0)
    bundle = build_bundle([item], identity_name="P2P")
    report = next(o for o in bundle["objects"] if o["type"] == "report")
    assert report["created"] == "2024-01-02T03:04:05.000Z"
    assert report["object_marking_refs"] == [TLP_MARKING_IDS["red"]]
    _assert_valid_stix(bundle)


# --- round trip -----------------------------------------------------------------------------


def test_round_trip_keeps_titles_tlp_and_indicators():
    items = [_export_item(tlp, n=i + 1) for i, tlp in enumerate(TLPS)]
    items.append(_export_item("amber", kind="lesson_learned", n=0, title="Rotate the keys"))
    items.append(_export_item("green", kind="incident_summary", n=0, title="Crane outage"))
    bundle = build_bundle(items, identity_name="Port 2 Port")
    result = parse_bundle(json.dumps(bundle).encode())

    assert result.skipped == []
    assert len(result.items) == len(items)
    parsed = {p.stix_id.split("--")[1]: p for p in result.items}
    for item in items:
        got = parsed[item.stix_id.split("--")[1]]
        assert got.title == item.title
        assert got.tlp == item.tlp
        assert got.body == item.body
        assert got.created == item.created
        assert got.kind == (
            "lesson_learned" if item.kind == "lesson_learned" else "incident_summary"
        )
        assert [
            (i.stix_id, i.name, i.pattern, i.pattern_type, i.description, i.valid_from)
            for i in got.indicators
        ] == [
            (i.stix_id, i.name, i.pattern, i.pattern_type, i.description, i.valid_from)
            for i in item.indicators
        ]


# --- parse_bundle: what is mapped how -------------------------------------------------------


def test_loose_indicators_become_one_item_titled_after_the_identity():
    identity = {
        "type": "identity",
        "spec_version": "2.1",
        "id": IDENTITY,
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "name": "CERT.be",
    }
    first = _indicator(created_by_ref=IDENTITY, object_marking_refs=[GREEN1])
    second = _indicator(
        "[domain-name:value = 'evil.example']",
        created_by_ref=IDENTITY,
        object_marking_refs=[stix2.TLP_AMBER.id],
        valid_from="2024-05-01T12:00:00.123456789Z",
    )
    result = parse_bundle(_bundle(identity, first, second))
    assert result.skipped == []
    (item,) = result.items
    assert item.kind == "cyber_indicators"
    assert item.title == "2 indicators from CERT.be"
    assert item.tlp == "amber"
    assert [i.stix_id for i in item.indicators] == [first["id"], second["id"]]
    got = item.indicators[1]
    assert got.pattern == "[domain-name:value = 'evil.example']"
    assert got.pattern_type == "stix"
    assert got.name == "Bad address"
    assert got.description == "Seen scanning the gate systems"
    assert got.valid_from == datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert got.valid_from.tzinfo is not None


def test_loose_indicators_without_identity_are_titled_after_the_bundle():
    bundle = _bundle(_indicator())
    (item,) = parse_bundle(json.dumps(bundle)).items
    assert item.title == f"1 indicator from STIX bundle {bundle['id']}"
    assert item.tlp is None
    assert item.stix_id == bundle["id"]


def test_report_takes_its_indicators_and_note_becomes_lesson_learned():
    inside = _indicator(object_marking_refs=[stix2.TLP_RED.id])
    outside = _indicator("[url:value = 'http://evil.example/a']")
    report = {
        "type": "report",
        "spec_version": "2.1",
        "id": _uid("report"),
        "created": "2024-05-02T08:00:00.000Z",
        "modified": "2024-05-02T08:00:00.000Z",
        "name": "Ransomware at a terminal operator",
        "description": "What happened, in *Markdown*.",
        "published": "2024-05-02T08:00:00.000Z",
        "report_types": ["threat-report"],
        "object_refs": [inside["id"], "malware--" + str(uuid.uuid4())],
        "object_marking_refs": [TLP_MARKING_IDS["green"]],
    }
    content = "Keep offline backups of the terminal operating system. " * 3
    note = {
        "type": "note",
        "spec_version": "2.1",
        "id": _uid("note"),
        "created": "2024-05-03T08:00:00.000Z",
        "modified": "2024-05-03T08:00:00.000Z",
        "content": content,
        "object_refs": [report["id"]],
        "object_marking_refs": [stix2.TLP_WHITE.id],
    }
    result = parse_bundle(_bundle(note, inside, report, outside))
    assert result.skipped == []
    loose, lesson, incident = result.items  # loose indicators first, then in bundle order
    assert loose.kind == "cyber_indicators"
    assert [i.stix_id for i in loose.indicators] == [outside["id"]]
    assert incident.kind == "incident_summary"
    assert incident.title == report["name"]
    assert incident.body == report["description"]
    assert incident.stix_id == report["id"]
    assert incident.created == datetime(2024, 5, 2, 8, tzinfo=UTC)
    assert [i.stix_id for i in incident.indicators] == [inside["id"]]
    assert incident.tlp == "red"  # the report is green, one of its indicators red
    assert lesson.kind == "lesson_learned"
    assert lesson.body == content
    assert len(lesson.title) <= 80
    assert lesson.title.startswith("Keep offline backups of the terminal operating system.")
    assert lesson.tlp == "clear"  # TLP 1.0 WHITE

    note["abstract"] = "Offline backups"
    assert parse_bundle(_bundle(note)).items[0].title == "Offline backups"


@pytest.mark.parametrize(
    ("marking_id", "expected"),
    [
        (stix2.TLP_WHITE.id, "clear"),
        (stix2.TLP_GREEN.id, "green"),
        (stix2.TLP_AMBER.id, "amber"),
        (stix2.TLP_RED.id, "red"),
        *[(TLP_MARKING_IDS[t], t) for t in TLPS],
    ],
)
def test_official_tlp_markings_are_read_without_their_definitions(marking_id, expected):
    (item,) = parse_bundle(_bundle(_indicator(object_marking_refs=[marking_id]))).items
    assert item.tlp == expected


def test_tlp_markings_defined_in_the_bundle():
    amber_id = _uid("marking-definition")
    tlp2_id = _uid("marking-definition")
    statement_id = _uid("marking-definition")
    markings = [
        {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": amber_id,
            "created": "2017-01-20T00:00:00.000Z",
            "definition_type": "tlp",
            "definition": {"tlp": "AMBER"},
        },
        {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": tlp2_id,
            "created": "2017-01-20T00:00:00.000Z",
            "name": "TLP:AMBER+STRICT",
            "extensions": {
                stix_adapter.TLP2_EXTENSION_ID: {
                    "extension_type": "property-extension",
                    "tlp_2_0": "amber+strict",
                }
            },
        },
        {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": statement_id,
            "created": "2017-01-20T00:00:00.000Z",
            "definition_type": "statement",
            "definition": {"statement": "Copyright 2024, Port 2 Port"},
        },
    ]
    amber = _indicator(object_marking_refs=[amber_id, statement_id])
    strict = _indicator(object_marking_refs=[tlp2_id])
    result = parse_bundle(_bundle(*markings, amber))
    assert result.items[0].tlp == "amber"
    assert result.skipped == []
    assert parse_bundle(_bundle(*markings, strict)).items[0].tlp == "amber+strict"


# --- parse_bundle: bad input ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe{", "not UTF-8 text"),
        ("{not json", "is not JSON"),
        ("", "is not JSON"),
        ("[1, 2]", "not a JSON object but a list"),
        ('"bundle"', "not a JSON object but a string"),
        ("null", "not a JSON object but a null"),
        (42, "must be JSON text or an object, not int"),
        ({"type": "report", "objects": []}, "its type is 'report', expected 'bundle'"),
        ({"objects": []}, "its type is missing, expected 'bundle'"),
        ({"type": "bundle", "id": "bundle--1"}, "The bundle has no 'objects'"),
        ({"type": "bundle", "objects": {}}, "'objects' is a object, not a list"),
        ({"type": "bundle", "objects": "x"}, "'objects' is a string, not a list"),
        ({"type": "bundle", "objects": []}, "'objects' is empty"),
        (
            {"type": "bundle", "spec_version": "2.0", "objects": [{"type": "indicator"}]},
            "The bundle is STIX 2.0: only STIX 2.1",
        ),
        (
            {"type": "bundle", "objects": [{"type": "indicator", "spec_version": "2.0"}]},
            "objects of STIX 2.0: only STIX 2.1",
        ),
        (
            {"type": "bundle", "objects": [{"type": "indicator", "id": "indicator--x"}]},
            "No object of the bundle says spec_version '2.1'",
        ),
    ],
)
def test_malformed_input_raises_adapter_error_naming_the_problem(data, message):
    with pytest.raises(AdapterError, match=None) as raised:
        parse_bundle(data)
    assert message in str(raised.value)


def test_partial_bad_bundle_imports_the_good_and_lists_the_bad():
    purple_id = _uid("marking-definition")
    purple = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": purple_id,
        "created": "2024-01-01T00:00:00.000Z",
        "definition_type": "tlp",
        "definition": {"tlp": "purple"},
    }
    good = _indicator()
    no_pattern = _indicator()
    del no_pattern["pattern"]
    bad_pattern = _indicator("[ipv4-addr:value = '1.2.3.4'")
    bad_hash = _indicator("[file:hashes.MD5 = 'not-a-hash']")
    bad_time = _indicator(valid_from="yesterday")
    purple_indicator = _indicator(object_marking_refs=[purple_id])
    malware = {
        "type": "malware",
        "spec_version": "2.1",
        "id": _uid("malware"),
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "name": "LockBit",
        "is_family": True,
    }
    relationship = {
        "type": "relationship",
        "spec_version": "2.1",
        "id": _uid("relationship"),
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "relationship_type": "indicates",
        "source_ref": good["id"],
        "target_ref": malware["id"],
    }
    empty_note = {"type": "note", "spec_version": "2.1", "id": _uid("note"), "content": " "}
    no_type = {"spec_version": "2.1", "id": _uid("indicator")}
    bad_id = _indicator(id="indicator--42")
    wrong_prefix = _indicator(id=_uid("report"))
    objects = [
        purple,
        good,
        no_pattern,
        bad_pattern,
        bad_hash,
        bad_time,
        purple_indicator,
        malware,
        relationship,
        empty_note,
        no_type,
        bad_id,
        wrong_prefix,
        "not an object",
    ]
    result = parse_bundle(_bundle(*objects))

    (item,) = result.items
    assert [i.stix_id for i in item.indicators] == [good["id"]]
    reasons = {s.ref: s.reason for s in result.skipped}
    assert reasons[no_pattern["id"]] == "the indicator has no pattern"
    assert reasons[bad_pattern["id"]].startswith("invalid STIX pattern")
    assert "not-a-hash" in reasons[bad_hash["id"]]
    assert reasons[bad_time["id"]] == "valid_from: 'yesterday' is not a STIX timestamp"
    assert reasons[purple_indicator["id"]] == "unknown TLP value 'purple'"
    assert reasons[malware["id"]] == "type malware is not imported"
    assert reasons[relationship["id"]] == "type relationship is not imported"
    assert reasons[empty_note["id"]] == "the note has no content"
    assert reasons[no_type["id"]] == "the object has no type"
    assert reasons["indicator--42"] == "the indicator has no valid STIX id"
    assert reasons[wrong_prefix["id"]] == "the id does not match the type indicator"
    assert reasons["object #14"] == "not a JSON object but a string"
    # Nothing is dropped silently: each object is imported, used (the marking) or skipped.
    assert len(result.skipped) + len(item.indicators) + 1 == len(objects)


def test_a_report_with_an_unknown_tlp_is_skipped_and_its_indicators_stay():
    purple_id = _uid("marking-definition")
    purple = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": purple_id,
        "created": "2024-01-01T00:00:00.000Z",
        "name": "TLP:PURPLE",
        "extensions": {
            stix_adapter.TLP2_EXTENSION_ID: {
                "extension_type": "property-extension",
                "tlp_2_0": "purple",
            }
        },
    }
    indicator = _indicator(object_marking_refs=[TLP_MARKING_IDS["amber"]])
    report = {
        "type": "report",
        "spec_version": "2.1",
        "id": _uid("report"),
        "name": "Secret",
        "object_refs": [indicator["id"]],
        "object_marking_refs": [purple_id],
    }
    result = parse_bundle(_bundle(purple, indicator, report))
    assert [(s.ref, s.reason) for s in result.skipped] == [
        (report["id"], "unknown TLP value 'purple'")
    ]
    (item,) = result.items
    assert item.kind == "cyber_indicators"
    assert item.tlp == "amber"


def test_older_versions_of_an_object_are_listed_not_imported():
    old = _indicator(modified="2024-05-01T12:00:00.000Z", name="old")
    new = dict(old, modified="2024-05-02T12:00:00.000Z", name="new")
    for order in ([old, new], [new, old]):
        result = parse_bundle(_bundle(*order))
        assert [i.name for i in result.items[0].indicators] == ["new"]
        assert [s.ref for s in result.skipped] == [old["id"]]
        assert "older version" in result.skipped[0].reason


def test_five_thousand_indicators():
    identity = {"type": "identity", "spec_version": "2.1", "id": IDENTITY, "name": "CERT"}
    objects = [identity] + [
        _indicator(
            f"[ipv4-addr:value = '10.{i // 65536}.{i // 256 % 256}.{i % 256}']",
            created_by_ref=IDENTITY,
            object_marking_refs=[GREEN1],
        )
        for i in range(5000)
    ]
    result = parse_bundle(json.dumps(_bundle(*objects)))
    assert result.skipped == []
    assert result.items[0].title == "5000 indicators from CERT"
    assert len(result.items[0].indicators) == 5000


# --- the quick pattern check agrees with the grammar ----------------------------------------

_pattern_pieces = st.text(alphabet="abzAZ019_-.':=!\\ []\n", max_size=12)


@st.composite
def _near_simple_comparisons(draw):
    """Strings shaped like `type:path = 'value'`, with odd characters in every part."""
    object_type = draw(st.sampled_from(["ipv4-addr", "domain-name", "file", "x-y-", "a", "9a"]))
    path = draw(
        st.sampled_from(
            ["value", "name", "hashes.MD5", "hashes.'SHA-256'", "hashes.'SHA-1'", "true", "a.b"]
        )
    )
    if draw(st.booleans()):
        path = draw(_pattern_pieces)
    operator = draw(st.sampled_from([" = ", "=", " != ", " == ", " <> ", " LIKE "]))
    value = draw(
        st.one_of(
            st.text(max_size=20),
            st.sampled_from(["d41d8cd98f00b204e9800998ecf8427e", "0" * 64, "da39a3ee" * 5]),
        )
    )
    if draw(st.booleans()):
        value = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"{object_type}:{path}{operator}'{value}'"


_connectors = st.sampled_from([" AND ", " OR ", "AND", " and ", " FOLLOWEDBY ", "  OR  "])


@st.composite
def _near_simple_patterns(draw):
    """One or more observations of one or more such comparisons, joined by connectors."""
    observations = []
    for _ in range(draw(st.integers(1, 3))):
        comparisons = draw(st.lists(_near_simple_comparisons(), min_size=1, max_size=3))
        joined = comparisons[0]
        for comparison in comparisons[1:]:
            joined += draw(_connectors) + comparison
        observations.append(f"[{joined}]")
    pattern = observations[0]
    for observation in observations[1:]:
        pattern += draw(_connectors) + observation
    return pattern + draw(st.sampled_from(["", " ", "\n"]))


@settings(max_examples=500, deadline=None)
@given(_near_simple_patterns())
def test_quick_pattern_check_accepts_only_what_the_grammar_accepts(pattern):
    if stix_adapter._simple_pattern_ok(pattern):
        assert run_validator(pattern, stix_version="2.1") == []
    # Either way, the full check agrees with the grammar.
    assert (stix_adapter._pattern_error(pattern) is None) == (
        run_validator(pattern, stix_version="2.1") == []
    )


@pytest.mark.parametrize(
    "pattern",
    [
        "[ipv4-addr:value = '198.51.100.7']",
        "[ipv6-addr:value = '2001:db8::1']",
        "[domain-name:value = 'evil.example']",
        "[url:value = 'http://evil.example/a?b=c\\'d']",
        "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
        "[file:hashes.'SHA-256' = '" + "ab" * 32 + "']",
        "[email-addr:value = 'ceo@port.example']",
        "[file:name = 'C:\\\\Temp\\\\x.exe']",
        "[file:name = 'a.exe' AND file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
        "[ipv4-addr:value = '198.51.100.7'] OR [domain-name:value = 'evil.example']",
    ],
)
def test_common_patterns_take_the_quick_path(pattern):
    assert stix_adapter._simple_pattern_ok(pattern)
    assert run_validator(pattern, stix_version="2.1") == []


# --- fuzzing: a ParseResult or an AdapterError, nothing else --------------------------------

_json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
_stix_keys = st.sampled_from(
    [
        "type",
        "id",
        "spec_version",
        "pattern",
        "pattern_type",
        "valid_from",
        "name",
        "description",
        "object_refs",
        "object_marking_refs",
        "created_by_ref",
        "created",
        "modified",
        "content",
        "abstract",
        "definition_type",
        "definition",
        "extensions",
    ]
)
_stix_values = st.one_of(
    _json_values,
    st.sampled_from(
        [
            "indicator",
            "report",
            "note",
            "identity",
            "marking-definition",
            "2.1",
            "tlp",
            {"tlp": "red"},
            {"tlp": ["x"]},
            [GREEN1],
            "[ipv4-addr:value = '1.2.3.4']",
            "2024-05-01T12:00:00Z",
            "9999-99-99T99:99:99Z",
        ]
    ),
    st.builds(_uid, st.sampled_from(["indicator", "report", "note", "marking-definition"])),
)
_stix_like_objects = st.dictionaries(_stix_keys, _stix_values, max_size=10)


def _outcome(data) -> None:
    try:
        result = parse_bundle(data)
    except AdapterError as exc:
        assert str(exc)
    else:
        assert isinstance(result, ParseResult)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(), st.binary()))
def test_fuzz_text_and_bytes(data):
    _outcome(data)


@settings(max_examples=150, deadline=None)
@given(_json_values)
def test_fuzz_json_values(value):
    _outcome(json.dumps(value))
    if isinstance(value, dict):
        _outcome(value)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_stix_like_objects, _json_values), max_size=6))
def test_fuzz_bundles_of_odd_objects(objects):
    _outcome({"type": "bundle", "id": _uid("bundle"), "objects": objects})
    for obj in objects:
        if isinstance(obj, dict):
            obj.setdefault("spec_version", "2.1")
    _outcome({"type": "bundle", "id": _uid("bundle"), "objects": objects})


_VALID = build_bundle(
    [_export_item("amber"), _export_item("red", kind="lesson_learned", n=1)],
    identity_name="Port 2 Port",
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_mutated_valid_bundles(data):
    bundle = copy.deepcopy(_VALID)
    for _ in range(data.draw(st.integers(1, 4))):
        objects = bundle.get("objects")
        objects = objects if isinstance(objects, list) and objects else None
        target = data.draw(st.sampled_from(objects)) if objects else bundle
        action = data.draw(st.sampled_from(["set", "delete", "replace", "bundle"]))
        if action == "set" and isinstance(target, dict):
            target[data.draw(_stix_keys)] = copy.deepcopy(data.draw(_stix_values))
        elif action == "delete" and isinstance(target, dict) and target:
            del target[data.draw(st.sampled_from(sorted(target)))]
        elif action == "replace" and objects:
            objects[data.draw(st.integers(0, len(objects) - 1))] = data.draw(_json_values)
        else:
            key = data.draw(st.sampled_from(["type", "id", "objects", "spec_version"]))
            bundle[key] = data.draw(_json_values)
    _outcome(bundle)
    _outcome(json.dumps(bundle))
