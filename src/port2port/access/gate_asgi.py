"""The gate's fast lane: `POST /api/v1/access/decide` with a gate device token, answered in ASGI.

A turnstile asks hundreds of times a second and waits for the answer with a person in front of
it. This lane answers those requests without Django's page middleware (sessions, CSRF, messages,
CSP) and without the API router: the same input schema, the same service (`gate_decide`, which
checks the device's gate, decides, and journals the decision), the same answer and the same error
shape as the API endpoint in `api.py`. Everything else, including decisions asked with an
organisation token or a session, goes to Django as usual.
"""

from __future__ import annotations

import json
import logging

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connection
from django.utils import translation
from pydantic import ValidationError

from port2port.core.errors import AppError, Invalid

log = logging.getLogger(__name__)

PATH = "/api/v1/access/decide"
MAX_BODY = 4096
HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
]


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return ""


def is_gate_request(scope) -> bool:
    return (
        scope["type"] == "http"
        and scope["path"] == PATH
        and scope["method"] == "POST"
        and _header(scope, b"authorization").startswith("Bearer gd_")
    )


def _language(scope) -> str:
    from django.utils.translation.trans_real import (
        get_supported_language_variant,
        parse_accept_lang_header,
    )

    for code, _quality in parse_accept_lang_header(_header(scope, b"accept-language")):
        try:
            return get_supported_language_variant(code)
        except LookupError:
            continue
    return "en"


def _answer(secret: str, body: bytes, language: str) -> tuple[int, dict]:
    """The whole decision, synchronously (it may read the database, e.g. on a token miss)."""
    from . import services
    from .api import DecideIn, decide_answer

    with translation.override(language):
        try:
            actor = services.device_authenticate(secret)
            try:
                payload = DecideIn.model_validate_json(body)
            except ValidationError as exc:
                first = exc.errors()[0]
                field = ".".join(str(p) for p in first.get("loc", ())) or "body"
                if first.get("type") == "json_invalid":
                    return 400, {
                        "error": "bad_request",
                        "message": "the request body is not valid JSON",
                        "fields": {field: first.get("msg", "invalid")},
                    }
                raise Invalid(f"{field}: {first.get('msg', 'invalid')}", field=field) from exc
            return 200, decide_answer(actor, payload)
        except AppError as error:
            return error.status, error.as_dict()
        except Exception:
            log.exception("gate fast lane: unexpected error")
            return 500, {
                "error": "server_error",
                "message": "something went wrong on our side; it was logged",
                "fields": {},
            }
        finally:
            if not connection.in_atomic_block:  # never under a caller's open transaction
                close_old_connections()  # as at the end of a Django request


_answer_async = sync_to_async(_answer, thread_sensitive=True)


async def serve(scope, receive, send) -> None:
    body, more = b"", True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > MAX_BODY:
            status, data = 413, {"error": "too_large", "message": "at most 4 KB", "fields": {}}
            break
    else:
        secret = _header(scope, b"authorization")[len("Bearer ") :].strip()
        status, data = await _answer_async(secret, body, _language(scope))
    payload = json.dumps(data, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*HEADERS, (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class GateFastLane:
    """ASGI wrapper: gate device decisions here, everything else to Django."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if is_gate_request(scope):
            return await serve(scope, receive, send)
        return await self.app(scope, receive, send)
