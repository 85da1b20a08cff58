"""Parsers and writers of outside formats (STIX 2.1, MISP). Pure functions: no database access.

They speak the small vocabulary below; `sharing.services` turns it into items and indicators.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class AdapterError(ValueError):
    """The input as a whole cannot be read; the message names the problem."""


@dataclass
class ParsedIndicator:
    stix_id: str = ""
    name: str = ""
    pattern: str = ""
    pattern_type: str = ""
    value_type: str = ""
    value: str = ""
    description: str = ""
    valid_from: datetime | None = None


@dataclass
class ParsedItem:
    """One item to create: a report, a note, or the set of loose indicators of a bundle/event."""

    kind: str  # a sharing.models.Kind value
    title: str
    body: str = ""  # Markdown
    tlp: str | None = None  # a sharing.models.Tlp value, None when the source set none
    stix_id: str = ""
    created: datetime | None = None
    indicators: list[ParsedIndicator] = field(default_factory=list)


@dataclass
class Skipped:
    ref: str  # the object's id or its position, e.g. "attribute #3"
    reason: str


@dataclass
class ParseResult:
    items: list[ParsedItem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


@dataclass
class ExportIndicator:
    stix_id: str
    name: str
    pattern: str
    pattern_type: str
    description: str
    valid_from: datetime | None


@dataclass
class ExportItem:
    """What the exporter needs of an item the viewer may see."""

    stix_id: str  # stable id to use for the item's report (or note)
    kind: str
    title: str
    body: str
    tlp: str
    created: datetime
    modified: datetime
    source_name: str
    indicators: list[ExportIndicator] = field(default_factory=list)


# Reading JSON input, shared by the adapters ------------------------------------------------


def load_json_object(data: bytes | str | dict, what: str) -> dict:
    """The JSON object in `data`, or AdapterError saying why there is none."""
    if isinstance(data, dict):
        try:
            text = json.dumps(data)
        except (TypeError, ValueError, RecursionError) as exc:
            raise AdapterError(f"The {what} holds values that are not JSON: {exc}") from None
        if "\\u0000" in text:
            raise AdapterError(f"The {what} contains a NUL character, which cannot be stored")
        return data
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise AdapterError(f"The {what} is not UTF-8 text: {exc}") from None
    if not isinstance(data, str):
        raise AdapterError(f"The {what} must be JSON text or an object, not {type(data).__name__}")
    if "\x00" in data or "\\u0000" in data:
        raise AdapterError(f"The {what} contains a NUL character, which cannot be stored")
    try:
        loaded = json.loads(data)
    except json.JSONDecodeError as exc:
        raise AdapterError(f"The {what} is not JSON: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise AdapterError(f"The {what} is not JSON that can be read: {exc}") from None
    if not isinstance(loaded, dict):
        raise AdapterError(f"The {what} is not a JSON object but a {json_type(loaded)}")
    return loaded


def json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


def text_of(obj: dict, key: str) -> str:
    """A string property, or "" when it is absent or not a string."""
    value = obj.get(key)
    return value if isinstance(value, str) else ""
