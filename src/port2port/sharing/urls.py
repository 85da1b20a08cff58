from django.urls import path

from . import views

app_name = "sharing"

urlpatterns = [
    path("", views.feed_view, name="feed"),
    path("items/new/", views.item_create_view, name="item_create"),
    path("items/<uuid:item_id>/", views.item_view, name="item"),
    path("items/<uuid:item_id>/edit/", views.item_edit_view, name="item_edit"),
    path("items/<uuid:item_id>/comment/", views.comment_view, name="comment"),
    path("items/<uuid:item_id>/sighting/", views.sighting_view, name="sighting"),
    path("items/<uuid:item_id>/widen/", views.widening_view, name="widen"),
    path("items/<uuid:item_id>/attachments/", views.attachment_add_view, name="attachment_add"),
    path("attachments/<uuid:attachment_id>/", views.attachment_view, name="attachment"),
    path("requests/<uuid:request_id>/decide/", views.widening_decide_view, name="widening_decide"),
    path("search/", views.search_view, name="search"),
    path("circles/", views.circles_view, name="circles"),
    path("circles/new/", views.circle_create_view, name="circle_create"),
    path("circles/<uuid:circle_id>/", views.circle_view, name="circle"),
    path(
        "circles/members/<uuid:member_id>/respond/",
        views.circle_respond_view,
        name="circle_respond",
    ),
    path("circles/members/<uuid:member_id>/leave/", views.circle_leave_view, name="circle_leave"),
    path("circles/members/<uuid:member_id>/owner/", views.circle_owner_view, name="circle_owner"),
    path("inbox/", views.inbox_view, name="inbox"),
    path("alerts/", views.subscription_view, name="subscription"),
    path("import/", views.import_view, name="import"),
    path("export.stix.json", views.export_view, name="export"),
]

public_urlpatterns = [
    path("public/", views.public_view, name="public"),
    path("public/<uuid:item_id>/", views.public_item_view, name="public_item"),
]
