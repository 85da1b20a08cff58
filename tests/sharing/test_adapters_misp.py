"""MISP adapter: parse_event. Pure: no database, no network."""

from __future__ import annotations

import copy
import json
import socket
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stix2patterns.validator import run_validator

from port2port.sharing.adapters import AdapterError, ParseResult
from port2port.sharing.adapters.misp import parse_event, stix_pattern

# Real MISP files live beside the project in ../shared/testdata (see its README); a fresh clone
# has no shared/ and skips the tests that read them.
TESTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "misp"


@pytest.fixture(autouse=True, scope="module")
def _no_network():
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket.socket, "connect_ex", refuse)
        mp.setattr(socket, "create_connection", refuse)
        mp.setattr(socket, "getaddrinfo", refuse)
        yield


def _real_file(name: str) -> bytes:
    path = TESTDATA / name
    if not path.is_file():
        pytest.skip(
            f"{path} is not there: the real MISP files live in ../shared/testdata beside the "
            "project (a fresh clone without shared/ has none)"
        )
    return path.read_bytes()


def _all_attributes(event: dict) -> list[dict]:
    """Every attribute of the event, its own and its objects', straight from the file."""
    attributes = list(event.get("Attribute", []))
    for obj in event.get("Object", []):
        attributes += obj.get("Attribute", [])
    return attributes


def _event(**extra) -> dict:
    event = {
        "info": "Phishing against port community system users",
        "date": "2024-05-01",
        "threat_level_id": "2",
        "analysis": "1",
        "uuid": "9b1c5c1e-6a2f-4b7e-8d3c-2f1e0a9b8c7d",
        "Tag": [{"name": "tlp:amber"}],
        "Attribute": [
            {
                "uuid": "11111111-2222-4333-8444-555555555555",
                "category": "Network activity",
                "type": "ip-dst",
                "value": "198.51.100.7",
                "comment": "C2",
                "timestamp": "1714550400",
            }
        ],
    }
    event.update(extra)
    return event


def _attr(kind: str, value, **extra) -> dict:
    return {"category": "Payload delivery", "type": kind, "value": value, **extra}


# --- the real files -------------------------------------------------------------------------


def test_sednit_event_parses_completely():
    raw = _real_file("osint-event-sednit.json")
    event = json.loads(raw)  # a bare event object
    attributes = _all_attributes(event)
    assert len(attributes) == int(event["attribute_count"]) == 122

    result = parse_event(raw)
    (item,) = result.items
    assert item.kind == "cyber_indicators"
    assert item.title == "OSINT - Sednit update: How Fancy Bear Spent the Year"
    assert item.tlp == "clear"  # tlp:white
    assert item.stix_id == "report--5a3c2fcd-8328-42bb-a95e-4f4402de0b81"
    assert item.created == datetime(2017, 12, 21, tzinfo=UTC)
    # Nothing silently dropped: each attribute is an indicator or a skipped entry.
    assert len(item.indicators) + len(result.skipped) == len(attributes)
    assert result.skipped == []
    assert Counter((i.value_type, i.value) for i in item.indicators) == Counter(
        (a["type"], a["value"]) for a in attributes
    )
    assert len(event["Attribute"]) == 9
    assert len(attributes) - len(event["Attribute"]) == 113  # in 49 objects

    body = item.body
    for expected in (
        "2017-12-21",
        "Threat level:** Low",
        "Analysis:** Initial",
        "CIRCL",
        "Threat Actor: Sofacy",
        "Malware: JHUHUGIT, XTunnel",
        "`tlp:white`",
        '`misp-galaxy:threat-actor="Sofacy"`',
    ):
        assert expected in body

    by_value = {i.value: i for i in item.indicators}
    domain = by_value["movieultimate.com"]
    assert domain.name == "Network activity: domain"
    assert domain.pattern == "[domain-name:value = 'movieultimate.com']"
    assert domain.description == "Xagent Samples"
    assert domain.stix_id.startswith("indicator--")
    assert domain.valid_from.tzinfo is not None
    in_object = by_value["Bulletin.doc"]
    assert in_object.name == "file: filename"
    assert in_object.value_type == "filename"
    assert in_object.pattern == "[file:name = 'Bulletin.doc']"
    assert in_object.description == "Win32/Sednit.AX"  # the object's comment
    ip = next(i for i in item.indicators if i.value_type == "ip-dst")
    assert ip.pattern == f"[ipv4-addr:value = '{ip.value}']"
    text = next(i for i in item.indicators if i.value_type == "link")
    assert (text.pattern, text.pattern_type) == ("", "")  # kept as text
    sha1 = next(i for i in item.indicators if i.value_type == "sha1")
    assert sha1.pattern == f"[file:hashes.'SHA-1' = '{sha1.value}']"
    for indicator in item.indicators:
        if indicator.pattern:
            assert indicator.pattern_type == "stix"
            assert run_validator(indicator.pattern, stix_version="2.1") == []


def test_xorist_feed_event_parses_completely():
    raw = _real_file("feed-event-xorist.json")
    document = json.loads(raw)
    assert list(document) == ["Event"]  # wrapped
    attributes = _all_attributes(document["Event"])

    result = parse_event(raw.decode())
    (item,) = result.items
    assert item.title == "Ransomware - Xorist"
    assert item.tlp == "clear"
    assert result.skipped == []
    assert len(item.indicators) == len(attributes) == 9
    assert [(i.value_type, i.value) for i in item.indicators] == [
        (a["type"], a["value"]) for a in attributes
    ]
    assert "Analysis:** Completed" in item.body
    by_type = {i.value_type: i for i in item.indicators}
    assert by_type["md5"].pattern == "[file:hashes.MD5 = '0749bae92ca336a02c83d126e04ec628']"
    assert by_type["sha256"].pattern.startswith("[file:hashes.'SHA-256' = 'b3c4ae25")
    assert by_type["filename"].pattern == "[file:name = '3Z4wnG9603it23y.exe']"
    assert by_type["regkey|value"].pattern == ""  # no STIX pattern: kept as text
    assert by_type["regkey|value"].value.startswith("Software\\Wow6432Node")
    link = next(i for i in item.indicators if i.value_type == "link")
    assert link.description.startswith("Imported via the Freetext Import Tool")
    assert by_type["md5"].name == "Payload delivery: md5"


def test_real_files_read_the_same_as_bytes_text_and_objects():
    for name in ("osint-event-sednit.json", "feed-event-xorist.json"):
        raw = _real_file(name)
        assert parse_event(raw) == parse_event(raw.decode()) == parse_event(json.loads(raw))


# --- mapping --------------------------------------------------------------------------------


def test_wrapped_and_bare_events_read_alike():
    assert parse_event({"Event": _event()}) == parse_event(_event())


@pytest.mark.parametrize(
    ("tag", "tlp"),
    [
        ("tlp:white", "clear"),
        ("tlp:clear", "clear"),
        ("tlp:green", "green"),
        ("tlp:amber", "amber"),
        ("tlp:amber+strict", "amber+strict"),
        ("tlp:red", "red"),
        ("TLP:RED", "red"),
        ("Tlp:Amber+Strict", "amber+strict"),
    ],
)
def test_tlp_tags(tag, tlp):
    assert parse_event(_event(Tag=[{"name": tag}])).items[0].tlp == tlp


def test_no_tlp_tag_means_no_tlp():
    assert parse_event(_event(Tag=[{"name": 'osint:source-type="blog"'}])).items[0].tlp is None
    assert parse_event(_event(Tag=[])).items[0].tlp is None


def test_the_most_restrictive_tlp_wins_and_attribute_tags_count():
    event = _event(Tag=[{"name": "tlp:green"}, {"name": "tlp:amber"}])
    assert parse_event(event).items[0].tlp == "amber"
    event["Attribute"].append(_attr("domain", "evil.example", Tag=[{"name": "tlp:red"}]))
    assert parse_event(event).items[0].tlp == "red"


def test_an_unknown_tlp_tag_alone_is_an_error():
    with pytest.raises(AdapterError, match="unknown TLP value 'ex:chr'"):
        parse_event(_event(Tag=[{"name": "tlp:ex:chr"}, {"name": "osint:x"}]))


def test_an_unknown_tlp_tag_beside_a_known_one_is_listed():
    result = parse_event(_event(Tag=[{"name": "tlp:purple"}, {"name": "tlp:green"}]))
    assert result.items[0].tlp == "green"
    assert [(s.ref, s.reason) for s in result.skipped] == [
        ("tag tlp:purple", "unknown TLP value 'purple'; the event's other TLP is used")
    ]


def test_attributes_that_cannot_be_imported_are_listed_with_the_reason():
    event = _event(
        Attribute=[
            _attr(
                "md5",
                "d41d8cd98f00b204e9800998ecf8427e",
                uuid="a" * 8 + "-aaaa-4aaa-8aaa-" + "a" * 12,
            ),
            _attr("domain", "gone.example", deleted=True),
            _attr("domain", ""),
            _attr("domain", "   "),
            _attr("domain", None),
            _attr("text", ["a", "list"]),
            {"category": "Other", "value": "no type"},
            "not an object",
            _attr("domain", "purple.example", Tag=[{"name": "tlp:purple"}]),
            _attr("port", 8080),
            _attr("x-custom-type", "kept as text"),
        ],
        Object=[
            {
                "name": "file",
                "comment": "Dropper",
                "Attribute": [
                    {"type": "filename", "object_relation": "filename", "value": "a.exe"},
                    {"type": "sha1", "object_relation": "sha1", "value": "", "deleted": True},
                ],
            },
            {
                "name": "domain-ip",
                "deleted": True,
                "Attribute": [{"type": "domain", "object_relation": "domain", "value": "x.y"}],
            },
            {"name": "broken", "Attribute": {"not": "a list"}},
            ["not", "an", "object"],
        ],
        EventReport=[{"uuid": "22222222-3333-4444-8555-666666666666", "name": "Report"}],
    )
    result = parse_event(event)
    (item,) = result.items
    assert [(i.value_type, i.value) for i in item.indicators] == [
        ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
        ("port", "8080"),
        ("x-custom-type", "kept as text"),
        ("filename", "a.exe"),
    ]
    assert item.indicators[0].stix_id == "indicator--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
    assert item.indicators[2].pattern == ""
    assert item.indicators[3].name == "file: filename"
    assert item.indicators[3].description == "Dropper"
    assert [(s.ref, s.reason) for s in result.skipped] == [
        ("attribute #2", "deleted in MISP"),
        ("attribute #3", "the domain attribute has an empty value"),
        ("attribute #4", "the domain attribute has an empty value"),
        ("attribute #5", "the domain attribute has an empty value"),
        ("attribute #6", "the text attribute's value is a list, not text"),
        ("attribute #7", "the attribute has no type"),
        ("attribute #8", "not a JSON object but a string"),
        ("attribute #9", "unknown TLP value 'purple'"),
        ("object #1 (file) attribute #2", "deleted in MISP"),
        ("object #2 (domain-ip) attribute #1", "deleted in MISP (with its object)"),
        ("object #3 (broken)", "its 'Attribute' is a object, not a list"),
        ("object #4", "not a JSON object but a list"),
        ("22222222-3333-4444-8555-666666666666", "MISP event reports are not imported"),
    ]
    assert item.tlp == "amber"  # the unknown TLP of one attribute does not stop the event


def test_summary_escapes_markdown_and_handles_numbers():
    event = _event(
        threat_level_id=1,
        analysis=2,
        Orgc={"name": "CERT <b>*bold*</b>"},
        Galaxy=[{"name": "Tool", "GalaxyCluster": [{"value": "[x](javascript:alert(1))"}]}],
        Tag=[{"name": "tlp:green"}, {"name": "a`b"}],
    )
    body = parse_event(event).items[0].body
    assert "Threat level:** High" in body
    assert "Analysis:** Completed" in body
    assert "CERT \\<b\\>\\*bold\\*\\</b\\>" in body
    assert "Tool: \\[x\\](javascript:alert(1))" in body
    assert "`a'b`" in body


# --- STIX patterns --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "pattern"),
    [
        ("ip-dst", "198.51.100.7", "[ipv4-addr:value = '198.51.100.7']"),
        ("ip-src", "2001:db8::1", "[ipv6-addr:value = '2001:db8::1']"),
        ("ip-src", "10.1.2.3/8", "[ipv4-addr:value = '10.0.0.0/8']"),
        ("ip-dst", "not an address", ""),
        ("domain", "evil.example", "[domain-name:value = 'evil.example']"),
        ("hostname", "mail.evil.example", "[domain-name:value = 'mail.evil.example']"),
        ("url", "http://x.example/?q='a'\\b", "[url:value = 'http://x.example/?q=\\'a\\'\\\\b']"),
        ("md5", "D41D8CD98F00B204E9800998ECF8427E", "[file:hashes.MD5 = 'D41D8CD98F00B204E9800998ECF8427E']"),
        ("md5", "d41d8cd98f", ""),
        ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']"),
        ("sha256", "e3b0" + "0" * 60, "[file:hashes.'SHA-256' = 'e3b0" + "0" * 60 + "']"),
        ("sha256", "z" * 64, ""),
        ("filename", "O'Brien's.doc", "[file:name = 'O\\'Brien\\'s.doc']"),
        ("filename", "C:\\Temp\\x.exe", "[file:name = 'C:\\\\Temp\\\\x.exe']"),
        ("email-src", "ceo@port.example", "[email-addr:value = 'ceo@port.example']"),
        ("email-dst", "a@b.example", "[email-addr:value = 'a@b.example']"),
        ("filename|md5", "x.exe|d41d8cd98f00b204e9800998ecf8427e", "[file:name = 'x.exe' AND file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']"),
        ("filename|md5", "x.exe|nothex", ""),
        ("regkey|value", "HKLM\\Run|x", ""),
        ("text", "anything", ""),
        ("domain", "  ", ""),
    ],
)  # fmt: skip
def test_stix_patterns(kind, value, pattern):
    assert stix_pattern(kind, value) == pattern
    if pattern:
        assert run_validator(pattern, stix_version="2.1") == []


_PATTERN_TYPES = [
    "ip-src",
    "ip-dst",
    "domain",
    "hostname",
    "url",
    "md5",
    "sha1",
    "sha256",
    "sha512",
    "filename",
    "email",
    "email-src",
    "email-dst",
    "filename|md5",
    "filename|sha256",
]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_PATTERN_TYPES),
    st.one_of(
        st.text(),
        st.text(alphabet="0123456789abcdefABCDEF", min_size=32, max_size=32),
        st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
        st.ip_addresses().map(str),
        st.text(alphabet="'\\|abc.", max_size=10),
    ),
)
def test_every_pattern_made_is_valid_stix(kind, value):
    pattern = stix_pattern(kind, value)
    if pattern:
        assert run_validator(pattern, stix_version="2.1") == []


# --- malformed input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe{", "not UTF-8 text"),
        ("{not json", "is not JSON"),
        ("", "is not JSON"),
        ("[]", "not a JSON object but a list"),
        ("3", "not a JSON object but a number"),
        (None, "must be JSON text or an object, not NoneType"),
        ({}, "Not a MISP event: there is no 'Event' object and no 'info'"),
        ({"Event": []}, "The 'Event' is a list, not an object"),
        ({"Event": {"Attribute": []}}, "The MISP event has no 'info' (its title)"),
        ({"info": "  "}, "The MISP event has no 'info' (its title)"),
        ({"info": 7}, "The MISP event has no 'info' (its title)"),
        ({"info": "x", "Attribute": {}}, "The event's 'Attribute' is a object, not a list"),
        ({"info": "x", "Attribute": "a"}, "The event's 'Attribute' is a string, not a list"),
        ({"info": "x", "Object": {}}, "The event's 'Object' is a object, not a list"),
        ({"info": "x", "Tag": "tlp:red"}, "The event's 'Tag' is a string, not a list"),
        ({"info": "x", "Galaxy": 1}, "The event's 'Galaxy' is a number, not a list"),
        ({"response": [{"Event": {}}]}, "a MISP search response, not one event"),
    ],
)
def test_malformed_input_raises_adapter_error_naming_the_problem(data, message):
    with pytest.raises(AdapterError) as raised:
        parse_event(data)
    assert message in str(raised.value)


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
_misp_keys = st.sampled_from(
    [
        "info",
        "date",
        "uuid",
        "timestamp",
        "publish_timestamp",
        "threat_level_id",
        "analysis",
        "Attribute",
        "Object",
        "Tag",
        "Galaxy",
        "GalaxyCluster",
        "Orgc",
        "EventReport",
        "ShadowAttribute",
        "type",
        "value",
        "category",
        "comment",
        "deleted",
        "name",
        "object_relation",
        "first_seen",
    ]
)
_misp_values = st.one_of(
    _json_values,
    st.sampled_from(
        [
            "tlp:red",
            "tlp:nope",
            [{"name": "tlp:amber"}],
            [{"name": "tlp:weird"}],
            "ip-dst",
            "md5",
            "filename|md5",
            "1.2.3.4",
            True,
            "9999999999999999999",
            "2024-13-45",
            "5a3c2fcd-8328-42bb-a95e-4f4402de0b81",
        ]
    ),
)
_misp_like = st.dictionaries(_misp_keys, _misp_values, max_size=8)


def _outcome(data) -> None:
    try:
        result = parse_event(data)
    except AdapterError as exc:
        assert str(exc)
    else:
        assert isinstance(result, ParseResult)
        assert len(result.items) == 1


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
        _outcome({"Event": value})


@settings(max_examples=200, deadline=None)
@given(_misp_like, st.lists(st.one_of(_misp_like, _json_values), max_size=5))
def test_fuzz_events_of_odd_attributes(event, attributes):
    event.setdefault("info", "fuzz")
    event["Attribute"] = attributes
    _outcome(event)
    event["Object"] = [{"name": "file", "Attribute": attributes}, *attributes]
    _outcome({"Event": event})


_BASE = _event(
    Object=[
        {
            "name": "file",
            "comment": "x",
            "Attribute": [_attr("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709")],
        }
    ],
    Galaxy=[{"name": "Tool", "GalaxyCluster": [{"value": "X-Agent"}]}],
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_mutated_valid_events(data):
    event = copy.deepcopy(_BASE)
    for _ in range(data.draw(st.integers(1, 4))):
        targets = [event, *event["Attribute"], *event["Object"]]
        for obj in event["Object"]:
            if isinstance(obj, dict) and isinstance(obj.get("Attribute"), list):
                targets += obj["Attribute"]
        targets += event["Galaxy"] + event["Tag"]
        target = data.draw(st.sampled_from([t for t in targets if isinstance(t, dict)] or [event]))
        if data.draw(st.booleans()):
            target[data.draw(_misp_keys)] = copy.deepcopy(data.draw(_misp_values))
        elif target:
            del target[data.draw(st.sampled_from(sorted(target)))]
        _outcome(copy.deepcopy(event))
        for key in ("Attribute", "Object", "Galaxy", "Tag"):
            if not isinstance(event.get(key), list):
                event[key] = []  # to go on mutating what is inside
    _outcome(json.dumps(event))
