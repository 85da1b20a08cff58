from django.urls import path

from . import views, views_setup

app_name = "access"

urlpatterns = [
    path("", views.desk_view, name="desk"),
    path("decisions/", views.decisions_view, name="decisions"),
    path("people/<uuid:person_id>/", views.person_view, name="person"),
    path("people/<uuid:person_id>/photo/", views.person_photo_view, name="person_photo"),
    path("people/<uuid:person_id>/<slug:action>/", views.person_action_view, name="person_action"),
    path("visits/", views.visits_view, name="visits"),
    path("visits/announce/", views.visit_announce_view, name="visit_announce"),
    path(
        "visitors/<uuid:visitor_id>/<slug:action>/",
        views.visitor_action_view,
        name="visitor_action",
    ),
    # Setting up access: groups, schedules, CSV import, gate devices (views_setup.py)
    path("groups/", views_setup.groups_view, name="groups"),
    path("groups/<uuid:group_id>/", views_setup.group_view, name="group"),
    path("schedules/", views_setup.schedules_view, name="schedules"),
    path("import/", views_setup.import_view, name="import"),
    path("devices/", views_setup.devices_view, name="devices"),
    path("devices/<uuid:device_id>/revoke/", views_setup.device_revoke_view, name="device_revoke"),
]
