from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "port2port.reporting"
    label = "reporting"
    verbose_name = _("Anonymous reporting")

    def seed_demo(self) -> int:
        from .demo import seed_reporting_demo

        return seed_reporting_demo()

    def nav_items(self, user) -> list[dict]:
        from django.urls import reverse

        from port2port.core.roles import Perm
        from port2port.core.visibility import reach

        if reach(user, Perm.REPORTING_REPORT_TRIAGE):
            return [
                {"label": _("Reports"), "url": reverse("reporting:queue"), "section": "reporting"}
            ]
        if reach(user, Perm.REPORTING_STATS_VIEW):
            return [
                {"label": _("Reports"), "url": reverse("reporting:stats"), "section": "reporting"}
            ]
        return []
