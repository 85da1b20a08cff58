from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharingConfig(AppConfig):
    name = "port2port.sharing"
    label = "sharing"
    verbose_name = _("Knowledge sharing")

    def seed_demo(self) -> int:
        from .demo import seed_sharing_demo

        return seed_sharing_demo()

    def dashboard_panel(self, request) -> dict | None:
        """The latest items shared with the user, on their dashboard (the home feed)."""
        from port2port.core.roles import Perm
        from port2port.core.visibility import reach

        from .selectors import feed_for, notifications_for

        if not reach(request.user, Perm.SHARING_ITEM_VIEW):
            return None
        return {
            "template": "sharing/_dashboard_panel.html",
            "items": list(feed_for(request.user)[:5]),
            "unread": notifications_for(request.user, unread_only=True).count(),
        }

    def nav_items(self, user) -> list[dict]:
        from django.urls import reverse

        from port2port.core.roles import Perm
        from port2port.core.visibility import reach

        if not reach(user, Perm.SHARING_ITEM_VIEW):
            return []
        return [
            {"label": _("Shared knowledge"), "url": reverse("sharing:feed"), "section": "sharing"}
        ]
