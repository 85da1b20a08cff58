"""The desk, the decision log and a person's access page; the ban alerts the employer."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from port2port.access import services
from port2port.access.models import AccessAlert, Badge
from port2port.core.models import AuditRecord, OrganisationKind
from port2port.core.roles import Role
from port2port.sites.models import Gate, Zone

from ..core.factories import OrganisationFactory, PersonFactory, PortFactory, sign_in, user_in

POINT = {"type": "Point", "coordinates": [4.3, 51.28]}
pytestmark = pytest.mark.django_db


@pytest.fixture
def w(django_capture_on_commit_callbacks):
    port = PortFactory(locode="BEANR")
    authority = OrganisationFactory(kind=OrganisationKind.PORT_AUTHORITY, ports=[port])
    terminal = OrganisationFactory(
        kind=OrganisationKind.FACILITY_OPERATOR, ports=[port], name="SCT"
    )
    haulier = OrganisationFactory(ports=[port], name="Flanders Haulage")
    yard = Zone.objects.create(port=port, code="YARD", name="Yard", geometry=POINT)
    gate = Gate.objects.create(port=port, code="SCT-G1", name="Gate 1", geometry=POINT)
    gate.leads_into.set([yard])
    csm = user_in(haulier, Role.COMPANY_SECURITY_MANAGER, email="csm@haulage.example")
    control = user_in(authority, Role.CONTROL_ROOM_OPERATOR, email="ccr@port.example")
    pso = user_in(authority, Role.PORT_SECURITY_OFFICER)
    desk = user_in(terminal, Role.SECURITY_DESK)
    driver = PersonFactory(organisation=haulier, given_name="Yusuf", family_name="Demir")
    services.badge_issue(actor=csm, person=driver, number="AP-100015")
    services.right_grant(actor=csm, person=driver, zone=yard)
    return locals()


def test_ban_refused_at_the_gate_desk_sees_the_reason_employer_alerted(
    w, client, django_capture_on_commit_callbacks
):
    sign_in(client, w["desk"])
    response = client.post("/access/", {"gate": "SCT-G1", "badge": "ap-100015", "direction": "in"})
    assert (
        'data-testid="decision"' in response.content.decode()
        and "GRANTED" in response.content.decode()
    )
    sign_in(client, w["pso"])
    assert (
        client.get(f"/access/people/{w['driver'].pk}/").status_code == 200
    )  # a ban registrar finds anyone
    assert AuditRecord.objects.filter(action="access.person.viewed", actor=w["pso"]).exists()
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/access/people/{w['driver'].pk}/ban/",
            {
                "starts_on": today.isoformat(),
                "ends_on": (today + timedelta(days=365)).isoformat(),
                "source": "Court of Antwerp",
            },
        )
    assert response.status_code == 302
    sign_in(client, w["desk"])
    page = client.post(
        "/access/", {"gate": "SCT-G1", "badge": "AP-100015", "direction": "in"}
    ).content.decode()
    assert "PORT_BAN" in page and "banned from the ports" in page
    log = client.get(f"/access/decisions/?day={today.isoformat()}&refused_only=on").content.decode()
    assert "PORT_BAN" in log and "Yusuf Demir" in log
    assert {a.user for a in AccessAlert.objects.all()} == {w["csm"], w["control"]}
    assert sorted(m.to[0] for m in mail.outbox) == [
        "ccr@port.example",
        "csm@haulage.example",
    ] or sorted(mail.outbox[0].to) == ["ccr@port.example", "csm@haulage.example"]
    sign_in(client, w["csm"])
    assert "Yusuf Demir" in client.get("/access/").content.decode()


def test_people_of_other_companies_stay_hidden_from_desks(w, client):
    stranger = PersonFactory(organisation=OrganisationFactory())
    sign_in(client, w["desk"])
    assert client.get(f"/access/people/{stranger.pk}/").status_code == 404


def test_the_person_page_manages_credentials_with_clear_errors(w, client):
    sign_in(client, w["csm"])
    response = client.post(
        f"/access/people/{w['driver'].pk}/badge/", {"number": "AP-100015", "kind": "alfapass"}
    )
    assert response.status_code == 422 and "already issued" in response.content.decode()
    response = client.post(
        f"/access/people/{w['driver'].pk}/plate/", {"number": "?!", "country": "BE"}
    )
    assert response.status_code == 422 and "not a vehicle plate" in response.content.decode()
    response = client.post(
        f"/access/people/{w['driver'].pk}/badge/", {"number": "AP-200000", "kind": "port_pass"}
    )
    assert response.status_code == 302
    assert Badge.objects.filter(person=w["driver"]).count() == 2
    response = client.post(
        f"/access/people/{w['driver'].pk}/ban/",
        {"starts_on": "2026-01-01", "ends_on": "2026-02-01", "source": "x"},
    )
    assert response.status_code == 422  # a company registers no bans


def test_managers_see_who_lacks_a_verification_for_a_critical_zone(w, client):
    from port2port.access.models import Verification

    reefer = Zone.objects.create(
        port=w["gate"].port,
        code="REEFER",
        name="Reefers",
        geometry=POINT,
        critical=True,
        restricted=True,
    )
    inner = Zone.objects.create(
        port=w["gate"].port, code="REEFER-ROW-1", name="Row 1", geometry=POINT, parent=reefer
    )
    services.right_grant(actor=w["csm"], person=w["driver"], zone=inner)
    colleague = PersonFactory(organisation=w["haulier"], given_name="Anna", family_name="Vos")
    services.right_grant(actor=w["csm"], person=colleague, zone=reefer)
    Verification.objects.create(
        person=colleague,
        category="ops",
        status="positive",
        decided_on=timezone.localdate() - timedelta(days=2000),
        valid_until=timezone.localdate() - timedelta(days=1),
    )
    sign_in(client, w["csm"])
    page = client.get("/access/").content.decode()
    gaps = page.split('data-testid="verification-gaps"')[1].split("</ul>")[0]
    assert "Yusuf Demir" in gaps and "missing" in gaps
    assert "Anna Vos" in gaps and "expired" in gaps
    Verification.objects.create(
        person=w["driver"],
        category="ops",
        status="positive",
        decided_on=timezone.localdate(),
        valid_until=timezone.localdate() + timedelta(days=1800),
    )
    assert (
        "Yusuf Demir"
        not in client.get("/access/")
        .content.decode()
        .split('data-testid="verification-gaps"')[1]
        .split("</ul>")[0]
    )
