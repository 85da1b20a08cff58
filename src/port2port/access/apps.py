from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "port2port.access"
    label = "access"
    verbose_name = _("Screening and gate access")
