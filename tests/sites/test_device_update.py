"""Changing a registered device (service, API, page) and when it is watched from."""

import json
import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from port2port.core.errors import Forbidden, Invalid
from port2port.core.models import AuditRecord, OrganisationKind
from port2port.core.roles import Role
from port2port.detection.state import current_seq
from port2port.sites import services
from port2port.sites.models import Device, DeviceKind, Facility, Zone
from tests.core.factories import OrganisationFactory, sign_in, user_in
from tests.detection.factories import point, square, world

pytestmark = pytest.mark.django_db

MOVED = point(3.25, 51.34)


@pytest.fixture
def w():
    return world()


@pytest.fixture
def pso(w):
    return user_in(w.authority, Role.PORT_SECURITY_OFFICER)


def fresh(device: Device) -> Device:
    return Device.objects.get(pk=device.pk)


# -- the service ---------------------------------------------------------------------------------


def test_update_changes_the_device_audits_it_and_reloads_the_ingest_workers(w, pso):
    camera = w.devices["ANPR1"]
    terminal = OrganisationFactory(kind=OrganisationKind.FACILITY_OPERATOR, ports=[w.port])
    before = current_seq()
    services.device_update(
        actor=pso,
        device=camera,
        name="  Camera of the LNG basin ",
        geometry=MOVED,
        zone=w.restricted,
        gate=None,
        silent_after=60,
        owner=terminal,
    )
    stored = fresh(camera)
    assert (stored.name, stored.geometry, stored.zone, stored.gate) == (
        "Camera of the LNG basin",
        MOVED,
        w.restricted,
        None,
    )
    assert (stored.silent_after, stored.owner) == (60, terminal)
    assert (stored.code, stored.kind) == (camera.code, DeviceKind.ANPR)
    assert current_seq() > before
    record = AuditRecord.objects.get(action="sites.device.updated")
    assert record.object_id == str(camera.pk)
    assert record.details["fields"] == ["name", "geometry", "zone", "gate", "silent_after", "owner"]


def test_the_audit_names_only_the_fields_that_changed(w, pso):
    camera = w.devices["AI1"]
    services.device_update(actor=pso, device=camera, name=camera.name, silent_after=5)
    record = AuditRecord.objects.get(action="sites.device.updated")
    assert record.details["fields"] == ["silent_after"]
    assert fresh(camera).silent_after == 5


def test_changing_nothing_is_no_error_and_no_reload(w, pso):
    camera = w.devices["AI1"]
    before = current_seq()
    services.device_update(actor=pso, device=camera)
    services.device_update(actor=pso, device=camera, zone=camera.zone, owner=camera.owner)
    assert current_seq() == before
    records = AuditRecord.objects.filter(action="sites.device.updated")
    assert [r.details["fields"] for r in records] == [[], []]


@pytest.mark.parametrize(
    "suffix, changes, field, message",
    [
        ("FENCE1", {"gate": "gate"}, "gate", "only an ANPR camera watches a gate"),
        ("ANPR1", {"zone": "other zone"}, "zone", "another port"),
        ("ANPR1", {"gate": "other gate"}, "gate", "another port"),
        ("AI1", {"silent_after": -1}, "silent_after", "10080"),
        ("AI1", {"silent_after": 10081}, "silent_after", "10080"),
        ("AI1", {"silent_after": "15"}, "silent_after", "10080"),
        ("AI1", {"silent_after": True}, "silent_after", "10080"),
        ("AI1", {"geometry": {"type": "Point", "coordinates": [200, 51]}}, "geometry", "longitude"),
        ("AI1", {"geometry": None}, "geometry", "GeoJSON object"),
        ("AI1", {"name": "   "}, "name", "required"),
        ("AI1", {"name": "x" * 201}, "name", "200"),
        ("AI1", {"owner": "other owner"}, "owner", "not an organisation of this port"),
        ("AI1", {"owner": None}, "owner", "required"),
        ("AI1", {"code": "RENAMED"}, "code", "unknown field"),
        ("AI1", {"kind": DeviceKind.THERMAL}, "kind", "unknown field"),
        ("AI1", {"colour": "red"}, "colour", "unknown field"),
    ],
)
def test_update_refuses_what_create_refuses_naming_the_field(
    w, pso, suffix, changes, field, message
):
    other = world()
    named = {
        "gate": w.gate,
        "other zone": other.quay,
        "other gate": other.gate,
        "other owner": other.authority,
    }
    changes = {k: named.get(v, v) if isinstance(v, str) else v for k, v in changes.items()}
    device = w.devices[suffix]
    before = current_seq()
    original = {f: getattr(device, f) for f in services.DEVICE_EDITABLE}
    with pytest.raises(Invalid, match=message) as info:
        services.device_update(actor=pso, device=device, **{"name": "Renamed", **changes})
    assert field in info.value.fields
    assert current_seq() == before
    assert not AuditRecord.objects.filter(action="sites.device.updated").exists()
    stored = fresh(device)
    assert {f: getattr(stored, f) for f in services.DEVICE_EDITABLE} == original
    assert {f: getattr(device, f) for f in services.DEVICE_EDITABLE} == original


def test_the_bounds_of_silent_after_are_allowed(w, pso):
    camera = w.devices["AI1"]
    for minutes in (0, 10080):
        services.device_update(actor=pso, device=camera, silent_after=minutes)
        assert fresh(camera).silent_after == minutes


def test_someone_of_another_port_may_not_change_the_device(w):
    other = world()
    outsider = user_in(other.authority, Role.PORT_SECURITY_OFFICER)
    camera = w.devices["ANPR1"]
    before = current_seq()
    with pytest.raises(Forbidden):
        services.device_update(actor=outsider, device=camera, name="Taken over")
    with pytest.raises(Forbidden):  # the permission comes before every other check
        services.device_update(actor=outsider, device=camera, colour="red")
    assert fresh(camera).name == camera.name
    assert current_seq() == before
    assert not AuditRecord.objects.filter(action="sites.device.updated").exists()


def terminal_of(w, *zone_codes: str):
    """A terminal operator of the port with a facility and its zones."""
    terminal = OrganisationFactory(kind=OrganisationKind.FACILITY_OPERATOR, ports=[w.port])
    facility = Facility.objects.create(
        port=w.port,
        code="T1",
        name="Terminal",
        geometry=square(3.2, 51.33, 0.02),
        operator=terminal,
    )
    zones = [
        Zone.objects.create(
            port=w.port, code=code, name=code, geometry=square(3.2, 51.33, 0.01), facility=facility
        )
        for code in zone_codes
    ]
    return terminal, zones


def test_a_facility_operator_changes_its_own_devices_and_keeps_them_inside(w, pso):
    terminal, (own, second) = terminal_of(w, "T1-YARD", "T1-GATEHOUSE")
    device = services.device_create(
        actor=pso,
        port=w.port,
        code="T1-CAM",
        name="Yard camera",
        kind=DeviceKind.AI_CAMERA,
        geometry=MOVED,
        owner=terminal,
        zone=own,
    )
    pfso = user_in(terminal, Role.PFSO)
    services.device_update(actor=pfso, device=device, name="Yard camera 1", zone=second)
    assert (fresh(device).name, fresh(device).zone) == ("Yard camera 1", second)
    for elsewhere in (w.quay, None):  # out of its facility is the port authority's decision
        with pytest.raises(Forbidden):
            services.device_update(actor=pfso, device=fresh(device), zone=elsewhere)
    assert fresh(device).zone == second
    with pytest.raises(Forbidden):  # nor the port's own devices
        services.device_update(actor=pfso, device=w.devices["AI1"], name="Mine")


def test_a_facility_operator_neither_watches_others_gates_nor_gives_devices_away(w, pso):
    terminal, (yard,) = terminal_of(w, "T1-YARD")
    pfso = user_in(terminal, Role.PFSO)
    camera = dict(port=w.port, name="Yard ANPR", kind=DeviceKind.ANPR, geometry=MOVED, zone=yard)
    with pytest.raises(Forbidden):  # the port's gate is the port authority's
        services.device_create(actor=pfso, code="T2-A", owner=terminal, gate=w.gate, **camera)
    with pytest.raises(Forbidden):  # and so is giving a device to somebody else
        services.device_create(actor=pfso, code="T2-B", owner=w.authority, **camera)
    device = services.device_create(actor=pfso, code="T2-C", owner=terminal, **camera)
    with pytest.raises(Forbidden):
        services.device_update(actor=pfso, device=fresh(device), gate=w.gate)
    with pytest.raises(Forbidden):
        services.device_update(actor=pfso, device=fresh(device), owner=w.authority)
    stored = fresh(device)
    assert (stored.gate, stored.owner) == (None, terminal)
    # The port authority may do both; an owner from outside the port nobody may.
    services.device_update(actor=pso, device=fresh(device), gate=w.gate, owner=w.authority)
    assert (fresh(device).gate, fresh(device).owner) == (w.gate, w.authority)
    stranger = OrganisationFactory(kind=OrganisationKind.FACILITY_OPERATOR)
    with pytest.raises(Invalid):
        services.device_update(actor=pso, device=fresh(device), owner=stranger)
    with pytest.raises(Invalid):
        services.device_create(actor=pso, code="T2-D", owner=stranger, **camera)


def test_a_facility_operator_keeps_its_hands_off_others_devices_in_its_zones(w, pso):
    terminal, (yard,) = terminal_of(w, "T1-YARD")
    police = OrganisationFactory(kind=OrganisationKind.POLICE, ports=[w.port])

    def anpr(code, name, owner):  # registered by the port authority, on the port's gate
        return services.device_create(
            actor=pso,
            port=w.port,
            code=code,
            name=name,
            kind=DeviceKind.ANPR,
            geometry=MOVED,
            owner=owner,
            zone=yard,
            gate=w.gate,
        )

    camera = anpr("POL-ANPR", "Police ANPR", police)
    pfso = user_in(terminal, Role.PFSO)
    for change in (
        {"owner": terminal},  # taking it over (and then issuing its token)
        {"gate": None},  # taking it off the port's gate
        {"silent_after": 0},
        {"name": "Ours now"},
    ):
        with pytest.raises(Forbidden):
            services.device_update(actor=pfso, device=fresh(camera), **change)
    with pytest.raises(Forbidden):
        services.device_active_set(actor=pfso, device=fresh(camera), active=False)
    with pytest.raises(Forbidden):
        services.device_token_issue(actor=pfso, device=fresh(camera))
    stored = fresh(camera)
    assert (stored.owner, stored.gate, stored.name, stored.active) == (
        police,
        w.gate,
        "Police ANPR",
        True,
    )
    # Its own camera on the port's gate: it may not take that off the gate either.
    own = anpr("T1-ANPR", "Terminal ANPR", terminal)
    with pytest.raises(Forbidden):
        services.device_update(actor=pfso, device=fresh(own), gate=None)
    services.device_update(actor=pfso, device=fresh(own), name="Terminal ANPR 1")
    assert fresh(own).gate == w.gate


# -- watched since -------------------------------------------------------------------------------


def test_a_registered_device_is_watched_from_its_registration(w, pso):
    start = timezone.now()
    device = services.device_create(
        actor=pso,
        port=w.port,
        code="NEW-1",
        name="New",
        kind=DeviceKind.THERMAL,
        geometry=MOVED,
        owner=w.authority,
    )
    assert start <= fresh(device).watched_since <= timezone.now()


def test_switching_a_device_back_on_watches_it_from_then(w, pso):
    camera = w.devices["THERM1"]
    long_ago = timezone.now() - timedelta(days=30)
    Device.objects.filter(pk=camera.pk).update(watched_since=long_ago)
    camera = fresh(camera)
    services.device_active_set(actor=pso, device=camera, active=True)  # already on: unchanged
    assert fresh(camera).watched_since == long_ago
    services.device_active_set(actor=pso, device=camera, active=False)
    assert fresh(camera).watched_since == long_ago
    switched_on = timezone.now()
    services.device_active_set(actor=pso, device=fresh(camera), active=True)
    assert fresh(camera).active and fresh(camera).watched_since >= switched_on


def test_an_update_keeps_watched_since(w, pso):
    camera = w.devices["THERM1"]
    long_ago = timezone.now() - timedelta(days=30)
    Device.objects.filter(pk=camera.pk).update(watched_since=long_ago)
    services.device_update(actor=pso, device=fresh(camera), name="Thermal 2")
    assert fresh(camera).watched_since == long_ago


# -- the API -------------------------------------------------------------------------------------


def patch(client, device, body):
    return client.patch(
        f"/api/v1/sites/devices/{device.pk}", data=json.dumps(body), content_type="application/json"
    )


def test_api_shows_and_changes_a_device(client, w, pso):
    sign_in(client, pso)
    camera = w.devices["ANPR1"]
    shown = client.get(f"/api/v1/sites/devices/{camera.pk}")
    assert shown.status_code == 200, shown.content
    body = shown.json()
    assert (body["code"], body["zone"], body["gate"], body["port"]) == (
        camera.code,
        w.quay.code,
        w.gate.code,
        w.port.locode,
    )
    shown_since = datetime.fromisoformat(body["watched_since"])  # rendered to the millisecond
    assert abs(shown_since - camera.watched_since) < timedelta(milliseconds=1)
    before = current_seq()
    changed = patch(
        client,
        camera,
        {"name": "Gate camera", "zone": str(w.restricted.pk), "gate": None, "silent_after": 30},
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["name"], changed.json()["zone"], changed.json()["gate"]) == (
        "Gate camera",
        w.restricted.code,
        None,
    )
    stored = fresh(camera)
    assert (stored.name, stored.zone, stored.gate, stored.silent_after) == (
        "Gate camera",
        w.restricted,
        None,
        30,
    )
    assert stored.geometry == camera.geometry and stored.owner == camera.owner  # not sent: kept
    assert current_seq() > before
    assert AuditRecord.objects.get(action="sites.device.updated").details["fields"] == [
        "name",
        "zone",
        "gate",
        "silent_after",
    ]
    listed = client.get(f"/api/v1/sites/ports/{w.port.locode}/devices").json()["items"]
    assert all(item["watched_since"] for item in listed)


def test_api_devices_of_another_port_are_not_found(client, w, pso):
    other = world()
    sign_in(client, pso)
    foreign = other.devices["ANPR1"]
    assert client.get(f"/api/v1/sites/devices/{foreign.pk}").status_code == 404
    assert client.get(f"/api/v1/sites/devices/{uuid.uuid4()}").status_code == 404
    answer = patch(client, foreign, {"name": "Taken over"})
    assert answer.status_code == 404 and answer.json()["error"] == "not_found"
    assert fresh(foreign).name == foreign.name


@pytest.mark.parametrize("field", ["zone", "gate", "owner"])
def test_api_a_reference_out_of_sight_is_invalid_naming_the_field(client, w, pso, field):
    other = world()
    sign_in(client, pso)
    camera = w.devices["ANPR1"]
    foreign = {"zone": other.quay.pk, "gate": other.gate.pk, "owner": other.authority.pk}[field]
    for reference in (foreign, uuid.uuid4()):
        answer = patch(client, camera, {field: str(reference)})
        assert answer.status_code == 422, answer.content
        assert answer.json()["error"] == "invalid"
        assert list(answer.json()["fields"]) == [field]
    assert fresh(camera).zone == w.quay and fresh(camera).gate == w.gate


@pytest.mark.parametrize(
    "field, message",
    [("zone", "another port"), ("gate", "another port"), ("owner", "not an organisation")],
)
def test_api_a_visible_reference_of_another_port_is_invalid(client, w, field, message):
    """A platform admin sees every port: the service itself refuses the other port's objects."""
    other = world()
    sign_in(client, user_in(OrganisationFactory(), Role.PLATFORM_ADMIN))
    camera = w.devices["ANPR1"]
    foreign = {"zone": other.quay.pk, "gate": other.gate.pk, "owner": other.authority.pk}[field]
    answer = patch(client, camera, {field: str(foreign)})
    assert answer.status_code == 422, answer.content
    assert list(answer.json()["fields"]) == [field]
    assert message in answer.json()["fields"][field]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"colour": "red"}, "colour"),
        ({"code": "RENAMED"}, "code"),
        ({"kind": "thermal"}, "kind"),
        ({"name": "ok", "active": False}, "active"),
        ({"silent_after": 99999}, "silent_after"),
        ({"silent_after": "soon"}, "silent_after"),
        ({"name": None}, "name"),
        ({"zone": "not-a-uuid"}, "zone"),
        ({"gate": str(uuid.UUID(int=0))}, "gate"),
    ],
)
def test_api_refuses_bad_bodies_naming_the_field(client, w, pso, body, field):
    sign_in(client, pso)
    camera = w.devices["AI1"]
    answer = patch(client, camera, body)
    assert answer.status_code == 422, answer.content
    assert answer.json()["error"] == "invalid"
    assert field in answer.json()["fields"], answer.json()
    assert fresh(camera).name == camera.name and fresh(camera).active


# -- the page ------------------------------------------------------------------------------------


def edit_url(w, device) -> str:
    return f"/sites/{w.port.locode}/devices/{device.pk}/edit/"


def test_the_port_page_links_to_the_edit_page_for_who_may_change(client, w, pso):
    camera = w.devices["ANPR1"]
    sign_in(client, pso)
    assert edit_url(w, camera) in client.get(f"/sites/{w.port.locode}/").content.decode()
    client.logout()
    sign_in(client, user_in(w.authority, Role.EMPLOYEE))
    assert edit_url(w, camera) not in client.get(f"/sites/{w.port.locode}/").content.decode()
    assert client.get(edit_url(w, camera)).status_code == 403


def test_the_edit_page_shows_the_device(client, w, pso):
    camera = w.devices["ANPR1"]
    sign_in(client, pso)
    page = client.get(edit_url(w, camera))
    assert page.status_code == 200
    form = page.context["form"]
    assert set(form.fields) == {"name", "geometry", "owner", "zone", "gate", "silent_after"}
    assert form["name"].value() == camera.name
    assert json.loads(form["geometry"].value()) == camera.geometry
    assert (form["owner"].value(), form["zone"].value(), form["gate"].value()) == (
        w.authority.pk,
        w.quay.pk,
        w.gate.pk,
    )
    assert form["silent_after"].value() == camera.silent_after
    html = page.content.decode()
    assert camera.code in html and "ANPR camera" in html  # code and kind shown, not editable
    assert 'name="code"' not in html and 'name="kind"' not in html


def test_the_edit_page_saves_and_goes_back_to_the_port(client, w, pso):
    camera = w.devices["ANPR1"]
    sign_in(client, pso)
    before = current_seq()
    answer = client.post(
        edit_url(w, camera),
        {
            "name": "Gate camera north",
            "geometry": json.dumps(MOVED),
            "owner": str(w.authority.pk),
            "zone": str(w.restricted.pk),
            "gate": str(w.gate.pk),
            "silent_after": "45",
        },
        follow=True,
    )
    assert answer.redirect_chain == [(f"/sites/{w.port.locode}/", 302)]
    assert [str(m) for m in answer.context["messages"]] == ["Saved."]
    stored = fresh(camera)
    assert (stored.name, stored.geometry, stored.zone, stored.silent_after) == (
        "Gate camera north",
        MOVED,
        w.restricted,
        45,
    )
    assert current_seq() > before
    assert AuditRecord.objects.filter(action="sites.device.updated").exists()


def test_the_edit_page_shows_the_service_error_on_the_form(client, w, pso):
    fence = w.devices["FENCE1"]
    sign_in(client, pso)
    answer = client.post(
        edit_url(w, fence),
        {
            "name": "Fence with a gate",
            "geometry": json.dumps(MOVED),
            "owner": str(w.authority.pk),
            "zone": str(w.quay.pk),
            "gate": str(w.gate.pk),
            "silent_after": "15",
        },
    )
    assert answer.status_code == 200
    assert answer.context["form"].errors["gate"] == ["only an ANPR camera watches a gate"]
    assert "only an ANPR camera watches a gate" in answer.content.decode()
    assert fresh(fence).name == fence.name and fresh(fence).gate is None
    assert not AuditRecord.objects.filter(action="sites.device.updated").exists()


def test_the_edit_page_of_another_port_is_not_found(client, w, pso):
    other = world()
    sign_in(client, pso)
    foreign = other.devices["ANPR1"]
    assert client.get(f"/sites/{other.port.locode}/devices/{foreign.pk}/edit/").status_code == 404
    assert client.get(edit_url(w, foreign)).status_code == 404  # not a device of this port


@pytest.mark.parametrize("field", ["zone", "gate", "owner", "colour"])
def test_api_create_names_a_bad_reference_or_unknown_field(client, w, pso, field):
    other = world()
    sign_in(client, pso)
    body = {
        "code": "NEW-CAM",
        "name": "New camera",
        "kind": "anpr",
        "geometry": MOVED,
        "owner": str(w.authority.pk),
    }
    body[field] = {
        "zone": str(other.quay.pk),
        "gate": str(uuid.uuid4()),
        "owner": str(other.authority.pk),
        "colour": "red",
    }[field]
    answer = client.post(
        f"/api/v1/sites/ports/{w.port.locode}/devices",
        data=json.dumps(body),
        content_type="application/json",
    )
    assert answer.status_code == 422, answer.content
    assert list(answer.json()["fields"]) == [field]
    assert not Device.objects.filter(code="NEW-CAM").exists()
