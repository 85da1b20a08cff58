from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SitesConfig(AppConfig):
    name = "port2port.sites"
    label = "sites"
    verbose_name = _("Sites")

    def seed_demo(self) -> int:
        from .demo import seed_sites_demo

        return seed_sites_demo()

    def nav_items(self, user) -> list[dict]:
        from django.urls import reverse

        from port2port.core.roles import Perm
        from port2port.core.visibility import reach

        if not reach(user, Perm.SITES_SITE_VIEW):
            return []
        return [{"label": _("Sites"), "url": reverse("sites:ports"), "section": "sites"}]
