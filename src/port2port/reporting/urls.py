from django.urls import path, re_path

from . import views, views_public

app_name = "reporting"

urlpatterns = [
    path("", views.queue_view, name="queue"),
    path("stats/", views.stats_view, name="stats"),
    path("channels/", views.channels_view, name="channels"),
    path("<uuid:report_id>/", views.report_view, name="report"),
    path("<uuid:report_id>/<slug:action>/", views.report_action_view, name="report_action"),
    path("attachments/<uuid:attachment_id>/", views.attachment_view, name="attachment"),
]

# The public side, without an account: /report/...
public_urlpatterns = [
    path("", views_public.channels_view, name="channels"),
    path("follow-up/", views_public.follow_up_view, name="follow_up"),
    path("<slug:slug>/", views_public.submit_view, name="submit"),
    re_path(r"^(?P<rest>.*)$", views_public.not_found_view, name="not_found"),
]
