"""The pages that set up access: groups, schedules, CSV import and gate devices."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from port2port.access import services
from port2port.access.models import (
    AccessGroup,
    AccessRight,
    Badge,
    GateDevice,
    Identity,
    Schedule,
)
from port2port.core.models import OrganisationKind
from port2port.core.roles import Role
from port2port.core.visibility import SYSTEM
from port2port.sites.models import Facility, Gate, Zone

from ..core.factories import OrganisationFactory, PersonFactory, PortFactory, sign_in, user_in

POINT = {"type": "Point", "coordinates": [4.3, 51.28]}
pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    port = PortFactory(locode="BEANR")
    terminal = OrganisationFactory(
        kind=OrganisationKind.FACILITY_OPERATOR, ports=[port], name="SCT"
    )
    other_terminal = OrganisationFactory(
        kind=OrganisationKind.FACILITY_OPERATOR, ports=[port], name="MPET"
    )
    haulier = OrganisationFactory(ports=[port], name="Flanders Haulage")
    other_company = OrganisationFactory(ports=[port], name="Scheldt Cleaning")
    facility = Facility.objects.create(
        port=port, code="SCT", name="Scheldt Terminal", geometry=POINT, operator=terminal
    )
    other_facility = Facility.objects.create(
        port=port, code="MPET", name="MPET", geometry=POINT, operator=other_terminal
    )
    yard = Zone.objects.create(port=port, code="YARD", name="Yard", geometry=POINT)
    gate = Gate.objects.create(
        port=port, code="SCT-G1", name="Gate 1", geometry=POINT, facility=facility
    )
    gate.leads_into.set([yard])
    other_gate = Gate.objects.create(
        port=port, code="MPET-G1", name="MPET gate", geometry=POINT, facility=other_facility
    )
    other_gate.leads_into.set([yard])
    csm = user_in(haulier, Role.COMPANY_SECURITY_MANAGER)
    other_csm = user_in(other_company, Role.COMPANY_SECURITY_MANAGER)
    employee = user_in(haulier, Role.EMPLOYEE)
    pfso = user_in(terminal, Role.PFSO)
    other_pfso = user_in(other_terminal, Role.PFSO)
    driver = PersonFactory(organisation=haulier, given_name="Yusuf", family_name="Demir")
    stranger = PersonFactory(organisation=other_company, given_name="Anna", family_name="Vos")
    services.badge_issue(actor=csm, person=driver, number="AP-100015")
    return locals()


def _passes(badge: str, gate: str = "SCT-G1") -> bool:
    return services.gate_decide(
        actor=SYSTEM, gate_code=gate, kind="badge", value=badge, direction="in"
    ).granted


# Groups ---------------------------------------------------------------------------------------


def test_a_group_right_lets_its_members_through(w, client):
    assert not _passes("AP-100015")  # no right of their own
    sign_in(client, w["csm"])
    page = client.get("/access/groups/")
    assert page.status_code == 200
    options = page.content.decode()
    assert "Flanders Haulage" in options and "Scheldt Cleaning" not in options
    response = client.post(
        "/access/groups/",
        {"organisation": w["haulier"].pk, "name": "Drivers", "kind": "staff"},
    )
    group = AccessGroup.objects.get(organisation=w["haulier"], name="Drivers")
    assert response.status_code == 302 and response["Location"] == f"/access/groups/{group.pk}/"
    assert group.kind == "staff"

    response = client.post(
        f"/access/groups/{group.pk}/", {"action": "member_add", "person": w["driver"].pk}
    )
    assert response.status_code == 302
    assert list(group.members.all()) == [w["driver"]]
    response = client.post(
        f"/access/groups/{group.pk}/",
        {"action": "right", "zone": w["yard"].pk, "effect": "grant"},
    )
    assert response.status_code == 302
    assert AccessRight.objects.get(group=group).zone == w["yard"]
    assert _passes("AP-100015")

    page = client.get(f"/access/groups/{group.pk}/").content.decode()
    assert f'href="/access/people/{w["driver"].pk}/"' in page and "Yard" in page
    listing = client.get("/access/groups/").content.decode()
    assert "Drivers" in listing and "Yard" in listing

    response = client.post(
        f"/access/groups/{group.pk}/", {"action": "member_remove", "person": w["driver"].pk}
    )
    assert response.status_code == 302 and not group.members.exists()
    assert not _passes("AP-100015")


def test_group_forms_refuse_bad_input_and_store_nothing(w, client):
    sign_in(client, w["csm"])
    group = services.group_create(actor=w["csm"], organisation=w["haulier"], name="Drivers")
    response = client.post(
        "/access/groups/", {"organisation": w["haulier"].pk, "name": "Drivers", "kind": "staff"}
    )
    assert response.status_code == 422
    assert "already has a group with this name" in response.content.decode()
    response = client.post(
        "/access/groups/",
        {"organisation": w["other_company"].pk, "name": "Cleaners", "kind": "staff"},
    )
    assert response.status_code == 422 and "Select a valid choice" in response.content.decode()
    assert list(AccessGroup.objects.values_list("name", flat=True)) == ["Drivers"]

    # a staff group holds the organisation's own people only
    response = client.post(
        f"/access/groups/{group.pk}/", {"action": "member_add", "person": w["stranger"].pk}
    )
    assert response.status_code == 422 and "Select a valid choice" in response.content.decode()
    assert not group.members.exists()

    response = client.post(
        f"/access/groups/{group.pk}/",
        {
            "action": "right",
            "zone": w["yard"].pk,
            "effect": "grant",
            "valid_from": "2026-12-01T08:00",
            "valid_until": "2026-11-01T08:00",
        },
    )
    assert response.status_code == 422
    assert "the right must end after it starts" in response.content.decode()
    assert not AccessRight.objects.filter(group=group).exists()

    response = client.post(
        f"/access/groups/{group.pk}/", {"action": "member_remove", "person": w["driver"].pk}
    )
    assert response.status_code == 422
    assert "not a member of the group" in response.content.decode()


def test_groups_need_the_right_role_and_stay_in_their_organisation(w, client):
    group = services.group_create(actor=w["csm"], organisation=w["haulier"], name="Drivers")
    sign_in(client, w["employee"])
    assert client.get("/access/groups/").status_code == 403
    assert client.get(f"/access/groups/{group.pk}/").status_code == 403
    sign_in(client, w["other_csm"])
    assert "Drivers" not in client.get("/access/groups/").content.decode()
    assert client.get(f"/access/groups/{group.pk}/").status_code == 404
    response = client.post(
        f"/access/groups/{group.pk}/", {"action": "member_add", "person": w["driver"].pk}
    )
    assert response.status_code == 404 and not group.members.exists()


# Schedules ------------------------------------------------------------------------------------


def test_a_schedule_is_created_from_days_hours_and_holidays(w, client):
    sign_in(client, w["csm"])
    response = client.post(
        "/access/schedules/",
        {
            "name": "Office hours",
            "days": ["0", "1", "2", "3", "4"],
            "start": "07:00",
            "end": "19:00",
            "holidays": "2026-12-25, 2027-01-01\n2026-11-11 2026-12-25",
        },
    )
    assert response.status_code == 302
    schedule = Schedule.objects.get(name="Office hours")
    assert schedule.windows == [{"day": d, "start": "07:00", "end": "19:00"} for d in range(5)]
    assert schedule.holidays == ["2026-11-11", "2026-12-25", "2027-01-01"]
    response = client.post(
        "/access/schedules/",
        {"name": "Weekend", "days": ["5", "6"], "start": "00:00", "end": "00:00"},
    )
    assert response.status_code == 302
    assert Schedule.objects.get(name="Weekend").windows == [
        {"day": 5, "start": "00:00", "end": "24:00"},
        {"day": 6, "start": "00:00", "end": "24:00"},
    ]
    page = client.get("/access/schedules/").content.decode()
    assert "Monday, Tuesday, Wednesday, Thursday, Friday 07:00–19:00" in page
    assert "Saturday, Sunday 00:00–24:00" in page and "2026-12-25" in page


def test_a_bad_holiday_or_window_is_named_and_nothing_stored(w, client):
    sign_in(client, w["csm"])
    response = client.post(
        "/access/schedules/",
        {
            "name": "Office hours",
            "days": ["0"],
            "start": "07:00",
            "end": "19:00",
            "holidays": "2026-12-25, 2026-13-01",
        },
    )
    assert response.status_code == 422
    assert "“2026-13-01” is not a date" in response.content.decode()
    response = client.post(
        "/access/schedules/",
        {"name": "Backwards", "days": ["0"], "start": "19:00", "end": "07:00"},
    )
    assert response.status_code == 422
    assert "must end after it starts" in response.content.decode()
    response = client.post(
        "/access/schedules/", {"name": "No days", "start": "07:00", "end": "19:00"}
    )
    assert response.status_code == 422
    assert not Schedule.objects.exists()


def test_schedules_need_the_right_role(w, client):
    sign_in(client, w["employee"])
    assert client.get("/access/schedules/").status_code == 403
    response = client.post(
        "/access/schedules/",
        {"name": "Sneaky", "days": ["0"], "start": "07:00", "end": "19:00"},
    )
    assert response.status_code == 403 and not Schedule.objects.exists()


# CSV import -----------------------------------------------------------------------------------

BADGES_CSV = (
    "national_number,number\n"
    "85.07.30-033.28,AP-300001\n"
    "00012556777,AP-300002\n"
    "85.07.30-033.29,AP-300003\n"
)


def _upload(content, name="badges.csv"):
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


@pytest.fixture
def identities(w):
    colleague = PersonFactory(organisation=w["haulier"])
    Identity.objects.create(person=w["driver"], national_number="85073003328")
    Identity.objects.create(person=colleague, national_number="00012556777")
    return colleague


def test_a_dry_run_stores_nothing_then_the_valid_lines_are_imported(w, client, identities):
    sign_in(client, w["csm"])
    page = client.get("/access/import/").content.decode()
    assert "national_number" in page
    assert re.search(r'<input[^>]*name="dry_run"[^>]*checked', page)  # a dry run by default
    response = client.post(
        "/access/import/",
        {"step": "upload", "kind": "badges", "file": _upload(BADGES_CSV), "dry_run": "on"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert Badge.objects.filter(number__startswith="AP-3").count() == 0
    assert 'data-testid="valid-count">2<' in page and 'data-testid="error-count">1<' in page
    assert "check digits" in page and "<td>4</td>" in page
    assert "Import the 2 valid lines" in page

    # "Import" of every line is refused while a line is wrong, even when posted by hand
    response = client.post(
        "/access/import/", {"step": "confirm", "kind": "badges", "text": BADGES_CSV}
    )
    assert 'data-testid="stored-count">0<' in response.content.decode()
    assert Badge.objects.filter(number__startswith="AP-3").count() == 0

    response = client.post(
        "/access/import/",
        {"step": "confirm", "kind": "badges", "text": BADGES_CSV, "valid_only": "on"},
    )
    assert response.status_code == 200
    assert 'data-testid="stored-count">2<' in response.content.decode()
    assert set(Badge.objects.filter(number__startswith="AP-3").values_list("number", "person")) == {
        ("AP-300001", w["driver"].pk),
        ("AP-300002", identities.pk),
    }


def test_an_all_valid_file_offers_import_and_stores_it(w, client, identities):
    sign_in(client, w["csm"])
    text = "\ufeffnational_number,number\n85073003328,AP-400001\n"
    response = client.post(
        "/access/import/",
        {"step": "upload", "kind": "badges", "file": _upload(text), "dry_run": "on"},
    )
    page = response.content.decode()
    assert 'data-testid="import-confirm"' in page and 'name="valid_only"' not in page
    assert not Badge.objects.filter(number="AP-400001").exists()
    response = client.post("/access/import/", {"step": "confirm", "kind": "badges", "text": text})
    assert 'data-testid="stored-count">1<' in response.content.decode()
    assert Badge.objects.get(number="AP-400001").person == w["driver"]


def test_a_file_too_large_to_send_back_is_not_offered_for_import(w, client, identities, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 + 10
    sign_in(client, w["csm"])
    response = client.post(
        "/access/import/",
        {"step": "upload", "kind": "badges", "file": _upload(BADGES_CSV), "dry_run": "on"},
    )
    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="import-confirm"' not in page
    assert "too large to be sent again" in page


def test_import_refuses_unreadable_files_with_a_clear_error(w, client, identities):
    sign_in(client, w["csm"])
    cases = [
        ("national_number,number\n85073003328,AP-\xe9\n".encode("latin-1"), "not UTF-8 text"),
        ("national_number,badge\n85073003328,AP-500001\n", "missing columns: number"),
        (b"x" * (5 * 1024 * 1024 + 1), "larger than 5 MB"),
    ]
    for content, message in cases:
        response = client.post(
            "/access/import/", {"step": "upload", "kind": "badges", "file": _upload(content)}
        )
        assert response.status_code == 422 and message in response.content.decode(), message
    response = client.post("/access/import/", {"step": "upload", "kind": "badges"})
    assert response.status_code == 422
    assert Badge.objects.count() == 1  # only the fixture's


def test_import_needs_the_right_role(w, client, identities):
    sign_in(client, w["employee"])
    assert client.get("/access/import/").status_code == 403
    response = client.post(
        "/access/import/",
        {"step": "confirm", "kind": "badges", "text": BADGES_CSV, "valid_only": "on"},
    )
    assert response.status_code == 403 and Badge.objects.count() == 1


# Gate devices ---------------------------------------------------------------------------------


def _decide(client, secret, gate="SCT-G1"):
    return client.post(
        "/api/v1/access/decide",
        {"gate": gate, "badge": "AP-100015"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )


def test_a_device_token_is_shown_once_and_works_for_its_gate_only(w, client):
    services.right_grant(actor=w["csm"], person=w["driver"], zone=w["yard"])
    sign_in(client, w["pfso"])
    page = client.get("/access/devices/").content.decode()
    assert "SCT-G1" in page and "MPET-G1" not in page  # another terminal's gate
    response = client.post("/access/devices/", {"gate": w["gate"].pk, "name": "Turnstile 1"})
    page = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    secret = re.search(r'data-testid="device-secret">(gd_[0-9a-f]{8}_[\w-]+)<', page).group(1)
    device = GateDevice.objects.get(gate=w["gate"], name="Turnstile 1")
    assert secret.split("_")[1] == device.prefix and secret not in device.token_hash
    assert "shown only once" in page and f"Authorization: Bearer {secret}" in page
    assert "/api/v1/access/gates/SCT-G1/allow-list" in page
    assert secret not in client.get("/access/devices/").content.decode()

    client.logout()
    response = _decide(client, secret)
    assert response.status_code == 200 and response.json()["decision"] == "grant"
    response = client.get(
        "/api/v1/access/gates/SCT-G1/allow-list", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 200
    assert _decide(client, secret, gate="MPET-G1").status_code == 403

    sign_in(client, w["pfso"])
    assert client.get(f"/access/devices/{device.pk}/revoke/").status_code == 405
    response = client.post(f"/access/devices/{device.pk}/revoke/", follow=True)
    assert response.redirect_chain == [("/access/devices/", 302)]
    assert "Turnstile 1 revoked" in response.content.decode()
    device.refresh_from_db()
    assert device.revoked_at is not None
    client.logout()
    assert _decide(client, secret).status_code == 401


def test_a_device_needs_a_name_and_a_gate_of_ones_own(w, client):
    sign_in(client, w["pfso"])
    response = client.post("/access/devices/", {"gate": w["gate"].pk, "name": "  "})
    assert response.status_code == 422 and "This field is required" in response.content.decode()
    response = client.post("/access/devices/", {"gate": w["other_gate"].pk, "name": "Turnstile 1"})
    assert response.status_code == 422 and "Select a valid choice" in response.content.decode()
    assert "device-secret" not in response.content.decode()
    assert not GateDevice.objects.exists()


def test_devices_are_managed_by_who_runs_the_gate(w, client):
    device, _secret = services.device_issue(actor=w["pfso"], gate=w["gate"], name="Turnstile 1")
    for user in (w["employee"], w["csm"]):
        sign_in(client, user)
        assert client.get("/access/devices/").status_code == 403
    sign_in(client, w["other_pfso"])
    assert "Turnstile 1" not in client.get("/access/devices/").content.decode()
    assert client.post(f"/access/devices/{device.pk}/revoke/").status_code == 404
    device.refresh_from_db()
    assert device.revoked_at is None
