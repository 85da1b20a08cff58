from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DetectionConfig(AppConfig):
    name = "port2port.detection"
    label = "detection"
    verbose_name = _("Detection and control room")

    def seed_demo(self) -> int:
        from .demo import seed_detection_demo

        return seed_detection_demo()

    def nav_items(self, user) -> list[dict]:
        from django.urls import reverse

        from .selectors import may_watch

        if may_watch(user):
            return [
                {
                    "label": _("Control room"),
                    "url": reverse("detection:control_room"),
                    "section": "detection",
                }
            ]
        return []
