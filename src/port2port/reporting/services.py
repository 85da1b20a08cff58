"""The write path of anonymous reporting: submission and follow-up by the reporter, triage by the
team, retention. The reporter's side records nothing about the reporter: no address, no browser,
no minute (the hour only), and its audit records carry no actor."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from port2port.core import audit
from port2port.core.errors import Conflict, Forbidden, Invalid, NotAuthenticated, Throttled
from port2port.core.roles import Perm
from port2port.core.visibility import reach, require

from . import crypto, pow, questionnaire
from .models import (
    Attachment,
    Channel,
    ChannelMinute,
    Message,
    ReceiptFailures,
    Report,
    ReportAccess,
    ReportStat,
    TriageTeam,
)
from .selectors import triage_reach

MAX_FILES = 5
MAX_FILE_BYTES = 10 * 1024 * 1024
ALLOWED_TYPES = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "application/pdf": None,
    "video/mp4": None,
}
RETENTION_WARNING = timedelta(hours=72)
MAX_PIXELS = 40_000_000
MP4_BRANDS = {b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"M4V ", b"3gp4", b"3gp5", b"qt  "}


def _hour(moment=None):
    return (moment or timezone.now()).replace(minute=0, second=0, microsecond=0)


# Teams and channels ---------------------------------------------------------------------------


@transaction.atomic
def team_create(*, actor: Any, organisation, name: str, ports=()) -> TriageTeam:
    require(actor, Perm.REPORTING_CHANNEL_MANAGE, on=organisation)
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise Invalid(_("name the team (at most 120 characters)"), field="name")
    public, boxed = crypto.team_keys()
    team = TriageTeam.objects.create(
        organisation=organisation, name=name, public_key=public, private_key_box=boxed
    )
    team.ports.set(ports)
    audit.record(actor, "reporting.team.created", team, organisation=organisation.pk)
    return team


@transaction.atomic
def channel_save(
    *,
    actor: Any,
    team: TriageTeam,
    slug: str,
    name: str,
    questions,
    languages=("nl", "fr", "en", "de"),
    intro: dict | None = None,
    ports=(),
    retention_days: int = 365,
    reports_per_minute: int = 30,
    channel: Channel | None = None,
    active: bool = True,
) -> Channel:
    """Create or change a channel with its questionnaire, languages, team and retention."""
    require(actor, Perm.REPORTING_CHANNEL_MANAGE, on=team.organisation_id)
    try:
        questions = questionnaire.validate_questions(questions)
    except ValueError as exc:
        raise Invalid(str(exc), field="questionnaire") from exc
    languages = [code for code in languages if code in dict(settings.LANGUAGES)]
    if not languages:
        raise Invalid(_("choose at least one language"), field="languages")
    if not 7 <= int(retention_days) <= 3650:
        raise Invalid(_("keep reports 7 days to 10 years"), field="retention_days")
    if not 1 <= int(reports_per_minute) <= 10000:
        raise Invalid(_("allow 1 to 10,000 reports a minute"), field="reports_per_minute")
    channel = channel or Channel()
    channel.slug, channel.name, channel.team = (slug or "").strip(), (name or "").strip(), team
    channel.questionnaire, channel.languages, channel.intro = questions, languages, intro or {}
    channel.retention_days, channel.reports_per_minute = (
        int(retention_days),
        int(reports_per_minute),
    )
    channel.active = bool(active)
    if not isinstance(channel.intro, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in channel.intro.items()
    ):
        raise Invalid(_('the introduction is {"nl": "...", "fr": "..."}'), field="intro")
    if not channel.slug or not channel.name:
        raise Invalid(_("give the channel a name and an address"), field="name")
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError as exc:
        raise Conflict(_("another channel has this address"), field="slug") from exc
    channel.ports.set(ports)
    audit.record(
        actor,
        "reporting.channel.saved",
        channel,
        organisation=team.organisation_id,
        details={"questions": len(questions), "retention_days": channel.retention_days},
    )
    return channel


# The reporter's side --------------------------------------------------------------------------


def _take_slot(channel: Channel) -> None:
    """The channel's own rate limit, the same for everyone."""
    minute = timezone.now().replace(second=0, microsecond=0)
    ChannelMinute.objects.filter(minute__lt=minute).delete()  # only the running minute is kept
    counter, _created = ChannelMinute.objects.get_or_create(channel=channel, minute=minute)
    updated = ChannelMinute.objects.filter(
        pk=counter.pk, count__lt=channel.reports_per_minute
    ).update(count=F("count") + 1)
    if not updated:
        raise Throttled(_("Many reports arrive right now; please send yours again in a minute."))


def _checked_file(upload) -> tuple[str, bytes, bytes | None]:
    """(content type by content, original bytes, a copy without metadata for images)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if upload.size > MAX_FILE_BYTES:
        raise Invalid(
            _("A file is at most %(n)s MB.") % {"n": MAX_FILE_BYTES // 2**20}, field="files"
        )
    data = upload.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise Invalid(
            _("A file is at most %(n)s MB.") % {"n": MAX_FILE_BYTES // 2**20}, field="files"
        )
    if data.startswith(b"%PDF-"):
        return "application/pdf", data, None
    if data[4:8] == b"ftyp" and data[8:12] in MP4_BRANDS:
        return "video/mp4", data, None
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = {"MPO": "JPEG"}.get(image.format, image.format)  # phones' multi-picture JPEG
            if kind not in {"JPEG", "PNG"}:
                raise Invalid(_("Send photos (JPEG, PNG), PDF or MP4 files."), field="files")
            if image.width * image.height > MAX_PIXELS:
                raise Invalid(_("A photo has at most 40 million pixels."), field="files")
            image = ImageOps.exif_transpose(image)  # upright, before the metadata goes
            pixels = image.convert("RGB" if kind == "JPEG" else "RGBA")
            clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
            out = io.BytesIO()
            clean.save(out, kind)  # pixels only: no EXIF, no GPS, no comments
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise Invalid(_("Send photos (JPEG, PNG), PDF or MP4 files."), field="files") from exc
    return ("image/jpeg" if kind == "JPEG" else "image/png"), data, out.getvalue()


@dataclass
class Submitted:
    report: Report
    receipt: str


def report_submit(
    *,
    channel: Channel,
    data: dict,
    files=(),
    language: str = "en",
    challenge: str = "",
    nonce: str = "",
) -> Submitted:
    """An anonymous report: checked whole before anything is stored; returns the receipt once."""
    if not channel.active:
        raise Invalid(_("This channel does not take reports any more."), field="channel")
    if (data.get("website") or "").strip():  # the honeypot only robots fill in
        raise Invalid(_("The anti-abuse check failed; send the form again."), field="pow")
    ports = list(channel.ports.all()) or list(_all_ports())
    answers, errors = questionnaire.clean_answers(channel, data, ports)
    if len(files) > MAX_FILES:
        errors["files"] = _("At most %(n)s files.") % {"n": MAX_FILES}
    if errors:
        raise Invalid(next(iter(errors.values())), fields=errors)
    checked = [_checked_file(upload) for upload in files]
    receipt = crypto.new_receipt()
    lookup, wrap = crypto.receipt_keys(receipt)  # the slow part, before any lock is taken
    key = crypto.new_report_key()
    _take_slot(channel)  # a busy channel refuses before the reporter's work is spent
    pow.challenge_spend(challenge, nonce, channel.slug)
    with transaction.atomic():
        port = next((p for p in ports if p.locode == answers.get("port")), None)
        report = Report.objects.create(
            channel=channel,
            team=channel.team,
            category=answers["category"],
            port=port,
            language=language,
            with_contact=bool(answers.get("contact")),
            submitted_hour=_hour(),
            updated_at=_hour(),
            receipt_lookup=lookup,
            reporter_key_box=crypto.encrypt(wrap, key),
            content=crypto.encrypt(key, json.dumps(answers).encode()),
        )
        ReportAccess.objects.create(
            report=report,
            team=channel.team,
            sealed_key=crypto.seal(channel.team.public_key, key),
            granted_at=_hour(),
        )
        for (content_type, original, cleaned), upload in zip(checked, files, strict=True):
            Attachment.objects.create(
                report=report,
                content_type=content_type,
                size=len(original),
                name=crypto.encrypt(key, (upload.name or "file")[:200].encode()),
                original=crypto.encrypt(key, original),
                cleaned=crypto.encrypt(key, cleaned) if cleaned is not None else None,
            )
        audit.record(
            None,
            "reporting.report.submitted",
            report,
            organisation=channel.team.organisation_id,
            details={"channel": channel.slug, "category": report.category},
            coarse=True,
        )
    return Submitted(report, receipt)


def _all_ports():
    from port2port.core.models import Port

    return Port.objects.order_by("name")


RECEIPT_DELAY_CAP = 30.0  # seconds


def _receipt_wait() -> float:
    """Seconds to wait before the next receipt login: doubling with each recent failure."""
    state = ReceiptFailures.objects.filter(pk=1).first()
    if state is None or not state.failures or state.last_at is None:
        return 0.0
    delay = min(RECEIPT_DELAY_CAP, 0.5 * 2 ** min(state.failures - 1, 10))
    elapsed = (timezone.now() - state.last_at).total_seconds()
    if elapsed > 15 * 60:
        ReceiptFailures.objects.filter(pk=1).update(failures=0)
        return 0.0
    return max(0.0, delay - elapsed)


def reporter_open(receipt: str) -> tuple[Report, bytes]:
    """The report of a receipt and its key, for the reporter; a wrong receipt is a clear error,
    and each wrong one makes the next login wait longer, for everyone (no address is known)."""
    digits = crypto.normalise_receipt(receipt)
    if digits is None:  # not a receipt at all: said at once, and it costs nobody a wait
        raise NotAuthenticated(_("A receipt is 16 digits."), field="receipt")
    with transaction.atomic():
        ReceiptFailures.objects.get_or_create(pk=1)
        ReceiptFailures.objects.select_for_update().get(pk=1)  # one check at a time
        wait = _receipt_wait()
        if wait > 0:
            raise Throttled(
                _("Too many wrong receipts lately; try again in %(n)s seconds.")
                % {"n": int(wait) + 1}
            )
    lookup, wrap = crypto.receipt_keys(digits)
    report = Report.objects.filter(receipt_lookup=lookup).select_related("channel").first()
    if report is None:
        ReceiptFailures.objects.filter(pk=1).update(
            failures=F("failures") + 1, last_at=timezone.now()
        )
        raise NotAuthenticated(_("This receipt does not match a report."), field="receipt")
    return report, crypto.decrypt(wrap, report.reporter_key_box)


@transaction.atomic
def reporter_message(*, report: Report, key: bytes, body: str) -> Message:
    body = (body or "").strip()
    if not body:
        raise Invalid(_("Write your message."), field="body")
    if len(body) > questionnaire.MAX_TEXT:
        raise Invalid(_("At most %(n)s characters.") % {"n": questionnaire.MAX_TEXT}, field="body")
    message = Message.objects.create(
        report=report,
        author=Message.Author.REPORTER,
        body=crypto.encrypt(key, body.encode()),
        at=_hour(),
    )
    Report.objects.filter(pk=report.pk).update(updated_at=_hour())
    audit.record(
        None,
        "reporting.message.from_reporter",
        report,
        organisation=report.team.organisation_id,
        coarse=True,
    )
    return message


def messages_for_reporter(report: Report, key: bytes) -> list[dict]:
    return [
        {"author": m.author, "at": m.at, "body": crypto.decrypt(key, m.body).decode()}
        for m in report.messages.filter(internal=False)
    ]


# The triage team ------------------------------------------------------------------------------


def _team_access(actor: Any, report: Report) -> tuple[bytes, TriageTeam]:
    """The report key, opened with the key of a team of the actor that may read the report, and
    that team (the responsible team first, then those it was forwarded from)."""
    result = triage_reach(actor)
    accesses = sorted(
        report.accesses.select_related("team"), key=lambda a: a.team_id != report.team_id
    )
    for access in accesses:
        if result.covers(access.team.organisation_id):
            return crypto.unseal(access.team.private_key_box, access.sealed_key), access.team
    raise Forbidden(_("only the report's triage team reads it"))


def _team_key(actor: Any, report: Report) -> bytes:
    return _team_access(actor, report)[0]


@dataclass
class Opened:
    report: Report
    answers: dict
    messages: list
    attachments: list


@transaction.atomic
def report_open(*, actor: Any, report: Report) -> Opened:
    """Decrypt a report for its team; every opening is audited."""
    key, team = _team_access(actor, report)
    answers = json.loads(crypto.decrypt(key, report.content))
    messages = [
        {
            "author": m.author,
            "internal": m.internal,
            "user": m.user,
            "at": m.at,
            "body": crypto.decrypt(key, m.body).decode(),
        }
        for m in report.messages.select_related("user")
    ]
    attachments = [
        {
            "id": a.pk,
            "content_type": a.content_type,
            "size": a.size,
            "name": crypto.decrypt(key, a.name).decode(errors="replace"),
            "cleaned": a.cleaned is not None,
        }
        for a in report.attachments.all()
    ]
    audit.record(actor, "reporting.report.opened", report, organisation=team.organisation_id)
    return Opened(report, answers, messages, attachments)


@transaction.atomic
def attachment_read(*, actor: Any, attachment: Attachment, original: bool = False) -> bytes:
    """The metadata-free copy to look at; the original (evidence) on purpose, audited."""
    key, team = _team_access(actor, attachment.report)
    audit.record(
        actor,
        "reporting.attachment.read",
        attachment.report,
        organisation=team.organisation_id,
        details={
            "attachment": str(attachment.pk),
            "original": original or attachment.cleaned is None,
        },
    )
    blob = attachment.original if original or attachment.cleaned is None else attachment.cleaned
    return crypto.decrypt(key, blob)


def _touch(report: Report, **fields) -> None:
    for name, value in fields.items():
        setattr(report, name, value)
    report.updated_at = timezone.now()
    report.save(update_fields=[*fields, "updated_at"])


@transaction.atomic
def report_assign(*, actor: Any, report: Report, user) -> Report:
    _team_key(actor, report)
    if user is not None and not reach(user, Perm.REPORTING_REPORT_TRIAGE).covers(
        report.team.organisation_id
    ):
        raise Invalid(_("assign the report to a member of its team"), field="user")
    _touch(report, assigned_to=user)
    if report.status == Report.Status.NEW:
        _touch(report, status=Report.Status.TRIAGE)
    audit.record(
        actor,
        "reporting.report.assigned",
        report,
        organisation=report.team.organisation_id,
        details={"user": str(user.pk) if user else ""},
    )
    return report


@transaction.atomic
def report_status_set(*, actor: Any, report: Report, status: str, reason: str = "") -> Report:
    _team_key(actor, report)
    if status not in Report.Status.values:
        raise Invalid(_("“%(value)s” is not a status") % {"value": status}, field="status")
    reason = (reason or "").strip()
    if status == Report.Status.CLOSED and not reason:
        raise Invalid(_("give the reason for closing"), field="reason")
    _touch(
        report, status=status, close_reason=reason[:300] if status == Report.Status.CLOSED else ""
    )
    audit.record(
        actor,
        "reporting.report.status_set",
        report,
        organisation=report.team.organisation_id,
        details={"status": status},
    )
    return report


@transaction.atomic
def report_note(*, actor: Any, report: Report, body: str, internal: bool) -> Message:
    """An internal note of the team, or (internal=False) a reply the reporter reads."""
    key = _team_key(actor, report)
    body = (body or "").strip()
    if not body:
        raise Invalid(_("write the message"), field="body")
    if len(body) > questionnaire.MAX_TEXT:
        raise Invalid(_("At most %(n)s characters.") % {"n": questionnaire.MAX_TEXT}, field="body")
    message = Message.objects.create(
        report=report,
        author=Message.Author.TEAM,
        user=actor if getattr(actor, "pk", None) and hasattr(actor, "grants") else None,
        internal=internal,
        body=crypto.encrypt(key, body.encode()),
        at=timezone.now(),
    )
    _touch(report)
    audit.record(
        actor,
        "reporting.report.noted" if internal else "reporting.report.replied",
        report,
        organisation=report.team.organisation_id,
    )
    return message


@transaction.atomic
def report_forward(*, actor: Any, report: Report, team: TriageTeam) -> Report:
    """Hand the report to another port's team: it can read it from now on and is responsible."""
    key = _team_key(actor, report)
    if team.pk == report.team_id:
        raise Invalid(_("the report is already with this team"), field="team")
    ReportAccess.objects.update_or_create(
        report=report, team=team, defaults={"sealed_key": crypto.seal(team.public_key, key)}
    )
    before = report.team
    _touch(report, team=team, status=Report.Status.FORWARDED, assigned_to=None)
    audit.record(
        actor,
        "reporting.report.forwarded",
        report,
        organisation=before.organisation_id,
        details={"from": str(before.pk), "to": str(team.pk)},
    )
    return report


@transaction.atomic
def report_share(
    *,
    actor: Any,
    report: Report,
    title: str,
    body: str,
    tlp: str = "amber",
    distribution: str = "organisation",
):
    """A sanitised sharing item written by the team: its own words, with no reporter data."""
    from port2port.sharing import services as sharing_services
    from port2port.sharing.models import Kind

    _key, team = _team_access(actor, report)
    item = sharing_services.item_create(
        actor=actor,
        kind=Kind.INCIDENT_SUMMARY,
        title=title,
        body=body,
        tlp=tlp,
        distribution=distribution,
        ports=[report.port] if report.port else [],
        source_org=team.organisation,
    )
    audit.record(
        actor,
        "reporting.report.shared",
        report,
        organisation=team.organisation_id,
        details={"item": str(item.pk)},
    )
    return item


# Retention ------------------------------------------------------------------------------------


def retention_run(now=None) -> dict:
    """Warn teams 72 hours before their reports go; delete those past the channel's period,
    keeping a count per channel, category, port and month."""
    now = now or timezone.now()
    warned = deleted = 0
    for channel in Channel.objects.all():
        limit = now - timedelta(days=channel.retention_days)
        due = Report.objects.filter(
            channel=channel, submitted_hour__lt=limit, retention_warned=True
        )
        for report in due.select_related("team"):
            with transaction.atomic():
                month = timezone.localtime(report.submitted_hour).date().replace(day=1)
                stat, _created = ReportStat.objects.get_or_create(
                    channel=channel,
                    category=report.category,
                    port=report.port,
                    month=month,
                    with_contact=report.with_contact,
                )
                ReportStat.objects.filter(pk=stat.pk).update(count=F("count") + 1)
                audit.record(
                    None,
                    "reporting.report.deleted",
                    report,
                    organisation=report.team.organisation_id,
                    details={"why": "retention"},
                )
                report.delete()
                deleted += 1
        soon = Report.objects.filter(
            channel=channel,
            submitted_hour__lt=limit + RETENTION_WARNING,
            retention_warned=False,
        ).select_related("team")
        for report in soon:
            _warn_team(report, report.submitted_hour + timedelta(days=channel.retention_days))
            Report.objects.filter(pk=report.pk).update(retention_warned=True)
            warned += 1
    return {"warned": warned, "deleted": deleted}


def _warn_team(report: Report, when) -> None:
    from django.core.mail import send_mail

    from port2port.core.models import Membership

    recipients = sorted(
        {
            m.user.email
            for m in Membership.objects.filter(
                organisation=report.team.organisation
            ).select_related("user")
            if m.user.email and m.user.is_active and Perm.REPORTING_REPORT_TRIAGE in m.perms()
        }
    )
    if recipients:
        send_mail(
            subject=_("Port 2 Port: a report will be deleted in 72 hours"),
            message=_("Report %(id)s of %(channel)s is deleted on %(when)s (retention period).")
            % {"id": report.pk, "channel": report.channel.name, "when": f"{when:%Y-%m-%d %H:%M}"},
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=recipients,
            fail_silently=True,
        )
    audit.record(
        None, "reporting.report.retention_warned", report, organisation=report.team.organisation_id
    )
