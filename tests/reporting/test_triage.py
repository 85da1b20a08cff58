"""The triage side of anonymous reporting, through the pages and the API (issue 4, part 9): the
queue, opening (audited), assigning, statuses, notes and replies, forwarding, sharing,
attachments, statistics and channels."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from port2port.core.models import AuditRecord, OrganisationKind
from port2port.core.roles import Role
from port2port.core.visibility import SYSTEM
from port2port.reporting import crypto, pow, services
from port2port.reporting.models import Channel, Report
from port2port.sharing.models import Item

from ..core.factories import OrganisationFactory, PortFactory, sign_in, user_in

pytestmark = pytest.mark.django_db

MARKER = "ZX-MARKER-5521"
QUESTIONS = [
    {"key": "vessel", "type": "text", "label": {"en": "Vessel name", "nl": "Naam van het schip"}},
    {
        "key": "seen_before",
        "type": "choice",
        "label": {"en": "Seen before?"},
        "choices": [
            {"value": "often", "label": {"en": "Often"}},
            {"value": "never", "label": {"en": "Never"}},
        ],
    },
]


@pytest.fixture(autouse=True)
def _light_work(settings, monkeypatch):
    """A cheap proof of work and a cheap receipt hash: their real costs are measured in bench/."""
    settings.REPORTING_POW_BITS = 4
    monkeypatch.setattr(crypto, "RECEIPT_OPSLIMIT", 1)
    monkeypatch.setattr(crypto, "RECEIPT_MEMLIMIT", 8 * 1024)


@pytest.fixture
def w():
    antwerp = PortFactory(locode="BEANR", name="Antwerpen")
    liege = PortFactory(locode="BELGG", name="Liège")
    ghent = PortFactory(locode="BEGNE", name="Gent")
    police = OrganisationFactory(
        kind=OrganisationKind.POLICE, name="Scheepvaartpolitie Antwerpen", ports=[antwerp]
    )
    liege_pa = OrganisationFactory(
        kind=OrganisationKind.PORT_AUTHORITY, name="Port autonome de Liège", ports=[liege]
    )
    ghent_police = OrganisationFactory(
        kind=OrganisationKind.POLICE, name="Scheepvaartpolitie Gent", ports=[ghent]
    )
    team = services.team_create(
        actor=SYSTEM, organisation=police, name="Hub Antwerpen", ports=[antwerp]
    )
    liege_team = services.team_create(
        actor=SYSTEM, organisation=liege_pa, name="Sûreté Liège", ports=[liege]
    )
    ghent_team = services.team_create(
        actor=SYSTEM, organisation=ghent_police, name="Hub Gent", ports=[ghent]
    )
    channel = services.channel_save(
        actor=SYSTEM, team=team, slug="portwatch", name="Portwatch", questions=QUESTIONS
    )
    liege_channel = services.channel_save(
        actor=SYSTEM, team=liege_team, slug="liege", name="Port de Liège", questions=[]
    )
    officer = user_in(police, Role.POLICE_LIAISON)
    colleague = user_in(police, Role.POLICE_LIAISON)
    liege_user = user_in(liege_pa, Role.PORT_SECURITY_OFFICER)
    ghent_user = user_in(ghent_police, Role.POLICE_LIAISON)
    employee = user_in(police, Role.EMPLOYEE)
    return locals()


def submit(channel, files=(), **answers):
    data = {"category": "drug_smuggling", "port": "BEANR", "what": "Bags moved at quay 869"}
    data.update(answers)
    challenge = pow.challenge_issue(channel.slug)
    return services.report_submit(
        channel=channel,
        data=data,
        files=list(files),
        challenge=challenge,
        nonce=pow.solve(challenge, 4),
    )


def api_ids(client, url="/api/v1/reporting/reports") -> set[str]:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["items"]}


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# The queue ------------------------------------------------------------------------------------


def test_queue_shows_only_the_teams_own_reports(w, client):
    ours = submit(w["channel"]).report
    theirs = submit(w["liege_channel"], port="BELGG").report
    sign_in(client, w["officer"])
    html = page(client, "/reporting/")
    assert f"/reporting/{ours.pk}/" in html and f"/reporting/{theirs.pk}/" not in html
    assert 'data-testid="count-new">1<' in html
    assert api_ids(client) == {str(ours.pk)}
    sign_in(client, w["liege_user"])
    assert f"/reporting/{theirs.pk}/" in page(client, "/reporting/")
    assert f"/reporting/{ours.pk}/" not in page(client, "/reporting/")
    assert api_ids(client) == {str(theirs.pk)}


def test_queue_filters(w, client):
    drone = submit(w["channel"], category="drone").report
    smuggling = submit(w["channel"]).report
    services.report_assign(actor=w["officer"], report=smuggling, user=w["officer"])
    sign_in(client, w["officer"])
    html = page(client, "/reporting/?category=drone")
    assert str(drone.pk) in html and str(smuggling.pk) not in html
    html = page(client, "/reporting/?mine=on")
    assert str(smuggling.pk) in html and str(drone.pk) not in html
    assert api_ids(client, "/api/v1/reporting/reports?status=triage") == {str(smuggling.pk)}
    assert api_ids(client, "/api/v1/reporting/reports?channel=liege") == set()
    response = client.get("/api/v1/reporting/reports?status=pending")
    assert response.status_code == 422 and "status" in response.json()["fields"]


def test_without_the_triage_role_the_queue_is_forbidden(w, client):
    submit(w["channel"])
    sign_in(client, w["employee"])
    response = client.get("/reporting/")
    assert response.status_code == 403
    assert "triaging reports" in response.content.decode()
    assert client.get("/api/v1/reporting/reports").status_code == 403
    client.logout()
    assert client.get("/reporting/").status_code == 302  # to the login page


# Opening a report -----------------------------------------------------------------------------


def test_opening_shows_the_answers_and_is_audited(w, client):
    report = submit(
        w["channel"],
        what="Two men with bags\nnear the reefer stack",
        place="Deurganckdok",
        vessel="MSC Anna",
        seen_before="often",
        contact_consent="on",
        contact="+32 470 00 00 00",
    ).report
    sign_in(client, w["officer"])
    html = page(client, f"/reporting/{report.pk}/")
    assert "Two men with bags<br>near the reefer stack" in html
    assert "Deurganckdok" in html and "Antwerpen" in html
    assert "Vessel name" in html and "MSC Anna" in html  # the channel's question, with its label
    assert "Seen before?" in html and "Often" in html  # a choice shows its label
    assert "+32 470 00 00 00" in html
    opened = AuditRecord.objects.filter(
        action="reporting.report.opened", object_id=str(report.pk), actor=w["officer"]
    )
    assert opened.count() == 1
    body = client.get(f"/api/v1/reporting/reports/{report.pk}").json()
    assert body["answers"]["vessel"] == "MSC Anna"
    assert body["report"]["team_name"] == "Hub Antwerpen" and body["report"]["port"] == "BEANR"
    assert opened.count() == 2  # the API's opening is recorded too


def test_another_team_gets_404(w, client):
    report = submit(w["channel"]).report
    sign_in(client, w["ghent_user"])
    assert client.get(f"/reporting/{report.pk}/").status_code == 404
    assert client.get(f"/api/v1/reporting/reports/{report.pk}").status_code == 404
    response = client.post(f"/reporting/{report.pk}/note/", {"note-body": "hello"})
    assert response.status_code == 404
    response = client.post(
        f"/api/v1/reporting/reports/{report.pk}/notes",
        {"body": "hello"},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert not report.messages.exists()
    assert not AuditRecord.objects.filter(action="reporting.report.opened").exists()


# Triage actions -------------------------------------------------------------------------------


def test_assign_to_a_member_to_me_and_not_to_another_team(w, client):
    report = submit(w["channel"]).report
    sign_in(client, w["officer"])
    html = page(client, f"/reporting/{report.pk}/")
    assert str(w["colleague"].pk) in html  # offered
    assert str(w["employee"].pk) not in html  # same organisation, does not triage
    response = client.post(f"/reporting/{report.pk}/assign/", {"assign-user": w["colleague"].pk})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.assigned_to == w["colleague"] and report.status == Report.Status.TRIAGE
    client.post(f"/reporting/{report.pk}/assign/", {"assign-me": "1"})
    report.refresh_from_db()
    assert report.assigned_to == w["officer"]
    response = client.post(f"/reporting/{report.pk}/assign/", {"assign-user": w["ghent_user"].pk})
    assert response.status_code == 422  # not offered: the form refuses it
    report.refresh_from_db()
    assert report.assigned_to == w["officer"]
    response = client.post(
        f"/api/v1/reporting/reports/{report.pk}/assign",
        {"user": str(w["ghent_user"].pk)},
        content_type="application/json",
    )
    assert response.status_code == 422 and "user" in response.json()["fields"]
    response = client.post(
        f"/api/v1/reporting/reports/{report.pk}/assign",
        {"user": None},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["assigned_to"] is None


def test_closing_needs_a_reason(w, client):
    report = submit(w["channel"]).report
    sign_in(client, w["officer"])
    response = client.post(f"/reporting/{report.pk}/status/", {"status-status": "closed"})
    assert response.status_code == 422
    assert "give the reason for closing" in response.content.decode()
    report.refresh_from_db()
    assert report.status == Report.Status.NEW
    response = client.post(
        f"/reporting/{report.pk}/status/",
        {"status-status": "closed", "status-reason": "handed to the investigating judge"},
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == Report.Status.CLOSED
    assert report.close_reason == "handed to the investigating judge"
    response = client.post(
        f"/api/v1/reporting/reports/{report.pk}/status",
        {"status": "closed"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid" and "reason" in response.json()["fields"]
    response = client.post(
        f"/api/v1/reporting/reports/{report.pk}/status",
        {"status": "triage"},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["status"] == "triage"


def test_an_internal_note_stays_with_the_team_a_reply_reaches_the_reporter(w, client):
    submitted = submit(w["channel"])
    report = submitted.report
    sign_in(client, w["officer"])
    response = client.post(
        f"/reporting/{report.pk}/note/", {"note-body": "internal: matches case 2024/117"}
    )
    assert response.status_code == 302
    response = client.post(
        f"/reporting/{report.pk}/reply/", {"reply-body": "Thank you; can you tell us the time?"}
    )
    assert response.status_code == 302
    response = client.post(
        f"/api/v1/reporting/reports/{report.pk}/notes",
        {"body": "api: second internal note", "internal": True},
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["internal"] is True
    response = client.post(
        f"/api/v1/reporting/reports/{report.pk}/notes",
        {"body": "api: was it at night?", "internal": False},
        content_type="application/json",
    )
    assert response.status_code == 201
    opened, key = services.reporter_open(submitted.receipt)
    bodies = [m["body"] for m in services.messages_for_reporter(opened, key)]
    assert bodies == ["Thank you; can you tell us the time?", "api: was it at night?"]
    html = page(client, f"/reporting/{report.pk}/")
    assert html.count('data-internal="true"') == 2
    assert "internal: matches case 2024/117" in html
    response = client.post(f"/reporting/{report.pk}/reply/", {"reply-body": "  "})
    assert response.status_code == 422


def test_forward_to_liege(w, client):
    report = submit(w["channel"], port="BELGG", what="Drone over the Trilogiport").report
    sign_in(client, w["officer"])
    html = page(client, f"/reporting/{report.pk}/")
    assert "Sûreté Liège (BELGG)" in html and "Hub Gent (BEGNE)" in html
    response = client.post(f"/reporting/{report.pk}/forward/", {"forward-team": w["liege_team"].pk})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.team == w["liege_team"] and report.status == Report.Status.FORWARDED
    assert "Drone over the Trilogiport" in page(client, f"/reporting/{report.pk}/")  # kept access
    sign_in(client, w["liege_user"])
    assert f"/reporting/{report.pk}/" in page(client, "/reporting/")
    assert "Drone over the Trilogiport" in page(client, f"/reporting/{report.pk}/")
    assert str(report.pk) in api_ids(client)
    sign_in(client, w["ghent_user"])
    assert client.get(f"/reporting/{report.pk}/").status_code == 404
    assert str(report.pk) not in api_ids(client)


def test_forward_through_the_api(w, client):
    report = submit(w["channel"], port="BELGG").report
    sign_in(client, w["officer"])
    targets = client.get(f"/api/v1/reporting/reports/{report.pk}/forward-targets").json()
    assert {t["name"] for t in targets["items"]} == {"Sûreté Liège", "Hub Gent"}
    assert {t["name"]: t["ports"] for t in targets["items"]}["Sûreté Liège"] == ["BELGG"]
    response = client.post(
        f"/api/v1/reporting/reports/{report.pk}/forward",
        {"team": str(w["team"].pk)},
        content_type="application/json",
    )
    assert response.status_code == 422  # already with this team
    response = client.post(
        f"/api/v1/reporting/reports/{report.pk}/forward",
        {"team": str(w["liege_team"].pk)},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["team"] == str(w["liege_team"].pk)
    sign_in(client, w["liege_user"])
    assert str(report.pk) in api_ids(client)
    assert client.get(f"/api/v1/reporting/reports/{report.pk}").status_code == 200
    teams = client.get("/api/v1/reporting/teams").json()["items"]
    assert [t["name"] for t in teams] == ["Sûreté Liège"]


def _item_text(item: Item) -> str:
    return json.dumps(
        [str(value) for value in Item.objects.filter(pk=item.pk).values().get().values()]
    )


def test_share_creates_an_item_in_the_teams_own_words(w, client):
    report = submit(
        w["channel"],
        what=f"{MARKER} saw my colleague Jan take a bag",
        place=f"{MARKER} quay",
        vessel=MARKER,
        contact_consent="on",
        contact=f"{MARKER}@example.org",
    ).report
    sign_in(client, w["officer"])
    html = page(client, f"/reporting/{report.pk}/")
    assert "never copy the reporter" in html and 'data-testid="share-warning"' in html
    response = client.post(
        f"/reporting/{report.pk}/share/",
        {
            "share-title": "Bags taken off reefers at night",
            "share-body": "Watch for bags moved from reefers between shifts.",
            "share-tlp": "amber",
            "share-distribution": "organisation",
        },
    )
    assert response.status_code == 302, response.content.decode()
    item = Item.objects.get()
    assert item.title == "Bags taken off reefers at night"
    assert item.body == "Watch for bags moved from reefers between shifts."
    assert item.tlp == "amber" and item.distribution == "organisation"
    assert item.source_org == w["police"]
    assert MARKER not in _item_text(item)
    response = client.post(
        f"/api/v1/reporting/reports/{report.pk}/share",
        {
            "title": "Night-time bag movements",
            "body": "Reefer areas: check bags between shifts.",
            "tlp": "green",
            "distribution": "port_community",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    shared = Item.objects.get(pk=response.json()["id"])
    assert [p.locode for p in shared.ports.all()] == ["BEANR"]
    assert MARKER not in _item_text(shared)
    assert AuditRecord.objects.filter(action="reporting.report.shared").count() == 2


def test_share_with_a_bad_choice_stores_nothing(w, client):
    report = submit(w["channel"]).report
    sign_in(client, w["officer"])
    response = client.post(
        f"/reporting/{report.pk}/share/",
        {"share-title": "x", "share-body": "y", "share-tlp": "red", "share-distribution": "named"},
    )
    assert response.status_code == 422
    response = client.post(
        f"/api/v1/reporting/reports/{report.pk}/share",
        {"title": "x", "body": "y", "tlp": "purple", "distribution": "organisation"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert not Item.objects.exists()


# Attachments ----------------------------------------------------------------------------------


def _photo_with_exif() -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = MARKER  # camera maker
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_attachments_cleaned_inline_original_on_purpose(w, client):
    photo = SimpleUploadedFile("IMG_0042.jpg", _photo_with_exif(), content_type="image/jpeg")
    pdf = SimpleUploadedFile("note.pdf", b"%PDF-1.4\n" + MARKER.encode(), content_type="x/y")
    report = submit(w["channel"], files=[photo, pdf]).report
    image = report.attachments.get(content_type="image/jpeg")
    document = report.attachments.get(content_type="application/pdf")
    sign_in(client, w["officer"])
    html = page(client, f"/reporting/{report.pk}/")
    assert f'<img src="/reporting/attachments/{image.pk}/"' in html
    assert f"/reporting/attachments/{image.pk}/?original=1" in html
    assert "IMG_0042.jpg" in html and "note.pdf" in html
    shown = client.get(f"/reporting/attachments/{image.pk}/")
    assert shown.status_code == 200 and shown["Content-Type"] == "image/jpeg"
    assert shown["Content-Disposition"].startswith("inline")
    assert shown["Cache-Control"] == "private, no-store"
    assert MARKER.encode() not in shown.content
    original = client.get(f"/reporting/attachments/{image.pk}/?original=1")
    assert original["Content-Disposition"].startswith("attachment")
    assert MARKER.encode() in original.content
    assert "IMG_0042" not in original["Content-Disposition"]  # the reporter's file name stays out
    evidence = AuditRecord.objects.filter(action="reporting.attachment.read").order_by("seq")
    assert [r.details["original"] for r in evidence] == [False, True]
    pdf_response = client.get(f"/reporting/attachments/{document.pk}/")
    assert pdf_response["Content-Type"] == "application/pdf"
    assert pdf_response["Content-Disposition"].startswith("attachment")
    sign_in(client, w["ghent_user"])
    assert client.get(f"/reporting/attachments/{image.pk}/").status_code == 404
    assert client.get(f"/reporting/attachments/{image.pk}/?original=1").status_code == 404
    sign_in(client, w["employee"])
    assert client.get(f"/reporting/attachments/{image.pk}/").status_code == 403


# Statistics and channels ----------------------------------------------------------------------


def test_statistics_page_and_api(w, client):
    submit(w["channel"])
    submit(w["channel"], contact_consent="on", contact="call me")
    submit(w["liege_channel"], port="BELGG", category="drone")
    sign_in(client, w["officer"])
    html = page(client, "/reporting/stats/")
    assert 'data-testid="stats-total">3<' in html
    assert "2 (66.7 %)" in html
    assert html.count('data-testid="stats-row"') == 2
    assert "Drug smuggling" in html and "Suspicious drone" in html
    body = client.get("/api/v1/reporting/statistics").json()
    assert body["total"] == 3 and body["anonymous_share"] == pytest.approx(0.667)
    rows = {(r["channel"], r["category"], r["port"]): r for r in body["rows"]}
    assert rows[("Portwatch", "drug_smuggling", "BEANR")]["reports"] == 2
    assert rows[("Portwatch", "drug_smuggling", "BEANR")]["anonymous"] == 1
    sign_in(client, w["employee"])
    assert client.get("/reporting/stats/").status_code == 403
    assert client.get("/api/v1/reporting/statistics").status_code == 403


def _channel_post(channel, **changes) -> dict:
    prefix = f"channel-{channel.pk}"
    data = {
        "channel": str(channel.pk),
        f"{prefix}-name": channel.name,
        f"{prefix}-questionnaire": json.dumps(channel.questionnaire),
        f"{prefix}-languages": channel.languages,
        f"{prefix}-retention_days": channel.retention_days,
        f"{prefix}-reports_per_minute": channel.reports_per_minute,
        f"{prefix}-team": str(channel.team_id),
        f"{prefix}-ports": [str(p.pk) for p in channel.ports.all()],
        f"{prefix}-intro": json.dumps(channel.intro),
        f"{prefix}-active": "on" if channel.active else "",
    }
    data.update({f"{prefix}-{key}": value for key, value in changes.items()})
    return data


def test_channels_page_saves_a_questionnaire_and_refuses_bad_json(w, client):
    channel = w["liege_channel"]
    sign_in(client, w["liege_user"])
    html = page(client, "/reporting/channels/")
    assert "Port de Liège" in html and "Portwatch" not in html
    questions = [
        {
            "key": "company",
            "type": "text",
            "label": {"en": "Company", "fr": "Entreprise"},
            "required": True,
        }
    ]
    response = client.post(
        "/reporting/channels/",
        _channel_post(
            channel,
            name="Liège: signalement",
            questionnaire=json.dumps(questions),
            languages=["fr", "nl"],
            retention_days=180,
        ),
    )
    assert response.status_code == 302
    channel = Channel.objects.get(pk=channel.pk)
    assert channel.name == "Liège: signalement" and channel.questionnaire == questions
    assert channel.languages == ["fr", "nl"] and channel.retention_days == 180
    assert channel.slug == "liege" and channel.team == w["liege_team"]
    response = client.post(
        "/reporting/channels/", _channel_post(channel, questionnaire='[{"key": "x",')
    )
    assert response.status_code == 422 and "Enter a valid JSON." in response.content.decode()
    response = client.post(
        "/reporting/channels/",
        _channel_post(
            channel, questionnaire=json.dumps([{"key": "what", "type": "text", "label": {}}])
        ),
    )
    assert response.status_code == 422
    assert "the key must be new" in response.content.decode()
    assert Channel.objects.get(pk=channel.pk).questionnaire == questions
    response = client.post("/reporting/channels/", _channel_post(channel, languages=[]))
    assert response.status_code == 422
    response = client.post("/reporting/channels/", _channel_post(w["channel"], name="Mine now"))
    assert response.status_code == 404  # another organisation's channel
    assert Channel.objects.get(pk=w["channel"].pk).name == "Portwatch"
    sign_in(client, w["officer"])  # triages, does not manage channels
    assert client.get("/reporting/channels/").status_code == 403


def test_a_port_opens_its_own_channel_with_a_new_team(w, client):
    from port2port.reporting.models import TriageTeam

    sign_in(client, w["liege_user"])
    organisation = w["liege_team"].organisation
    response = client.post(
        "/reporting/channels/",
        {"action": "team", "team-name": "Liège nuit", "team-organisation": str(organisation.pk)},
    )
    assert response.status_code == 302
    team = TriageTeam.objects.get(name="Liège nuit")
    assert bytes(team.public_key) and bytes(team.private_key_box)
    new = {
        "action": "create",
        "new-slug": "liege-nuit",
        "new-name": "Liège, la nuit",
        "new-team": str(team.pk),
        "new-languages": ["fr", "nl"],
        "new-retention_days": "90",
        "new-reports_per_minute": "10",
        "new-intro": '{"fr": "Signalez ce que vous voyez la nuit."}',
        "new-questionnaire": "[]",
        "new-active": "on",
    }
    assert client.post("/reporting/channels/", {**new, "new-intro": '"text"'}).status_code == 422
    assert client.post("/reporting/channels/", new).status_code == 302
    channel = Channel.objects.get(slug="liege-nuit")
    assert channel.team == team and channel.active and channel.retention_days == 90
    assert client.get("/report/liege-nuit/?lang=fr").status_code == 200
    other = {**new, "new-slug": "x", "new-team": str(w["channel"].team_id)}
    assert client.post("/reporting/channels/", other).status_code == 422  # not their team
