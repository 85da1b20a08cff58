"""Proof of work before a report is accepted (issue 4, part 5): the browser finds a nonce such
that SHA-256(challenge ":" nonce) starts with REPORTING_POW_BITS zero bits. The challenge is
signed (stateless), bound to the channel, valid 30 minutes and usable once. It costs a reporter a
second or two and a flood of reports a great deal, without knowing who anyone is."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from port2port.core.errors import Invalid

from .models import SpentChallenge

SALT = "port2port.reporting.pow"
MAX_AGE = timedelta(minutes=30)


def bits() -> int:
    return int(getattr(settings, "REPORTING_POW_BITS", 16))


def challenge_issue(channel_slug: str) -> str:
    return signing.dumps({"c": channel_slug, "r": secrets.token_hex(16), "b": bits()}, salt=SALT)


def leading_zero_bits(digest: bytes) -> int:
    count = 0
    for byte in digest:
        if byte == 0:
            count += 8
            continue
        return count + 8 - byte.bit_length()
    return count


def solve(challenge: str, difficulty: int) -> str:
    """What the browser does (tests and the benchmark use it)."""
    nonce = 0
    while leading_zero_bits(hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()) < difficulty:
        nonce += 1
    return str(nonce)


def challenge_spend(challenge: str, nonce: str, channel_slug: str) -> None:
    """Check the work and mark the challenge used; raises Invalid with a reason otherwise."""
    try:
        data = signing.loads(challenge or "", salt=SALT, max_age=MAX_AGE)
    except signing.SignatureExpired as exc:
        raise Invalid(_("The form was open too long; send it again."), field="pow") from exc
    except signing.BadSignature as exc:
        raise Invalid(_("The anti-abuse check failed; send the form again."), field="pow") from exc
    if data.get("c") != channel_slug or len(nonce or "") > 20:
        raise Invalid(_("The anti-abuse check failed; send the form again."), field="pow")
    digest = hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()
    if leading_zero_bits(digest) < int(data.get("b", bits())):
        raise Invalid(_("The anti-abuse check failed; send the form again."), field="pow")
    now = timezone.now()
    SpentChallenge.objects.filter(expires_at__lt=now).delete()
    try:
        with transaction.atomic():
            SpentChallenge.objects.create(  # kept to the next hour but one: no finer time
                digest=hashlib.sha256(challenge.encode()).hexdigest(),
                expires_at=now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2),
            )
    except IntegrityError as exc:
        raise Invalid(_("This form was already sent; open it again."), field="pow") from exc
