"""A platform admin creates an organisation, adds a person, gives a role, a clearance and a token."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from port2port.core.models import ApiToken, AuditRecord, Membership, Organisation, Person, User
from port2port.core.roles import Role

from .factories import OrganisationFactory, PersonFactory, PortFactory, sign_in, user_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    user = user_in(OrganisationFactory(), Role.PLATFORM_ADMIN)
    sign_in(client, user)
    return user


def test_whole_onboarding_through_the_pages(client, admin):
    port = PortFactory(locode="BEZEE", name="Zeebrugge")
    # 1. Organisation, with a bad VAT number first: the error names the field, nothing is saved.
    form = {
        "name": "Zeebrugge Reefer Terminal",
        "kind": "facility_operator",
        "ports": [str(port.pk)],
        "vat_number": "BE0123456748",
    }
    response = client.post("/organisations/new/", form)
    assert response.status_code == 200
    assert "check digits" in response.content.decode()
    assert not Organisation.objects.filter(name="Zeebrugge Reefer Terminal").exists()
    form["vat_number"] = "BE0123456749"
    response = client.post("/organisations/new/", form)
    organisation = Organisation.objects.get(name="Zeebrugge Reefer Terminal")
    assert response["Location"] == f"/organisations/{organisation.pk}/"

    # 2. A person, then an account for them.
    response = client.post(
        "/people/new/",
        {
            "organisation": str(organisation.pk),
            "given_name": "Sara",
            "family_name": "Peeters",
            "email": "Sara@Example.org",
        },
    )
    person = Person.objects.get(family_name="Peeters", organisation=organisation)
    assert person.email == "sara@example.org"
    response = client.post(
        f"/people/{person.pk}/account/", {"username": "sara.p", "password": "short"}
    )
    assert response.status_code == 422
    assert "too short" in response.content.decode()
    response = client.post(
        f"/people/{person.pk}/account/", {"username": "sara.p", "password": "a long passphrase 42"}
    )
    assert response.status_code == 302
    account = User.objects.get(username="sara.p")

    # 3. A role; an unknown role is refused.
    response = client.post(
        f"/people/{person.pk}/roles/", {"organisation": str(organisation.pk), "roles": ["pirate"]}
    )
    assert response.status_code == 422
    client.post(
        f"/people/{person.pk}/roles/", {"organisation": str(organisation.pk), "roles": ["pfso"]}
    )
    assert Membership.objects.get(user=account).roles == ["pfso"]

    # 4. A clearance; an expired one is refused with a message naming the date.
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    response = client.post(
        f"/people/{person.pk}/clearance/", {"level": "confidential", "valid_until": yesterday}
    )
    assert response.status_code == 422
    assert "already expired" in response.content.decode()
    account.refresh_from_db()
    assert account.clearance_level == "none"
    next_year = (timezone.localdate() + timedelta(days=365)).isoformat()
    client.post(
        f"/people/{person.pk}/clearance/", {"level": "confidential", "valid_until": next_year}
    )
    account.refresh_from_db()
    assert account.clearance_level == "confidential"
    assert account.requires_second_factor

    # 5. A scoped API token, shown once.
    response = client.post(
        f"/organisations/{organisation.pk}/tokens/new/",
        {"name": "gate controller", "scopes": ["core:person:view"], "expires_in_days": "30"},
    )
    secret = re.search(r'data-testid="token-secret">([^<]+)<', response.content.decode()).group(1)
    assert secret.startswith("p2p_")
    assert response["Cache-Control"] == "no-store"
    page = client.get(f"/organisations/{organisation.pk}/").content.decode()
    assert secret not in page
    assert ApiToken.objects.get(organisation=organisation).prefix in page
    api = client.get("/api/v1/people", headers={"Authorization": f"Bearer {secret}"})
    assert [p["family_name"] for p in api.json()["items"]] == ["Peeters"]

    actions = set(AuditRecord.objects.values_list("action", flat=True))
    assert {
        "core.organisation.created",
        "core.person.created",
        "core.user.created",
        "core.membership.set",
        "core.clearance.set",
        "core.token.created",
    } <= actions


def test_only_platform_admins_create_organisations_and_grant_clearances(client):
    org = OrganisationFactory()
    officer = user_in(org, Role.PORT_SECURITY_OFFICER)
    sign_in(client, officer)
    assert client.get("/organisations/new/").status_code == 403
    colleague = user_in(org, Role.EMPLOYEE)
    next_year = (timezone.localdate() + timedelta(days=365)).isoformat()
    response = client.post(
        f"/people/{colleague.person.pk}/clearance/", {"level": "secret", "valid_until": next_year}
    )
    assert response.status_code == 422
    colleague.refresh_from_db()
    assert colleague.clearance_level == "none"


def test_officers_cannot_make_anyone_platform_admin(client):
    org = OrganisationFactory()
    officer = user_in(org, Role.PORT_SECURITY_OFFICER)
    colleague = user_in(org, Role.EMPLOYEE)
    sign_in(client, officer)
    client.post(
        f"/people/{colleague.person.pk}/roles/",
        {"organisation": str(org.pk), "roles": ["platform_admin"]},
    )
    assert Membership.objects.get(user=colleague).roles == ["employee"]
    client.post(
        f"/people/{colleague.person.pk}/roles/",
        {"organisation": str(org.pk), "roles": ["security_desk"]},
    )
    assert Membership.objects.get(user=colleague).roles == ["security_desk"]


def test_officers_manage_only_their_own_organisation(client):
    org, other = OrganisationFactory(), OrganisationFactory()
    officer = user_in(org, Role.COMPANY_SECURITY_MANAGER)
    stranger = PersonFactory(organisation=other)
    sign_in(client, officer)
    response = client.post(
        "/people/new/", {"organisation": str(other.pk), "given_name": "X", "family_name": "Y"}
    )
    assert response.status_code == 200
    assert not Person.objects.filter(given_name="X").exists()
    assert (
        client.post(
            f"/people/{stranger.pk}/account/", {"username": "x", "password": "a long passphrase 42"}
        ).status_code
        == 404
    )


def test_dashboard_shows_organisation_ports_people_and_audit(client):
    port = PortFactory(locode="BEANR", name="Antwerp")
    org = OrganisationFactory(name="Port of Antwerp-Bruges", ports=[port])
    officer = user_in(org, Role.PORT_SECURITY_OFFICER)
    PersonFactory(organisation=org, given_name="Koen", family_name="Colleague")
    from port2port.core import audit

    audit.record(officer, "core.person.created", org)
    sign_in(client, officer)
    page = client.get("/").content.decode()
    for text in ["Port of Antwerp-Bruges", "Antwerp", "BEANR", "Colleague", "core.person.created"]:
        assert text in page


def test_admin_dashboard_lists_platform_wide_audit_records(client, admin):
    from port2port.core import audit

    audit.record(None, "demo.seeded", details={"created": 1})  # a record of no organisation
    page = client.get("/")
    assert page.status_code == 200
    assert "demo.seeded" in page.content.decode()
    assert client.get("/audit/").status_code == 200


def test_audit_page_filters(client):
    org = OrganisationFactory()
    officer = user_in(org, Role.PFSO)
    from port2port.core import audit

    audit.record(officer, "core.person.created", org)
    audit.record(officer, "core.token.created", org)
    sign_in(client, officer)
    page = client.get("/audit/?action=core.token").content.decode()
    assert "core.token.created" in page
    assert "core.person.created" not in page
    partial = client.get(
        "/audit/?action=core.person", headers={"HX-Request": "true"}
    ).content.decode()
    assert "<html" not in partial
    assert "core.person.created" in partial


def test_linking_an_itsme_identity(client, admin, settings):
    settings.OIDC_ISSUER = "https://idp.example.test/"
    person = PersonFactory(organisation=OrganisationFactory())
    account = user_in(person.organisation, Role.EMPLOYEE)
    response = client.post(f"/people/{account.person.pk}/identity/", {"oidc_subject": "abc-123"})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.oidc_subject == "https://idp.example.test|abc-123"
    assert AuditRecord.objects.filter(action="auth.oidc.linked", object_id=str(account.pk)).exists()
    other = user_in(person.organisation, Role.EMPLOYEE)
    response = client.post(f"/people/{other.person.pk}/identity/", {"oidc_subject": "abc-123"})
    assert response.status_code == 422
    assert "another account" in response.content.decode()
