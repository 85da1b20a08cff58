"""Notifications of alarms: e-mail, webhook and web push, retries, and browser subscriptions.

Webhooks and the push service are played by an HTTP server on 127.0.0.1; nothing leaves the host.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.core import mail
from django.urls import include, path
from py_vapid import Vapid

from port2port.core.models import AuditRecord
from port2port.detection import notify, views_push
from port2port.detection.models import Alarm, Delivery, PushSubscription
from tests.core.factories import OrganisationFactory, PortFactory, sign_in, user_in

urlpatterns = [
    path("detection/push/key/", views_push.push_key_view),
    path("detection/push/subscribe/", views_push.push_subscribe_view),
    path("", include("port2port.core.urls")),  # the login page
]
KEY_URL = "/detection/push/key/"
SUBSCRIBE_URL = "/detection/push/subscribe/"

FIRST = datetime(2025, 7, 1, 10, 0, tzinfo=UTC)  # 12:00 in Brussels (summer time)
NOW = FIRST + timedelta(minutes=5)
State = Delivery.State


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_raw(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


class Receiver:
    """An HTTP server on loopback that records each POST and answers with the next status."""

    def __init__(self):
        self.requests: list[tuple[str, dict, bytes]] = []
        self.statuses: list[int] = []  # answered in order; 201 once they are used up
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver.requests.append((self.path, headers, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 201
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture(autouse=True)
def _local_only(settings, monkeypatch):
    """No proxy may carry a test's request off the host; no background sender either."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    settings.DETECTION_NOTIFY_THREAD = False


@pytest.fixture
def receiver():
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()
    thread.join()


@pytest.fixture
def alarm():
    return Alarm.objects.create(
        port=PortFactory(name="Zeebrugge"),
        kind="perimeter",
        key="fence:north",
        priority=10,
        first_at=FIRST,
        last_at=FIRST + timedelta(minutes=3),
        count=4,
        latitude=51.33,
        longitude=3.2,
    )


@pytest.fixture
def person():
    return user_in(OrganisationFactory())


def queue(alarm, channel, target, user=None) -> Delivery:
    return Delivery.objects.create(
        alarm=alarm, channel=channel, target=target, user=user, next_attempt_at=NOW
    )


def fresh(delivery: Delivery) -> Delivery:
    delivery.refresh_from_db()
    return delivery


# --- e-mail ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_email_tells_what_where_and_when_with_a_link(alarm, person):
    delivery = queue(alarm, "email", "duty.officer@example.org", person)

    assert notify.send_pending(now=NOW) == 1

    delivery = fresh(delivery)
    assert (delivery.state, delivery.attempts, delivery.sent_at) == (State.SENT, 1, NOW)
    [message] = mail.outbox
    assert message.to == ["duty.officer@example.org"]
    assert message.subject == (
        "Alarm 10: Fence or thermal detection outside the schedule at Zeebrugge"
    )
    assert f"Port: Zeebrugge ({alarm.port.locode})" in message.body
    assert "Detections: 4" in message.body
    assert "First seen: 2025-07-01 12:00:00 CEST" in message.body
    assert "Last seen: 2025-07-01 12:03:00 CEST" in message.body
    assert f"/detection/alarms/{alarm.pk}/" in message.body


@pytest.mark.django_db
def test_email_is_written_in_the_persons_language(alarm, person):
    person.language = "nl"
    person.save()
    queue(alarm, "email", "wachtdienst@example.org", person)

    notify.send_pending(now=NOW)

    [message] = mail.outbox
    assert "Haven: Zeebrugge" in message.body
    assert "Port:" not in message.body


@pytest.mark.django_db
def test_a_mail_server_that_refuses_is_tried_again(alarm, person, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(notify, "send_mail", refuse)
    delivery = queue(alarm, "email", "duty.officer@example.org", person)

    notify.send_pending(now=NOW)

    delivery = fresh(delivery)
    assert (delivery.state, delivery.attempts) == (State.PENDING, 1)
    assert delivery.last_error.startswith("the mail server did not take the message")
    assert delivery.next_attempt_at == NOW + timedelta(seconds=30)


# --- webhook --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_webhook_posts_the_alarm_as_json(alarm, receiver):
    delivery = queue(alarm, "webhook", f"{receiver.url}/hooks/soc?token=abc")

    notify.send_pending(now=NOW)

    assert fresh(delivery).state == State.SENT
    [(where, headers, body)] = receiver.requests
    assert where == "/hooks/soc?token=abc"
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "alarm": str(alarm.pk),
        "port": alarm.port.locode,
        "kind": "perimeter",
        "priority": 10,
        "state": "new",
        "count": 4,
        "first_at": "2025-07-01T10:00:00+00:00",
        "last_at": "2025-07-01T10:03:00+00:00",
        "latitude": 51.33,
        "longitude": 3.2,
        "url": f"/detection/alarms/{alarm.pk}/",
    }


@pytest.mark.django_db
def test_a_failed_webhook_is_tried_again_after_the_pause(alarm, receiver):
    receiver.statuses = [500]
    delivery = queue(alarm, "webhook", f"{receiver.url}/hook")

    assert notify.send_pending(now=NOW) == 1
    delivery = fresh(delivery)
    assert (delivery.state, delivery.attempts) == (State.PENDING, 1)
    assert delivery.last_error == "the webhook answered HTTP 500"
    assert delivery.next_attempt_at == NOW + timedelta(seconds=30)

    assert notify.send_pending(now=NOW + timedelta(seconds=29)) == 0
    assert len(receiver.requests) == 1

    assert notify.send_pending(now=NOW + timedelta(seconds=30)) == 1
    delivery = fresh(delivery)
    assert (delivery.state, delivery.attempts, delivery.last_error) == (State.SENT, 2, "")
    assert delivery.sent_at == NOW + timedelta(seconds=30)
    assert len(receiver.requests) == 2


@pytest.mark.django_db
def test_after_six_failures_the_delivery_is_given_up(alarm, receiver):
    receiver.statuses = [503] * 6
    delivery = queue(alarm, "webhook", f"{receiver.url}/hook")
    pauses = []
    moment = NOW
    for _attempt in range(6):
        assert notify.send_pending(now=moment) == 1
        delivery = fresh(delivery)
        if delivery.state == State.PENDING:
            pauses.append(delivery.next_attempt_at - moment)
            moment = delivery.next_attempt_at

    assert pauses == [
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(minutes=10),
        timedelta(minutes=30),
        timedelta(hours=1),
    ]
    assert (delivery.state, delivery.attempts) == (State.FAILED, 6)
    assert delivery.last_error == "the webhook answered HTTP 503"
    assert notify.send_pending(now=moment + timedelta(days=1)) == 0
    assert len(receiver.requests) == 6


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["ftp://127.0.0.1/hook", "file:///etc/passwd", "http:///nohost"])
def test_a_webhook_that_is_not_http_fails_without_retry(alarm, url):
    delivery = queue(alarm, "webhook", url)

    notify.send_pending(now=NOW)

    delivery = fresh(delivery)
    assert (delivery.state, delivery.attempts) == (State.FAILED, 1)
    assert delivery.last_error == "only http and https webhook URLs can be called"


@pytest.mark.django_db
def test_an_unreachable_webhook_is_tried_again_and_its_url_is_not_logged(alarm):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    delivery = queue(alarm, "webhook", f"http://127.0.0.1:{port}/hook?secret=s3cr3t")

    notify.send_pending(now=NOW)

    delivery = fresh(delivery)
    assert (delivery.state, delivery.attempts) == (State.PENDING, 1)
    assert delivery.last_error == "the webhook could not be reached"


@pytest.mark.django_db
def test_two_workers_never_send_the_same_delivery(alarm, receiver, monkeypatch):
    first = queue(alarm, "webhook", f"{receiver.url}/first")
    second = queue(alarm, "webhook", f"{receiver.url}/second")
    send = notify._SENDERS["webhook"]
    other_worker: dict = {}

    def send_while_another_worker_runs(delivery):
        if "tried" not in other_worker:  # during the first send, another worker runs
            other_worker["tried"] = None
            other_worker["tried"] = notify.send_pending(now=NOW)  # only the second is left
        send(delivery)

    monkeypatch.setitem(notify._SENDERS, "webhook", send_while_another_worker_runs)

    assert notify.send_pending(now=NOW) == 1
    assert other_worker == {"tried": 1}
    assert sorted(where for where, _headers, _body in receiver.requests) == ["/first", "/second"]
    assert [fresh(d).attempts for d in (first, second)] == [1, 1]
    assert {fresh(d).state for d in (first, second)} == {State.SENT}


# --- web push -------------------------------------------------------------------------------------


@pytest.fixture
def vapid(settings):
    key = Vapid()
    key.generate_keys()
    settings.WEBPUSH_PRIVATE_KEY = b64url(
        key.private_key.private_numbers().private_value.to_bytes(32)
    )
    settings.WEBPUSH_PUBLIC_KEY = b64url(public_raw(key.private_key))
    settings.WEBPUSH_CONTACT = "mailto:soc@example.org"
    return key


@pytest.fixture
def browser():
    """The browser's side of a subscription: its ECDH key pair and auth secret (RFC 8291)."""
    return ec.generate_private_key(ec.SECP256R1()), os.urandom(16)


@pytest.fixture
def subscription(person, receiver, browser):
    private, auth = browser
    return PushSubscription.objects.create(
        user=person,
        endpoint=f"{receiver.url}/push/v2/abcdef",
        p256dh=b64url(public_raw(private)),
        auth=b64url(auth),
    )


def verify_vapid(authorization: str, public_key: str) -> dict:
    """Check the RFC 8292 header: the JWT is signed by the key it names; returns its claims."""
    scheme, params = authorization.split(" ", 1)
    assert scheme == "vapid"
    fields = dict(part.split("=", 1) for part in params.split(","))
    assert fields["k"] == public_key
    head, claims, signature = fields["t"].split(".")
    raw = b64url_decode(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(public_key))
    try:
        key.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        pytest.fail("the VAPID token's signature does not verify")
    return json.loads(b64url_decode(claims))


@pytest.mark.django_db
def test_web_push_sends_an_encrypted_message_signed_with_vapid(
    alarm, person, receiver, vapid, browser, subscription, settings
):
    delivery = queue(alarm, "web_push", subscription.endpoint, person)

    notify.send_pending(now=NOW)

    assert fresh(delivery).state == State.SENT
    [(where, headers, body)] = receiver.requests
    assert where == "/push/v2/abcdef"
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["urgency"] == "high"
    claims = verify_vapid(headers["authorization"], settings.WEBPUSH_PUBLIC_KEY)
    assert claims["aud"] == receiver.url
    assert claims["sub"] == "mailto:soc@example.org"
    private, auth = browser
    assert b"Zeebrugge" not in body  # encrypted
    message = json.loads(http_ece.decrypt(body, private_key=private, auth_secret=auth))
    assert message == {
        "title": "Alarm 10: Fence or thermal detection outside the schedule",
        "body": "Zeebrugge, 4 detections, last at 12:03:00",
        "url": f"/detection/alarms/{alarm.pk}/",
        "tag": f"alarm-{alarm.pk}",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("status", [404, 410])
def test_an_expired_push_subscription_is_removed(
    alarm, person, receiver, vapid, subscription, status
):
    receiver.statuses = [status]
    delivery = queue(alarm, "web_push", subscription.endpoint, person)

    notify.send_pending(now=NOW)

    delivery = fresh(delivery)
    assert (delivery.state, delivery.attempts) == (State.FAILED, 1)
    assert f"HTTP {status}" in delivery.last_error
    assert not PushSubscription.objects.filter(pk=subscription.pk).exists()


@pytest.mark.django_db
def test_a_push_service_error_is_tried_again(alarm, person, receiver, vapid, subscription):
    receiver.statuses = [502]
    delivery = queue(alarm, "web_push", subscription.endpoint, person)

    notify.send_pending(now=NOW)

    delivery = fresh(delivery)
    assert (delivery.state, delivery.attempts) == (State.PENDING, 1)
    assert delivery.last_error == "the push service answered HTTP 502"
    assert PushSubscription.objects.filter(pk=subscription.pk).exists()


@pytest.mark.django_db
def test_web_push_without_a_key_says_so(alarm, person, receiver, subscription, settings):
    settings.WEBPUSH_PRIVATE_KEY = ""
    delivery = queue(alarm, "web_push", subscription.endpoint, person)

    notify.send_pending(now=NOW)

    delivery = fresh(delivery)
    assert (delivery.state, delivery.attempts) == (State.PENDING, 1)
    assert delivery.last_error == "web push is not configured (WEBPUSH_PRIVATE_KEY)"
    assert receiver.requests == []


@pytest.mark.django_db
def test_a_browser_now_used_by_someone_else_gets_no_push(
    alarm, person, receiver, vapid, subscription
):
    subscription.user = user_in(OrganisationFactory())
    subscription.save()
    delivery = queue(alarm, "web_push", subscription.endpoint, person)

    notify.send_pending(now=NOW)

    delivery = fresh(delivery)
    assert (delivery.state, delivery.attempts) == (State.FAILED, 1)
    assert delivery.last_error == "the browser's push subscription no longer exists"
    assert receiver.requests == []


# --- the background sender ------------------------------------------------------------------------


@pytest.mark.django_db
def test_kick_does_nothing_when_the_thread_is_off(monkeypatch):
    monkeypatch.setattr(notify, "notifier", notify.Notifier())

    notify.kick()

    assert notify.notifier._thread is None


@pytest.mark.django_db(transaction=True)
def test_kick_sends_in_the_background(alarm, receiver, settings, monkeypatch):
    settings.DETECTION_NOTIFY_THREAD = True
    monkeypatch.setattr(notify, "notifier", notify.Notifier())
    delivery = Delivery.objects.create(alarm=alarm, channel="webhook", target=f"{receiver.url}/h")

    notify.kick()
    try:
        deadline = time.monotonic() + 10
        while fresh(delivery).state == State.PENDING and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        notify.notifier.stop()

    assert delivery.state == State.SENT
    assert len(receiver.requests) == 1
    assert not notify.notifier._thread.is_alive()


# --- subscribing a browser ------------------------------------------------------------------------


def browser_json(endpoint="https://push.example.net/wpush/v2/gAAAAB", **keys) -> dict:
    private = ec.generate_private_key(ec.SECP256R1())
    return {
        "endpoint": endpoint,
        "expirationTime": None,
        "keys": {"p256dh": b64url(public_raw(private)), "auth": b64url(os.urandom(16)), **keys},
    }


@pytest.fixture
def signed_in(client, person):
    sign_in(client, person)
    return client


def post(client, data, method="post"):
    body = data if isinstance(data, str) else json.dumps(data)
    return getattr(client, method)(SUBSCRIBE_URL, data=body, content_type="application/json")


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_the_key_is_given_to_signed_in_users_only(client, person, settings):
    settings.WEBPUSH_PUBLIC_KEY = "BPublicKey"
    assert client.get(KEY_URL).status_code == 302  # to the login page
    sign_in(client, person)
    assert client.get(KEY_URL).json() == {"key": "BPublicKey"}


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_subscribing_stores_the_browser_and_audits_without_keys(signed_in, person):
    data = browser_json()

    response = post(signed_in, data)

    assert response.status_code == 201, response.content
    stored = PushSubscription.objects.get()
    assert (stored.user, stored.endpoint) == (person, data["endpoint"])
    assert (stored.p256dh, stored.auth) == (data["keys"]["p256dh"], data["keys"]["auth"])
    record = AuditRecord.objects.get(action="detection.push.subscribed")
    assert record.actor == person
    assert record.details == {"endpoint_host": "push.example.net"}


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_the_same_browser_signed_in_as_someone_else_moves_to_them(client, person):
    data = browser_json()
    sign_in(client, user_in(OrganisationFactory()))
    assert post(client, data).status_code == 201
    sign_in(client, person)
    assert post(client, browser_json(data["endpoint"])).status_code == 201

    assert PushSubscription.objects.get().user == person


@pytest.mark.urls(__name__)
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (browser_json("http://push.example.net/x"), "endpoint", "must be an https URL"),
        (browser_json("javascript:alert(1)"), "endpoint", "must be an https URL"),
        (browser_json("https://" + "a" * 1000), "endpoint", "longer than 1000 characters"),
        ({"keys": browser_json()["keys"]}, "endpoint", "the push endpoint is missing"),
        (browser_json(p256dh=b64url(b"\x04" + bytes(64))), "p256dh", "not a P-256 public key"),
        (browser_json(p256dh=b64url(os.urandom(33))), "p256dh", "not 65 bytes of base64url"),
        (browser_json(p256dh="BN+/not*base64"), "p256dh", "base64url"),
        (browser_json(auth=b64url(os.urandom(8))), "auth", "not 16 bytes of base64url"),
        (browser_json(auth=12), "auth", "missing or too long"),
        ({"endpoint": "https://push.example.net/x"}, "p256dh", "missing or too long"),
    ],
)
def test_a_bad_subscription_is_refused_with_a_clear_message(signed_in, data, field, message):
    response = post(signed_in, data)

    assert response.status_code == 422
    answer = response.json()
    assert answer["error"] == "invalid"
    assert message in answer["message"]
    assert message in answer["fields"][field]
    assert not PushSubscription.objects.exists()


@pytest.mark.urls(__name__)
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "message"),
    [("{not json", "not JSON"), ("[1, 2]", "a JSON object"), ("x" * 5000, "larger than")],
)
def test_a_request_that_is_not_a_json_object_is_a_bad_request(signed_in, body, message):
    response = post(signed_in, body)

    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert message in response.json()["message"]


@pytest.mark.urls(__name__)
@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "delete"])
def test_unsubscribing_removes_only_ones_own_browser(signed_in, person, method):
    mine = browser_json("https://push.example.net/mine")
    post(signed_in, mine)
    theirs = PushSubscription.objects.create(
        user=user_in(OrganisationFactory()),
        endpoint="https://push.example.net/theirs",
        p256dh=mine["keys"]["p256dh"],
        auth=mine["keys"]["auth"],
    )

    for endpoint, removed in [(mine["endpoint"], True), (theirs.endpoint, False)]:
        response = post(signed_in, {"endpoint": endpoint, "unsubscribe": True}, method)
        assert response.status_code == 200
        assert response.json() == {"subscribed": False, "removed": removed}

    assert list(PushSubscription.objects.all()) == [theirs]
    assert AuditRecord.objects.filter(action="detection.push.unsubscribed").count() == 1


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_subscribe_takes_no_get(signed_in):
    assert signed_in.get(SUBSCRIBE_URL).status_code == 405
