"""Reporting services: keys and receipts, throttling, the channel's rate limit, retention."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from port2port.core.errors import Invalid, NotAuthenticated, Throttled
from port2port.core.models import OrganisationKind
from port2port.core.roles import Role
from port2port.core.visibility import SYSTEM
from port2port.reporting import crypto, pow, selectors, services
from port2port.reporting.models import Report, ReportStat

from ..core.factories import OrganisationFactory, PortFactory, user_in


@pytest.fixture(autouse=True)
def _light_work(settings):
    settings.REPORTING_POW_BITS = 4


@pytest.fixture
def line(db):
    port = PortFactory(locode="BELGG")
    police = OrganisationFactory(kind=OrganisationKind.POLICE, ports=[port])
    team = services.team_create(actor=SYSTEM, organisation=police, name="Hub", ports=[port])
    channel = services.channel_save(
        actor=SYSTEM, team=team, slug="portwatch", name="Portwatch", questions=[]
    )
    officer = user_in(police, Role.POLICE_LIAISON)
    officer.email = "hub@example.be"
    officer.save()
    return {"port": port, "team": team, "channel": channel, "officer": officer}


def _submit(channel, what="A drone over the quay", files=(), **extra):
    challenge = pow.challenge_issue(channel.slug)
    return services.report_submit(
        channel=channel,
        data={"category": "drone", "what": what, **extra},
        files=list(files),
        challenge=challenge,
        nonce=pow.solve(challenge, 4),
    )


def test_receipt_finds_the_report_and_its_key(line):
    submitted = _submit(line["channel"], what="marker-7731")
    receipt = submitted.receipt
    assert len(receipt) == 16 and receipt.isdigit()
    report, key = services.reporter_open(f"{receipt[:4]} {receipt[4:8]}-{receipt[8:]}")
    assert report == submitted.report
    assert b"marker-7731" in crypto.decrypt(key, report.content)
    assert receipt not in str(Report.objects.values().get())  # only a derived value is kept
    opened = services.report_open(actor=line["officer"], report=report)
    assert opened.answers["what"] == "marker-7731"


def test_wrong_receipts_make_everyone_wait_longer(line):
    _submit(line["channel"])
    with pytest.raises(NotAuthenticated, match="does not match"):
        services.reporter_open("0000 0000 0000 0000")
    with pytest.raises(Throttled, match="try again in"):
        services.reporter_open("0000 0000 0000 0001")


def test_the_team_private_key_is_only_stored_encrypted(line):
    from nacl.public import PrivateKey

    team = line["team"]
    private = PrivateKey(
        __import__("nacl.secret", fromlist=["SecretBox"])
        .SecretBox(crypto.platform_key())
        .decrypt(bytes(team.private_key_box))
    )
    assert bytes(private.public_key) == bytes(team.public_key)
    assert bytes(private) not in bytes(team.private_key_box)


def test_the_channel_rate_limit_counts_for_everyone(line):
    channel = line["channel"]
    channel.reports_per_minute = 2
    channel.save()
    _submit(channel)
    _submit(channel)
    with pytest.raises(Throttled):
        _submit(channel)
    assert Report.objects.count() == 2


def test_a_proof_of_work_is_used_once(line):
    channel = line["channel"]
    challenge = pow.challenge_issue(channel.slug)
    nonce = pow.solve(challenge, 4)
    data = {"category": "drone", "what": "x"}
    services.report_submit(channel=channel, data=data, challenge=challenge, nonce=nonce)
    with pytest.raises(Invalid, match="already sent"):
        services.report_submit(channel=channel, data=data, challenge=challenge, nonce=nonce)
    other = pow.challenge_issue("another-channel")
    with pytest.raises(Invalid, match="anti-abuse"):
        services.report_submit(
            channel=channel, data=data, challenge=other, nonce=pow.solve(other, 4)
        )
    assert Report.objects.count() == 1


def test_retention_warns_then_deletes_leaving_a_count(line):
    channel = line["channel"]
    channel.retention_days = 30
    channel.save()
    report = _submit(channel).report
    old = timezone.now() - timedelta(days=29)
    Report.objects.filter(pk=report.pk).update(submitted_hour=old)
    assert services.retention_run() == {"warned": 1, "deleted": 0}
    assert mail.outbox and "72 hours" in mail.outbox[0].subject
    assert services.retention_run() == {"warned": 0, "deleted": 0}  # warned once
    Report.objects.filter(pk=report.pk).update(submitted_hour=old - timedelta(days=2))
    assert services.retention_run() == {"warned": 0, "deleted": 1}
    assert not Report.objects.exists()
    stat = ReportStat.objects.get()
    assert (stat.category, stat.count, stat.with_contact) == ("drone", 1, False)
    figures = selectors.statistics(line["officer"])
    assert figures["total"] == 1 and figures["anonymous_share"] == 1.0


def test_forwarding_seals_the_key_to_the_other_team(line):
    port = PortFactory(locode="BEANR")
    authority = OrganisationFactory(kind=OrganisationKind.PORT_AUTHORITY, ports=[port])
    other = services.team_create(actor=SYSTEM, organisation=authority, name="Antwerp")
    report = _submit(line["channel"], what="about Antwerp").report
    outsider = user_in(authority, Role.PORT_SECURITY_OFFICER)
    assert not selectors.reports_visible_to(outsider).exists()
    services.report_forward(actor=line["officer"], report=report, team=other)
    assert services.report_open(actor=outsider, report=report).answers["what"] == "about Antwerp"
    assert services.report_open(actor=line["officer"], report=report)  # the hub still reads it


def test_platform_admins_do_not_read_reports_of_other_teams(line):
    from port2port.core.errors import Forbidden

    report = _submit(line["channel"]).report
    admin = user_in(OrganisationFactory(), Role.PLATFORM_ADMIN)
    assert not selectors.reports_visible_to(admin).exists()
    with pytest.raises(Forbidden):
        services.report_open(actor=admin, report=report)


def test_a_malformed_receipt_costs_nobody_a_wait(line):
    with pytest.raises(NotAuthenticated, match="16 digits"):
        services.reporter_open("x")
    with pytest.raises(NotAuthenticated, match="does not match"):  # no wait was started
        services.reporter_open("1234 5678 1234 5678")


def test_questionnaires_with_bad_shapes_are_refused(line):
    good = {"key": "boat", "type": "text", "label": {"en": "Boat"}}
    for bad in (
        {**good, "label": "Boat"},
        {**good, "key": "elements"},
        {**good, "type": "choice", "choices": [{"value": "a", "label": "A"}]},
        {**good, "show_if": {"key": ["category"], "in": ["drone"]}},
        {**good, "show_if": {"key": "category", "in": [1]}},
    ):
        with pytest.raises(Invalid):
            services.channel_save(
                actor=SYSTEM,
                team=line["team"],
                slug="portwatch",
                name="Portwatch",
                questions=[bad],
                channel=line["channel"],
            )


def test_images_are_checked_by_content_and_size(line, monkeypatch):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    heic = SimpleUploadedFile("photo.mp4", b"\0\0\0\x18ftypheic" + b"\0" * 100)
    with pytest.raises(Invalid, match="Send photos"):
        _submit(line["channel"], files=[heic])
    monkeypatch.setattr(services, "MAX_PIXELS", 100)
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(buffer, "PNG")
    with pytest.raises(Invalid, match="40 million pixels"):
        _submit(line["channel"], files=[SimpleUploadedFile("big.png", buffer.getvalue())])
    assert not Report.objects.exists()
