"""The reporter's pages (/report/): no account, no session, no cookie (issue 4, parts 4 and 9).

They only translate between HTTP and `services`; the rules (questionnaire, proof of work, receipt,
throttling) live there. What these pages leave out on purpose:
- no `request` in the template context, so no context processor reads a session or a user and
  no `{% csrf_token %}` sets a cookie; the shell's base.html (with its language and sign-out
  forms) is not used either, `reporting/public_base.html` is;
- the language comes from `?lang=` or the form's hidden `lang`, never from a cookie;
- nothing here reads the client address, the user agent or other headers, nor logs anything;
- the receipt travels only in POST bodies and in the page that shows it, never in a URL.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotAllowed
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from port2port.core.errors import Invalid, NotAuthenticated, Throttled
from port2port.core.models import Port

from . import pow, questionnaire, selectors, services
from .models import Category, Report

# Belgium's languages first, then English.
LANGUAGE_ORDER = ("nl", "fr", "en", "de")
BASE_FIELDS = ("category", "port", "place", "latitude", "longitude", "when", "what", "contact")


def _languages(allowed=None) -> list[tuple[str, str]]:
    names = dict(settings.LANGUAGES)
    return [
        (code, names[code])
        for code in LANGUAGE_ORDER
        if code in names and (allowed is None or code in allowed)
    ]


def _language(request, allowed=None) -> str:
    """`lang` of the form or the address, else the browser's preference (Accept-Language, read
    by LocaleMiddleware), else the first of the allowed ones in Belgian order (nl, fr, en, de)."""
    codes = [code for code, _name in _languages(allowed)] or ["en"]
    for wanted in (
        request.POST.get("lang") if request.method == "POST" else None,
        request.GET.get("lang"),
        getattr(request, "LANGUAGE_CODE", None),
    ):
        if wanted in codes:
            return wanted
    return codes[0]


def _page(template: str, context: dict, *, status: int = 200) -> HttpResponse:
    """A reporter page: rendered without the request (no context processor, no cookie)."""
    response = HttpResponse(render_to_string(template, context), status=status)
    response["Content-Language"] = context["lang"]
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


def _message_page(lang: str, title: str, message: str, *, status: int) -> HttpResponse:
    return _page(
        "reporting/public_message.html",
        {"lang": lang, "languages": _languages(), "title": title, "message": message},
        status=status,
    )


def _not_allowed(request) -> HttpResponse | None:
    if request.method in {"GET", "HEAD", "POST"}:
        return None
    response = HttpResponseNotAllowed(["GET", "POST"])
    response["Cache-Control"] = "no-store"
    return response


def _intro(channel, lang: str) -> str:
    intro = channel.intro if isinstance(channel.intro, dict) else {}
    return intro.get(lang) or intro.get("en") or next(iter(intro.values()), "")


@csrf_exempt
def channels_view(request):
    """The active channels, each with its introduction in the chosen language."""
    if refused := _not_allowed(request):
        return refused
    lang = _language(request)
    with translation.override(lang):
        channels = []
        for channel in selectors.channels_public():
            channel_lang = (
                lang if lang in channel.languages else _language(request, channel.languages)
            )
            channels.append(
                {"channel": channel, "intro": _intro(channel, lang), "lang": channel_lang}
            )
        return _page(
            "reporting/public_channels.html",
            {"lang": lang, "languages": _languages(), "channels": channels},
        )


def _choice_label(choice: dict) -> str:
    return questionnaire.label({"key": choice.get("value", ""), "label": choice.get("label")})


def _questions(channel, values: dict, errors: dict) -> list[dict]:
    """The channel's own questions, ready for the template, in the active language."""
    by_key = {q["key"]: q for q in channel.questionnaire}
    prepared = []
    for question in channel.questionnaire:
        choices = [(c["value"], _choice_label(c)) for c in question.get("choices") or []]
        if question["type"] == "yes_no":
            choices = [("yes", _("Yes")), ("no", _("No"))]
        condition = question.get("show_if")
        note = ""
        if condition:
            if condition["key"] == "category":
                asked, names = _("What is it about?"), dict(Category.choices)
            else:
                other = by_key.get(condition["key"], {"key": condition["key"]})
                asked = questionnaire.label(other)
                names = {c["value"]: _choice_label(c) for c in other.get("choices") or []}
                if other.get("type") == "yes_no":
                    names = {"yes": _("Yes"), "no": _("No")}
            answers = ", ".join(f"“{names.get(v, v)}”" for v in condition["in"])
            if len(condition["in"]) == 1:
                note = _("only if the answer to “%(question)s” is %(answers)s")
            else:
                note = _("only if the answer to “%(question)s” is one of %(answers)s")
            note = note % {"question": asked, "answers": answers}
        prepared.append(
            {
                "key": question["key"],
                "type": question["type"],
                "label": questionnaire.label(question),
                "required": bool(question.get("required")),
                "choices": choices,
                "show_if": condition,
                "show_if_values": "|".join(condition["in"]) if condition else "",
                "note": note,
                "value": values.get(question["key"], ""),
                "error": errors.get(question["key"], ""),
            }
        )
    return prepared


def _same_origin_tiles() -> str:
    """The map's tiles only when our own server gives them: the page loads nothing from outside,
    so an outside tile server (SITES_TILE_URL=https://...) is not used here."""
    url = settings.SITES_TILE_URL or ""
    return url if url.startswith("/") and not url.startswith("//") else ""


def _outlines(ports) -> str:
    """The channel's port areas as GeoJSON (names and outlines: public geography, no facility,
    zone or gate), so the map works without any tile server."""
    import json

    from port2port.sites.models import Area

    features = [
        {"type": "Feature", "properties": {"name": name}, "geometry": geometry}
        for name, geometry in Area.objects.filter(port__in=ports).values_list("name", "geometry")
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}) if features else ""


def _form_page(request, channel, lang, *, values=None, error=None, status=200) -> HttpResponse:
    ports = list(channel.ports.all()) or list(Port.objects.order_by("name"))
    errors = dict(error.fields) if error is not None else {}
    if error is not None and not errors:
        errors = {"form": error.message}
    # the summary at the top links each message to its question
    own = {q["key"]: q["type"] for q in channel.questionnaire}
    summary = []
    for key, message in errors.items():
        if key in BASE_FIELDS or key == "files" or (key in own and own[key] != "yes_no"):
            summary.append((f"id_{key}", message))
        elif key in own:
            summary.append((f"question_{key}", message))
        else:
            summary.append(("", message))
    return _page(
        "reporting/public_form.html",
        {
            "lang": lang,
            "languages": _languages(channel.languages),
            "channel": channel,
            "intro": _intro(channel, lang),
            "categories": Category.choices,
            "ports": ports,
            "questions": _questions(channel, values or {}, errors),
            "values": values or {},
            "errors": errors,
            "error_summary": summary,
            "challenge": pow.challenge_issue(channel.slug),
            "bits": pow.bits(),
            "tiles": _same_origin_tiles(),
            "outlines": _outlines(ports),
            "max_files": services.MAX_FILES,
            "max_megabytes": services.MAX_FILE_BYTES // (1024 * 1024),
        },
        status=status,
    )


@csrf_exempt
def submit_view(request, slug: str):
    """A channel's questionnaire (GET) and its submission (POST): the receipt, shown once."""
    if refused := _not_allowed(request):
        return refused
    channel = selectors.channels_public().filter(slug=slug).first()
    if channel is None:
        lang = _language(request)
        with translation.override(lang):
            return _message_page(
                lang,
                _("Not found"),
                _("There is no reporting channel at this address."),
                status=404,
            )
    lang = _language(request, channel.languages)
    with translation.override(lang):
        if request.method != "POST":
            return _form_page(request, channel, lang)
        try:
            submitted = services.report_submit(
                channel=channel,
                data=request.POST,
                files=request.FILES.getlist("files"),
                language=lang,
                challenge=request.POST.get("challenge", ""),
                nonce=request.POST.get("nonce", ""),
            )
        except (Invalid, Throttled) as error:
            # what they typed comes back (not the files, not the honeypot, not the old challenge)
            keep = {
                key: request.POST.get(key, "")
                for key in (
                    *BASE_FIELDS,
                    "contact_consent",
                    *(q["key"] for q in channel.questionnaire),
                )
            }
            return _form_page(request, channel, lang, values=keep, error=error, status=error.status)
        receipt = submitted.receipt
        return _page(
            "reporting/public_receipt.html",
            {
                "lang": lang,
                "languages": [],
                "channel": channel,
                "receipt_groups": [receipt[i : i + 4] for i in range(0, len(receipt), 4)],
            },
        )


@csrf_exempt
def follow_up_view(request):
    """The reporter comes back with the receipt alone: status, the team's replies, a reply form.
    The receipt is posted again with every reply (a hidden input): there is no session."""
    if refused := _not_allowed(request):
        return refused
    lang = _language(request)
    context = {"lang": lang, "languages": _languages()}
    with translation.override(lang):
        if request.method != "POST":
            return _page("reporting/public_follow_up_login.html", context)
        receipt = request.POST.get("receipt", "")
        try:
            report, key = services.reporter_open(receipt)
        except NotAuthenticated as error:
            return _page(
                "reporting/public_follow_up_login.html",
                {**context, "error": error.message},
                status=403,
            )
        except Throttled as error:
            return _page(
                "reporting/public_follow_up_login.html",
                {**context, "error": error.message},
                status=429,
            )
        status, sent, reply_error, body = 200, False, "", ""
        if "body" in request.POST:
            body = request.POST.get("body", "")
            try:
                services.reporter_message(report=report, key=key, body=body)
                sent, body = True, ""
            except Invalid as error:
                status, reply_error = 422, error.message
        return _page(
            "reporting/public_follow_up.html",
            {
                **context,
                "languages": [],  # a language link would leave the page without the receipt
                "report": report,
                "status_label": Report.Status(report.status).label,
                "category_label": Category(report.category).label
                if report.category in Category.values
                else report.category,
                "messages": services.messages_for_reporter(report, key),
                "receipt": receipt,
                "sent": sent,
                "reply_error": reply_error,
                "body": body,
            },
            status=status,
        )


@csrf_exempt
def not_found_view(request, rest: str = ""):
    """Any other address under /report/: the public page, never the staff one (no cookie)."""
    lang = _language(request)
    with translation.override(lang):
        return _message_page(
            lang, _("Not found"), _("There is no reporting channel at this address."), status=404
        )
