"""Request-level guards of core."""

from __future__ import annotations

from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation

SECOND_FACTOR_SESSION_KEY = "p2p_second_factor"

# Paths a signed-in user may reach before passing the second factor (enrolment, logout, i18n).
_OPEN_PREFIXES = ("/login", "/logout", "/i18n/", "/static/", "/api/")


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
