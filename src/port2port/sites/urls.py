from django.urls import path

from . import views

app_name = "sites"

urlpatterns = [
    path("", views.ports_view, name="ports"),
    path("<str:locode>/", views.port_view, name="port"),
    path("<str:locode>/map.geojson", views.port_map_view, name="port_map"),
    path("<str:locode>/new/<slug:kind>/", views.site_create_view, name="site_create"),
    path(
        "<str:locode>/areas/<uuid:area_id>/anti-passback/",
        views.area_anti_passback_view,
        name="area_anti_passback",
    ),
    path(
        "<str:locode>/devices/<uuid:device_id>/edit/",
        views.device_edit_view,
        name="device_edit",
    ),
    path(
        "<str:locode>/devices/<uuid:device_id>/token/",
        views.device_token_view,
        name="device_token",
    ),
    path(
        "<str:locode>/devices/<uuid:device_id>/active/",
        views.device_active_view,
        name="device_active",
    ),
]
