"""Notifications of alarms to the people responsible: e-mail, webhook and web push (issue 6).

The ingest pipeline and escalations queue one `Delivery` per contact; `send_pending()` sends the
due ones and records each attempt on the row, which is the delivery log. A failed attempt is tried
again after a growing pause, and given up after `MAX_ATTEMPTS`. Several workers may send at once
(the clock of each process, the thread `kick()` wakes): a row is claimed by moving its
`next_attempt_at` with a conditional update before it is sent, so only one of them sends it.
A worker killed while sending leaves the row claimed for `CLAIM`; it is then sent again, so a
notification goes out at least once.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import smtplib
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.mail import send_mail
from django.db import close_old_connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from port2port.core import audit
from port2port.core.errors import Invalid

from .models import Alarm, Contact, Delivery, PushSubscription

log = logging.getLogger(__name__)

Channel = Contact.Channel
BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
)
MAX_ATTEMPTS = 6
CLAIM = timedelta(minutes=5)  # longer than one attempt may take
TIMEOUT_SECONDS = 5
PUSH_TTL_SECONDS = 3600  # a push service keeps the message this long for a device that is offline
POLL_SECONDS = 60.0
PORT_TIME = ZoneInfo("Europe/Brussels")
NOT_CONFIGURED = "web push is not configured (WEBPUSH_PRIVATE_KEY)"


class DeliveryError(Exception):
    """One attempt failed; `permanent`: trying again cannot help."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


def alarm_path(alarm: Alarm) -> str:
    return f"/detection/alarms/{alarm.pk}/"


# --- sending --------------------------------------------------------------------------------------


def send_pending(*, now: datetime | None = None, limit: int = 200) -> int:
    """Send the pending deliveries that are due, oldest first; returns how many were tried."""
    moment = now or timezone.now()
    due = list(
        Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=moment)
        .select_related("alarm__port", "user")
        .order_by("next_attempt_at", "id")[:limit]
    )
    tried = 0
    for delivery in due:
        at = now or timezone.now()
        claimed = Delivery.objects.filter(
            pk=delivery.pk,
            state=Delivery.State.PENDING,
            next_attempt_at=delivery.next_attempt_at,
        ).update(next_attempt_at=at + CLAIM)
        if not claimed:  # another worker has it
            continue
        tried += 1
        _attempt(delivery, at)
    return tried


def _attempt(delivery: Delivery, at: datetime) -> None:
    delivery.attempts += 1
    try:
        _SENDERS[delivery.channel](delivery)
    except DeliveryError as error:
        _failed(delivery, at, error.message, permanent=error.permanent)
    except Exception as error:  # a bug in one channel must not stop the others
        log.exception("detection: delivery %s (%s) failed", delivery.pk, delivery.channel)
        _failed(delivery, at, f"unexpected error ({type(error).__name__})", permanent=False)
    else:
        delivery.state = Delivery.State.SENT
        delivery.sent_at = at
        delivery.last_error = ""
        delivery.save(update_fields=["state", "attempts", "sent_at", "last_error"])


def _failed(delivery: Delivery, at: datetime, message: str, *, permanent: bool) -> None:
    log.warning(
        "detection: delivery %s (%s), attempt %s: %s",
        delivery.pk,
        delivery.channel,
        delivery.attempts,
        message,
    )
    delivery.last_error = message[:500]
    if permanent or delivery.attempts >= MAX_ATTEMPTS:
        delivery.state = Delivery.State.FAILED
    else:
        delivery.next_attempt_at = at + BACKOFF[min(delivery.attempts, len(BACKOFF)) - 1]
    delivery.save(update_fields=["state", "attempts", "next_attempt_at", "last_error"])


def _language(delivery: Delivery) -> str:
    user = delivery.user
    return (user.language if user is not None else "") or settings.LANGUAGE_CODE


def _local(moment: datetime) -> str:
    return moment.astimezone(PORT_TIME).strftime("%Y-%m-%d %H:%M:%S %Z")


def _send_email(delivery: Delivery) -> None:
    alarm = delivery.alarm
    with translation.override(_language(delivery)):
        kind = alarm.get_kind_display()
        subject = _("Alarm %(priority)s: %(kind)s at %(port)s") % {
            "priority": alarm.priority,
            "kind": kind,
            "port": alarm.port.name,
        }
        link = getattr(settings, "SITE_URL", "").rstrip("/") + alarm_path(alarm)
        lines = [
            (_("Alarm"), kind),
            (_("Port"), f"{alarm.port.name} ({alarm.port.locode})"),
            (
                _("Priority"),
                _("%(priority)s (1 is the most urgent)") % {"priority": alarm.priority},
            ),
            (_("Detections"), str(alarm.count)),
            (_("First seen"), _local(alarm.first_at)),
            (_("Last seen"), _local(alarm.last_at)),
        ]
        body = "\n".join(f"{label}: {value}" for label, value in lines)
        body += "\n\n" + _("Open the alarm: %(link)s") % {"link": link} + "\n"
    try:
        send_mail(subject, body, None, [delivery.target])
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryError(f"the mail server did not take the message ({error})") from error


def webhook_payload(alarm: Alarm) -> dict[str, Any]:
    return {
        "alarm": str(alarm.pk),
        "port": alarm.port.locode,
        "kind": alarm.kind,
        "priority": alarm.priority,
        "state": alarm.state,
        "count": alarm.count,
        "first_at": alarm.first_at.isoformat(),
        "last_at": alarm.last_at.isoformat(),
        "latitude": alarm.latitude,
        "longitude": alarm.longitude,
        "url": alarm_path(alarm),
    }


def _send_webhook(delivery: Delivery) -> None:
    url = urlsplit(delivery.target)
    if url.scheme not in {"http", "https"} or not url.hostname:
        raise DeliveryError("only http and https webhook URLs can be called", permanent=True)
    try:
        # No redirects: the receiver is the URL that was configured, nothing it points to.
        with requests.post(
            delivery.target,
            json=webhook_payload(delivery.alarm),
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
            stream=True,  # the answer's body is not read
        ) as response:
            status = response.status_code
    except requests.Timeout as error:
        raise DeliveryError(f"the webhook did not answer in {TIMEOUT_SECONDS} s") from error
    except requests.ConnectionError as error:
        raise DeliveryError("the webhook could not be reached") from error
    except requests.RequestException as error:  # the message may hold the URL's secrets
        raise DeliveryError(f"the webhook call failed ({type(error).__name__})") from error
    if not 200 <= status < 300:
        raise DeliveryError(f"the webhook answered HTTP {status}")


@functools.lru_cache(maxsize=4)
def _vapid(private_key: str) -> Vapid:
    return Vapid.from_string(private_key=private_key)


def vapid_public_key() -> str:
    """The key browsers subscribe with (`applicationServerKey`), base64url."""
    return settings.WEBPUSH_PUBLIC_KEY


def push_message(alarm: Alarm, language: str) -> dict[str, str]:
    with translation.override(language):
        return {
            "title": _("Alarm %(priority)s: %(kind)s")
            % {"priority": alarm.priority, "kind": alarm.get_kind_display()},
            "body": _("%(port)s, %(count)s detections, last at %(time)s")
            % {
                "port": alarm.port.name,
                "count": alarm.count,
                "time": alarm.last_at.astimezone(PORT_TIME).strftime("%H:%M:%S"),
            },
            "url": alarm_path(alarm),
            "tag": f"alarm-{alarm.pk}",
        }


def _send_web_push(delivery: Delivery) -> None:
    private_key = settings.WEBPUSH_PRIVATE_KEY
    if not private_key:
        raise DeliveryError(NOT_CONFIGURED)
    try:
        vapid = _vapid(private_key)
    except Exception as error:  # py_vapid raises several types for a malformed key
        raise DeliveryError("the web push key (WEBPUSH_PRIVATE_KEY) cannot be read") from error
    subscription = PushSubscription.objects.filter(endpoint=delivery.target).first()
    if subscription is None or (delivery.user_id and subscription.user_id != delivery.user_id):
        raise DeliveryError("the browser's push subscription no longer exists", permanent=True)
    message = push_message(delivery.alarm, _language(delivery))
    try:
        webpush(
            subscription_info={
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            },
            data=json.dumps(message),
            vapid_private_key=vapid,
            vapid_claims={"sub": settings.WEBPUSH_CONTACT},
            timeout=TIMEOUT_SECONDS,
            ttl=PUSH_TTL_SECONDS,
            headers={"Urgency": "high"},
        )
    except WebPushException as error:
        status = error.response.status_code if error.response is not None else None
        if status in {404, 410}:
            subscription.delete()
            raise DeliveryError(
                f"the push service answered HTTP {status}: the subscription has expired "
                "and was removed",
                permanent=True,
            ) from error
        if status is None:
            raise DeliveryError("the push message could not be prepared", permanent=True) from error
        raise DeliveryError(f"the push service answered HTTP {status}") from error
    except requests.Timeout as error:
        raise DeliveryError(f"the push service did not answer in {TIMEOUT_SECONDS} s") from error
    except requests.RequestException as error:
        raise DeliveryError(
            f"the push service could not be reached ({type(error).__name__})"
        ) from error
    except (ValueError, TypeError) as error:  # the keys cannot encrypt
        raise DeliveryError("the subscription's keys are not usable", permanent=True) from error


_SENDERS: dict[str, Callable[[Delivery], None]] = {
    Channel.EMAIL: _send_email,
    Channel.WEBHOOK: _send_webhook,
    Channel.WEB_PUSH: _send_web_push,
}


# --- the background sender ------------------------------------------------------------------------


class Notifier:
    """One daemon thread per process that sends as soon as it is woken (and every minute)."""

    def __init__(self):
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def kick(self) -> None:
        if not getattr(settings, "DETECTION_NOTIFY_THREAD", True):
            return
        self._wake.set()
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(
                    target=self._run, name="detection-notify", daemon=True
                )
                self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Let the thread finish its round and end (tests, shutdown)."""
        with self._lock:
            thread, self._stopping = self._thread, True
            self._wake.set()
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            if self._stopping:
                break
            try:
                while send_pending() and not self._stopping:  # until nothing is due
                    pass
            except Exception:
                log.exception("detection: sending notifications failed; trying again later")
            finally:
                close_old_connections()


notifier = Notifier()


def kick() -> None:
    """Send what is due now, in the background; cheap, call it after every commit that queued."""
    notifier.kick()


# --- subscriptions ----------------------------------------------------------------------------------


def _b64url(value: Any, *, field: str, size: int) -> bytes:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise Invalid(_("this key is missing or too long"), field=field)
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as error:
        raise Invalid(_("this key is not base64url"), field=field) from error
    if len(raw) != size or base64.urlsafe_b64encode(raw).rstrip(b"=") != value.rstrip("=").encode():
        raise Invalid(_("this key is not %(n)s bytes of base64url") % {"n": size}, field=field)
    return raw


def _push_endpoint(endpoint: Any) -> str:
    if not isinstance(endpoint, str) or not endpoint:
        raise Invalid(_("the push endpoint is missing"), field="endpoint")
    if len(endpoint) > 1000:
        raise Invalid(_("the push endpoint is longer than 1000 characters"), field="endpoint")
    try:
        url = urlsplit(endpoint)
        host = url.hostname
    except ValueError:
        host = None
    loopback = host in {"127.0.0.1", "localhost"}
    if not host or not (url.scheme == "https" or (url.scheme == "http" and loopback)):
        raise Invalid(_("the push endpoint must be an https URL"), field="endpoint")
    return endpoint


@transaction.atomic
def push_subscription_set(*, actor: Any, endpoint: Any, p256dh: Any, auth: Any) -> PushSubscription:
    """Remember the actor's browser for web push (its endpoint, and its keys, RFC 8291)."""
    endpoint = _push_endpoint(endpoint)
    point = _b64url(p256dh, field="p256dh", size=65)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as error:
        raise Invalid(_("this key is not a P-256 public key"), field="p256dh") from error
    _b64url(auth, field="auth", size=16)
    subscription = PushSubscription.objects.select_for_update().filter(endpoint=endpoint).first()
    details = {"endpoint_host": urlsplit(endpoint).hostname}
    if subscription is None:
        subscription = PushSubscription.objects.create(
            user=actor, endpoint=endpoint, p256dh=p256dh, auth=auth
        )
    else:  # the same browser again, perhaps signed in as someone else now
        if subscription.user_id != actor.pk:
            details["previous_user"] = str(subscription.user_id)
        subscription.user, subscription.p256dh, subscription.auth = actor, p256dh, auth
        subscription.save(update_fields=["user", "p256dh", "auth"])
    audit.record(actor, "detection.push.subscribed", subscription, details=details)
    return subscription


@transaction.atomic
def push_subscription_remove(*, actor: Any, endpoint: Any) -> bool:
    """Forget one of the actor's browsers; False when it was not subscribed."""
    if not isinstance(endpoint, str) or not endpoint:
        raise Invalid(_("the push endpoint is missing"), field="endpoint")
    subscription = PushSubscription.objects.filter(user=actor, endpoint=endpoint).first()
    if subscription is None:
        return False
    audit.record(
        actor,
        "detection.push.unsubscribed",
        subscription,
        details={"endpoint_host": urlsplit(subscription.endpoint).hostname},
    )
    subscription.delete()
    return True
