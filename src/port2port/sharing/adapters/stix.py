"""STIX 2.1 bundles: read one into items and indicators, write items out as one.

Pure: no Django models, no database, no network. See `parse_bundle` and `build_bundle`.

Reading (`parse_bundle`):

- each `report` becomes an incident summary, each `note` a lesson learned; the indicators a
  report (or note) lists in `object_refs` go with it;
- every other `indicator` goes into one "cyber indicators" item for the bundle;
- `identity` and `marking-definition` objects are used (names, TLP) and not imported;
- every other object is listed in `ParseResult.skipped` with the reason, as is every object
  that cannot be read: nothing is dropped silently.

TLP comes from `object_marking_refs`: the TLP 2.0 marking definitions (FIRST/OASIS extension
`extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d`), the STIX 2.1 TLP 1.0 ones
(WHITE reads as CLEAR), and TLP markings that the bundle defines itself. An item gets the most
restrictive TLP of the objects it is made of.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from port2port.sharing.adapters import (
    AdapterError,
    ExportIndicator,
    ExportItem,
    ParsedIndicator,
    ParsedItem,
    ParseResult,
    Skipped,
    json_type,
    load_json_object,
    text_of,
)

__all__ = ["TLP_MARKING_IDS", "build_bundle", "parse_bundle"]

# TLP values of sharing.models.Tlp, most open first (the models are not imported: this is pure).
_TLP_ORDER = ("clear", "green", "amber", "amber+strict", "red")

TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

# The official TLP 2.0 marking definitions (oasis-open/cti-stix-common-objects,
# extension-definition-specifications/tlp-2.0), keyed by our Tlp value.
TLP_MARKING_IDS = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
_TLP2_CREATED = "2022-10-01T00:00:00.000Z"

# The TLP 1.0 marking definitions of STIX 2.1 (section 7.2.1.4; stix2.TLP_WHITE etc.).
_TLP1_MARKING_IDS = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear",  # WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}
_KNOWN_MARKINGS = {v: k for k, v in TLP_MARKING_IDS.items()} | _TLP1_MARKING_IDS

# How a TLP word found in a marking definition reads (TLP 1.0 WHITE is TLP 2.0 CLEAR).
_TLP_WORDS = {
    "white": "clear",
    "clear": "clear",
    "green": "green",
    "amber": "amber",
    "amber+strict": "amber+strict",
    "red": "red",
}

_ID_RE = re.compile(
    r"(?P<type>[a-z][a-z0-9-]*)--(?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
)
_TIMESTAMP_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?"
)

# Objects that are read for what they say about others, not imported as items.
_USED_TYPES = {"identity", "marking-definition"}
# A note without an abstract is titled with the start of its content, this long at most.
_NOTE_TITLE_LENGTH = 80


# --- STIX patterns --------------------------------------------------------------------------
#
# The full check is stix2patterns' ANTLR grammar (what stix2 and the OASIS validator use), which
# costs about 0.14 ms a pattern, 0.7 s for 5,000. Nearly all indicators in the wild compare
# strings, `[ipv4-addr:value = '198.51.100.7']`, at most a few joined by AND or OR: those are
# recognised by the regular expressions below, which accept only a subset of what the grammar
# accepts (a test checks that against the grammar), and only the others go to the parser.

_STRING_LITERAL = r"'(?:[^'\\]|\\['\\])*'"
_COMPARISON = (
    r"(?P<type>[a-z][a-z0-9]*(?:-[a-z0-9]+)*):"
    r"(?P<path>[A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|'[A-Za-z0-9-]+'))*)"
    r"[ ]*!?=[ ]*(?P<value>" + _STRING_LITERAL + r")"
)
_COMPARISON_RE = re.compile(_COMPARISON)
_ANONYMOUS = re.sub(r"\(\?P<\w+>", "(?:", _COMPARISON)
_OBSERVATION = r"\[[ ]*" + _ANONYMOUS + r"(?:[ ]+(?:AND|OR)[ ]+" + _ANONYMOUS + r")*[ ]*\]"
_SIMPLE_PATTERN_RE = re.compile(_OBSERVATION + r"(?:[ ]+(?:AND|OR)[ ]+" + _OBSERVATION + r")*")
# Lexed as keywords or literals, not identifiers, by the grammar: such a path goes to the parser.
_PATTERN_WORDS = {
    "and", "or", "not", "followedby", "like", "matches", "issuperset", "issubset", "exists",
    "last", "in", "start", "stop", "seconds", "true", "false", "within", "repeats", "times",
}  # fmt: skip
# The hash checks stix2patterns makes on `hashes.X` comparisons (its object_validator).
_HASH_RES = {
    "MD5": re.compile(r"[a-fA-F0-9]{32}"),
    "SHA1": re.compile(r"[a-fA-F0-9]{40}"),
    "SHA256": re.compile(r"[a-fA-F0-9]{64}"),
    "SHA512": re.compile(r"[a-fA-F0-9]{128}"),
}


def _simple_pattern_ok(pattern: str) -> bool:
    """True when `pattern` is string comparisons joined by AND/OR that the STIX 2.1 grammar
    surely accepts."""
    if _SIMPLE_PATTERN_RE.fullmatch(pattern) is None:
        return False
    # The comparisons follow one another in the text: the first `type:` after the end of one
    # string literal starts the next (connectors and brackets hold no lowercase letters).
    for match in _COMPARISON_RE.finditer(pattern):
        components = match["path"].split(".")
        if any(c.lower() in _PATTERN_WORDS for c in components):
            return False
        if "hashes" in components:
            selector = components[-1].upper().replace("-", "").replace("'", "")
            hash_re = _HASH_RES.get(selector)
            if hash_re is None or not hash_re.fullmatch(match["value"][1:-1]):
                return False  # the parser decides, and words its error
    return True


def _pattern_error(pattern: str) -> str | None:
    """Why a STIX 2.1 pattern is invalid, or None when it is valid."""
    if _simple_pattern_ok(pattern):
        return None
    from stix2patterns.validator import run_validator  # ANTLR: loaded only when needed

    try:
        errors = run_validator(pattern, stix_version="2.1")
    except Exception as exc:  # the grammar's runtime on odd input; still just a bad pattern
        return f"invalid STIX pattern ({type(exc).__name__})"
    if errors:
        return "invalid STIX pattern: " + "; ".join(str(e) for e in errors)[:300]
    return None


# --- Reading --------------------------------------------------------------------------------


def _parse_timestamp(value: Any) -> datetime:
    """An aware datetime from a STIX timestamp (UTC when no offset); ValueError otherwise."""
    if not isinstance(value, str) or not _TIMESTAMP_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a STIX timestamp")
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"{value!r} is not a valid date and time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _optional_timestamp(obj: dict, key: str) -> datetime | None:
    try:
        return _parse_timestamp(obj[key]) if key in obj else None
    except ValueError:
        return None


def _version(obj: dict) -> datetime:
    """When this version of an object was made, for choosing the latest of several."""
    return (
        _optional_timestamp(obj, "modified")
        or _optional_timestamp(obj, "created")
        or datetime.min.replace(tzinfo=UTC)
    )


def _most_restrictive(values) -> str | None:
    ranked = [v for v in values if v is not None]
    return max(ranked, key=_TLP_ORDER.index) if ranked else None


def _marking_tlp(obj: dict) -> tuple[str | None, str | None]:
    """(tlp, None) for a TLP marking definition, (None, reason) for an unknown TLP value and
    (None, None) for a marking that is not about TLP (a statement, say)."""
    extensions = obj.get("extensions")
    word: Any = None
    found = False
    if isinstance(extensions, dict) and isinstance(extensions.get(TLP2_EXTENSION_ID), dict):
        word, found = extensions[TLP2_EXTENSION_ID].get("tlp_2_0"), True
    elif obj.get("definition_type") == "tlp" or (
        isinstance(obj.get("definition"), dict) and "tlp" in obj["definition"]
    ):
        definition = obj.get("definition")
        word, found = (definition.get("tlp") if isinstance(definition, dict) else None), True
    if not found:
        return None, None
    tlp = _TLP_WORDS.get(word.strip().lower()) if isinstance(word, str) else None
    if tlp is None:
        shown = word if isinstance(word, str) else json.dumps(word, default=str)[:40]
        return None, f"unknown TLP value '{shown}'"
    return tlp, None


class _Reader:
    """One pass over a bundle's objects; collects the result."""

    def __init__(self, bundle: dict):
        self.bundle_id = text_of(bundle, "id")
        self.objects: list = bundle["objects"]
        self.result = ParseResult()
        self.identities: dict[str, str] = {}
        # marking id -> (tlp, reason): tlp for TLP markings, reason for unknown TLP values.
        self.markings: dict[str, tuple[str | None, str | None]] = {}

    def skip(self, ref: str, reason: str) -> None:
        self.result.skipped.append(Skipped(ref=ref, reason=reason))

    def object_tlp(self, obj: dict) -> tuple[str | None, str | None]:
        """(most restrictive TLP, None) or (None, reason) when a marking has an unknown TLP."""
        refs = obj.get("object_marking_refs", [])
        if not isinstance(refs, list):
            return None, "object_marking_refs is not a list"
        found = []
        for ref in refs:
            if not isinstance(ref, str):
                return None, "object_marking_refs holds something that is not a marking id"
            if ref in _KNOWN_MARKINGS:  # the official ids win over a bundle's own copy
                found.append(_KNOWN_MARKINGS[ref])
                continue
            if ref not in self.markings:
                # A marking we cannot read could be TLP:RED: never import such an object looser.
                return None, f"its marking {ref} is not a readable marking definition of the bundle"
            tlp, reason = self.markings[ref]
            if reason:
                return None, reason
            found.append(tlp)
        return _most_restrictive(found), None

    def read(self) -> ParseResult:
        # First pass: which objects can be read at all, and the identities and markings.
        readable: dict[str, tuple[str, dict]] = {}
        for position, obj in enumerate(self.objects):
            if not isinstance(obj, dict):
                self.skip(f"object #{position + 1}", f"not a JSON object but a {json_type(obj)}")
                continue
            obj_id, obj_type = obj.get("id"), obj.get("type")
            ref = obj_id if isinstance(obj_id, str) and obj_id else f"object #{position + 1}"
            if not isinstance(obj_type, str) or not obj_type:
                self.skip(ref, "the object has no type")
                continue
            if not isinstance(obj_id, str) or not _ID_RE.fullmatch(obj_id):
                self.skip(ref, f"the {obj_type} has no valid STIX id")
                continue
            if not obj_id.startswith(obj_type + "--"):
                self.skip(obj_id, f"the id does not match the type {obj_type}")
                continue
            if obj_type not in _USED_TYPES | {"indicator", "report", "note"}:
                self.skip(obj_id, f"type {obj_type} is not imported")
                continue
            if obj_id in readable:  # several versions of one object: the latest counts
                older, newer = readable[obj_id][1], obj
                if _version(newer) < _version(older):
                    older, newer = newer, older
                readable[obj_id] = (obj_type, newer)
                self.skip(obj_id, f"an older version (modified {text_of(older, 'modified')!r})")
            else:
                readable[obj_id] = (obj_type, obj)
        for obj_id, (obj_type, obj) in readable.items():
            if obj_type == "identity":
                self.identities[obj_id] = text_of(obj, "name")
            elif obj_type == "marking-definition":
                self.markings[obj_id] = _marking_tlp(obj)

        # Second pass: indicators, then the reports and notes that group them.
        indicators: dict[str, tuple[ParsedIndicator, str | None, str]] = {}
        containers: list[tuple[str, str, dict, str | None]] = []
        for obj_id, (obj_type, obj) in readable.items():
            if obj_type in _USED_TYPES:
                continue
            tlp, reason = self.object_tlp(obj)
            if reason:
                self.skip(obj_id, reason)
                continue
            if obj_type == "indicator":
                parsed = self.indicator(obj_id, obj)
                if parsed is not None:
                    indicators[obj_id] = (parsed, tlp, text_of(obj, "created_by_ref"))
            else:
                containers.append((obj_id, obj_type, obj, tlp))

        grouped: set[str] = set()
        for obj_id, obj_type, obj, tlp in containers:
            item = self.container(obj_id, obj_type, obj)
            if item is None:
                continue
            refs = obj.get("object_refs")
            refs = [r for r in refs if isinstance(r, str)] if isinstance(refs, list) else []
            tlps = [tlp]
            for ref in dict.fromkeys(refs):  # in order, once each
                if ref in indicators:
                    indicator, indicator_tlp, _ = indicators[ref]
                    item.indicators.append(indicator)
                    tlps.append(indicator_tlp)
                    grouped.add(ref)
            item.tlp = _most_restrictive(tlps)
            self.result.items.append(item)

        loose = [value for key, value in indicators.items() if key not in grouped]
        if loose:
            self.result.items.insert(0, self.loose_item(loose))
        return self.result

    def indicator(self, obj_id: str, obj: dict) -> ParsedIndicator | None:
        pattern = obj.get("pattern")
        if not isinstance(pattern, str) or not pattern.strip():
            self.skip(obj_id, "the indicator has no pattern")
            return None
        pattern_type = obj.get("pattern_type", "stix")
        if not isinstance(pattern_type, str) or not pattern_type:
            self.skip(obj_id, "the indicator's pattern_type is not a string")
            return None
        if pattern_type == "stix":
            error = _pattern_error(pattern)
            if error:
                self.skip(obj_id, error)
                return None
        valid_from = None
        if "valid_from" in obj:
            try:
                valid_from = _parse_timestamp(obj["valid_from"])
            except ValueError as exc:
                self.skip(obj_id, f"valid_from: {exc}")
                return None
        return ParsedIndicator(
            stix_id=obj_id,
            name=text_of(obj, "name"),
            pattern=pattern,
            pattern_type=pattern_type,
            description=text_of(obj, "description"),
            valid_from=valid_from,
        )

    def container(self, obj_id: str, obj_type: str, obj: dict) -> ParsedItem | None:
        created = _optional_timestamp(obj, "created")
        if obj_type == "report":
            title = text_of(obj, "name").strip() or f"Report {obj_id}"
            return ParsedItem(
                kind="incident_summary",
                title=title,
                body=text_of(obj, "description"),
                stix_id=obj_id,
                created=created,
            )
        content = text_of(obj, "content")
        if not content.strip():
            self.skip(obj_id, "the note has no content")
            return None
        title = text_of(obj, "abstract").strip() or _first_words(content)
        return ParsedItem(
            kind="lesson_learned", title=title, body=content, stix_id=obj_id, created=created
        )

    def loose_item(self, loose: list[tuple[ParsedIndicator, str | None, str]]) -> ParsedItem:
        creators = {creator for _, _, creator in loose}
        name = self.identities.get(creators.pop(), "") if len(creators) == 1 else ""
        source = name.strip() or f"STIX bundle {self.bundle_id or '(no id)'}"
        count = len(loose)
        noun = "indicator" if count == 1 else "indicators"
        return ParsedItem(
            kind="cyber_indicators",
            title=f"{count} {noun} from {source}",
            tlp=_most_restrictive(tlp for _, tlp, _ in loose),
            stix_id=self.bundle_id,
            indicators=[indicator for indicator, _, _ in loose],
        )


def _first_words(text: str) -> str:
    line = " ".join(text.split())
    if len(line) <= _NOTE_TITLE_LENGTH:
        return line
    return line[: _NOTE_TITLE_LENGTH - 1].rstrip() + "…"


def parse_bundle(data: bytes | str | dict) -> ParseResult:
    """Read a STIX 2.1 bundle (JSON text, bytes or an already decoded object).

    Raises AdapterError, naming the problem, when the input as a whole is not a STIX 2.1
    bundle; objects that cannot be imported are listed in `ParseResult.skipped`.
    """
    bundle = load_json_object(data, "STIX bundle")
    kind = bundle.get("type")
    if kind != "bundle":
        shown = f"'{kind}'" if isinstance(kind, str) else "missing"
        raise AdapterError(f"Not a STIX bundle: its type is {shown}, expected 'bundle'")
    if bundle.get("spec_version", "2.1") != "2.1":
        # STIX 2.0 bundles carry a spec_version; 2.1 bundles have none (some tools add "2.1").
        raise AdapterError(
            f"The bundle is STIX {bundle['spec_version']}: only STIX 2.1 can be imported"
        )
    if "objects" not in bundle:
        raise AdapterError("The bundle has no 'objects'")
    objects = bundle["objects"]
    if not isinstance(objects, list):
        raise AdapterError(f"The bundle's 'objects' is a {json_type(objects)}, not a list")
    if not objects:
        raise AdapterError("The bundle's 'objects' is empty: there is nothing to import")
    versions = {
        json.dumps(o.get("spec_version"), default=str) for o in objects if isinstance(o, dict)
    }
    wrong = sorted(json.loads(v) if v.startswith('"') else v for v in versions - {"null", '"2.1"'})
    if wrong:
        raise AdapterError(
            f"The bundle has objects of STIX {', '.join(wrong)}: only STIX 2.1 can be imported"
        )
    if '"2.1"' not in versions:
        raise AdapterError(
            "No object of the bundle says spec_version '2.1': only STIX 2.1 can be imported"
        )
    return _Reader(bundle).read()


# --- Writing --------------------------------------------------------------------------------

# Salt of the deterministic ids made from names or foreign ids.
_ID_SALT = b"port2port-stix-id:"
_IDENTITY_CREATED = "2024-01-01T00:00:00.000Z"
_REPORT_TYPES = {"cyber_indicators": ["indicator"]}


def _stix_time(value: datetime) -> str:
    """A STIX timestamp: UTC, millisecond precision, with Z."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _make_id(stix_type: str, given: str) -> str:
    """`stix_type--uuid`: the uuid of `given` when it holds one (any type prefix), a uuid5 of a
    non-empty `given` otherwise, a fresh uuid4 when nothing was given."""
    given = (given or "").strip()
    match = _ID_RE.fullmatch(given)
    if match:
        return f"{stix_type}--{match['uuid'].lower()}"
    try:
        return f"{stix_type}--{uuid.UUID(given)}"
    except ValueError:
        pass
    if given:
        return f"{stix_type}--{_stable_uuid(given)}"
    return f"{stix_type}--{uuid.uuid4()}"


def _stable_uuid(text: str) -> uuid.UUID:
    """A UUID in version 4 form (STIX 2.1 wants v4 for SDOs) made from a hash of `text`."""
    digest = hashlib.sha256(_ID_SALT + text.encode("utf-8", "surrogatepass")).digest()
    return uuid.UUID(bytes=digest[:16], version=4)


def _tlp_marking(tlp: str) -> dict:
    """The TLP 2.0 marking-definition object, as the extension's specification publishes it."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP_MARKING_IDS[tlp],
        "created": _TLP2_CREATED,
        "name": f"TLP:{tlp.upper()}",
        "extensions": {
            TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": tlp},
        },
    }


def _export_indicator_problem(indicator: ExportIndicator) -> str | None:
    if not indicator.pattern.strip():
        return "it has no pattern"
    if (indicator.pattern_type or "stix") == "stix":
        return _pattern_error(indicator.pattern)
    return None


def build_bundle(items: list[ExportItem], *, identity_name: str) -> dict:
    """A STIX 2.1 bundle of `items`, made by the identity `identity_name`.

    - one `identity` (organization) for the exporting platform, with a stable id;
    - the TLP 2.0 marking definitions in use, in their official form;
    - each item as a `report` whose `object_refs` are its indicators (the identity when it
      has none), except lesson-learned items, which become a `note`;
    - each indicator as an `indicator`; an indicator STIX cannot carry (no pattern, or an
      invalid STIX pattern) is left out and named in its item's description;
    - every object but the markings has `created_by_ref` the identity, every report, note and
      indicator `object_marking_refs` its item's TLP (an indicator shared by several items gets
      the most restrictive).
    """
    identity_id = f"identity--{_stable_uuid('identity:' + identity_name)}"
    identity = {
        "type": "identity",
        "spec_version": "2.1",
        "id": identity_id,
        "created": _IDENTITY_CREATED,
        "modified": _IDENTITY_CREATED,
        "name": identity_name,
        "identity_class": "organization",
        "created_by_ref": identity_id,
    }
    containers: list[dict] = []
    indicators: dict[str, dict] = {}
    indicator_tlps: dict[str, str] = {}
    tlps_used: set[str] = set()

    for item in items:
        tlp = item.tlp if item.tlp in TLP_MARKING_IDS else "red"  # unknown: the safe side
        tlps_used.add(tlp)
        created = _stix_time(item.created)
        modified = _stix_time(max(item.modified, item.created, key=_aware))
        refs: list[str] = []
        left_out: list[str] = []
        for indicator in item.indicators:
            problem = _export_indicator_problem(indicator)
            if problem:
                left_out.append(
                    f"- {indicator.name or indicator.stix_id or '(unnamed)'}: {problem}"
                )
                continue
            indicator_id = _make_id("indicator", indicator.stix_id)
            if indicator_id not in indicators:
                indicators[indicator_id] = _indicator(indicator, indicator_id, item, identity_id)
            previous = indicator_tlps.get(indicator_id)
            indicator_tlps[indicator_id] = _most_restrictive([previous, tlp]) or tlp
            if indicator_id not in refs:
                refs.append(indicator_id)
        body = item.body
        if left_out:
            body = (body.rstrip() + "\n\n" if body.strip() else "") + (
                "Indicators not expressible in STIX 2.1, left out of this export:\n"
                + "\n".join(left_out)
            )
        title = item.title.strip() or "(untitled)"
        common = {
            "spec_version": "2.1",
            "created": created,
            "modified": modified,
            "created_by_ref": identity_id,
            "object_refs": refs or [identity_id],
            "object_marking_refs": [TLP_MARKING_IDS[tlp]],
        }
        if item.kind == "lesson_learned":
            container = {
                "type": "note",
                "id": _make_id("note", item.stix_id),
                "abstract": title,
                "content": body if body.strip() else title,
                **common,
            }
        else:
            container = {
                "type": "report",
                "id": _make_id("report", item.stix_id),
                "name": title,
                "report_types": _REPORT_TYPES.get(item.kind, ["threat-report"]),
                "published": created,
                **common,
            }
            if body.strip():
                container["description"] = body
        if item.source_name:
            container["labels"] = [f"source:{item.source_name}"]
        containers.append(container)

    for indicator_id, obj in indicators.items():
        obj["object_marking_refs"] = [TLP_MARKING_IDS[indicator_tlps[indicator_id]]]
        tlps_used.add(indicator_tlps[indicator_id])

    markings = [_tlp_marking(tlp) for tlp in _TLP_ORDER if tlp in tlps_used]
    return {
        "type": "bundle",
        "id": f"bundle--{uuid.uuid4()}",
        "objects": [identity, *markings, *indicators.values(), *containers],
    }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _indicator(indicator: ExportIndicator, indicator_id: str, item: ExportItem, identity: str):
    created = _stix_time(item.created)
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": indicator_id,
        "created": created,
        "modified": _stix_time(max(item.modified, item.created, key=_aware)),
        "created_by_ref": identity,
        "pattern": indicator.pattern,
        "pattern_type": indicator.pattern_type or "stix",
        "valid_from": _stix_time(indicator.valid_from) if indicator.valid_from else created,
    }
    if indicator.name.strip():
        obj["name"] = indicator.name
    if indicator.description.strip():
        obj["description"] = indicator.description
    return obj
