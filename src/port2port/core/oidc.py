"""OpenID Connect login (itsme or any provider) through Authlib: code flow with state and nonce.

Besides what Authlib checks (state, ID token signature against the provider's JWKS, nonce,
expiry), this module insists on what OpenID Connect requires and Authlib 1.9 leaves out:
the discovery document names the configured issuer (Discovery §4.3), the ID token's `aud`
contains our client id (Core §3.1.3.7), and the subject comes from a verified ID token only,
never from unsigned fields of the token response. Users see short fixed messages; the details
go to the log.
"""

from __future__ import annotations

import logging

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.django_client import OAuth
from authlib.oidc.core import UserInfo
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from joserfc.errors import JoseError

from .errors import AppError, NotAuthenticated

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10

# Error codes a provider may send back to the redirect URI (RFC 6749 §4.1.2.1, OIDC Core
# §3.1.2.6). Only these are shown; anything else in `?error=` is someone else's text.
_PROVIDER_ERRORS = frozenset(
    {
        "access_denied",
        "account_selection_required",
        "consent_required",
        "interaction_required",
        "invalid_request",
        "invalid_request_object",
        "invalid_request_uri",
        "invalid_scope",
        "login_required",
        "registration_not_supported",
        "request_not_supported",
        "request_uri_not_supported",
        "server_error",
        "temporarily_unavailable",
        "unauthorized_client",
        "unsupported_response_type",
    }
)

MSG_UNREACHABLE = gettext_lazy(
    "the identity provider cannot be reached at the moment; try again later"
)
MSG_MISCONFIGURED = gettext_lazy(
    "the identity provider does not match this platform's configuration; "
    "tell the platform administrator"
)
MSG_STALE_STATE = gettext_lazy(
    "this sign-in attempt has expired or was started in another browser; please start again"
)
MSG_CODE_REFUSED = gettext_lazy(
    "the identity provider did not accept the sign-in code; please start again"
)
MSG_NOT_VERIFIED = gettext_lazy(
    "the identity provider's answer could not be verified; please start again"
)


class ProviderUnavailable(AppError):
    """The provider cannot be used now (unreachable, or its discovery document is wrong)."""

    code = "provider_unavailable"
    status = 503


class _IssuerMismatch(Exception):
    pass


def _issuer() -> str:
    return settings.OIDC_ISSUER.rstrip("/")


def _scope() -> str:
    """The configured scopes, always with `openid`: without it Authlib sends no nonce."""
    scopes = settings.OIDC_SCOPES.split()
    return " ".join(scopes if "openid" in scopes else ["openid", *scopes])


def _client():
    oauth = OAuth()
    return oauth.register(
        name="oidc",
        client_id=settings.OIDC_CLIENT_ID,
        client_secret=settings.OIDC_CLIENT_SECRET,
        server_metadata_url=_issuer() + "/.well-known/openid-configuration",
        client_kwargs={"scope": _scope(), "default_timeout": TIMEOUT_SECONDS},
    )


def _metadata(client) -> dict:
    """The provider's discovery document, which must name the configured issuer."""
    metadata = client.load_server_metadata()
    issuer = metadata.get("issuer")
    if not isinstance(issuer, str) or issuer.rstrip("/") != _issuer():
        raise _IssuerMismatch(f"discovery names issuer {issuer!r}, configured {_issuer()!r}")
    return metadata


def oidc_redirect(request, redirect_uri: str):
    """Send the browser to the provider; Authlib keeps state and nonce in the session."""
    client = _client()
    try:
        _metadata(client)
        return client.authorize_redirect(request, redirect_uri)
    except _IssuerMismatch as exc:
        log.error("OpenID Connect: %s", exc)
        raise ProviderUnavailable(MSG_MISCONFIGURED) from exc
    except (requests.RequestException, ValueError, RuntimeError) as exc:
        log.warning("OpenID Connect: provider not usable at sign-in start: %s", exc)
        raise ProviderUnavailable(MSG_UNREACHABLE) from exc


def _forget_state(request, client) -> None:
    state = request.GET.get("state")
    if state:
        client.framework.clear_state_data(request.session, state)


def oidc_subject_from_callback(request) -> str:
    """Exchange the code, check state, ID token signature, issuer, audience and nonce; return `sub`."""
    client = _client()
    error = request.GET.get("error")
    if error:
        _forget_state(request, client)
        shown = f" ({error})" if error in _PROVIDER_ERRORS else ""
        raise NotAuthenticated(
            _("the sign-in was cancelled or refused at the identity provider%(detail)s")
            % {"detail": shown}
        )
    try:
        metadata = _metadata(client)
        token = client.authorize_access_token(
            request,
            claims_options={
                "iss": {"essential": True, "values": [metadata["issuer"]]},
                "aud": {"essential": True, "values": [settings.OIDC_CLIENT_ID]},
            },
        )
    except MismatchingStateError as exc:  # no, an unknown, or an already used state: CSRF guard
        raise NotAuthenticated(MSG_STALE_STATE) from exc
    except OAuthError as exc:  # the token endpoint refused the code or the client
        log.warning("OpenID Connect: token endpoint refused: %s", exc)
        raise NotAuthenticated(MSG_CODE_REFUSED) from exc
    except requests.RequestException as exc:
        log.warning("OpenID Connect: provider not reachable at callback: %s", exc)
        raise NotAuthenticated(MSG_UNREACHABLE) from exc
    except (_IssuerMismatch, JoseError) as exc:
        log.warning("OpenID Connect: ID token or discovery not accepted: %s", exc)
        raise NotAuthenticated(MSG_NOT_VERIFIED) from exc
    except Exception as exc:  # anything else Authlib or the provider may throw at us
        log.warning("OpenID Connect: answer not accepted", exc_info=True)
        raise NotAuthenticated(MSG_NOT_VERIFIED) from exc
    # Authlib sets `userinfo` to the verified ID token claims; a `userinfo` (or no `id_token`)
    # that came as plain JSON in the token response proves nothing.
    claims = token.get("userinfo")
    if "id_token" not in token or not isinstance(claims, UserInfo):
        log.warning("OpenID Connect: token response without a verified ID token")
        raise NotAuthenticated(MSG_NOT_VERIFIED)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise NotAuthenticated(MSG_NOT_VERIFIED)
    return f"{_issuer()}|{subject}"
