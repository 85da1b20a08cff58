"""The reporter's pages (/report/): submission, receipt, follow-up, bad input, anonymity and
encryption at rest, through HTTP as a phone's browser would send it (issue 4)."""

from __future__ import annotations

import hashlib
import html
import io
import logging
import os
import re
import shutil

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import translation
from PIL import Image

from port2port.core.models import AuditRecord, OrganisationKind
from port2port.core.roles import Role
from port2port.core.visibility import SYSTEM
from port2port.reporting import pow, services
from port2port.reporting.models import Attachment, Message, Report

from ..core.factories import OrganisationFactory, PortFactory, user_in

MARKER_IP = "203.0.113.77"
MARKER_FORWARDED = "198.51.100.23"
MARKER_AGENT = "MarkerAgent/9.9"

QUESTIONS = [
    {
        "key": "approach",
        "type": "choice",
        "label": {"en": "How were you approached?", "nl": "Hoe werd u benaderd?"},
        "required": True,
        "choices": [
            {"value": "in_person", "label": {"en": "In person", "nl": "Persoonlijk"}},
            {"value": "online", "label": {"en": "Online", "nl": "Online"}},
        ],
        "show_if": {"key": "category", "in": ["recruitment"]},
    },
    {
        "key": "vessel",
        "type": "text",
        "label": {"en": "Which vessel or vehicle?", "nl": "Welk schip of voertuig?"},
        "required": True,
    },
]


@pytest.fixture(autouse=True)
def _light_work(settings):
    settings.REPORTING_POW_BITS = 4


@pytest.fixture
def line(db):
    antwerp = PortFactory(locode="BEANR", name="Antwerpen")
    ghent = PortFactory(locode="BEGNE", name="Gent")
    police = OrganisationFactory(kind=OrganisationKind.POLICE, ports=[antwerp])
    team = services.team_create(actor=SYSTEM, organisation=police, name="Hub", ports=[antwerp])
    channel = services.channel_save(
        actor=SYSTEM,
        team=team,
        slug="portwatch",
        name="Portwatch",
        questions=QUESTIONS,
        intro={"nl": "Meld anoniem wat u ziet.", "en": "Report what you see, anonymously."},
        ports=[antwerp, ghent],
    )
    return {
        "channel": channel,
        "team": team,
        "officer": user_in(police, Role.POLICE_LIAISON),
        "antwerp": antwerp,
    }


def dutch(text) -> str:
    """What the Dutch catalogue makes of a message (the English text until it is translated);
    `text` may be (message, its placeholders)."""
    text, params = text if isinstance(text, tuple) else (text, None)
    with translation.override("nl"):
        translated = translation.gettext(text)
    return translated % params if params else translated


def page(response) -> str:
    return html.unescape(response.content.decode())


def challenge_of(response) -> str:
    found = re.search(r'name="challenge" value="([^"]+)"', response.content.decode())
    assert found, "the form carries a challenge"
    return html.unescape(found.group(1))


def answers(**extra) -> dict:
    return {
        "lang": "nl",
        "category": "drone",
        "port": "BEANR",
        "place": "Kaai 1742",
        "what": "Een drone boven de containers, zonder lichten.",
        "vessel": "MSC Aurora",
        **extra,
    }


def submit(client, data: dict, *, solve=True, challenge=None, nonce=None, lang="nl"):
    """GET the form as the browser does, do the proof of work, POST the answers."""
    form = client.get(f"/report/portwatch/?lang={lang}")
    assert form.status_code == 200
    challenge = challenge or challenge_of(form)
    nonce = nonce if nonce is not None else (pow.solve(challenge, 4) if solve else "")
    return client.post(
        "/report/portwatch/", {**data, "challenge": challenge, "nonce": nonce}
    ), challenge


def receipt_of(response) -> str:
    found = re.search(
        r'id="receipt"><span>(\d{4})</span> <span>(\d{4})</span> <span>(\d{4})</span> '
        r"<span>(\d{4})</span></p>",
        response.content.decode(),
    )
    assert found, "the receipt is shown in four groups of four digits"
    return "".join(found.groups())


def jpeg_with_exif(marker: str) -> bytes:
    exif = Image.Exif()
    exif[0x010E] = marker  # ImageDescription
    exif[0x8825] = {1: "N", 2: (51.0, 14.0, 30.5), 3: "E", 4: (4.0, 24.0, 1.0)}  # GPSInfo
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def assert_public_headers(response) -> None:
    assert not response.cookies, f"{response.request['PATH_INFO']} set {list(response.cookies)}"
    assert "Set-Cookie" not in response.headers
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]


OUTSIDE_URL = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


# Submission and receipt ------------------------------------------------------------------------


def test_channels_page_lists_active_channels_in_the_chosen_language(line):
    other = services.channel_save(
        actor=SYSTEM,
        team=line["team"],
        slug="onze-haven",
        name="Onze Haven Drugsvrij",
        questions=[],
        languages=["nl", "fr"],
        intro={"nl": "Voor de haven van Antwerpen.", "fr": "Pour le port d'Anvers."},
    )
    closed = services.channel_save(
        actor=SYSTEM, team=line["team"], slug="oud", name="Oude lijn", questions=[]
    )
    closed.active = False
    closed.save()

    response = Client().get("/report/?lang=nl")
    text = page(response)
    assert response.status_code == 200
    assert '<html lang="nl">' in text
    assert dutch("Language") == "Taal" and 'aria-label="Taal"' in text  # the catalogue is used
    assert "Meld anoniem wat u ziet." in text and "Voor de haven van Antwerpen." in text
    assert "Oude lijn" not in text
    assert 'href="/report/portwatch/?lang=nl"' in text
    assert 'href="/report/follow-up/?lang=nl"' in text

    english = page(Client().get("/report/?lang=en"))
    assert "Report what you see, anonymously." in english
    # a channel without English is offered in its own first language
    assert 'href="/report/onze-haven/?lang=nl"' in english
    # on the channel's form, only its languages; an unknown one falls back
    form = page(Client().get("/report/onze-haven/?lang=de"))
    assert '<html lang="nl">' in form
    assert 'hreflang="fr"' in form and 'hreflang="de"' not in form and 'hreflang="en"' not in form
    assert other.slug in form

    missing = Client().get("/report/no-such-line/?lang=nl")
    assert missing.status_code == 404
    assert_public_headers(missing)
    assert Client().get(f"/report/{closed.slug}/").status_code == 404


def test_the_form_asks_the_channel_questions_with_the_anti_abuse_fields(line):
    response = Client().get("/report/portwatch/?lang=nl")
    text = page(response)
    assert response.status_code == 200
    assert_public_headers(response)
    assert 'enctype="multipart/form-data"' in text
    assert 'data-bits="4"' in text
    assert '<input type="hidden" name="lang" value="nl">' in text
    assert '<input type="hidden" name="nonce" value="">' in text
    assert "Welk schip of voertuig?" in text and "Hoe werd u benaderd?" in text
    assert dutch("Port") == "Haven" and ">Haven</label>" in text
    # the conditional question is there, marked, and not required by the browser
    conditional = re.search(r'<div class="[^"]*report-conditional[^"]*"[^>]*>.*?</div>', text, re.S)
    assert conditional and 'data-show-if-key="category"' in conditional.group(0)
    assert 'data-show-if-in="recruitment"' in conditional.group(0)
    assert " required" not in conditional.group(0)
    assert re.search(r'name="vessel"[^>]* required', text)
    # the honeypot: hidden from people and from assistive technology
    honeypot = re.search(r'<div class="visually-hidden" aria-hidden="true">.*?</div>', text, re.S)
    assert honeypot and 'name="website"' in honeypot.group(0)
    assert 'tabindex="-1"' in honeypot.group(0) and 'autocomplete="off"' in honeypot.group(0)
    assert 'name="contact_consent"' in text and 'name="files"' in text and "multiple" in text
    assert '<option value="BEANR">Antwerpen</option>' in text
    assert "/static/js/report-pow.js" in text
    assert "<script>" not in text and "style=" not in text  # strict CSP: nothing inline


def test_submit_in_dutch_gives_a_receipt_once_and_stores_the_report_encrypted(line):
    client = Client()
    refused, first_challenge = submit(client, answers(what="", place="Kaai 1742"))
    assert refused.status_code == 422
    text = page(refused)
    assert '<html lang="nl">' in text
    assert dutch("This question needs an answer.") in text
    assert 'id="error_what"' in text and 'value="Kaai 1742"' in text  # answers kept
    assert challenge_of(refused) != first_challenge  # a new challenge for the next try
    assert Report.objects.count() == 0

    response, _challenge = submit(client, answers(what="Een drone zonder lichten, marker-3310."))
    assert response.status_code == 200  # a page, never a redirect with the receipt in its URL
    assert_public_headers(response)
    text = page(response)
    assert '<html lang="nl">' in text
    receipt = receipt_of(response)
    assert len(receipt) == 16
    assert 'href="/report/follow-up/?lang=nl"' in text
    assert receipt not in str(response.headers)

    report = Report.objects.get()
    assert report.language == "nl" and report.category == "drone"
    assert report.port == line["antwerp"] and not report.with_contact
    assert b"marker-3310" not in bytes(report.content)
    opened = services.report_open(actor=line["officer"], report=report)
    assert opened.answers["what"] == "Een drone zonder lichten, marker-3310."
    assert opened.answers["vessel"] == "MSC Aurora"
    # the reporter's receipt opens it too
    assert services.reporter_open(receipt)[0] == report


def test_contact_details_are_kept_only_with_consent(line):
    client = Client()
    submit(client, answers(contact="gsm 0470 00 00 00"))
    report = Report.objects.get()
    assert not report.with_contact
    assert "contact" not in services.report_open(actor=line["officer"], report=report).answers

    refused, _c = submit(client, answers(contact_consent="on", contact=""))
    assert refused.status_code == 422 and 'id="error_contact"' in page(refused)
    assert 'name="contact_consent" value="on" checked' in page(refused)
    submit(client, answers(contact_consent="on", contact="gsm 0470 11 11 11"))
    assert Report.objects.filter(with_contact=True).count() == 1


# Follow-up with the receipt --------------------------------------------------------------------


def test_follow_up_shows_the_status_and_the_replies_and_takes_a_message(line):
    client = Client()
    response, _c = submit(client, answers())
    receipt = receipt_of(response)
    report = Report.objects.get()
    officer = line["officer"]
    services.report_status_set(actor=officer, report=report, status="triage")
    services.report_note(actor=officer, report=report, body="Waar precies?", internal=False)
    services.report_note(actor=officer, report=report, body="INTERNAL-4471", internal=True)

    login = client.get("/report/follow-up/?lang=nl")
    assert login.status_code == 200 and 'name="receipt"' in page(login)
    assert_public_headers(login)

    spaced = f"{receipt[:4]} {receipt[4:8]} {receipt[8:12]} {receipt[12:]}"
    opened = client.post("/report/follow-up/", {"receipt": spaced, "lang": "nl"})
    assert opened.status_code == 200
    assert_public_headers(opened)
    text = page(opened)
    with translation.override("nl"):
        assert str(Report.Status.TRIAGE.label) in text
        assert str(report.get_category_display()) in text
    assert "Waar precies?" in text
    assert "INTERNAL-4471" not in text
    assert f'name="receipt" value="{spaced}"' in text  # only in the POST body of the next reply

    sent = client.post(
        "/report/follow-up/",
        {"receipt": spaced, "lang": "nl", "body": "Aan kaai 1742, rond middernacht."},
    )
    assert sent.status_code == 200
    assert "Aan kaai 1742, rond middernacht." in page(sent)
    message = Message.objects.get(author=Message.Author.REPORTER)
    assert b"kaai 1742" not in bytes(message.body)
    assert message.at.minute == message.at.second == 0
    bodies = [m["body"] for m in services.report_open(actor=officer, report=report).messages]
    assert "Aan kaai 1742, rond middernacht." in bodies

    empty = client.post("/report/follow-up/", {"receipt": spaced, "lang": "nl", "body": "  "})
    assert empty.status_code == 422 and dutch("Write your message.") in page(empty)
    assert Message.objects.filter(author=Message.Author.REPORTER).count() == 1


def test_a_wrong_receipt_is_refused_with_a_clear_message(line):
    client = Client()
    submit(client, answers())
    wrong = client.post("/report/follow-up/", {"receipt": "1234 5678 9012 3456", "lang": "nl"})
    assert wrong.status_code == 403
    assert_public_headers(wrong)
    text = page(wrong)
    assert dutch("This receipt does not match a report.") in text
    assert "1234" not in text  # not echoed back
    assert 'id="report-status-label"' not in text and 'name="body"' not in text
    again = client.post("/report/follow-up/", {"receipt": "1234 5678 9012 3457", "lang": "nl"})
    assert again.status_code == 429  # each wrong receipt makes the next login wait longer
    wait = dutch("Too many wrong receipts lately; try again in %(n)s seconds.")
    assert wait.split("%(n)s")[0] in page(again)


# Bad input stores nothing ----------------------------------------------------------------------


def _work_fails(challenge: str, nonce: str) -> bool:
    digest = hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()
    return pow.leading_zero_bits(digest) < 4


def _text_file_named_jpg():
    return SimpleUploadedFile("photo.jpg", b"just some text, not a photo", "image/jpeg")


BAD_INPUT = {
    "conditional question, when it is asked": (
        lambda: answers(category="recruitment"),
        {"next_to": "approach"},
        "Choose one of the answers.",
    ),
    "required question": (
        lambda: answers(vessel=""),
        {"next_to": "vessel"},
        "This question needs an answer.",
    ),
    "disguised attachment": (
        lambda: {**answers(), "files": [_text_file_named_jpg()]},
        {},
        "Send photos (JPEG, PNG), PDF or MP4 files.",
    ),
    "oversize attachment": (
        lambda: {
            **answers(),
            "files": [SimpleUploadedFile("a.pdf", b"%PDF-1.4\n" + b"x" * (2 * 2**20))],
        },
        {"max_bytes": 2**20},
        ("A file is at most %(n)s MB.", {"n": 1}),
    ),
    "forged proof of work": (
        lambda: answers(),
        {"nonce": "forged"},
        "The anti-abuse check failed; send the form again.",
    ),
    "proof of work for another channel": (
        lambda: answers(),
        {"challenge": "other-channel"},
        "The anti-abuse check failed; send the form again.",
    ),
    "no proof of work (no JavaScript)": (
        lambda: answers(),
        {"solve": False},
        "The anti-abuse check failed; send the form again.",
    ),
    "honeypot filled in": (
        lambda: answers(website="http://cheap.example"),
        {},
        "The anti-abuse check failed; send the form again.",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_gets_a_clear_message_and_stores_nothing(line, case, monkeypatch):
    make, how, message = BAD_INPUT[case]
    if "max_bytes" in how:
        monkeypatch.setattr(services, "MAX_FILE_BYTES", how["max_bytes"])
    client = Client()
    challenge = None
    nonce = None
    if how.get("challenge") == "other-channel":
        challenge = pow.challenge_issue("onze-haven")
        nonce = pow.solve(challenge, 4)
    if how.get("nonce") == "forged":
        challenge = challenge_of(client.get("/report/portwatch/?lang=nl"))
        nonce = next(str(n) for n in range(1000) if _work_fails(challenge, str(n)))
    if how.get("solve") is False:
        # an empty nonce passes 4 bits of work one time in 16: take a challenge it fails
        while challenge is None or not _work_fails(challenge, ""):
            challenge = challenge_of(client.get("/report/portwatch/?lang=nl"))
        nonce = ""
    before = AuditRecord.objects.count()
    response, _c = submit(
        client, make(), challenge=challenge, nonce=nonce, solve=how.get("solve", True)
    )
    assert response.status_code == 422, case
    assert_public_headers(response)
    text = page(response)
    assert dutch(message) in text
    if "next_to" in how:
        assert f'id="error_{how["next_to"]}">{dutch(message)}<' in text
    assert "Een drone boven de containers, zonder lichten." in text  # what they typed is kept
    assert 'name="website" value=""' in text
    assert Report.objects.count() == 0 and Attachment.objects.count() == 0
    assert AuditRecord.objects.count() == before


def test_a_conditional_question_is_not_required_when_it_is_not_asked(line):
    response, _c = submit(Client(), answers(category="drone"))  # no "approach": not asked
    assert response.status_code == 200
    assert Report.objects.count() == 1


def test_a_replayed_proof_of_work_is_refused(line):
    client = Client()
    first, challenge = submit(client, answers())
    assert first.status_code == 200
    nonce = pow.solve(challenge, 4)
    replay = client.post(
        "/report/portwatch/", {**answers(what="Nog eens"), "challenge": challenge, "nonce": nonce}
    )
    assert replay.status_code == 422
    assert dutch("This form was already sent; open it again.") in page(replay)
    assert Report.objects.count() == 1
    assert challenge_of(replay) != challenge


def test_a_busy_channel_answers_429_with_its_message(line):
    channel = line["channel"]
    services.channel_save(
        actor=SYSTEM,
        team=line["team"],
        slug=channel.slug,
        name=channel.name,
        questions=QUESTIONS,
        reports_per_minute=1,
        channel=channel,
    )
    client = Client()
    assert submit(client, answers())[0].status_code == 200
    busy, _c = submit(client, answers())
    assert busy.status_code == 429
    assert_public_headers(busy)
    assert dutch("Many reports arrive right now; please send yours again in a minute.") in page(
        busy
    )
    assert Report.objects.count() == 1


# Attachments -----------------------------------------------------------------------------------


def test_a_photo_is_kept_as_evidence_and_shown_through_a_copy_without_exif(line):
    marker = "EXIFMARKER-5521"
    photo = jpeg_with_exif(marker)
    assert marker.encode() in photo and Image.open(io.BytesIO(photo)).getexif().get_ifd(0x8825)
    response, _c = submit(
        Client(), {**answers(), "files": [SimpleUploadedFile("IMG_0001.jpg", photo, "image/jpeg")]}
    )
    assert response.status_code == 200
    attachment = Attachment.objects.get()
    assert attachment.content_type == "image/jpeg"
    assert marker.encode() not in bytes(attachment.original)  # encrypted at rest
    officer = line["officer"]
    cleaned = services.attachment_read(actor=officer, attachment=attachment)
    original = services.attachment_read(actor=officer, attachment=attachment, original=True)
    assert original == photo
    assert marker.encode() not in cleaned and b"Exif" not in cleaned
    image = Image.open(io.BytesIO(cleaned))
    assert image.format == "JPEG" and not dict(image.getexif())
    assert not image.getexif().get_ifd(0x8825)
    opened = services.report_open(actor=officer, report=attachment.report)
    assert opened.attachments[0]["name"] == "IMG_0001.jpg" and opened.attachments[0]["cleaned"]


# Anonymity and encryption at rest -------------------------------------------------------------


def _stored_text() -> str:
    """Every value of every column of every model, as text; bytes also as hex."""
    parts = []
    for model in apps.get_models(include_auto_created=True):
        fields = model._meta.concrete_fields
        for row in model.objects.all().values_list(*(f.attname for f in fields)):
            for value in row:
                if isinstance(value, memoryview | bytes | bytearray):
                    raw = bytes(value)
                    parts.append(raw.decode("latin-1"))
                    parts.append(raw.hex())
                else:
                    parts.append(str(value))
    return "\n".join(parts)


def _database_dump() -> str:
    """The whole database as a dump would give it (SQLite), or every row of every table."""
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        return "\n".join(connection.connection.iterdump())
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview | bytes | bytearray):
                        parts.append(bytes(value).decode("latin-1"))
                        parts.append(bytes(value).hex())
                    else:
                        parts.append(str(value))
    return "\n".join(parts)


def test_public_pages_keep_no_address_no_browser_and_set_no_cookie(line, caplog):
    caplog.set_level(logging.DEBUG)
    client = Client(
        REMOTE_ADDR=MARKER_IP,
        HTTP_USER_AGENT=MARKER_AGENT,
        HTTP_X_FORWARDED_FOR=f"{MARKER_FORWARDED}, {MARKER_IP}",
        HTTP_X_REAL_IP=MARKER_IP,
        HTTP_ACCEPT_LANGUAGE="nl-BE,nl;q=0.9",
    )
    responses = [client.get("/report/"), client.get("/report/portwatch/")]
    refused, _c = submit(client, answers(vessel=""))
    responses.append(refused)
    submitted, _c = submit(
        client,
        {
            **answers(),
            "files": [SimpleUploadedFile("x.jpg", jpeg_with_exif("exif"), "image/jpeg")],
        },
    )
    responses.append(submitted)
    receipt = receipt_of(submitted)
    responses.append(client.get("/report/follow-up/"))
    responses.append(client.post("/report/follow-up/", {"receipt": receipt}))
    responses.append(client.post("/report/follow-up/", {"receipt": receipt, "body": "Nog iets"}))
    responses.append(client.get("/report/no-such-line/"))
    responses.append(client.post("/report/follow-up/", {"receipt": "0" * 16}))
    assert [r.status_code for r in responses] == [200, 200, 422, 200, 200, 200, 200, 404, 403]
    for response in responses:
        assert_public_headers(response)
        assert not OUTSIDE_URL.search(response.content.decode()), response.request["PATH_INFO"]
    # the browser's language preference is used, without a cookie
    assert '<html lang="nl">' in responses[0].content.decode()

    stored = _stored_text()
    assert "Portwatch" in stored and "reporting.report.submitted" in stored  # the search works
    audit = "\n".join(str(r.details) + r.actor_label for r in AuditRecord.objects.all())
    logged = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    for marker in (MARKER_IP, MARKER_FORWARDED, MARKER_AGENT):
        assert marker not in stored
        assert marker.encode().hex() not in stored
        assert marker not in audit
        assert marker not in logged
    report = Report.objects.get()
    assert report.submitted_hour.minute == report.submitted_hour.second == 0
    assert report.submitted_hour.microsecond == 0


def test_a_database_dump_reveals_no_report_text(line):
    marker = "PLANTED-MARKER-8842"
    client = Client()
    response, _c = submit(
        client,
        {
            **answers(
                what=f"Verdachte lading {marker}",
                vessel=f"schip {marker}",
                contact_consent="on",
                contact=f"tel {marker}",
            ),
            "files": [SimpleUploadedFile(f"{marker}.pdf", b"%PDF-1.4\n" + marker.encode())],
        },
    )
    receipt = receipt_of(response)
    client.post("/report/follow-up/", {"receipt": receipt, "body": f"Nog dit: {marker}"})

    dump = _database_dump()
    assert "portwatch" in dump  # the dump holds the database
    assert marker not in dump
    assert marker.encode().hex() not in dump.lower()
    assert receipt not in dump
    opened = services.report_open(actor=line["officer"], report=Report.objects.get())
    assert marker in opened.answers["what"] and marker in opened.answers["contact"]
    assert any(marker in m["body"] for m in opened.messages)


def test_the_map_uses_only_tiles_from_our_own_server(line, settings):
    settings.SITES_TILE_URL = "https://tiles.example.be/{z}/{x}/{y}.png"
    outside = page(Client().get("/report/portwatch/"))
    assert "report-map" not in outside and "leaflet" not in outside
    assert "tiles.example.be" not in outside

    settings.SITES_TILE_URL = "/tiles/{z}/{x}/{y}.png"
    own = page(Client().get("/report/portwatch/"))
    assert 'id="report-map"' in own and 'data-tiles="/tiles/{z}/{x}/{y}.png"' in own
    assert "/static/vendor/leaflet-1.9.4/leaflet.js" in own
    assert not OUTSIDE_URL.search(own)


def test_our_own_static_files_load_nothing_from_outside():
    from django.contrib.staticfiles import finders

    for name in ("js/report-pow.js", "css/report.css"):
        with open(finders.find(name), encoding="utf-8") as handle:
            text = handle.read()
        assert not re.search(r"https?:|url\(\s*['\"]?//|import\s*\(", text), name


def test_other_methods_are_refused_without_a_cookie(line):
    response = Client().put("/report/portwatch/")
    assert response.status_code == 405 and not response.cookies


# In a phone's browser --------------------------------------------------------------------------

CHROMIUM = os.environ.get("PORT2PORT_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def phone(monkeypatch):
    """Debian's Chromium at a phone's size, through Playwright (as tests/core/test_browser.py)."""
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test, but {CHROMIUM} is missing")
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 390, "height": 844})
        page_ = context.new_page()
        page_.set_default_timeout(20000)
        yield context, page_
        context.close()
        browser.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_phone_reports_with_the_proof_of_work_and_follows_up(line, live_server, phone, settings):
    settings.REPORTING_POW_BITS = 12  # a few thousand hashes: the batching loop really runs
    context, browser = phone
    problems = []
    browser.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    browser.on("pageerror", lambda e: problems.append(str(e)))
    outside = []
    browser.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(live_server.url) else None,
    )
    with translation.override("nl"):
        send = translation.gettext("Send my report")
        what = translation.gettext("What happened?")
        consent = translation.gettext("I agree that the team contacts me about this report")
        open_report = translation.gettext("Open my report")
        status = str(Report.Status.NEW.label)

    browser.goto(f"{live_server.url}/report/?lang=nl")
    browser.get_by_role("link", name="Portwatch").first.click()
    browser.wait_for_url("**/report/portwatch/?lang=nl")
    assert browser.locator("html").get_attribute("lang") == "nl"

    # conditional questions appear when they apply
    approach = browser.get_by_label("Hoe werd u benaderd?")
    assert not approach.is_visible()
    browser.locator("#id_category").select_option("recruitment")
    assert approach.is_visible()
    browser.locator("#id_category").select_option("drone")
    assert not approach.is_visible()
    assert not browser.locator("#id_contact").is_visible()
    browser.get_by_label(consent).check()
    assert browser.locator("#id_contact").is_visible()
    browser.get_by_label(consent).uncheck()

    browser.get_by_label(what).fill("Een drone boven kaai 1742.")
    browser.get_by_label("Welk schip of voertuig?").fill("MSC Aurora")
    browser.get_by_role("button", name=send).click()
    browser.locator("#receipt").wait_for()
    receipt = "".join(browser.locator("#receipt").inner_text().split())
    assert re.fullmatch(r"\d{16}", receipt)
    # (no ORM call here: under Playwright's greenlet it would open a connection that outlives the
    # test on PostgreSQL; the follow-up below proves the report was stored)
    assert context.cookies() == []

    browser.goto(f"{live_server.url}/report/follow-up/?lang=nl")
    browser.locator("#id_receipt").fill(receipt)
    browser.get_by_role("button", name=open_report).click()
    browser.locator("#report-status-label").wait_for()
    assert browser.locator("#report-status-label").inner_text() == status
    assert context.cookies() == []
    assert not problems, problems
    assert not outside, outside


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_tap_on_the_map_fills_in_the_position(line, live_server, phone, settings):
    settings.SITES_TILE_URL = "/static/img/port2port.svg?z={z}&x={x}&y={y}"  # our own "tiles"
    _context, browser = phone
    problems = []
    browser.on("pageerror", lambda e: problems.append(str(e)))
    browser.goto(f"{live_server.url}/report/portwatch/?lang=en")
    area = browser.locator("#report-map")
    area.wait_for()
    area.scroll_into_view_if_needed()
    area.click()
    latitude = float(browser.locator("#id_latitude").input_value())
    longitude = float(browser.locator("#id_longitude").input_value())
    assert 49.5 < latitude < 52.5 and 2.5 < longitude < 6.5  # Belgium, where the map opens
    assert not problems, problems


def test_any_other_address_under_report_is_the_public_page_without_a_cookie(client, db):
    response = client.get("/report/portwatch/x/y/")
    assert response.status_code == 404
    assert not response.cookies
    assert "csrfmiddlewaretoken" not in response.content.decode()


def test_a_file_over_the_limit_never_reaches_the_disk(line, client, tmp_path, monkeypatch):
    import tempfile

    from django.core.files.uploadedfile import SimpleUploadedFile

    from port2port.reporting.models import Report

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    from django.core.files import uploadedfile

    on_disk = []
    original_init = uploadedfile.TemporaryUploadedFile.__init__

    def spy(self, *args, **kwargs):
        on_disk.append(args)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(uploadedfile.TemporaryUploadedFile, "__init__", spy)
    page_ = client.get("/report/portwatch/?lang=en")
    challenge = re.search(r'name="challenge" value="([^"]+)"', page_.content.decode()).group(1)
    big = SimpleUploadedFile("video.mp4", b"\0\0\0\x18ftypisom" + b"\0" * (11 * 2**20))
    response = client.post(
        "/report/portwatch/",
        {**answers(), "files": [big], "challenge": challenge, "nonce": pow.solve(challenge, 4)},
    )
    expected = dutch(("A file is at most %(n)s MB.", {"n": 10}))
    assert response.status_code == 422 and expected in html.unescape(response.content.decode())
    assert not on_disk and not list(tmp_path.iterdir()) and not Report.objects.exists()
