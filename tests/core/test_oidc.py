"""OpenID Connect login against a fake provider that runs in the test process, on loopback.

The provider is a real HTTP server (discovery document, JWKS, authorize and token endpoints)
on 127.0.0.1; Django's test client plays the browser, and `requests` plays the browser's short
visit to the provider's authorize page. Nothing may leave the loopback interface.
"""

from __future__ import annotations

import base64
import functools
import html
import ipaddress
import json
import re
import secrets
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from port2port.core.middleware import SECOND_FACTOR_SESSION_KEY
from port2port.core.models import AuditRecord
from port2port.core.roles import Role

from .factories import OrganisationFactory, user_in

CLIENT_ID = "port2port-test-client"
CLIENT_SECRET = "client-secret-of-the-port2port-tests-0123456789"
CALLBACK = "http://testserver/login/oidc/callback/"
SUBJECT = "itsme-subject-0001"
PROVIDER_KID = "provider-key-1"

# What the login page says after each kind of failure (substrings, compared after unescaping).
REFUSED = "refused at the identity provider (access_denied)"
STALE_STATE = "this sign-in attempt has expired or was started in another browser"
NOT_VERIFIED = "the identity provider's answer could not be verified"
CODE_REFUSED = "the identity provider did not accept the sign-in code"
UNREACHABLE = "the identity provider cannot be reached"
MISCONFIGURED = "the identity provider does not match this platform's configuration"
NOT_LINKED = "No account is linked to this itsme identity"
LOCKED = "This account is locked"

pytestmark = pytest.mark.django_db


# Keys ------------------------------------------------------------------------------------------


@functools.cache
def _keys() -> dict[str, RSAKey]:
    """RSA keys, made once per run: the provider's, and two of an attacker (one reuses its kid)."""

    def make(kid: str) -> RSAKey:
        return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})

    return {
        "provider": make(PROVIDER_KID),
        "attacker-same-kid": make(PROVIDER_KID),
        "attacker": make("attacker-key-1"),
    }


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _sign(claims: dict, how: str) -> str:
    if how == "none":
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    if how == "hs256-client-secret":  # the classic confusion: HMAC keyed with the client secret
        return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(CLIENT_SECRET))
    key = _keys()[how]
    return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)


# The fake provider -----------------------------------------------------------------------------


class FakeProvider:
    """An OpenID provider with one end user (`subject`) who always consents unless `deny`.

    Tests steer what the token endpoint answers: `claims` overrides ID token claims (None
    removes one), `sign` picks the signing key, `id_token` False leaves the ID token out,
    `extra_token_fields` adds fields to the token response, `metadata` overrides discovery.
    """

    def __init__(self) -> None:
        self.subject = SUBJECT
        self.deny = False
        self.claims: dict = {}
        self.sign = "provider"
        self.id_token = True
        self.extra_token_fields: dict = {}
        self.metadata_overrides: dict = {}
        self.grants: dict[str, dict] = {}  # code -> what the authorize step saw
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, params or form)
        self.token_requests: list[dict] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._stopped = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
        assert not self._thread.is_alive()

    def record(self, method: str, path: str, params: dict) -> None:
        with self._lock:
            self.requests.append((method, path, params))

    # Endpoints

    def metadata(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            **self.metadata_overrides,
        }

    def jwks(self) -> dict:
        return KeySet([_keys()["provider"]]).as_dict(private=False)

    def authorize(self, params: dict) -> tuple[int, str]:
        """The end user signs in and consents; answers (status, Location)."""
        redirect_uri = params.get("redirect_uri", "")
        if (
            params.get("client_id") != CLIENT_ID
            or params.get("response_type") != "code"
            or redirect_uri != CALLBACK
            or "openid" not in params.get("scope", "").split()
        ):
            return 400, ""
        state = params.get("state", "")
        if self.deny:
            query = {"error": "access_denied", "error_description": "cancelled", "state": state}
            return 302, f"{redirect_uri}?{urlencode(query)}"
        code = secrets.token_urlsafe(24)
        with self._lock:
            self.grants[code] = {
                "nonce": params.get("nonce"),
                "redirect_uri": redirect_uri,
                "sub": self.subject,
            }
        return 302, f"{redirect_uri}?{urlencode({'code': code, 'state': state})}"

    def token(self, authorization: str, form: dict) -> tuple[int, dict]:
        with self._lock:
            self.token_requests.append({"authorization": authorization, **form})
            grant = self.grants.pop(form.get("code", ""), None)  # a code works once
        if not authorization.startswith("Basic "):
            return 401, {"error": "invalid_client"}
        client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if (unquote(client_id), unquote(secret)) != (CLIENT_ID, CLIENT_SECRET):
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code" or grant is None:
            return 400, {"error": "invalid_grant"}
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        answer = {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": 300,
            **self.extra_token_fields,
        }
        if self.id_token:
            answer["id_token"] = self.make_id_token(grant)
        return 200, answer

    def make_id_token(self, grant: dict) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": grant["sub"],
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
        }
        for name, value in self.claims.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return _sign(claims, self.sign)


def _handler_for(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # keep the test output clean
            pass

        def _answer(self, status: int, body: dict | None = None, location: str = "") -> None:
            payload = json.dumps(body or {}).encode()
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):
            url = urlsplit(self.path)
            params = {name: values[0] for name, values in parse_qs(url.query).items()}
            provider.record("GET", url.path, params)
            if url.path == "/.well-known/openid-configuration":
                self._answer(200, provider.metadata())
            elif url.path == "/jwks":
                self._answer(200, provider.jwks())
            elif url.path == "/authorize":
                status, location = provider.authorize(params)
                self._answer(status, {} if location else {"error": "invalid_request"}, location)
            else:
                self._answer(404, {"error": "not_found"})

        def do_POST(self):
            url = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            form = {name: values[0] for name, values in parse_qs(body).items()}
            provider.record("POST", url.path, form)
            if url.path == "/token":
                self._answer(*provider.token(self.headers.get("Authorization", ""), form))
            else:
                self._answer(404, {"error": "not_found"})

    return Handler


# Fixtures --------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """No proxy, and any socket connection outside loopback fails the test at once."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    original = socket.socket.connect

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            assert host == "localhost" or ipaddress.ip_address(host).is_loopback, address
        return original(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def provider(settings):
    fake = FakeProvider()
    fake.start()
    settings.OIDC_ISSUER = fake.issuer
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_SCOPES = "openid profile"
    settings.OIDC_DISPLAY_NAME = "itsme"
    settings.OIDC_COUNTS_AS_SECOND_FACTOR = True
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def linked_user(provider):
    """A platform admin (who must use a second factor) linked to the provider's end user."""
    user = user_in(OrganisationFactory(), Role.PLATFORM_ADMIN)
    user.oidc_subject = f"{provider.issuer}|{SUBJECT}"
    user.save(update_fields=["oidc_subject"])
    return user


# The browser -----------------------------------------------------------------------------------


def _start(client, provider: FakeProvider) -> str:
    """Press "Sign in with itsme"; answers the provider's authorize URL."""
    response = client.get(reverse("core:oidc_start"))
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"{provider.issuer}/authorize?")
    return location


def _params(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def _at_provider(authorize_url: str) -> str:
    """The browser visits the provider, which redirects it back; answers that callback URL."""
    with requests.Session() as browser:
        browser.trust_env = False
        response = browser.get(authorize_url, allow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def _back_at_callback(client, callback_url: str):
    parts = urlsplit(callback_url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    return client.get(f"{parts.path}?{parts.query}", follow=True)


def _sign_in_with_provider(client, provider: FakeProvider):
    return _back_at_callback(client, _at_provider(_start(client, provider)))


def _assert_nobody_signed_in(client) -> None:
    assert "_auth_user_id" not in client.session
    response = client.get(reverse("core:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("core:login"))
    assert not AuditRecord.objects.filter(action="auth.login").exists()


def _assert_login_page_says(response, text: str) -> None:
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("core:login")
    shown = _messages_on(response)
    assert any(text in message for message in shown), shown
    # Every refused callback leaves an audit record (a locked account is refused as a login).
    assert AuditRecord.objects.filter(action="auth.oidc.failed").exists() or "locked" in text


def _messages_on(response) -> list[str]:
    """The texts of the flash messages on a rendered page."""
    page = response.content.decode()
    found = re.findall(r'<p class="message [^"]*"[^>]*>(.*?)</p>', page, flags=re.DOTALL)
    return [html.unescape(text).strip() for text in found]


# The happy path --------------------------------------------------------------------------------


def test_login_with_provider(client, provider, linked_user):
    authorize_url = _start(client, provider)
    params = _params(authorize_url)
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == CALLBACK
    assert "openid" in params["scope"].split()
    assert len(params["state"]) >= 16
    assert len(params["nonce"]) >= 16
    assert params["state"] != params["nonce"]
    session_before = client.session.session_key

    callback_url = _at_provider(authorize_url)
    code = _params(callback_url)["code"]
    assert provider.grants[code]["nonce"] == params["nonce"]  # what goes into the ID token
    response = _back_at_callback(client, callback_url)

    assert response.status_code == 200
    assert response.redirect_chain == [(reverse("core:dashboard"), 302)]
    session = client.session
    assert session["_auth_user_id"] == str(linked_user.pk)
    assert session.session_key != session_before  # no session fixation
    assert session[SECOND_FACTOR_SESSION_KEY] == "oidc"
    assert not [key for key, _ in session.items() if key.startswith("_state_")]
    assert client.get(reverse("core:dashboard")).status_code == 200
    assert client.get(reverse("core:account")).status_code == 200
    record = AuditRecord.objects.get(action="auth.login")
    assert record.actor_id == linked_user.pk
    assert record.details == {"method": "oidc"}

    # The code went to the token endpoint once, with the client's credentials and redirect URI.
    (token_request,) = provider.token_requests
    assert token_request["code"] == code
    assert token_request["grant_type"] == "authorization_code"
    assert token_request["redirect_uri"] == CALLBACK
    assert token_request["authorization"].startswith("Basic ")


def test_openid_scope_and_nonce_even_if_configured_without(client, provider, settings):
    settings.OIDC_SCOPES = "profile"
    params = _params(_start(client, provider))
    assert params["scope"].split() == ["openid", "profile"]
    assert params["nonce"]


def test_login_page_offers_the_provider(client, provider):
    response = client.get(reverse("core:login"))
    assert reverse("core:oidc_start") in response.content.decode()
    assert "Sign in with itsme" in response.content.decode()


def test_user_without_second_factor_duty_signs_in_too(client, provider):
    user = user_in(OrganisationFactory(), Role.EMPLOYEE)
    user.oidc_subject = f"{provider.issuer}|{SUBJECT}"
    user.save(update_fields=["oidc_subject"])
    response = _sign_in_with_provider(client, provider)
    assert response.redirect_chain == [(reverse("core:dashboard"), 302)]
    assert client.session["_auth_user_id"] == str(user.pk)


def test_provider_login_not_counted_as_second_factor(client, provider, linked_user, settings):
    settings.OIDC_COUNTS_AS_SECOND_FACTOR = False
    response = _sign_in_with_provider(client, provider)
    assert response.redirect_chain[-1][0] == reverse("core:login_enrol")
    _assert_nobody_signed_in(client)


def test_audience_may_list_several_parties_with_azp(client, provider, linked_user):
    provider.claims = {"aud": [CLIENT_ID, "another-client"], "azp": CLIENT_ID}
    response = _sign_in_with_provider(client, provider)
    assert response.redirect_chain == [(reverse("core:dashboard"), 302)]


# State (CSRF) ----------------------------------------------------------------------------------


def test_missing_state_is_refused(client, provider, linked_user):
    callback_url = _at_provider(_start(client, provider))
    code = _params(callback_url)["code"]
    response = client.get(reverse("core:oidc_callback"), {"code": code}, follow=True)
    _assert_nobody_signed_in(client)
    _assert_login_page_says(response, STALE_STATE)
    assert provider.token_requests == []  # the code was never even exchanged


def test_wrong_state_is_refused(client, provider, linked_user):
    callback_url = _at_provider(_start(client, provider))
    code = _params(callback_url)["code"]
    response = client.get(
        reverse("core:oidc_callback"), {"code": code, "state": "forged-state"}, follow=True
    )
    _assert_nobody_signed_in(client)
    _assert_login_page_says(response, STALE_STATE)
    assert provider.token_requests == []


def test_callback_from_another_browser_is_refused(client, provider, linked_user):
    """Login CSRF: an attacker's code and state pushed into the victim's browser."""
    attacker = Client()
    callback_url = _at_provider(_start(attacker, provider))
    response = _back_at_callback(client, callback_url)
    _assert_nobody_signed_in(client)
    _assert_login_page_says(response, STALE_STATE)


def test_callback_cannot_be_replayed(client, provider, linked_user):
    callback_url = _at_provider(_start(client, provider))
    _back_at_callback(client, callback_url)
    assert client.session["_auth_user_id"] == str(linked_user.pk)
    client.post(reverse("core:logout"))
    AuditRecord.objects.filter(action="auth.login").delete()
    response = _back_at_callback(client, callback_url)
    _assert_nobody_signed_in(client)
    _assert_login_page_says(response, STALE_STATE)


# The ID token ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"nonce": "a-nonce-from-another-login"}, id="nonce-mismatch"),
        pytest.param({"nonce": None}, id="nonce-missing"),
        pytest.param({"iss": "http://127.0.0.1:9/another-issuer"}, id="other-issuer"),
        pytest.param({"aud": "another-client"}, id="other-audience"),
        pytest.param({"aud": "another-client", "azp": CLIENT_ID}, id="other-audience-with-azp"),
        pytest.param({"aud": [CLIENT_ID], "azp": "another-client"}, id="other-azp"),
        pytest.param({"exp": int(time.time()) - 3600}, id="expired"),
        pytest.param({"exp": None}, id="no-expiry"),
        pytest.param({"sub": None}, id="no-subject"),
    ],
)
def test_id_token_with_bad_claims_is_refused(client, provider, linked_user, claims):
    provider.claims = claims
    response = _sign_in_with_provider(client, provider)
    _assert_nobody_signed_in(client)
    _assert_login_page_says(response, NOT_VERIFIED)


@pytest.mark.parametrize("how", ["attacker-same-kid", "attacker", "none", "hs256-client-secret"])
def test_id_token_not_signed_by_the_provider_is_refused(client, provider, linked_user, how):
    provider.sign = how
    response = _sign_in_with_provider(client, provider)
    _assert_nobody_signed_in(client)
    _assert_login_page_says(response, NOT_VERIFIED)


def test_token_answer_without_id_token_is_refused(client, provider, linked_user):
    """An unsigned `userinfo` next to the access token must not stand in for the ID token."""
    provider.id_token = False
    provider.extra_token_fields = {"userinfo": {"sub": SUBJECT}}
    response = _sign_in_with_provider(client, provider)
    _assert_nobody_signed_in(client)
    _assert_login_page_says(response, NOT_VERIFIED)


def test_discovery_issuer_must_be_the_configured_one(client, provider, linked_user):
    """Between start and callback, discovery and ID token come to name another issuer."""
    callback_url = _at_provider(_start(client, provider))
    provider.metadata_overrides = {"issuer": "http://127.0.0.1:9/elsewhere"}
    provider.claims = {"iss": "http://127.0.0.1:9/elsewhere"}
    response = _back_at_callback(client, callback_url)
    _assert_nobody_signed_in(client)
    _assert_login_page_says(response, NOT_VERIFIED)


def test_discovery_with_another_issuer_answers_an_error_page(client, provider):
    provider.metadata_overrides = {"issuer": "http://127.0.0.1:9/elsewhere"}
    response = client.get(reverse("core:oidc_start"))
    assert response.status_code == 503
    assert MISCONFIGURED in html.unescape(response.content.decode())
    assert not [path for _, path, _ in provider.requests if path == "/authorize"]


def test_code_refused_by_token_endpoint(client, provider, linked_user):
    callback_url = _at_provider(_start(client, provider))
    provider.grants.clear()  # the code expired at the provider
    response = _back_at_callback(client, callback_url)
    _assert_nobody_signed_in(client)
    _assert_login_page_says(response, CODE_REFUSED)


# Accounts --------------------------------------------------------------------------------------


def test_unknown_subject_is_refused(client, provider, linked_user):
    provider.subject = "itsme-subject-of-a-stranger"
    response = _sign_in_with_provider(client, provider)
    _assert_nobody_signed_in(client)
    _assert_login_page_says(response, NOT_LINKED)


def test_subject_of_another_issuer_does_not_match(client, provider):
    user = user_in(OrganisationFactory(), Role.EMPLOYEE)
    user.oidc_subject = f"https://other-issuer.example|{SUBJECT}"
    user.save(update_fields=["oidc_subject"])
    response = _sign_in_with_provider(client, provider)
    _assert_nobody_signed_in(client)
    _assert_login_page_says(response, NOT_LINKED)


def test_inactive_account_is_refused(client, provider, linked_user):
    linked_user.is_active = False
    linked_user.save(update_fields=["is_active"])
    response = _sign_in_with_provider(client, provider)
    _assert_nobody_signed_in(client)
    _assert_login_page_says(response, NOT_LINKED)


def test_locked_account_is_refused(client, provider, linked_user):
    linked_user.locked_until = timezone.now() + timedelta(minutes=10)
    linked_user.save(update_fields=["locked_until"])
    response = _sign_in_with_provider(client, provider)
    _assert_nobody_signed_in(client)
    _assert_login_page_says(response, LOCKED)


# The provider says no, or is not there ---------------------------------------------------------


def test_provider_refusal_is_shown(client, provider, linked_user):
    provider.deny = True
    callback_url = _at_provider(_start(client, provider))
    assert _params(callback_url)["error"] == "access_denied"
    response = _back_at_callback(client, callback_url)
    _assert_nobody_signed_in(client)
    _assert_login_page_says(response, REFUSED)
    assert provider.token_requests == []


def test_error_text_from_the_query_is_not_echoed(client, provider, linked_user):
    """A crafted link must not put its own words on the login page."""
    _start(client, provider)
    words = "Your account is suspended, call +32 000 00 00"
    response = client.get(reverse("core:oidc_callback"), {"error": words}, follow=True)
    _assert_nobody_signed_in(client)
    _assert_login_page_says(response, "refused at the identity provider")
    assert words not in html.unescape(response.content.decode())


def test_unreachable_provider_at_start_answers_an_error_page(client, settings):
    with socket.socket() as probe:  # a loopback port that nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.OIDC_ISSUER = f"http://127.0.0.1:{port}"
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
    response = client.get(reverse("core:oidc_start"))
    assert response.status_code == 503
    assert UNREACHABLE in html.unescape(response.content.decode())
    _assert_nobody_signed_in(client)


def test_provider_gone_at_callback(client, provider, linked_user):
    callback_url = _at_provider(_start(client, provider))
    provider.stop()
    response = _back_at_callback(client, callback_url)
    _assert_nobody_signed_in(client)
    _assert_login_page_says(response, UNREACHABLE)


# Not configured --------------------------------------------------------------------------------


def test_not_configured(client, settings):
    settings.OIDC_ISSUER = ""
    for name in ("core:oidc_start", "core:oidc_callback"):
        response = client.get(reverse(name), {"code": "x", "state": "y"})
        assert response.status_code == 422
        assert "OpenID Connect login is not configured" in response.content.decode()
    assert reverse("core:oidc_start") not in client.get(reverse("core:login")).content.decode()
    _assert_nobody_signed_in(client)
