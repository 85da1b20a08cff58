"""Template filters of sharing: safe Markdown, search snippets, TLP badges."""

from __future__ import annotations

import markdown as markdown_lib
import nh3
from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from ..search import HIT_END, HIT_START

register = template.Library()

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "ul",
    "ol",
    "li",
    "blockquote",
    "code",
    "pre",
    "h2",
    "h3",
    "h4",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
}


@register.filter
def markdown(text: str) -> str:
    """Markdown to HTML, then sanitised by nh3: no scripts, no styles, no foreign attributes."""
    html = markdown_lib.markdown(
        text or "", extensions=["tables", "sane_lists"], output_format="html"
    )
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above


@register.filter
def snippet(text: str) -> str:
    """A search snippet: escaped, with the hits marked."""
    escaped = escape(text or "")
    return mark_safe(escaped.replace(HIT_START, "<mark>").replace(HIT_END, "</mark>"))  # noqa: S308


@register.filter
def tlp_class(value: str) -> str:
    return "tlp-" + (value or "").replace("+", "-")
