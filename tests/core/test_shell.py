"""The UI shell: security headers, error pages, navigation, languages."""

import pytest
from django.test import override_settings

from port2port.core.roles import Role

from .factories import OrganisationFactory, sign_in, user_in

pytestmark = pytest.mark.django_db


def test_content_security_policy_allows_only_our_own_origin(client):
    response = client.get("/login/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_pages_load_nothing_from_outside(client):
    page = client.get("/login/").content.decode()
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page


def test_custom_404_page(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


def test_custom_403_page(client):
    sign_in(client, user_in(OrganisationFactory(), Role.EMPLOYEE))
    response = client.get("/organisations/new/")
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()


def test_custom_500_page(client):
    from port2port.core import views

    assert views.error_500(client.get("/login/").wsgi_request).status_code == 500


def test_navigation_shows_only_what_the_roles_reach(client):
    org = OrganisationFactory()
    sign_in(client, user_in(org, Role.EMPLOYEE))
    page = client.get("/").content.decode()
    assert 'href="/organisations/"' in page
    assert 'href="/audit/"' not in page
    assert 'href="/people/"' not in page
    sign_in(client, user_in(org, Role.PFSO))
    page = client.get("/").content.decode()
    assert 'href="/audit/"' in page and 'href="/people/"' in page


@pytest.mark.parametrize("language", ["nl", "fr", "de"])
def test_language_switch_translates_the_shell_and_is_remembered(client, language):
    from django.utils import translation

    with translation.override(language):
        text = translation.gettext("Your organisations")
        sign_out = translation.gettext("Sign out")
    assert text != "Your organisations", "the catalogue lacks this string"
    user = user_in(OrganisationFactory(), Role.EMPLOYEE)
    sign_in(client, user)
    response = client.post("/i18n/language/", {"language": language, "next": "/"})
    assert response["Location"] == "/"
    page = client.get("/").content.decode()
    assert f'<html lang="{language}">' in page
    assert text in page
    assert sign_out in page
    assert "Your organisations" not in page
    user.refresh_from_db()
    assert user.language == language


def test_unknown_language_is_ignored(client):
    response = client.post("/i18n/language/", {"language": "xx", "next": "/login/"})
    assert response["Location"] == "/login/"
    assert '<html lang="en">' in client.get("/login/").content.decode()


@override_settings(SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True)
def test_cookies_are_secure_when_served_over_https(client):
    user = user_in(OrganisationFactory(), Role.EMPLOYEE)
    from .factories import PASSWORD

    response = client.post(
        "/login/", {"username": user.username, "password": PASSWORD}, secure=True
    )
    assert response.cookies["sessionid"]["secure"]
    assert response.cookies["sessionid"]["httponly"]


def test_https_setting_turns_on_secure_cookies(monkeypatch):
    import importlib

    import port2port.settings as project_settings

    monkeypatch.setenv("HTTPS", "true")
    reloaded = importlib.reload(project_settings)
    try:
        assert reloaded.SESSION_COOKIE_SECURE and reloaded.CSRF_COOKIE_SECURE
        assert reloaded.SECURE_HSTS_SECONDS > 0
    finally:
        monkeypatch.delenv("HTTPS")
        importlib.reload(project_settings)
