"""MISP events: read one into a cyber-indicator item. See `parse_event`.

Pure: no Django models, no database, no network.

- the event becomes one item of kind "cyber_indicators", titled with the event's `info`, with a
  Markdown summary of its date, threat level, analysis, creator, galaxies and tags;
- every attribute, of the event and of each of its objects, becomes an indicator that keeps the
  MISP type and value as text; common types also get a STIX 2.1 pattern;
- what cannot be imported (deleted or empty attributes, an unknown TLP tag beside a known one,
  event reports ...) is listed in `ParseResult.skipped` with the reason: nothing is dropped
  silently;
- TLP comes from the `tlp:*` tags (TLP 1.0 `tlp:white` reads as CLEAR); the item gets the most
  restrictive of the event's TLP and its attributes' own TLP tags.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from port2port.sharing.adapters import (
    AdapterError,
    ParsedIndicator,
    ParsedItem,
    ParseResult,
    Skipped,
    json_type,
    load_json_object,
    text_of,
)

__all__ = ["parse_event", "stix_pattern"]

# TLP values of sharing.models.Tlp, most open first (the models are not imported: this is pure).
_TLP_ORDER = ("clear", "green", "amber", "amber+strict", "red")
_TLP_TAGS = {
    "white": "clear",
    "clear": "clear",
    "green": "green",
    "amber": "amber",
    "amber+strict": "amber+strict",
    "red": "red",
}
_THREAT_LEVELS = {"1": "High", "2": "Medium", "3": "Low", "4": "Undefined"}
_ANALYSIS = {"0": "Initial", "1": "Ongoing", "2": "Completed"}
# Lists of the event that are not imported: each entry is listed in `skipped`.
_NOT_IMPORTED = {
    "EventReport": "MISP event reports are not imported",
    "ShadowAttribute": "proposals (shadow attributes) are not imported",
}
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


# --- STIX patterns for MISP attribute types -------------------------------------------------

_HASHES = {
    "md5": ("MD5", 32),
    "sha1": ("'SHA-1'", 40),
    "sha256": ("'SHA-256'", 64),
    "sha512": ("'SHA-512'", 128),
}
_HEX_RE = re.compile(r"[0-9a-fA-F]+")
_SIMPLE = {
    "domain": "domain-name:value",
    "hostname": "domain-name:value",
    "url": "url:value",
    "filename": "file:name",
    "email": "email-addr:value",
    "email-src": "email-addr:value",
    "email-dst": "email-addr:value",
}


def _literal(value: str) -> str:
    """A STIX pattern string literal: backslashes and quotes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _hash_comparison(kind: str, value: str) -> str:
    name, length = _HASHES[kind]
    value = value.strip()
    if len(value) != length or not _HEX_RE.fullmatch(value):
        return ""
    return f"file:hashes.{name} = {_literal(value)}"


def _ip_comparison(value: str) -> str:
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return ""
    address = str(network) if "/" in value else str(network.network_address)
    return f"ipv{network.version}-addr:value = {_literal(address)}"


def stix_pattern(kind: str, value: str) -> str:
    """A STIX 2.1 pattern for a MISP attribute, or "" for types (or values) we have none for."""
    if kind in _SIMPLE:
        return f"[{_SIMPLE[kind]} = {_literal(value)}]" if value.strip() else ""
    if kind in ("ip-src", "ip-dst"):
        comparison = _ip_comparison(value)
    elif kind in _HASHES:
        comparison = _hash_comparison(kind, value)
    elif kind.startswith("filename|") and kind[9:] in _HASHES and value.count("|") == 1:
        filename, digest = value.split("|")
        hashed = _hash_comparison(kind[9:], digest)
        comparison = hashed and f"file:name = {_literal(filename)} AND {hashed}"
    else:
        comparison = ""
    return f"[{comparison}]" if comparison else ""


# --- Reading --------------------------------------------------------------------------------


def _code(value: Any) -> str:
    """A scalar as a Markdown string (enum ids like "3" may come as numbers)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value)


def _md(text: str) -> str:
    """Text for one line of Markdown: no line breaks, markup characters escaped."""
    text = " ".join(text.split())
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


def _list(event: dict, key: str) -> list:
    value = event.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise AdapterError(f"The event's '{key}' is a {json_type(value)}, not a list")
    return value


def _uuid(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return ""


def _epoch(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        seconds = int(value)
        return datetime.fromtimestamp(seconds, tz=UTC) if seconds > 0 else None
    except (ValueError, OverflowError, OSError):
        return None


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _most_restrictive(values) -> str | None:
    ranked = [v for v in values if v is not None]
    return max(ranked, key=_TLP_ORDER.index) if ranked else None


def _tag_names(tags: list) -> list[str]:
    names = []
    for tag in tags:
        if isinstance(tag, dict) and isinstance(tag.get("name"), str):
            names.append(tag["name"])
    return names


def _tlp_tags(names: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """The known TLP values and the (tag, unknown value) pairs among tag names."""
    known, unknown = [], []
    for name in names:
        if name[:4].lower() != "tlp:":
            continue
        value = name[4:].strip().lower()
        if value in _TLP_TAGS:
            known.append(_TLP_TAGS[value])
        else:
            unknown.append((name, name[4:].strip()))
    return known, unknown


def _unwrap(document: dict) -> dict:
    if "Event" in document:
        event = document["Event"]
        if not isinstance(event, dict):
            raise AdapterError(f"The 'Event' is a {json_type(event)}, not an object")
        return event
    if "info" in document or "Attribute" in document:
        return document
    if "response" in document:
        raise AdapterError("This is a MISP search response, not one event: export a single event")
    raise AdapterError("Not a MISP event: there is no 'Event' object and no 'info'")


class _Reader:
    def __init__(self, event: dict):
        self.event = event
        self.result = ParseResult()
        self.indicators: list[ParsedIndicator] = []
        self.tlps: list[str] = []

    def skip(self, ref: str, reason: str) -> None:
        self.result.skipped.append(Skipped(ref=ref, reason=reason))

    def read(self) -> ParseResult:
        event = self.event
        info = event.get("info")
        if not isinstance(info, str) or not info.strip():
            raise AdapterError("The MISP event has no 'info' (its title)")
        attributes = _list(event, "Attribute")
        objects = _list(event, "Object")
        tags = _list(event, "Tag")
        galaxies = _list(event, "Galaxy")

        tag_names = _tag_names(tags)
        for position, tag in enumerate(tags, start=1):
            if not (isinstance(tag, dict) and isinstance(tag.get("name"), str)):
                self.skip(f"tag #{position}", "not a tag with a name")
        known, unknown = _tlp_tags(tag_names)
        if unknown and not known:
            values = ", ".join(f"'{value}'" for _, value in unknown)
            raise AdapterError(f"The event's TLP tag has an unknown TLP value {values}")
        for name, value in unknown:
            self.skip(f"tag {name}", f"unknown TLP value '{value}'; the event's other TLP is used")
        self.tlps.extend(known)

        for position, attribute in enumerate(attributes, start=1):
            ref = f"attribute #{position}"
            if isinstance(attribute, dict):
                category = text_of(attribute, "category").strip()
                kind = text_of(attribute, "type")
                name = f"{category}: {kind}" if category else kind
                self.attribute(attribute, ref, name=name)
            else:
                self.attribute(attribute, ref, name="")

        for position, obj in enumerate(objects, start=1):
            self.misp_object(obj, position)

        for key, reason in _NOT_IMPORTED.items():
            for position, entry in enumerate(_list(event, key), start=1):
                label = key[0].lower() + key[1:]
                ref = _uuid(entry.get("uuid")) if isinstance(entry, dict) else ""
                self.skip(ref or f"{label} #{position}", reason)

        item = ParsedItem(
            kind="cyber_indicators",
            title=" ".join(info.split()),
            body=self.summary(tag_names, galaxies),
            tlp=_most_restrictive(self.tlps),
            stix_id=f"report--{_uuid(event.get('uuid'))}" if _uuid(event.get("uuid")) else "",
            created=self.created(),
            indicators=self.indicators,
        )
        self.result.items.append(item)
        return self.result

    def misp_object(self, obj: Any, position: int) -> None:
        if not isinstance(obj, dict):
            self.skip(f"object #{position}", f"not a JSON object but a {json_type(obj)}")
            return
        object_name = text_of(obj, "name").strip() or "object"
        object_ref = _uuid(obj.get("uuid")) or f"object #{position} ({object_name})"
        attributes = obj.get("Attribute", [])
        if not isinstance(attributes, list):
            self.skip(object_ref, f"its 'Attribute' is a {json_type(attributes)}, not a list")
            return
        deleted = obj.get("deleted") is True
        for number, attribute in enumerate(attributes, start=1):
            ref = f"object #{position} ({object_name}) attribute #{number}"
            if deleted:
                uid = _uuid(attribute.get("uuid")) if isinstance(attribute, dict) else ""
                self.skip(uid or ref, "deleted in MISP (with its object)")
                continue
            name = object_name
            if isinstance(attribute, dict):
                relation = text_of(attribute, "object_relation").strip()
                name = f"{object_name}: {relation or text_of(attribute, 'type')}"
            self.attribute(attribute, ref, name=name, fallback_comment=text_of(obj, "comment"))

    def attribute(self, attribute: Any, ref: str, *, name: str, fallback_comment: str = "") -> None:
        if not isinstance(attribute, dict):
            self.skip(ref, f"not a JSON object but a {json_type(attribute)}")
            return
        uid = _uuid(attribute.get("uuid"))
        ref = uid or ref
        if attribute.get("deleted") is True:
            self.skip(ref, "deleted in MISP")
            return
        kind = attribute.get("type")
        if not isinstance(kind, str) or not kind.strip():
            self.skip(ref, "the attribute has no type")
            return
        value = attribute.get("value")
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if value is None or (isinstance(value, str) and not value.strip()):
            self.skip(ref, f"the {kind} attribute has an empty value")
            return
        if not isinstance(value, str):
            self.skip(ref, f"the {kind} attribute's value is a {json_type(value)}, not text")
            return
        tags = attribute.get("Tag", [])
        if not isinstance(tags, list):
            # Its tags could carry a stricter TLP that we cannot read: never import it looser.
            self.skip(ref, f"the attribute's 'Tag' is a {json_type(tags)}, not a list")
            return
        known, unknown = _tlp_tags(_tag_names(tags))
        if unknown:
            self.skip(ref, f"unknown TLP value '{unknown[0][1]}'")
            return
        self.tlps.extend(known)
        pattern = stix_pattern(kind, value)
        self.indicators.append(
            ParsedIndicator(
                stix_id=f"indicator--{uid}" if uid else "",
                name=name,
                pattern=pattern,
                pattern_type="stix" if pattern else "",
                value_type=kind,
                value=value,
                description=text_of(attribute, "comment").strip() or fallback_comment.strip(),
                valid_from=_iso(attribute.get("first_seen")) or _epoch(attribute.get("timestamp")),
            )
        )

    def created(self) -> datetime | None:
        date = self.event.get("date")
        if isinstance(date, str) and _DATE_RE.fullmatch(date):
            try:
                return datetime.fromisoformat(date).replace(tzinfo=UTC)
            except ValueError:
                pass
        return _epoch(self.event.get("publish_timestamp")) or _epoch(self.event.get("timestamp"))

    def summary(self, tag_names: list[str], galaxies: list) -> str:
        event = self.event
        facts = []
        date = text_of(event, "date")
        if date:
            facts.append(f"- **Date:** {_md(date)}")
        level = _code(event.get("threat_level_id"))
        if level:
            facts.append(f"- **Threat level:** {_md(_THREAT_LEVELS.get(level, level))}")
        analysis = _code(event.get("analysis"))
        if analysis:
            facts.append(f"- **Analysis:** {_md(_ANALYSIS.get(analysis, analysis))}")
        creator = event.get("Orgc")
        if isinstance(creator, dict) and text_of(creator, "name").strip():
            facts.append(f"- **Creator organisation:** {_md(text_of(creator, 'name'))}")
        uid = _uuid(event.get("uuid"))
        if uid:
            facts.append(f"- **MISP event:** {uid}")
        parts = [f"Imported from a MISP event.\n\n{chr(10).join(facts)}" if facts else ""]

        clusters = []
        for galaxy in galaxies:
            if not isinstance(galaxy, dict):
                continue
            members = galaxy.get("GalaxyCluster")
            members = members if isinstance(members, list) else []
            values = [text_of(c, "value").strip() for c in members if isinstance(c, dict)]
            values = [v for v in values if v]
            if values:
                label = (
                    text_of(galaxy, "name").strip() or text_of(galaxy, "type").strip() or "Galaxy"
                )
                clusters.append(f"- {_md(label)}: {', '.join(_md(v) for v in values)}")
        if clusters:
            parts.append("**Galaxies**\n\n" + "\n".join(clusters))
        if tag_names:
            shown = ", ".join("`" + " ".join(t.replace("`", "'").split()) + "`" for t in tag_names)
            parts.append(f"**Tags:** {shown}")
        return "\n\n".join(p for p in parts if p)


def parse_event(data: bytes | str | dict) -> ParseResult:
    """Read one MISP event: a bare event object or one wrapped as {"Event": {...}}.

    Raises AdapterError, naming the problem, when the input as a whole is not a MISP event
    (or its only TLP tag has an unknown value); attributes that cannot be imported are listed
    in `ParseResult.skipped`.
    """
    return _Reader(_unwrap(load_json_object(data, "MISP event"))).read()
