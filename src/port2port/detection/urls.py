from django.urls import path

from . import views, views_push

app_name = "detection"

urlpatterns = [
    path("", views.control_room_view, name="control_room"),
    path("queue/", views.queue_view, name="queue"),
    path("health/", views.health_view, name="health"),
    path("stream/", views.stream_view, name="stream"),
    path("alarms/", views.alarms_view, name="alarms"),
    path("alarms/<uuid:alarm_id>/", views.alarm_view, name="alarm"),
    path("alarms/<uuid:alarm_id>/live/", views.alarm_live_view, name="alarm_live"),
    path("alarms/<uuid:alarm_id>/<slug:action>/", views.alarm_action_view, name="alarm_action"),
    path("events/", views.events_view, name="events"),
    path("dead-letters/", views.dead_letters_view, name="dead_letters"),
    # Set-up: rules and their contacts, procedures, authorised drone flights, hotlists
    path("rules/", views.rules_view, name="rules"),
    path("rules/new/", views.rule_create_view, name="rule_create"),
    path("rules/<uuid:rule_id>/", views.rule_view, name="rule"),
    path("rules/<uuid:rule_id>/contacts/", views.contact_add_view, name="contact_add"),
    path(
        "rules/<uuid:rule_id>/contacts/<uuid:contact_id>/remove/",
        views.contact_remove_view,
        name="contact_remove",
    ),
    path("procedures/", views.procedures_view, name="procedures"),
    path("procedures/<uuid:procedure_id>/", views.procedure_view, name="procedure"),
    path("flights/", views.flights_view, name="flights"),
    path("flights/<uuid:flight_id>/end/", views.flight_end_view, name="flight_end"),
    path("hotlists/<uuid:hotlist_id>/active/", views.hotlist_active_view, name="hotlist_active"),
    path("hotlists/", views.hotlists_view, name="hotlists"),
    path("hotlists/<uuid:hotlist_id>/", views.hotlist_view, name="hotlist"),
    path("hotlists/<uuid:hotlist_id>/entries/", views.hotlist_entries_view, name="hotlist_entries"),
    path(
        "hotlists/<uuid:hotlist_id>/entries/<int:entry_id>/remove/",
        views.hotlist_entry_remove_view,
        name="hotlist_entry_remove",
    ),
    # Web push for alarms (views_push.py; static/js/alarm-push.js)
    path("push/key/", views_push.push_key_view, name="push_key"),
    path("push/subscribe/", views_push.push_subscribe_view, name="push_subscribe"),
]
