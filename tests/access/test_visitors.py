"""Visitors (Prean-like): announce, ban check with history, approve or reject, check in and out."""

from datetime import timedelta

import pytest
from django.utils import timezone

from port2port.access import services
from port2port.access.models import AccessRight, Plate, Visitor, VisitorPolicy
from port2port.core.errors import Conflict, Forbidden, Invalid
from port2port.core.models import OrganisationKind
from port2port.core.roles import Role
from port2port.core.visibility import SYSTEM
from port2port.sites.models import Facility, Gate, Zone

from ..core.factories import OrganisationFactory, PersonFactory, PortFactory, sign_in, user_in

POINT = {"type": "Point", "coordinates": [4.3, 51.28]}


@pytest.fixture
def terminal(db):
    port = PortFactory(locode="BEANR")
    authority = OrganisationFactory(kind=OrganisationKind.PORT_AUTHORITY, ports=[port])
    operator = OrganisationFactory(kind=OrganisationKind.FACILITY_OPERATOR, ports=[port])
    agency = OrganisationFactory(ports=[port], name="Scheldt Shipping Agency")
    other_agency = OrganisationFactory(ports=[port])
    facility = Facility.objects.create(
        port=port, code="BEANR-0869", name="SCT", geometry=POINT, operator=operator
    )
    quay = Zone.objects.create(
        port=port, code="QUAY", name="Quay", geometry=POINT, facility=facility
    )
    gate = Gate.objects.create(
        port=port, code="SCT-G2", name="Quay gate", geometry=POINT, facility=facility
    )
    gate.leads_into.set([quay])
    policy = VisitorPolicy.objects.create(facility=facility, accepts_unverified=False)
    policy.announcers.add(agency)
    now = timezone.now()
    return {
        "port": port,
        "facility": facility,
        "quay": quay,
        "agency": agency,
        "other_agency": other_agency,
        "host": user_in(agency, Role.VISITOR_HOST),
        "other_host": user_in(other_agency, Role.VISITOR_HOST),
        "desk": user_in(operator, Role.SECURITY_DESK),
        "officer": user_in(authority, Role.PORT_SECURITY_OFFICER),
        "start": now - timedelta(hours=1),
        "end": now + timedelta(hours=8),
    }


def _announce(t, visitors, actor=None, **extra):
    return services.visit_announce(
        actor=actor or t["host"],
        facility=t["facility"],
        zone=t["quay"],
        announcer=t["agency"],
        purpose="Crew change",
        vessel="MSC Aurora",
        starts_at=t["start"],
        ends_at=t["end"],
        visitors=visitors,
        **extra,
    )


VERIFIED = {
    "mode": "verified",
    "given_name": "Joris",
    "family_name": "Van Acker",
    "national_number": "85.07.30-033.28",
    "plate": "1-vis-001",
}


def _decide(plate="1VIS001"):
    return services.gate_decide(actor=SYSTEM, gate_code="SCT-G2", kind="plate", value=plate)


def test_the_whole_visit_from_announcement_to_check_out(terminal):
    t = terminal
    visit = _announce(t, [VERIFIED])
    visitor = visit.visitors.get()
    assert visitor.ban_state == "clear" and visitor.status == "announced"
    # announced, not approved: the plate is refused with the reason
    assert _decide().reasons == ("VISITOR_NOT_APPROVED",)
    with pytest.raises(Invalid, match="reason"):
        services.visitor_decide(actor=t["desk"], visitor=visitor, approve=False, reason=" ")
    services.visitor_decide(actor=t["desk"], visitor=visitor, approve=True)
    with pytest.raises(Forbidden):  # only the terminal's desk checks in
        services.visitor_check_in(actor=t["host"], visitor=visitor)
    services.visitor_check_in(actor=t["desk"], visitor=visitor)
    visitor.refresh_from_db()
    assert visitor.status == "checked_in" and visitor.person is not None
    assert Plate.objects.get(number="1VIS001").person == visitor.person  # ANPR whitelist
    right = AccessRight.objects.get(visitor=visitor)
    assert right.zone == t["quay"] and right.valid_until == t["end"]
    assert _decide().granted
    services.visitor_check_out(actor=t["desk"], visitor=visitor)
    assert not Plate.objects.filter(number="1VIS001").exists()
    assert _decide().reasons == ("UNKNOWN_CREDENTIAL",)
    assert [c.basis for c in visitor.ban_checks.order_by("at", "id")] == [
        "announcement",
        "approval",
        "check-in",
    ]


def test_a_rejection_keeps_its_reason_and_the_gate_says_why(terminal):
    t = terminal
    visitor = _announce(t, [VERIFIED]).visitors.get()
    services.visitor_decide(
        actor=t["desk"], visitor=visitor, approve=False, reason="Not on the crew list"
    )
    visitor.refresh_from_db()
    assert visitor.status == "rejected" and visitor.rejection_reason == "Not on the crew list"
    assert _decide().reasons == ("VISITOR_NOT_APPROVED",)
    with pytest.raises(Conflict):
        services.visitor_check_in(actor=t["desk"], visitor=visitor)


def test_announcers_must_be_approved_and_modes_respected(terminal):
    t = terminal
    with pytest.raises(Forbidden, match="not an approved announcer"):
        services.visit_announce(
            actor=t["other_host"],
            facility=t["facility"],
            zone=t["quay"],
            announcer=t["other_agency"],
            purpose="x",
            vessel="v",
            starts_at=t["start"],
            ends_at=t["end"],
            visitors=[VERIFIED],
        )
    with pytest.raises(Forbidden):  # a host announces for their own organisation only
        services.visit_announce(
            actor=t["other_host"],
            facility=t["facility"],
            zone=t["quay"],
            announcer=t["agency"],
            purpose="x",
            vessel="v",
            starts_at=t["start"],
            ends_at=t["end"],
            visitors=[VERIFIED],
        )
    unverified = {"mode": "unverified", "given_name": "Piotr", "family_name": "Nowak"}
    with pytest.raises(Invalid, match="does not accept visitors with an unverified identity"):
        _announce(t, [VERIFIED, unverified])
    assert not Visitor.objects.exists()  # nothing half-stored
    with pytest.raises(Invalid, match="check digits"):
        _announce(t, [{**VERIFIED, "national_number": "85.07.30-033.29"}])
    with pytest.raises(Invalid, match="no badge"):
        _announce(
            t,
            [{"mode": "badge_holder", "given_name": "a", "family_name": "b", "badge_number": "X"}],
        )
    VisitorPolicy.objects.filter(facility=t["facility"]).update(accepts_unverified=True)
    visitor = _announce(t, [unverified]).visitors.get()
    assert visitor.ban_state == "not_checked"  # a name alone cannot be checked


def test_a_banned_visitor_shows_banned_and_cannot_be_approved(terminal):
    from port2port.access.models import Identity

    t = terminal
    company = OrganisationFactory(ports=[t["port"]])
    banned = PersonFactory(organisation=company, given_name="Milan", family_name="Dupont")
    Identity.objects.create(person=banned, birth_date="1980-05-05")
    services.ban_register(
        actor=t["officer"],
        person=banned,
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + timedelta(days=30),
        source="Court",
    )
    VisitorPolicy.objects.filter(facility=t["facility"]).update(accepts_unverified=True)
    visitor = _announce(
        t,
        [
            {
                "mode": "unverified",
                "given_name": "milan",
                "family_name": "DUPONT",
                "birth_date": "1980-05-05",
            }
        ],
    ).visitors.get()
    assert visitor.ban_state == "banned"
    with pytest.raises(Conflict, match="banned"):
        services.visitor_decide(actor=t["desk"], visitor=visitor, approve=True)
    assert visitor.ban_checks.count() == 1  # the refused approval stored nothing


def test_visitor_pages_for_the_announcer_and_the_desk(terminal, client):
    t = terminal
    sign_in(client, t["host"])
    today = timezone.localtime(t["start"])
    form = {
        "announcer": t["agency"].pk,
        "facility": t["facility"].pk,
        "zone": t["quay"].pk,
        "vessel": "MSC Aurora",
        "purpose": "Class survey",
        "starts_at": today.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": timezone.localtime(t["end"]).strftime("%Y-%m-%dT%H:%M"),
        "visitor-TOTAL_FORMS": "2",
        "visitor-INITIAL_FORMS": "0",
        "visitor-MIN_NUM_FORMS": "0",
        "visitor-MAX_NUM_FORMS": "50",
        "visitor-0-mode": "verified",
        "visitor-0-given_name": "Joris",
        "visitor-0-family_name": "Van Acker",
        "visitor-0-national_number": "85073003329",  # wrong check digits
    }
    response = client.post("/access/visits/announce/", form)
    assert response.status_code == 422 and "check digits" in response.content.decode()
    assert not Visitor.objects.exists()
    form["visitor-0-national_number"] = "85073003328"
    response = client.post("/access/visits/announce/", form)
    assert response.status_code == 302
    visitor = Visitor.objects.get()
    client.logout()

    sign_in(client, t["desk"])
    page = client.get(f"/access/visits/?day={today:%Y-%m-%d}").content.decode()
    assert "Van Acker" in page and "MSC Aurora" in page
    response = client.post(f"/access/visitors/{visitor.pk}/reject/", {"reason": ""}, follow=True)
    assert "give the reason for the rejection" in response.content.decode()
    client.post(f"/access/visitors/{visitor.pk}/approve/")
    client.post(f"/access/visitors/{visitor.pk}/check-in/")
    visitor.refresh_from_db()
    assert visitor.status == "checked_in"
    client.logout()

    sign_in(client, t["other_host"])  # another agency sees nothing of it
    assert client.post(f"/access/visitors/{visitor.pk}/check-out/").status_code == 404
    assert "Van Acker" not in client.get("/access/visits/").content.decode()


def test_visitor_api(terminal, client):
    from port2port.core import services as core_services

    t = terminal
    _, secret = core_services.token_create(
        actor=user_in(t["agency"], Role.COMPANY_SECURITY_MANAGER),
        organisation=t["agency"],
        name="agency system",
        scopes=["access:visitor:announce"],
    )
    body = {
        "facility": str(t["facility"].pk),
        "zone": str(t["quay"].pk),
        "announcer": str(t["agency"].pk),
        "purpose": "Crew change",
        "vessel": "MSC Aurora",
        "starts_at": t["start"].isoformat(),
        "ends_at": t["end"].isoformat(),
        "visitors": [VERIFIED],
    }
    headers = {"Authorization": f"Bearer {secret}"}
    response = client.post(
        "/api/v1/access/visits", body, content_type="application/json", headers=headers
    )
    assert response.status_code == 201, response.content
    visitor_id = response.json()["visitors"][0]["id"]
    assert response.json()["visitors"][0]["ban_state"] is None  # the desk sees it, not announcers
    # the token may announce (and so see its visitors) but not decide on them
    response = client.post(
        f"/api/v1/access/visitors/{visitor_id}/decision",
        {"approve": True},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 403
    sign_in(client, t["desk"])
    response = client.post(
        f"/api/v1/access/visitors/{visitor_id}/decision",
        {"approve": False},
        content_type="application/json",
    )
    assert response.status_code == 422 and response.json()["fields"] == {
        "reason": "give the reason for the rejection"
    }
    response = client.post(
        f"/api/v1/access/visitors/{visitor_id}/decision",
        {"approve": True},
        content_type="application/json",
    )
    assert response.json()["status"] == "approved"
    assert [c["basis"] for c in response.json()["checks"]] == ["approval", "announcement"]
    response = client.post(f"/api/v1/access/visitors/{visitor_id}/check-in")
    assert response.json()["status"] == "checked_in"
    listing = client.get("/api/v1/access/visits").json()
    assert listing["count"] == 1 and listing["items"][0]["vessel"] == "MSC Aurora"
    assert listing["items"][0]["visitors"][0]["ban_state"] == "clear"  # the desk's view


def test_the_desk_sees_the_badge_holders_name_not_the_typed_one(terminal):
    from port2port.access.models import Badge

    t = terminal
    holder = PersonFactory(organisation=t["agency"], given_name="Marie", family_name="Lemmens")
    Badge.objects.create(person=holder, number="AP-555")
    visitor = _announce(
        t,
        [
            {
                "mode": "badge_holder",
                "given_name": "Fake",
                "family_name": "Name",
                "badge_number": "ap-555",
            }
        ],
    ).visitors.get()
    assert (visitor.given_name, visitor.family_name, visitor.person) == ("Marie", "Lemmens", holder)


def test_a_verified_visitor_comes_back_for_a_second_visit(terminal):
    t = terminal
    first = _announce(t, [VERIFIED]).visitors.get()
    services.visitor_decide(actor=t["desk"], visitor=first, approve=True)
    services.visitor_check_in(actor=t["desk"], visitor=first)
    services.visitor_check_out(actor=t["desk"], visitor=first)
    first.refresh_from_db()
    second = _announce(t, [{**VERIFIED, "plate": ""}]).visitors.get()
    assert second.person == first.person  # recognised by the national register number
    services.visitor_decide(actor=t["desk"], visitor=second, approve=True)
    services.visitor_check_in(actor=t["desk"], visitor=second)
    second.refresh_from_db()
    assert second.status == "checked_in" and second.person == first.person
