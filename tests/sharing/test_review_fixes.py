"""Regression tests for what a security review of sharing found."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from port2port.core import services as core_services
from port2port.core.errors import Forbidden, Invalid
from port2port.core.models import ClearanceLevel, Membership, User
from port2port.core.roles import Role
from port2port.sharing import selectors, services
from port2port.sharing.adapters.misp import parse_event
from port2port.sharing.adapters.stix import parse_bundle
from port2port.sharing.models import Attachment, CircleMember, Distribution, Item, Notification, Tlp

from ..core.factories import OrganisationFactory, PortFactory, sign_in, user_in
from .factories import circle_with, share, terminal
from .test_services import png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    port = PortFactory(locode="BEANR")
    poab, sct = terminal(port, name="POAB"), terminal(port, name="SCT")
    pso = user_in(poab, Role.PORT_SECURITY_OFFICER)
    operator = user_in(poab, Role.CONTROL_ROOM_OPERATOR)  # a reader
    outsider = user_in(sct, Role.PFSO)
    circle = circle_with(poab, name="Taskforce Containers")
    return locals()


def test_readers_and_tokens_do_not_own_circles(w, client):
    with pytest.raises(Forbidden):
        services.circle_invite(actor=w["operator"], circle=w["circle"], user=w["outsider"])
    _, secret = core_services.token_create(
        actor=w["pso"], organisation=w["poab"], name="t", scopes=["sharing:item:view"]
    )
    response = client.post(
        f"/api/v1/sharing/circles/{w['circle'].pk}/invitations",
        {"username": w["outsider"].username},
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 403
    item = share(w["pso"], tlp=Tlp.GREEN, distribution=Distribution.PLATFORM)
    response = client.post(
        f"/api/v1/sharing/items/{item.pk}/comments",
        {"body": "from a machine"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 403


def test_earlier_versions_are_for_the_source_only(w, client):
    item = share(
        w["pso"],
        body="Suspect Jan Peeters",
        tlp=Tlp.AMBER,
        distribution=Distribution.CIRCLE,
        circle=w["circle"],
    )
    services.item_update(
        actor=w["pso"],
        item=item,
        body="Suspect redacted",
        distribution=Distribution.PLATFORM,
        tlp=Tlp.GREEN,
    )
    sign_in(client, w["outsider"])
    page = client.get(f"/sharing/items/{item.pk}/").content.decode()
    assert "redacted" in page and "Jan Peeters" not in page
    sign_in(client, w["pso"])
    assert "Jan Peeters" in client.get(f"/sharing/items/{item.pk}/").content.decode()


def test_a_platform_admin_elsewhere_cannot_widen_or_post_for_others(w):
    item = share(w["pso"], tlp=Tlp.AMBER, distribution=Distribution.ORGANISATION)
    admin = user_in(OrganisationFactory(), Role.PLATFORM_ADMIN)
    with pytest.raises(Exception):  # noqa: B017 - NotFound (cannot see it) or Forbidden
        services.item_update(
            actor=admin, item=item, tlp=Tlp.CLEAR, distribution=Distribution.PLATFORM
        )
    with pytest.raises(Forbidden):
        services.item_create(
            actor=admin,
            source_org=w["poab"],
            kind="document",
            title="x",
            tlp=Tlp.GREEN,
            distribution=Distribution.PLATFORM,
        )
    item.refresh_from_db()
    assert item.tlp == Tlp.AMBER


def test_author_loses_access_with_the_role(w):
    item = share(w["pso"], tlp=Tlp.AMBER, distribution=Distribution.ORGANISATION)
    Membership.objects.filter(user=w["pso"]).delete()
    assert not selectors.item_visible_to(User.objects.get(pk=w["pso"].pk), item)


def test_members_who_left_no_longer_see_the_circle(w):
    member = CircleMember.objects.create(
        circle=w["circle"], user=w["outsider"], status=CircleMember.Status.ACTIVE
    )
    services.circle_leave(actor=w["outsider"], member=member)
    assert not selectors.circles_visible_to(User.objects.get(pk=w["outsider"].pk)).exists()


def test_widening_requests_about_invisible_items_are_not_shown(w):
    cleared = user_in(w["poab"], Role.PORT_SECURITY_OFFICER, clearance=ClearanceLevel.SECRET)
    secret = share(
        cleared,
        title="Secret thing",
        tlp=Tlp.GREEN,
        distribution=Distribution.PLATFORM,
        min_clearance="secret",
    )
    reader = user_in(w["sct"], Role.PFSO, clearance=ClearanceLevel.SECRET)
    services.widening_request_create(actor=reader, item=secret, message="please")
    assert not selectors.widening_requests_for(w["pso"]).exists()
    assert not Notification.objects.filter(user=w["pso"], item=secret).exists()
    assert selectors.widening_requests_for(cleared).exists()


def test_unreadable_markings_never_loosen_an_import():
    bundle = {
        "type": "bundle",
        "id": "bundle--11111111-1111-4111-8111-111111111111",
        "objects": [
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": "indicator--22222222-2222-4222-8222-222222222222",
                "created": "2026-11-01T10:00:00.000Z",
                "modified": "2026-11-01T10:00:00.000Z",
                "pattern": "[domain-name:value = 'a.example']",
                "pattern_type": "stix",
                "valid_from": "2026-11-01T10:00:00Z",
                "object_marking_refs": ["marking-definition--not-a-uuid"],
            },
        ],
    }
    result = parse_bundle(bundle)
    assert not result.items
    assert "marking" in result.skipped[0].reason
    event = {
        "Event": {
            "info": "x",
            "Tag": [{"name": "tlp:green"}],
            "Attribute": [{"type": "domain", "value": "b.example", "Tag": {"name": "tlp:red"}}],
        }
    }
    result = parse_event(event)
    assert not result.items[0].indicators
    assert "Tag" in result.skipped[0].reason


@pytest.mark.parametrize(
    "name, data",
    [
        ("report.pdf", b"<script>alert(1)</script>"),
        ("invoice.hta", b"<script language=vbscript>x</script>"),
    ],
)
def test_a_name_must_match_the_content(w, name, data):
    with pytest.raises(Invalid, match="does not match the content"):
        share(w["pso"], files=[SimpleUploadedFile(name, data)])


def test_files_of_a_refused_item_do_not_stay_on_disk(w, settings):
    from pathlib import Path

    with pytest.raises(Invalid):
        share(
            w["pso"],
            files=[
                SimpleUploadedFile("ok.png", png_bytes()),
                SimpleUploadedFile("bad.bin", b"\x00\x01\x02"),
            ],
        )
    assert not Attachment.objects.exists()
    stored = [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]
    assert stored == []


def test_a_token_with_the_import_scope_imports(w, client):
    _, secret = core_services.token_create(
        actor=w["pso"],
        organisation=w["poab"],
        name="isac",
        scopes=["sharing:item:view", "sharing:item:import"],
    )
    bundle = {
        "type": "bundle",
        "id": "bundle--11111111-1111-4111-8111-111111111111",
        "objects": [
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": "indicator--22222222-2222-4222-8222-222222222222",
                "created": "2026-11-01T10:00:00.000Z",
                "modified": "2026-11-01T10:00:00.000Z",
                "pattern": "[domain-name:value = 'a.example']",
                "pattern_type": "stix",
                "valid_from": "2026-11-01T10:00:00Z",
            }
        ],
    }
    response = client.post(
        "/api/v1/sharing/import",
        {
            "format": "stix",
            "file": SimpleUploadedFile("b.json", json.dumps(bundle).encode()),
            "tlp": "green",
        },
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 201, response.content


def test_nul_in_an_imported_file_is_a_clear_error(w, client):
    sign_in(client, w["pso"])
    event = json.dumps({"Event": {"info": "bad\u0000name", "Attribute": []}}).encode()
    response = client.post(
        "/api/v1/sharing/import", {"format": "misp", "file": SimpleUploadedFile("e.json", event)}
    )
    assert response.status_code == 422
    assert "NUL" in response.json()["fields"]["file"]
    assert not Item.objects.exists()


def test_people_added_by_an_edit_are_told(w, django_capture_on_commit_callbacks):
    item = share(
        w["pso"],
        tlp=Tlp.AMBER,
        distribution=Distribution.NAMED,
        recipients=[w["operator"]],
        urgency="urgent",
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.item_update(actor=w["pso"], item=item, recipients=[w["operator"], w["outsider"]])
    assert Notification.objects.filter(user=w["outsider"], item=item, reason="named").exists()
