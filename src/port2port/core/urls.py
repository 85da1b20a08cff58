from django.urls import path

from . import views

app_name = "core"

urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
    path("login/", views.login_view, name="login"),
    path("login/code/", views.login_totp_view, name="login_totp"),
    path("login/enrol/", views.login_enrol_view, name="login_enrol"),
    path("login/second-factor/", views.second_factor_upgrade_view, name="second_factor_upgrade"),
    path("login/oidc/", views.oidc_start_view, name="oidc_start"),
    path("login/oidc/callback/", views.oidc_callback_view, name="oidc_callback"),
    path("logout/", views.logout_view, name="logout"),
    path("i18n/language/", views.language_view, name="language"),
    path("account/", views.account_view, name="account"),
    path("account/authenticator/", views.account_enrol_view, name="account_enrol"),
    path("account/password/", views.password_change_view, name="password_change"),
    path("organisations/", views.organisations_view, name="organisations"),
    path("organisations/new/", views.organisation_create_view, name="organisation_create"),
    path("organisations/<uuid:organisation_id>/", views.organisation_view, name="organisation"),
    path(
        "organisations/<uuid:organisation_id>/edit/",
        views.organisation_edit_view,
        name="organisation_edit",
    ),
    path(
        "organisations/<uuid:organisation_id>/tokens/new/",
        views.token_create_view,
        name="token_create",
    ),
    path("tokens/<uuid:token_id>/revoke/", views.token_revoke_view, name="token_revoke"),
    path("people/", views.people_view, name="people"),
    path("people/new/", views.person_create_view, name="person_create"),
    path("people/<uuid:person_id>/", views.person_view, name="person"),
    path("people/<uuid:person_id>/edit/", views.person_edit_view, name="person_edit"),
    path("people/<uuid:person_id>/account/", views.person_account_view, name="person_account"),
    path("people/<uuid:person_id>/roles/", views.person_membership_view, name="person_membership"),
    path(
        "people/<uuid:person_id>/clearance/", views.person_clearance_view, name="person_clearance"
    ),
    path("people/<uuid:person_id>/identity/", views.person_oidc_view, name="person_oidc"),
    path(
        "people/<uuid:person_id>/account/<slug:action>/",
        views.person_account_action_view,
        name="person_account_action",
    ),
    path(
        "memberships/<uuid:membership_id>/remove/",
        views.membership_remove_view,
        name="membership_remove",
    ),
    path("audit/", views.audit_view, name="audit"),
]
