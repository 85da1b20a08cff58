"""Request-level guards of core."""

from __future__ import annotations

from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation

SECOND_FACTOR_SESSION_KEY = "p2p_second_factor"

# Paths a signed-in user may reach before passing the second factor (enrolment, logout, i18n).
_OPEN_PREFIXES = ("/login", "/logout", "/i18n/", "/static/", "/api/", "/public/", "/report/")


class SecondFactorMiddleware:
    """A user who must use TOTP (admin, or any clearance) reaches nothing until they have.

    Login only creates a session after the second factor, but roles and clearances can change
    during a session; this guard catches that and sends the user to enrol or verify.
    Also applies the user's chosen interface language.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if user.language:
                translation.activate(user.language)
                request.LANGUAGE_CODE = user.language
            if (
                user.requires_second_factor
                and not request.session.get(SECOND_FACTOR_SESSION_KEY)
                and not request.path.startswith(_OPEN_PREFIXES)
            ):
                return redirect(reverse("core:second_factor_upgrade"))
            if (
                user.must_change_password
                and not request.path.startswith(_OPEN_PREFIXES)
                and request.path != reverse("core:password_change")
            ):
                return redirect(reverse("core:password_change"))
        return self.get_response(request)


class AppErrorMiddleware:
    """Turns the AppError family raised in a page into the matching error page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.shortcuts import render

        from .errors import AppError

        if not isinstance(exception, AppError):
            return None
        template = {404: "404.html", 403: "403.html"}.get(exception.status, "error.html")
        return render(
            request,
            template,
            {"error": exception, "message": exception.message},
            status=exception.status,
        )


class BadRequestGuardMiddleware:
    """Refuses NUL characters in parameters (databases cannot store them) with a clear 400, and
    gives the API's own 404 and 405 answers the platform's error shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        field = self._nul_field(request)
        if field is not None:
            return self._refuse(request, field)
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code in {404, 405}
            and "json" not in response.get("Content-Type", "")
        ):
            return self._api_error(response.status_code)
        return response

    @staticmethod
    def _nul_field(request) -> str | None:
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in v for v in values):
                return name
        if request.method in {"POST", "PUT", "PATCH"}:
            content_type = request.content_type or ""
            if content_type == "application/json":
                body = request.body
                if b"\x00" in body or b"\\u0000" in body:
                    return "body"
            elif content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
                for name, values in request.POST.lists():
                    if any("\x00" in v for v in values):
                        return name
        return None

    @staticmethod
    def _refuse(request, field: str):
        from django.http import HttpResponseBadRequest, JsonResponse
        from django.utils.translation import gettext as _

        message = _("the request contains a NUL character, which is not allowed")
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"error": "bad_request", "message": message, "fields": {field: message}}, status=400
            )
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")

    @staticmethod
    def _api_error(status: int):
        from django.http import JsonResponse
        from django.utils.translation import gettext as _

        if status == 404:
            body = {"error": "not_found", "message": _("no such API endpoint"), "fields": {}}
        else:
            body = {
                "error": "method_not_allowed",
                "message": _("this method is not allowed here"),
                "fields": {},
            }
        return JsonResponse(body, status=status)
