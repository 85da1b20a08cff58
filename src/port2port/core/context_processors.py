"""What every page of the shell needs: the navigation of the modules that exist, languages."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .roles import Perm
from .visibility import reach


def _navigation(user) -> list[dict]:
    items = [{"label": _("Dashboard"), "url": reverse("core:dashboard"), "section": "dashboard"}]
    if reach(user, Perm.CORE_ORGANISATION_VIEW):
        items.append(
            {
                "label": _("Organisations"),
                "url": reverse("core:organisations"),
                "section": "organisations",
            }
        )
    if reach(user, Perm.CORE_PERSON_VIEW):
        items.append({"label": _("People"), "url": reverse("core:people"), "section": "people"})
    if reach(user, Perm.CORE_AUDIT_VIEW):
        items.append({"label": _("Audit log"), "url": reverse("core:audit"), "section": "audit"})
    # Every other module adds its own entries through `nav_items(user)` on its AppConfig.
    for config in apps.get_app_configs():
        if hasattr(config, "nav_items"):
            items[1:1] = config.nav_items(user)
    return items


def shell(request) -> dict:
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    return {
        "nav_items": _navigation(user) if signed_in else [],
        "languages": settings.LANGUAGES,
        "oidc_enabled": bool(settings.OIDC_ISSUER),
        "oidc_name": settings.OIDC_DISPLAY_NAME,
    }
