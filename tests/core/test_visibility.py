"""What must not leak between organisations (DESIGN.md §4), in selectors, pages and the API."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from port2port.core import audit, selectors, services
from port2port.core.models import (
    ApiToken,
    AuditRecord,
    Membership,
    Organisation,
    OrganisationKind,
    Person,
    User,
)
from port2port.core.roles import ROLE_PERMS, Perm, Role
from port2port.core.visibility import restrict

from .factories import OrganisationFactory, PersonFactory, PortFactory, sign_in, user_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_companies():
    port = PortFactory(locode="BEANR")
    a = OrganisationFactory(
        name="Alpha Terminal", ports=[port], kind=OrganisationKind.FACILITY_OPERATOR
    )
    b = OrganisationFactory(name="Bravo Haulage", ports=[port])
    officer_a = user_in(a, Role.PFSO)
    officer_b = user_in(b, Role.COMPANY_SECURITY_MANAGER)
    person_b = PersonFactory(organisation=b, given_name="Secret", family_name="Bravo")
    token_b, _ = services.token_create(
        actor=officer_b, organisation=b, name="gate", scopes=[Perm.CORE_PERSON_VIEW.value]
    )
    services.person_update(actor=officer_b, person=person_b, job_title="Planner")
    return {
        "a": a,
        "b": b,
        "officer_a": officer_a,
        "officer_b": officer_b,
        "person_b": person_b,
        "token_b": token_b,
    }


def test_selectors_hide_other_organisations(two_companies):
    officer_a, b = two_companies["officer_a"], two_companies["b"]
    assert not selectors.people_visible_to(officer_a).filter(organisation=b).exists()
    assert not selectors.memberships_visible_to(officer_a).filter(organisation=b).exists()
    assert not selectors.tokens_visible_to(officer_a).filter(organisation=b).exists()
    assert not selectors.audit_records_visible_to(officer_a).filter(organisation=b).exists()
    assert not selectors.organisations_visible_to(officer_a).filter(pk=b.pk).exists()
    assert selectors.people_visible_to(two_companies["officer_b"]).filter(organisation=b).exists()


def test_pages_answer_404_for_other_organisations(client, two_companies):
    sign_in(client, two_companies["officer_a"])
    b, person_b, token_b = two_companies["b"], two_companies["person_b"], two_companies["token_b"]
    for url in [
        f"/organisations/{b.pk}/",
        f"/organisations/{b.pk}/edit/",
        f"/organisations/{b.pk}/tokens/new/",
        f"/people/{person_b.pk}/",
        f"/people/{person_b.pk}/edit/",
    ]:
        assert client.get(url).status_code == 404, url
    assert client.post(f"/tokens/{token_b.pk}/revoke/").status_code == 404
    missing = "00000000-0000-4000-8000-000000000000"
    assert client.get(f"/people/{missing}/").status_code == 404
    listing = client.get("/people/").content.decode()
    assert "Secret" not in listing
    audit_page = client.get("/audit/").content.decode()
    assert "Bravo" not in audit_page
    assert (
        client.get(f"/audit/?organisation={b.pk}").content.decode().count("<tr>") == 1 + 1
    )  # head + "none"


def test_api_answers_404_for_other_organisations(client, two_companies):
    sign_in(client, two_companies["officer_a"])
    b, person_b = two_companies["b"], two_companies["person_b"]
    for url in [f"/api/v1/organisations/{b.pk}", f"/api/v1/people/{person_b.pk}"]:
        response = client.get(url)
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
    for url, key in [
        ("/api/v1/people", "id"),
        ("/api/v1/memberships", "organisation"),
        ("/api/v1/tokens", "organisation"),
        ("/api/v1/audit", "organisation"),
    ]:
        items = client.get(url).json()["items"]
        assert str(b.pk) not in {str(item.get(key)) for item in items} | {
            str(i.get("id")) for i in items
        }
        assert str(person_b.pk) not in str(items)


def test_port_authority_staff_see_their_ports_organisations_not_their_people():
    antwerp, liege = PortFactory(locode="BEANR"), PortFactory(locode="BELGG")
    authority = OrganisationFactory(kind=OrganisationKind.PORT_AUTHORITY, ports=[antwerp])
    terminal = OrganisationFactory(ports=[antwerp])
    far_away = OrganisationFactory(ports=[liege])
    lieutenant = user_in(authority, Role.PORT_AUTHORITY_OFFICER)
    PersonFactory(organisation=terminal)
    visible = set(selectors.organisations_visible_to(lieutenant).values_list("pk", flat=True))
    assert visible == {authority.pk, terminal.pk}
    assert far_away.pk not in visible
    assert not selectors.people_visible_to(lieutenant).filter(organisation=terminal).exists()


def test_platform_admin_sees_everything(two_companies):
    admin = user_in(OrganisationFactory(), Role.PLATFORM_ADMIN)
    assert selectors.people_visible_to(admin).filter(pk=two_companies["person_b"].pk).exists()
    assert selectors.tokens_visible_to(admin).filter(pk=two_companies["token_b"].pk).exists()


def test_a_write_that_would_leave_the_writers_view_is_undone(two_companies, monkeypatch):
    """After a write the result is re-checked; a result the writer may not see is rolled back."""
    from port2port.core import roles
    from port2port.core.errors import Forbidden

    a = two_companies["a"]
    # A role that may create people but not see them: the write succeeds, the re-check refuses.
    monkeypatch.setitem(
        roles.ROLE_PERMS,
        Role.EMPLOYEE,
        frozenset({Perm.CORE_PERSON_CREATE, Perm.CORE_ORGANISATION_VIEW}),
    )
    writer = user_in(a, Role.EMPLOYEE)
    with pytest.raises(Forbidden):
        services.person_create(
            actor=writer, organisation=a, given_name="Xavier", family_name="Ghost"
        )
    assert not Person.objects.filter(given_name="Xavier").exists()
    assert not AuditRecord.objects.filter(action="core.person.created", actor=writer).exists()


def test_token_sees_only_its_organisation_and_scope(client, two_companies):
    _, secret = services.token_create(
        actor=two_companies["officer_a"],
        organisation=two_companies["a"],
        name="reader",
        scopes=[Perm.CORE_PERSON_VIEW.value],
    )
    headers = {"Authorization": f"Bearer {secret}"}
    people = client.get("/api/v1/people", headers=headers).json()["items"]
    assert {p["organisation"] for p in people} == {str(two_companies["a"].pk)}
    response = client.get(f"/api/v1/people/{two_companies['person_b'].pk}", headers=headers)
    assert response.status_code == 404
    response = client.get("/api/v1/audit", headers=headers)
    assert response.status_code == 403
    assert "scope" in response.json()["message"]


# Property: the selector equals a brute-force oracle written from DESIGN.md §4 ------------------

PERMS = [
    Perm.CORE_ORGANISATION_VIEW,
    Perm.CORE_PERSON_VIEW,
    Perm.CORE_AUDIT_VIEW,
    Perm.CORE_TOKEN_VIEW,
]
KINDS = [
    OrganisationKind.PORT_AUTHORITY,
    OrganisationKind.FACILITY_OPERATOR,
    OrganisationKind.COMPANY,
]


def _oracle(user: User, perm: Perm, obj_org: Organisation, memberships: list[Membership]) -> bool:
    if not user.is_active:
        return False
    mine = [m for m in memberships if m.user_id == user.pk]
    if any(Role.PLATFORM_ADMIN in m.roles for m in mine):
        return True
    for m in mine:
        held = set()
        for role in m.roles:
            held |= ROLE_PERMS[Role(role)]
        if perm in held and m.organisation_id == obj_org.pk:
            return True
        if (
            perm == Perm.CORE_ORGANISATION_VIEW
            and m.organisation.kind == OrganisationKind.PORT_AUTHORITY
            and {Role.PORT_SECURITY_OFFICER, Role.PORT_AUTHORITY_OFFICER} & set(m.roles)
            and set(m.organisation.ports.values_list("pk", flat=True))
            & set(obj_org.ports.values_list("pk", flat=True))
        ):
            return True
    return False


world = st.fixed_dictionaries(
    {
        "ports": st.integers(1, 3),
        "orgs": st.lists(
            st.tuples(st.sampled_from(KINDS), st.sets(st.integers(0, 2), min_size=1)),
            min_size=2,
            max_size=4,
        ),
        "users": st.lists(
            st.tuples(
                st.lists(
                    st.tuples(
                        st.integers(0, 3),
                        st.sets(st.sampled_from(list(Role)), min_size=1, max_size=2),
                    ),
                    max_size=2,
                ),
                st.booleans(),
            ),
            min_size=1,
            max_size=4,
        ),
    }
)


class _Rollback(Exception):
    pass


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(world)
def test_selectors_match_the_oracle(data):
    try:
        with transaction.atomic():
            ports = [PortFactory() for _ in range(data["ports"])]
            orgs = []
            for kind, port_ix in data["orgs"]:
                orgs.append(
                    OrganisationFactory(kind=kind, ports=[ports[i % len(ports)] for i in port_ix])
                )
            users = []
            for grants, active in data["users"]:
                user = user_in(orgs[0])
                user.is_active = active
                user.save()
                for org_ix, roles in grants:
                    Membership.objects.update_or_create(
                        user=user,
                        organisation=orgs[org_ix % len(orgs)],
                        defaults={"roles": sorted(roles)},
                    )
                users.append(User.objects.get(pk=user.pk))
            for org in orgs:
                PersonFactory(organisation=org)
                audit.record(None, "test.event", org)
                ApiToken.objects.create(
                    organisation=org, name="t", prefix=f"x{org.pk.hex[:10]}", secret_hash="0"
                )
            memberships = list(Membership.objects.select_related("organisation"))
            for user in users:
                for perm in PERMS:
                    model = {
                        Perm.CORE_ORGANISATION_VIEW: Organisation,
                        Perm.CORE_PERSON_VIEW: Person,
                        Perm.CORE_AUDIT_VIEW: AuditRecord,
                        Perm.CORE_TOKEN_VIEW: ApiToken,
                    }[perm]
                    got = set(
                        restrict(model.objects.all(), user, perm).values_list("pk", flat=True)
                    )
                    expected = set()
                    for obj in model.objects.all():
                        org = obj if isinstance(obj, Organisation) else obj.organisation
                        if org is not None and _oracle(user, perm, org, memberships):
                            expected.add(obj.pk)
                    if (
                        any(
                            Role.PLATFORM_ADMIN in m.roles
                            for m in memberships
                            if m.user_id == user.pk
                        )
                        and user.is_active
                    ):
                        expected = set(model.objects.values_list("pk", flat=True))
                    assert got == expected, (user.username, perm)
            raise _Rollback
    except _Rollback:
        pass
