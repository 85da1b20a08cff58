from django.urls import include, path

from .core.apibase import build_api
from .reporting.urls import public_urlpatterns as report_urlpatterns
from .sharing.urls import public_urlpatterns

api = build_api()

urlpatterns = [
    path("api/v1/", api.urls),
    path("sharing/", include("port2port.sharing.urls")),
    path("sites/", include("port2port.sites.urls")),
    path("access/", include("port2port.access.urls")),
    path("reporting/", include("port2port.reporting.urls")),
    path("detection/", include("port2port.detection.urls")),
    path("report/", include((report_urlpatterns, "report"))),
    path("", include((public_urlpatterns, "public"))),
    path("", include("port2port.core.urls")),
]

handler400 = "port2port.core.views.error_400"
handler403 = "port2port.core.views.error_403"
handler404 = "port2port.core.views.error_404"
handler500 = "port2port.core.views.error_500"
