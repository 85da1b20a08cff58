from django.urls import path

from . import views

app_name = "access"

urlpatterns = [
    path("", views.desk_view, name="desk"),
    path("decisions/", views.decisions_view, name="decisions"),
    path("people/<uuid:person_id>/", views.person_view, name="person"),
    path("people/<uuid:person_id>/<slug:action>/", views.person_action_view, name="person_action"),
]
