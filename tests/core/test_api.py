"""The API: one error shape for every failure, pagination, organisation tokens with scopes."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from port2port.core import services
from port2port.core.models import ApiToken, Organisation, OrganisationKind
from port2port.core.roles import Perm, Role

from .factories import OrganisationFactory, PersonFactory, PortFactory, sign_in, user_in

pytestmark = pytest.mark.django_db


def assert_error_shape(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error", "message", "fields"}
    assert body["error"] == code
    assert body["message"]
    return body


@pytest.fixture
def admin(client):
    PortFactory(locode="BEANR")
    user = user_in(OrganisationFactory(), Role.PLATFORM_ADMIN)
    sign_in(client, user)
    return user


@pytest.fixture
def org_and_officer():
    org = OrganisationFactory(kind=OrganisationKind.FACILITY_OPERATOR)
    return org, user_in(org, Role.PFSO)


def token_for(org, officer, *scopes, **kwargs):
    _, secret = services.token_create(
        actor=officer, organisation=org, name="machine", scopes=list(scopes), **kwargs
    )
    return {"Authorization": f"Bearer {secret}"}


def test_admin_creates_an_organisation(client, admin):
    payload = {
        "name": "Kallo Tank Terminal",
        "kind": "facility_operator",
        "ports": ["BEANR"],
        "vat_number": "BE 0123.456.749",
    }
    response = client.post("/api/v1/organisations", payload, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["vat_number"] == "BE0123456749"
    assert response.json()["ports"] == ["BEANR"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("vat_number", "BE0123456748"),
        ("eori_number", "??"),
        ("ports", ["XXXXX"]),
        ("kind", "pirates"),
    ],
)
def test_invalid_values_name_the_field_and_store_nothing(client, admin, field, value):
    payload = {"name": "Half Saved NV", "kind": "company", "ports": ["BEANR"], field: value}
    body = assert_error_shape(
        client.post("/api/v1/organisations", payload, content_type="application/json"),
        422,
        "invalid",
    )
    assert field in body["fields"]
    assert not Organisation.objects.filter(name="Half Saved NV").exists()


def test_schema_errors_are_422_with_fields(client, admin):
    body = assert_error_shape(
        client.post("/api/v1/organisations", {"kind": "company"}, content_type="application/json"),
        422,
        "invalid",
    )
    assert "name" in body["fields"]


def test_malformed_json_is_400(client, admin):
    assert_error_shape(
        client.post("/api/v1/organisations", "{not json", content_type="application/json"),
        400,
        "bad_request",
    )


def test_unauthenticated_is_401(client):
    assert_error_shape(client.get("/api/v1/people"), 401, "not_authenticated")


@pytest.mark.parametrize(
    "header, reason",
    [
        ("Bearer nonsense", "malformed"),
        ("Bearer p2p_abc_def", "unknown"),
        ("Bearer p2p__", "malformed"),
    ],
)
def test_malformed_or_unknown_tokens_are_401_with_the_reason(client, header, reason):
    body = assert_error_shape(
        client.get("/api/v1/people", headers={"Authorization": header}), 401, "not_authenticated"
    )
    assert reason in body["message"]


def test_forbidden_is_403(client, org_and_officer):
    _, officer = org_and_officer
    sign_in(client, officer)
    assert_error_shape(
        client.post(
            "/api/v1/organisations",
            {"name": "X", "kind": "company", "ports": []},
            content_type="application/json",
        ),
        403,
        "forbidden",
    )


def test_not_found_is_404(client, admin):
    assert_error_shape(
        client.get("/api/v1/people/00000000-0000-4000-8000-000000000000"), 404, "not_found"
    )
    assert_error_shape(client.get("/api/v1/people/not-a-uuid"), 422, "invalid")


def test_conflict_is_409(client, org_and_officer):
    org, officer = org_and_officer
    sign_in(client, officer)
    token, _ = services.token_create(
        actor=officer, organisation=org, name="t", scopes=["core:person:view"]
    )
    assert client.delete(f"/api/v1/tokens/{token.pk}").status_code == 200
    assert_error_shape(client.delete(f"/api/v1/tokens/{token.pk}"), 409, "conflict")


def test_throttling_is_429(client, org_and_officer, monkeypatch):
    from ninja.throttling import AuthRateThrottle

    from port2port.urls import api

    org, officer = org_and_officer
    headers = token_for(org, officer, "core:port:view")
    for throttle in api.throttle:
        if isinstance(throttle, AuthRateThrottle):
            monkeypatch.setattr(throttle, "num_requests", 3)
    statuses = [client.get("/api/v1/ports", headers=headers).status_code for _ in range(6)]
    assert statuses[:3] == [200, 200, 200]
    assert 429 in statuses
    assert_error_shape(client.get("/api/v1/ports", headers=headers), 429, "throttled")


def test_lists_are_paginated(client, org_and_officer):
    org, officer = org_and_officer
    for _ in range(7):
        PersonFactory(organisation=org)
    sign_in(client, officer)
    page = client.get("/api/v1/people?page=2&page_size=3").json()
    assert page["count"] == 8  # seven plus the officer
    assert len(page["items"]) == 3


def test_token_is_shown_once_and_stored_as_a_hash(client, org_and_officer):
    org, officer = org_and_officer
    sign_in(client, officer)
    response = client.post(
        "/api/v1/tokens",
        {"organisation": str(org.pk), "name": "gate controller", "scopes": ["core:person:view"]},
        content_type="application/json",
    )
    assert response.status_code == 201
    secret = response.json()["secret"]
    token = ApiToken.objects.get(pk=response.json()["id"])
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps(list(ApiToken.objects.values()), default=str)
    listed = client.get("/api/v1/tokens").json()["items"]
    assert "secret" not in listed[0]


def test_unknown_scope_is_refused(client, org_and_officer):
    org, officer = org_and_officer
    sign_in(client, officer)
    body = assert_error_shape(
        client.post(
            "/api/v1/tokens",
            {"organisation": str(org.pk), "name": "x", "scopes": ["core:everything:do"]},
            content_type="application/json",
        ),
        422,
        "invalid",
    )
    assert "scopes" in body["fields"]


def test_token_scopes_limit_what_a_token_does(client, org_and_officer):
    org, officer = org_and_officer
    headers = token_for(org, officer, Perm.CORE_PERSON_VIEW.value)
    assert client.get("/api/v1/people", headers=headers).status_code == 200
    assert_error_shape(client.get("/api/v1/audit", headers=headers), 403, "forbidden")
    response = client.post(
        "/api/v1/people",
        {"organisation": str(org.pk), "given_name": "A", "family_name": "B"},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code in {403, 404}
    # Tokens cannot issue tokens.
    assert_error_shape(
        client.post(
            "/api/v1/tokens",
            {"organisation": str(org.pk), "name": "x", "scopes": ["core:port:view"]},
            content_type="application/json",
            headers=headers,
        ),
        403,
        "forbidden",
    )


def test_token_with_write_scope_creates_people_in_its_organisation_only(client, org_and_officer):
    org, officer = org_and_officer
    other = OrganisationFactory()
    headers = token_for(
        org, officer, "core:person:create", "core:person:view", "core:organisation:view"
    )
    ok = client.post(
        "/api/v1/people",
        {"organisation": str(org.pk), "given_name": "Anna", "family_name": "Vos"},
        content_type="application/json",
        headers=headers,
    )
    assert ok.status_code == 201
    elsewhere = client.post(
        "/api/v1/people",
        {"organisation": str(other.pk), "given_name": "Anna", "family_name": "Vos"},
        content_type="application/json",
        headers=headers,
    )
    assert_error_shape(elsewhere, 404, "not_found")


def test_revoked_and_expired_tokens_stop_working(client, org_and_officer):
    org, officer = org_and_officer
    token, secret = services.token_create(
        actor=officer, organisation=org, name="t", scopes=["core:port:view"]
    )
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/ports", headers=headers).status_code == 200
    services.token_revoke(actor=officer, token=token)
    assert (
        "revoked"
        in assert_error_shape(
            client.get("/api/v1/ports", headers=headers), 401, "not_authenticated"
        )["message"]
    )
    token2, secret2 = services.token_create(
        actor=officer,
        organisation=org,
        name="t2",
        scopes=["core:port:view"],
        expires_at=timezone.now() + timedelta(hours=1),
    )
    ApiToken.objects.filter(pk=token2.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    body = assert_error_shape(
        client.get("/api/v1/ports", headers={"Authorization": f"Bearer {secret2}"}),
        401,
        "not_authenticated",
    )
    assert "expired" in body["message"]


def test_membership_with_unknown_role_is_refused(client, admin):
    org = OrganisationFactory()
    target = user_in(org)
    body = assert_error_shape(
        client.put(
            "/api/v1/memberships",
            {"user": str(target.pk), "organisation": str(org.pk), "roles": ["pirate_king"]},
            content_type="application/json",
        ),
        422,
        "invalid",
    )
    assert "roles" in body["fields"]
    response = client.put(
        "/api/v1/memberships",
        {"user": str(target.pk), "organisation": str(org.pk), "roles": ["employee"]},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["roles"] == ["employee"]


def test_openapi_docs_are_served(client):
    assert client.get("/api/v1/docs").status_code == 200
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/organisations" in schema["paths"]


def test_a_token_never_gets_more_than_its_issuer_holds(client, monkeypatch):
    from port2port.core import roles

    # PFSOs without core:audit:view for this test: their tokens may not have it either.
    monkeypatch.setitem(
        roles.ROLE_PERMS, Role.PFSO, roles.ROLE_PERMS[Role.PFSO] - {Perm.CORE_AUDIT_VIEW}
    )
    org = OrganisationFactory()
    sign_in(client, user_in(org, Role.PFSO))
    body = assert_error_shape(
        client.post(
            "/api/v1/tokens",
            {"organisation": str(org.pk), "name": "x", "scopes": ["core:audit:view"]},
            content_type="application/json",
        ),
        422,
        "invalid",
    )
    assert "do not hold" in body["fields"]["scopes"]
    assert not ApiToken.objects.filter(organisation=org).exists()
