"""Sharing end to end through pages, API and services: alerts, circles, comments, sightings,
attachments, notifications, widening, versions, import and export."""

import io
import json
import re
from pathlib import Path

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from port2port.core.errors import Conflict, Forbidden, Invalid
from port2port.core.models import AuditRecord
from port2port.core.roles import Role
from port2port.sharing import selectors, services
from port2port.sharing.models import (
    CircleMember,
    Distribution,
    Item,
    Notification,
    Subscription,
    Tlp,
)

from ..core.factories import PortFactory, sign_in, user_in
from .factories import circle_with, share, terminal

pytestmark = pytest.mark.django_db

TESTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata"


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buffer, "PNG")
    return buffer.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture
def world():
    antwerp, liege = PortFactory(locode="BEANR"), PortFactory(locode="BELGG")
    poab, sct, ltt = (
        terminal(antwerp, name="POAB"),
        terminal(antwerp, name="SCT"),
        terminal(liege, name="LTT"),
    )
    pso = user_in(poab, Role.PORT_SECURITY_OFFICER, email="pso@example.org")
    member = user_in(ltt, Role.PFSO, email="liege@example.org")
    outsider = user_in(sct, Role.PFSO, email="sct@example.org")
    circle = circle_with(poab, member, name="Taskforce Containers")
    return {
        "antwerp": antwerp,
        "poab": poab,
        "sct": sct,
        "ltt": ltt,
        "pso": pso,
        "member": member,
        "outsider": outsider,
        "circle": circle,
    }


def test_pso_posts_an_urgent_amber_alert_with_photo_and_pdf(
    client, world, django_capture_on_commit_callbacks
):
    w = world
    sign_in(client, w["pso"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/sharing/items/new/",
            {
                "kind": "modus_operandi",
                "title": "Cloned seals on reefer containers",
                "body": "Seals are **cloned**.",
                "language": "en",
                "topics": ["smuggling"],
                "ports": [str(w["antwerp"].pk)],
                "urgency": "urgent",
                "tlp": "amber",
                "distribution": "circle",
                "circle": str(w["circle"].pk),
                "min_clearance": "none",
                "files": [
                    SimpleUploadedFile("seal.png", png_bytes(), content_type="image/png"),
                    SimpleUploadedFile("report.pdf", PDF, content_type="application/pdf"),
                ],
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    item = Item.objects.get(title="Cloned seals on reefer containers")
    assert sorted(a.content_type for a in item.attachments.all()) == [
        "application/pdf",
        "image/png",
    ]
    # The circle member is told at once, in the app and by e-mail; nobody else is.
    assert Notification.objects.filter(item=item, user=w["member"], reason="circle").exists()
    assert not Notification.objects.filter(item=item, user=w["outsider"]).exists()
    assert [m.to for m in mail.outbox] == [["liege@example.org"]]
    assert "Cloned seals" in mail.outbox[0].body
    # The member downloads the photo; the outsider gets 404 on every URL of it.
    attachment = item.attachments.get(content_type="image/png")
    sign_in(client, w["member"])
    download = client.get(f"/sharing/attachments/{attachment.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == png_bytes()
    assert download["Content-Disposition"].startswith("attachment")
    sign_in(client, w["outsider"])
    assert client.get(f"/sharing/attachments/{attachment.pk}/").status_code == 404
    assert client.get(f"/sharing/items/{item.pk}/").status_code == 404
    assert AuditRecord.objects.filter(
        action="sharing.item.created", object_id=str(item.pk)
    ).exists()


@pytest.mark.parametrize(
    "name, data, problem",
    [
        ("photo.png", b"MZ\x90\x00 this is a windows program", "not an allowed file"),
        ("fake.pdf", b"%PDF-1.4 truncated", "not a complete PDF"),
        ("broken.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "not a readable image"),
        ("empty.txt", b"", "is empty"),
    ],
)
def test_disguised_or_bad_attachments_are_refused_and_nothing_is_stored(
    client, world, name, data, problem
):
    sign_in(client, world["pso"])
    response = client.post(
        "/sharing/items/new/",
        {
            "kind": "document",
            "title": "With a bad file",
            "language": "en",
            "urgency": "routine",
            "tlp": "green",
            "distribution": "organisation",
            "min_clearance": "none",
            "files": [SimpleUploadedFile(name, data)],
        },
    )
    assert response.status_code == 200
    assert problem in response.content.decode()
    assert not Item.objects.filter(title="With a bad file").exists()


def test_oversize_attachment_is_refused(world):
    big = SimpleUploadedFile("big.txt", b"a" * (10 * 1024 * 1024 + 1))
    with pytest.raises(Invalid, match="larger than"):
        share(world["pso"], files=[big])
    assert not Item.objects.exists()


def test_unknown_tlp_and_missing_circle_name_the_field(world):
    with pytest.raises(Invalid) as info:
        share(world["pso"], tlp="purple")
    assert "tlp" in info.value.fields
    with pytest.raises(Invalid) as info:
        share(world["pso"], distribution=Distribution.CIRCLE)
    assert "circle" in info.value.fields
    with pytest.raises(Invalid) as info:
        share(world["outsider"], distribution=Distribution.CIRCLE, circle=world["circle"])
    assert "member" in info.value.message


def test_feed_filters_search_comment_and_anonymous_sighting(client, world):
    w = world
    item = share(
        w["pso"],
        title="Drone over the terminal",
        body="Een drone boven de terminal",
        tlp=Tlp.GREEN,
        distribution=Distribution.PLATFORM,
        topics=["drones"],
        language="nl",
    )
    other = share(
        w["pso"],
        title="Fence cut",
        tlp=Tlp.GREEN,
        distribution=Distribution.PLATFORM,
        topics=["perimeter"],
    )
    sign_in(client, w["member"])
    feed = client.get("/sharing/?topic=drones").content.decode()
    assert "Drone over the terminal" in feed and "Fence cut" not in feed
    assert (
        "badge-new" not in client.get("/sharing/").content.decode()
    )  # first visit: nothing is "new" yet
    share(
        w["pso"],
        title="Posted after my last visit",
        tlp=Tlp.GREEN,
        distribution=Distribution.PLATFORM,
    )
    assert client.get("/sharing/").content.decode().count("badge-new") == 1
    results = client.get("/sharing/search/?q=drone").content.decode()
    assert "<mark>" in results and "Drone over the terminal" in results
    client.post(f"/sharing/items/{item.pk}/comment/", {"body": "Seen in Liège too"})
    client.post(f"/sharing/items/{item.pk}/sighting/", {"anonymous": "on", "note": "same model"})
    assert client.post(f"/sharing/items/{item.pk}/sighting/", {"note": "again"}).status_code == 422
    sign_in(client, w["pso"])
    page = client.get(f"/sharing/items/{item.pk}/").content.decode()
    assert "Seen in Liège too" in page
    assert "An organisation (not named)" in page and "LTT" not in re.sub(
        r'value="[^"]*"', "", page.split("Sightings")[1].split("Comments")[0]
    )
    del other


def test_only_the_source_edits_and_widens_and_versions_are_kept(client, world):
    w = world
    item = share(
        w["pso"],
        title="Original title",
        tlp=Tlp.AMBER,
        distribution=Distribution.CIRCLE,
        circle=w["circle"],
    )
    with pytest.raises((Forbidden, Exception)):
        services.item_update(actor=w["member"], item=item, distribution=Distribution.PLATFORM)
    request = services.widening_request_create(
        actor=w["member"], item=item, message="Useful for all terminals"
    )
    assert Notification.objects.filter(user=w["pso"], item=item, reason="widening_request").exists()
    services.widening_request_decide(actor=w["pso"], request=request, grant=True)
    services.item_update(
        actor=w["pso"],
        item=item,
        title="Wider title",
        distribution=Distribution.PLATFORM,
        tlp=Tlp.GREEN,
        circle=None,
    )
    item.refresh_from_db()
    assert item.version == 2 and item.versions.get().title == "Original title"
    assert selectors.item_visible_to(w["outsider"], item)
    assert AuditRecord.objects.filter(
        action="sharing.item.updated", object_id=str(item.pk)
    ).exists()


def test_circles_invitation_acceptance_leaving_all_audited(client, world):
    w = world
    sign_in(client, w["pso"])
    response = client.post(
        f"/sharing/circles/{w['circle'].pk}/", {"organisation": str(w["sct"].pk)}
    )
    assert response.status_code == 302
    invitation = CircleMember.objects.get(circle=w["circle"], organisation=w["sct"])
    assert invitation.status == "invited"
    sign_in(client, w["outsider"])
    assert "Taskforce Containers" in client.get("/sharing/circles/").content.decode()
    client.post(f"/sharing/circles/members/{invitation.pk}/respond/", {"decision": "accept"})
    invitation.refresh_from_db()
    assert invitation.status == "active"
    item = share(w["pso"], tlp=Tlp.AMBER, distribution=Distribution.CIRCLE, circle=w["circle"])
    assert selectors.item_visible_to(w["outsider"], item)
    client.post(f"/sharing/circles/members/{invitation.pk}/leave/")
    invitation.refresh_from_db()
    assert invitation.status == "left"
    actions = set(
        AuditRecord.objects.filter(action__startswith="sharing.circle").values_list(
            "action", flat=True
        )
    )
    assert {"sharing.circle.invited", "sharing.circle.accepted", "sharing.circle.left"} <= actions
    # Non-owners cannot invite.
    with pytest.raises(Forbidden):
        services.circle_invite(actor=w["member"], circle=w["circle"], organisation=w["sct"])


def test_last_owner_cannot_leave(world):
    owner_membership = CircleMember.objects.get(circle=world["circle"], is_owner=True)
    with pytest.raises(Conflict):
        services.circle_leave(actor=world["pso"], member=owner_membership)


def test_notifications_never_about_items_one_may_not_see(world):
    w = world
    Subscription.objects.create(
        user=w["outsider"], email=Subscription.Email.URGENT
    )  # wants everything
    secret = share(
        w["pso"],
        tlp=Tlp.AMBER,
        distribution=Distribution.CIRCLE,
        circle=w["circle"],
        urgency="urgent",
    )
    open_item = share(w["pso"], tlp=Tlp.GREEN, distribution=Distribution.PLATFORM, urgency="urgent")
    services.notifications_fan_out(item_id=secret.pk)
    services.notifications_fan_out(item_id=open_item.pk)
    assert list(
        Notification.objects.filter(user=w["outsider"]).values_list("item_id", flat=True)
    ) == [open_item.pk]
    to_outsider = [m.body for m in mail.outbox if m.to == ["sct@example.org"]]
    assert to_outsider and not any(str(secret.pk) in body for body in to_outsider)
    assert Notification.objects.filter(user=w["member"], item=secret).exists()


def test_digest_sends_pending_visible_notifications(world):
    w = world
    Subscription.objects.create(user=w["outsider"], email=Subscription.Email.DIGEST)
    share(w["pso"], title="Routine tip", tlp=Tlp.GREEN, distribution=Distribution.PLATFORM)
    services.notifications_fan_out(item_id=Item.objects.get(title="Routine tip").pk)
    mail.outbox.clear()
    assert services.digest_send() == 1
    assert "Routine tip" in mail.outbox[0].body


def stix_bundle(
    n: int = 3, tlp_ref: str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
) -> dict:
    objects = [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--00000000-0000-4000-8000-{i:012d}",
            "created": "2026-11-01T10:00:00.000Z",
            "modified": "2026-11-01T10:00:00.000Z",
            "name": f"bad domain {i}",
            "pattern": f"[domain-name:value = 'evil{i}.example']",
            "pattern_type": "stix",
            "valid_from": "2026-11-01T10:00:00Z",
            "object_marking_refs": [tlp_ref],
        }
        for i in range(n)
    ]
    return {
        "type": "bundle",
        "id": "bundle--11111111-1111-4111-8111-111111111111",
        "objects": objects,
    }


def test_isac_member_imports_stix_shares_green_and_exports(client, world):
    w = world
    sign_in(client, w["pso"])
    upload = SimpleUploadedFile("ioc.json", json.dumps(stix_bundle(3)).encode())
    response = client.post(
        "/api/v1/sharing/import",
        {"format": "stix", "file": upload, "tlp": "green", "distribution": "platform"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["indicators"] == 3 and body["items"][0]["tlp"] == "green"
    sign_in(client, w["outsider"])
    export = client.get("/api/v1/sharing/export?format=stix").json()
    indicators = [o for o in export["objects"] if o["type"] == "indicator"]
    assert len(indicators) == 3
    from stix2validator import ValidationOptions, validate_instance

    assert validate_instance(export, ValidationOptions(version="2.1")).is_valid


def test_import_never_loosens_the_files_marking(world):
    amber = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
    report = services.items_import(
        actor=world["pso"], fmt="stix", data=json.dumps(stix_bundle(1, amber)), tlp="green"
    )
    assert report.items[0].tlp == "amber"
    assert report.tightened


def test_malformed_import_stores_nothing(world):
    before = Item.objects.count()
    for data in [b"not json", b"{}", json.dumps({"type": "bundle", "objects": "x"}).encode()]:
        with pytest.raises(Invalid) as info:
            services.items_import(actor=world["pso"], fmt="stix", data=data)
        assert info.value.fields.get("file")
    assert Item.objects.count() == before


@pytest.mark.skipif(
    not (TESTDATA / "misp").exists(), reason="../shared/testdata is not beside this clone"
)
def test_cli_imports_a_real_misp_event_and_exports(world, capsys, tmp_path):
    from port2port.cli import main as cli

    code = cli(
        [
            "sharing",
            "import",
            str(TESTDATA / "misp" / "osint-event-sednit.json"),
            "--format",
            "misp",
            "--org",
            "POAB",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "imported 1 item(s)" in out
    item = Item.objects.get(source_org=w_org(world))
    assert item.tlp == "clear" and item.indicators.count() > 0
    target = tmp_path / "export.json"
    assert (
        cli(["sharing", "export", "--format", "stix", "--org", "POAB", "--out", str(target)]) == 0
    )
    assert json.loads(target.read_text())["type"] == "bundle"
    assert (
        cli(
            [
                "sharing",
                "import",
                str(tmp_path / "missing.json"),
                "--format",
                "misp",
                "--org",
                "POAB",
            ]
        )
        == 2
    )


def w_org(world):
    return world["poab"]
