"""A channel's questionnaire: the platform's questions, then the channel's own (issue 4, part 1).

A question is `{"key", "type", "label": {lang: text}, "required", "choices", "show_if"}`:
`type` is text, textarea, choice, date or yes_no; `choices` is `[{"value", "label": {...}}]`;
`show_if` is `{"key": other question, "in": [values]}` — asked (and required) only then.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .models import Category

TYPES = ("text", "textarea", "choice", "date", "yes_no")
# names a form field may not take: they would hide the form's own properties in the browser
RESERVED = {"elements", "dataset", "action", "method", "submit", "reset", "length", "name", "id"}
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
BASE_KEYS = (  # the platform's questions and the form's own fields: no channel question may take them
    *("category", "port", "place", "latitude", "longitude", "when", "what", "contact"),
    *("contact_consent", "lang", "challenge", "nonce", "website", "files", "receipt", "body"),
)
MAX_TEXT = 5000


def label(question: dict) -> str:
    labels = question.get("label") or {}
    return labels.get(get_language() or "en") or labels.get("en") or question["key"]


def _labels_ok(labels) -> bool:
    """{"en": text, "nl": text, ...}: English at least, texts only."""
    return (
        isinstance(labels, dict)
        and isinstance(labels.get("en"), str)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())
    )


def validate_questions(questions) -> list[dict]:
    """A channel's own questions, checked; raises ValueError naming the problem."""
    if not isinstance(questions, list) or len(questions) > 30:
        raise ValueError(_("the questionnaire is a list of at most 30 questions"))
    keys: set = set()
    for n, question in enumerate(questions, start=1):
        if not isinstance(question, dict):
            raise ValueError(_("question %(n)s is not an object") % {"n": n})
        key = question.get("key", "")
        if (
            not isinstance(key, str)
            or not KEY.match(key)
            or key in BASE_KEYS
            or key in RESERVED
            or key in keys
        ):
            raise ValueError(
                _("question %(n)s: the key must be new, lowercase letters, digits and _") % {"n": n}
            )
        if question.get("type") not in TYPES:
            raise ValueError(
                _("question %(n)s: the type is one of %(types)s")
                % {"n": n, "types": ", ".join(TYPES)}
            )
        if not _labels_ok(question.get("label")):
            raise ValueError(_("question %(n)s: give at least an English label") % {"n": n})
        if question["type"] == "choice":
            choices = question.get("choices")
            if (
                not isinstance(choices, list)
                or not choices
                or not all(
                    isinstance(c, dict)
                    and isinstance(c.get("value"), str)
                    and _labels_ok(c.get("label"))
                    for c in choices
                )
            ):
                raise ValueError(_("question %(n)s: a choice needs its choices") % {"n": n})
        show_if = question.get("show_if")
        if show_if is not None and (
            not isinstance(show_if, dict)
            or not isinstance(show_if.get("key"), str)
            or show_if["key"] not in keys | {"category"}
            or not isinstance(show_if.get("in"), list)
            or not all(isinstance(value, str) for value in show_if["in"])
        ):
            raise ValueError(
                _("question %(n)s: show_if names an earlier question and the values") % {"n": n}
            )
        keys.add(key)
    return questions


def _shown(question: dict, answers: dict) -> bool:
    condition = question.get("show_if")
    return condition is None or answers.get(condition["key"]) in condition["in"]


def clean_answers(channel, data, ports) -> tuple[dict, dict]:
    """The reporter's answers, cleaned: (answers, errors by question key)."""
    answers: dict = {}
    errors: dict = {}

    def text(key: str, required: bool = False, limit: int = MAX_TEXT) -> str:
        value = (data.get(key) or "").strip()
        if required and not value:
            errors[key] = _("This question needs an answer.")
        elif len(value) > limit:
            errors[key] = _("At most %(n)s characters.") % {"n": limit}
        return value

    category = data.get("category") or ""
    if category not in Category.values:
        errors["category"] = _("Choose what it is about.")
    answers["category"] = category
    port = data.get("port") or ""
    allowed = {p.locode: p for p in ports}
    if port and port not in allowed:
        errors["port"] = _("Choose one of the ports of this channel.")
    answers["port"] = port
    answers["place"] = text("place", limit=300)
    for key in ("latitude", "longitude"):
        value = (data.get(key) or "").strip()
        if value:
            try:
                number = float(value)
                if not (-90 <= number <= 90 if key == "latitude" else -180 <= number <= 180):
                    raise ValueError
                answers[key] = round(number, 5)
            except ValueError:
                errors[key] = _("Not a position on the map.")
    when = (data.get("when") or "").strip()
    if when:
        try:
            moment = datetime.fromisoformat(when)
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
            if moment > timezone.now() + timedelta(days=1):
                errors["when"] = _("This lies in the future.")
            answers["when"] = moment.isoformat(timespec="minutes")
        except ValueError:
            errors["when"] = _("Give a date and time.")
    answers["what"] = text("what", required=True)
    if data.get("contact_consent") in {"on", "true", "1", True}:
        answers["contact"] = text("contact", required=True, limit=300)
    for question in channel.questionnaire:
        key = question["key"]
        if not _shown(question, answers):
            continue
        required = bool(question.get("required"))
        if question["type"] in {"text", "textarea", "date"}:
            value = text(
                key, required=required, limit=300 if question["type"] == "text" else MAX_TEXT
            )
        elif question["type"] == "yes_no":
            value = (data.get(key) or "").strip()
            if value not in {"", "yes", "no"} or (required and not value):
                errors[key] = _("Answer yes or no.")
        else:
            value = (data.get(key) or "").strip()
            values = {c["value"] for c in question["choices"]}
            if (value and value not in values) or (required and not value):
                errors[key] = _("Choose one of the answers.")
        answers[key] = value
    return answers, errors
