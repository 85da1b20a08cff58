"""Who may manage whose account and roles; passwords; bad input that must not crash."""

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from port2port.core.models import AuditRecord, ClearanceLevel, Membership, OrganisationKind
from port2port.core.roles import Role

from .factories import OrganisationFactory, PortFactory, sign_in, user_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def company():
    return OrganisationFactory()


def test_officers_cannot_take_over_protected_accounts(client, company):
    officer = user_in(company, Role.COMPANY_SECURITY_MANAGER)
    admin = user_in(company, Role.PLATFORM_ADMIN)
    cleared = user_in(company, Role.EMPLOYEE, clearance=ClearanceLevel.CONFIDENTIAL)
    TOTPDevice.objects.create(user=cleared, name="phone", confirmed=True)
    sign_in(client, officer)
    for target in (admin, cleared):
        for action in ("reset-totp", "deactivate"):
            response = client.post(f"/people/{target.person.pk}/account/{action}/")
            assert response.status_code == 403, (target, action)
        response = client.post(
            f"/people/{target.person.pk}/identity/", {"oidc_subject": "my-own-itsme"}
        )
        assert response.status_code == 422
        target.refresh_from_db()
        assert target.is_active and not target.oidc_subject
    assert TOTPDevice.objects.filter(user=cleared).exists()


def test_officers_manage_ordinary_staff(client, company):
    officer = user_in(company, Role.COMPANY_SECURITY_MANAGER)
    staff = user_in(company, Role.EMPLOYEE)
    sign_in(client, officer)
    assert client.post(f"/people/{staff.person.pk}/account/deactivate/").status_code == 302
    staff.refresh_from_db()
    assert not staff.is_active


def test_officers_grant_only_their_own_or_lesser_roles(client):
    port = PortFactory()
    authority = OrganisationFactory(kind=OrganisationKind.PORT_AUTHORITY, ports=[port])
    pfso = user_in(authority, Role.PFSO)
    colleague = user_in(authority, Role.EMPLOYEE)
    sign_in(client, pfso)
    for role in ["port_security_officer", "police_liaison", "lcmb_member", "platform_admin"]:
        client.post(
            f"/people/{pfso.person.pk}/roles/",
            {"organisation": str(authority.pk), "roles": ["pfso", role]},
        )
        assert Membership.objects.get(user=pfso).roles == ["pfso"], role
    client.post(
        f"/people/{colleague.person.pk}/roles/",
        {"organisation": str(authority.pk), "roles": ["pfso"]},
    )
    assert Membership.objects.get(user=colleague).roles == ["pfso"]  # their own role: allowed
    client.post(
        f"/people/{colleague.person.pk}/roles/",
        {"organisation": str(authority.pk), "roles": ["security_desk"]},
    )
    assert Membership.objects.get(user=colleague).roles == ["security_desk"]


def test_password_set_by_an_officer_must_be_replaced(client, company):
    officer = user_in(company, Role.COMPANY_SECURITY_MANAGER)
    staff = user_in(company, Role.EMPLOYEE)
    sign_in(client, officer)
    client.post(
        f"/people/{staff.person.pk}/account/reset-password/", {"password": "temporary passphrase 1"}
    )
    staff.refresh_from_db()
    assert staff.must_change_password
    client.post("/logout/")
    client.post("/login/", {"username": staff.username, "password": "temporary passphrase 1"})
    assert client.get("/")["Location"] == "/account/password/"
    response = client.post(
        "/account/password/", {"old_password": "wrong", "new_password": "my own passphrase 2"}
    )
    assert "not right" in response.content.decode()
    response = client.post(
        "/account/password/",
        {"old_password": "temporary passphrase 1", "new_password": "my own passphrase 2"},
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # still signed in
    staff.refresh_from_db()
    assert staff.check_password("my own passphrase 2") and not staff.must_change_password
    assert AuditRecord.objects.filter(action="auth.password.changed", actor=staff).exists()


def test_duplicate_vat_names_the_field(client):
    PortFactory(locode="BEANR")
    OrganisationFactory(vat_number="BE0123456749")
    sign_in(client, user_in(OrganisationFactory(), Role.PLATFORM_ADMIN))
    response = client.post(
        "/api/v1/organisations",
        {"name": "Copycat NV", "kind": "company", "ports": ["BEANR"], "vat_number": "BE0123456749"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "already has this VAT" in response.json()["fields"]["vat_number"]


@pytest.mark.parametrize(
    "url",
    [
        "/people/?q=a%00b",
        "/organisations/?q=a%00b",
        "/api/v1/people?q=a%00b",
        "/api/v1/audit?action=a%00",
    ],
)
def test_nul_characters_are_refused_not_crashing(client, company, url):
    sign_in(client, user_in(company, Role.PFSO))
    response = client.get(url)
    assert response.status_code == 400


def test_nul_in_json_is_refused(client, company):
    sign_in(client, user_in(company, Role.PFSO))
    response = client.post(
        "/api/v1/people",
        '{"organisation": "' + str(company.pk) + '", "given_name": "a\\u0000", "family_name": "b"}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_api_bad_query_values_and_unknown_paths_use_the_error_shape(client, company):
    sign_in(client, user_in(company, Role.PFSO))
    response = client.get("/api/v1/audit?organisation=not-a-uuid")
    assert response.status_code == 422 and "organisation" in response.json()["fields"]
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    response = client.delete("/api/v1/people")
    assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"
    response = client.get("/api/v1/people", headers={"Authorization": "Bearer junk"})
    assert response.status_code == 401 and "authorization" in response.json()["fields"]


def test_a_write_scope_needs_its_view_scope(client, company):
    officer = user_in(company, Role.PFSO)
    sign_in(client, officer)
    response = client.post(
        "/api/v1/tokens",
        {"organisation": str(company.pk), "name": "x", "scopes": ["core:person:create"]},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "core:person:view" in response.json()["fields"]["scopes"]
