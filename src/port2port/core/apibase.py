"""The API base every module's router hangs on: auth, throttling, errors, pagination (DESIGN.md §3)."""

from __future__ import annotations

import logging

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.errors import Throttled as NinjaThrottled
from ninja.pagination import PageNumberPagination
from ninja.security import APIKeyCookie, HttpBearer
from ninja.throttling import AnonRateThrottle, AuthRateThrottle

from .errors import AppError, NotAuthenticated
from .middleware import SECOND_FACTOR_SESSION_KEY
from .visibility import TokenPrincipal

log = logging.getLogger(__name__)


class TokenAuth(HttpBearer):
    """`Authorization: Bearer p2p_<prefix>_<secret>`: acts as the token's organisation."""

    openapi_description = "An organisation API token, shown once when it is issued."

    def authenticate(self, request, token: str):
        from .services import token_authenticate

        return TokenPrincipal(token_authenticate(token))


class SessionAuth(APIKeyCookie):
    """The browser's signed-in session (with CSRF), when its second factor is satisfied."""

    param_name = "sessionid"

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if user.requires_second_factor and not request.session.get(SECOND_FACTOR_SESSION_KEY):
            raise NotAuthenticated(_("this account must complete its second factor first"))
        return user


def referenced(field: str, find, *args, **kwargs):
    """The object a request body refers to, found by `find` (a selector that raises NotFound):
    a missing one, or one out of the caller's sight, is an invalid value of that field (422),
    not a missing resource (the URL's own object answers 404)."""
    from .errors import Invalid, NotFound

    try:
        return find(*args, **kwargs)
    except NotFound as exc:
        raise Invalid(exc.message, field=field) from None


class Pagination(PageNumberPagination):
    """`?page=N&page_size=M` on every list; answers `{"items": [...], "count": N}`."""

    class Input(PageNumberPagination.Input):
        pass


def _error(
    api: NinjaAPI, request, status: int, code: str, message: str, fields: dict | None = None
):
    return api.create_response(
        request, {"error": code, "message": message, "fields": fields or {}}, status=status
    )


def _field_name(location: list) -> str:
    parts = [
        str(p) for p in location if p not in {"body", "query", "path", "payload", "form", "header"}
    ]
    return ".".join(parts) or "body"


def build_api() -> NinjaAPI:
    api = NinjaAPI(
        title="Port 2 Port API",
        version="1",
        description="Security operations and knowledge sharing for the Belgian ports.",
        urls_namespace="api",
        docs_url="/docs",
        auth=[TokenAuth(), SessionAuth()],
        throttle=[AnonRateThrottle("60/m"), AuthRateThrottle("1200/m")],
    )

    @api.exception_handler(AppError)
    def app_error(request, exc: AppError):
        response = _error(api, request, exc.status, exc.code, exc.message, exc.fields)
        if getattr(exc, "retry_after", None):
            response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(ValidationError)
    def validation_error(request, exc: ValidationError):
        fields = {}
        for item in exc.errors:
            fields.setdefault(_field_name(item.get("loc", [])), item.get("msg", "invalid"))
        if any(item.get("type") == "json_invalid" for item in exc.errors) or (
            "body" in fields and not any(item.get("loc", [None])[-1] for item in exc.errors)
        ):
            return _error(
                api, request, 400, "bad_request", "the request body is not valid JSON", fields
            )
        first = next(iter(fields.items()), ("body", "invalid"))
        return _error(api, request, 422, "invalid", f"{first[0]}: {first[1]}", fields)

    @api.exception_handler(AuthenticationError)
    def authentication_error(request, exc):
        return _error(
            api,
            request,
            401,
            "not_authenticated",
            _("sign in or send a valid API token"),
            {"authorization": _("missing")},
        )

    @api.exception_handler(NinjaThrottled)
    def throttled(request, exc):
        return _error(
            api, request, 429, "throttled", "too many requests; slow down and try again shortly"
        )

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        codes = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
        message = str(exc)
        if "CSRF" in message:
            message = _(
                "CSRF check failed: send the X-CSRFToken header with the session's CSRF cookie"
            )
        return _error(api, request, exc.status_code, codes.get(exc.status_code, "error"), message)

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return _error(api, request, 404, "not_found", _("not found"))

    @api.exception_handler(Exception)
    def unexpected(request, exc):
        log.exception("unhandled API error", exc_info=exc)
        return _error(
            api, request, 500, "server_error", "something went wrong on our side; it was logged"
        )

    from port2port.access.api import router as access_router
    from port2port.detection.api import router as detection_router
    from port2port.reporting.api import router as reporting_router
    from port2port.sharing.api import router as sharing_router
    from port2port.sites.api import router as sites_router

    from .api import router as core_router

    api.add_router("/", core_router)
    api.add_router("/sharing/", sharing_router)
    api.add_router("/sites/", sites_router)
    api.add_router("/access/", access_router)
    api.add_router("/reporting/", reporting_router)
    api.add_router("/detection/", detection_router)
    return api
