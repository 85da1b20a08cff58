from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "port2port.access"
    label = "access"
    verbose_name = _("Screening and gate access")

    def seed_demo(self) -> int:
        from .demo import seed_access_demo

        return seed_access_demo()

    def nav_items(self, user) -> list[dict]:
        from django.urls import reverse

        from port2port.core.roles import Perm
        from port2port.core.visibility import reach

        if reach(user, Perm.ACCESS_GATE_DECIDE) or reach(user, Perm.ACCESS_BAN_REGISTER):
            return [{"label": _("Gate access"), "url": reverse("access:desk"), "section": "access"}]
        if reach(user, Perm.ACCESS_VISITOR_ANNOUNCE):  # shipping agents announcing visitors
            return [{"label": _("Visitors"), "url": reverse("access:visits"), "section": "access"}]
        return []
