"""Anti-passback, gate devices, the signed offline allow-list, screening on the person page."""

import hashlib
import io
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from PIL import Image

from port2port.access import allowlist, services
from port2port.access.models import (
    AccessAlert,
    CriminalRecordExtract,
    GateDecision,
    Identity,
    Verification,
)
from port2port.access.reference import reference_decide
from port2port.core.errors import Forbidden
from port2port.core.models import OrganisationKind
from port2port.core.roles import Role
from port2port.core.visibility import SYSTEM
from port2port.sites.models import Area, Facility, Gate, Zone

from ..core.factories import OrganisationFactory, PersonFactory, PortFactory, sign_in, user_in

POINT = {"type": "Point", "coordinates": [4.3, 51.28]}


@pytest.fixture
def site(db):
    port = PortFactory(locode="BEANR")
    authority = OrganisationFactory(kind=OrganisationKind.PORT_AUTHORITY, ports=[port])
    operator = OrganisationFactory(kind=OrganisationKind.FACILITY_OPERATOR, ports=[port])
    area = Area.objects.create(port=port, code="LEFT", name="Left bank", geometry=POINT)
    facility = Facility.objects.create(
        port=port, code="SCT", name="SCT", geometry=POINT, operator=operator, area=area
    )
    yard = Zone.objects.create(
        port=port, code="YARD", name="Yard", geometry=POINT, facility=facility
    )
    gates = []
    for n in (1, 2):
        gate = Gate.objects.create(
            port=port, code=f"SCT-G{n}", name=f"Gate {n}", geometry=POINT, facility=facility
        )
        gate.leads_into.set([yard])
        gates.append(gate)
    control = user_in(authority, Role.CONTROL_ROOM_OPERATOR)
    pfso = user_in(operator, Role.PFSO)
    worker = PersonFactory(organisation=operator)
    services.badge_issue(actor=pfso, person=worker, number="AP-1")
    services.right_grant(actor=pfso, person=worker, zone=yard)
    return {
        "area": area,
        "yard": yard,
        "pfso": pfso,
        "control": control,
        "worker": worker,
        "operator": operator,
        "authority": authority,
        "port": port,
    }


def _in(gate="SCT-G1", direction="in", at=None):
    return services.gate_decide(
        actor=SYSTEM, gate_code=gate, kind="badge", value="AP-1", direction=direction, at=at
    )


@pytest.mark.parametrize("mode", ["soft", "hard"])
def test_anti_passback(site, mode):
    Area.objects.filter(pk=site["area"].pk).update(anti_passback=mode, presence_timeout=60)
    services.change_record(None)
    now = timezone.localtime() - timedelta(hours=2)  # times of the past: a gate replaying
    assert _in(at=now).granted
    second = _in(gate="SCT-G2", at=now + timedelta(minutes=5))  # no exit in between
    slow = reference_decide("SCT-G2", "badge", "AP-1", "in", now + timedelta(minutes=5))
    assert (second.granted, list(second.reasons)) == slow
    if mode == "hard":
        assert not second.granted and second.reasons == ("ANTI_PASSBACK",)
        assert not AccessAlert.objects.filter(kind="anti_passback").exists()
    else:  # let in, logged with the reason, the control room alerted
        assert second.granted and second.reasons == ("ANTI_PASSBACK", "GRANTED")
        assert AccessAlert.objects.get(kind="anti_passback").user == site["control"]
    assert _in(direction="out", at=now + timedelta(minutes=6)).granted
    assert _in(at=now + timedelta(minutes=7)).reasons == ("GRANTED",)  # left, so back in
    # after the presence timeout, a forgotten exit no longer counts
    assert _in(at=now + timedelta(minutes=7 + 61)).reasons == ("GRANTED",)


def test_anti_passback_follows_other_nodes_through_the_log(site):
    """Another process granted the entry: this one learns it from the decision log."""
    from port2port.access.snapshot import store

    Area.objects.filter(pk=site["area"].pk).update(anti_passback="hard", presence_timeout=60)
    services.change_record(None)
    now = timezone.localtime()
    store.get()
    GateDecision.objects.create(
        uid="other-node-1",
        gate=Gate.objects.get(code="SCT-G1"),
        gate_code="SCT-G1",
        credential_kind="badge",
        credential="AP-1",
        person=site["worker"],
        direction="in",
        at=now - timedelta(minutes=1),
        granted=True,
        reasons=["GRANTED"],
    )
    assert _in(gate="SCT-G2", at=now).reasons == ("ANTI_PASSBACK",)


def test_gate_devices_decide_for_their_gate_only(site, client):
    gate = Gate.objects.get(code="SCT-G1")
    with pytest.raises(Forbidden):
        services.device_issue(actor=user_in(OrganisationFactory(), Role.PFSO), gate=gate, name="x")
    device, secret = services.device_issue(actor=site["pfso"], gate=gate, name="Turnstile 1")
    assert secret.startswith("gd_") and device.token_hash != secret
    headers = {"Authorization": f"Bearer {secret}"}

    def ask(gate_code):
        return client.post(
            "/api/v1/access/decide",
            {"gate": gate_code, "badge": "AP-1"},
            content_type="application/json",
            headers=headers,
        )

    assert ask("SCT-G1").json()["decision"] == "grant"
    assert ask("SCT-G2").status_code == 403
    services.device_revoke(actor=site["pfso"], device=device)
    assert ask("SCT-G1").status_code == 401
    bad = {"Authorization": "Bearer gd_nope_nope"}
    response = client.post(
        "/api/v1/access/decide",
        {"gate": "SCT-G1", "badge": "AP-1"},
        content_type="application/json",
        headers=bad,
    )
    assert response.status_code == 401


def test_signed_allow_list_keeps_the_gate_deciding_offline(site, client):
    gate = Gate.objects.get(code="SCT-G1")
    _device, secret = services.device_issue(actor=site["pfso"], gate=gate, name="Turnstile 1")
    headers = {"Authorization": f"Bearer {secret}"}
    response = client.get("/api/v1/access/gates/SCT-G1/allow-list?hours=4", headers=headers)
    assert response.status_code == 200
    document = response.json()
    key = client.get("/api/v1/access/signing-key", headers=headers).json()
    payload = allowlist.verify(document, key["public_key"])
    now = timezone.localtime()
    mine = hashlib.sha256(secret.encode()).hexdigest()  # the device derives its key itself
    assert allowlist.allowed_offline(payload, mine, "badge", "AP-1", now)
    assert not allowlist.allowed_offline(payload, mine, "badge", "AP-2", now)
    assert not allowlist.allowed_offline(payload, mine, "badge", "AP-1", now + timedelta(hours=5))
    # without the token, a copy of the list does not tell whether AP-1 is on it
    assert not allowlist.allowed_offline(payload, "0" * 64, "badge", "AP-1", now)
    assert "AP-1" not in response.content.decode()  # digests only
    forged = {**document, "payload": {**payload, "valid_until": "2099-01-01T00:00:00+01:00"}}
    with pytest.raises(Exception, match="Signature"):
        allowlist.verify(forged, key["public_key"])
    assert client.get("/api/v1/access/gates/SCT-G2/allow-list", headers=headers).status_code == 403
    sign_in(client, site["pfso"])  # people and organisation tokens do not get allow-lists
    assert client.get("/api/v1/access/gates/SCT-G1/allow-list").status_code == 403
    assert (
        client.get("/api/v1/access/gates/SCT-G1/allow-list?hours=500", headers=headers).status_code
        == 422
    )


def test_allow_list_follows_schedules_and_bans(site):
    from port2port.access.models import Schedule
    from port2port.access.snapshot import store

    worker = site["worker"]
    schedule = services.schedule_create(
        actor=site["pfso"],
        name="days",
        windows=[{"day": d, "start": "08:00", "end": "16:00"} for d in range(7)],
    )
    worker.access_rights.all().delete()
    services.right_grant(actor=site["pfso"], person=worker, zone=site["yard"], schedule=schedule)
    start = timezone.make_aware(datetime(2026, 11, 23, 6, 0))
    payload = allowlist.build(store.get(force_check=True), "SCT-G1", start, 12, "k" * 64)
    [entry] = payload["entries"]
    assert entry["allow"] == [
        [start.replace(hour=8).isoformat(), start.replace(hour=16).isoformat()]
    ]
    assert Schedule.objects.count() == 1


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "navy").save(buffer, "PNG")
    return buffer.getvalue()


def test_person_page_identity_photo_verification_extract_and_badge_state(site, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    worker = site["worker"]
    sign_in(client, site["pfso"])
    url = f"/access/people/{worker.pk}/"
    response = client.post(
        url + "identity/",
        {"national_number": "85.07.30-033.29", "nationality": "BE"},
    )
    assert response.status_code == 422 and "check digits" in response.content.decode()
    assert not Identity.objects.filter(person=worker).exists()
    fake = SimpleUploadedFile("me.png", b"<?php echo 1; ?>", content_type="image/png")
    response = client.post(url + "identity/", {"nationality": "BE", "photo": fake})
    assert response.status_code == 422 and "not a JPEG or PNG" in response.content.decode()
    photo = SimpleUploadedFile("me.png", _png(), content_type="image/png")
    response = client.post(
        url + "identity/",
        {"national_number": "85.07.30-033.28", "nationality": "be", "photo": photo},
    )
    assert response.status_code == 302
    identity = Identity.objects.get(person=worker)
    assert identity.national_number == "85073003328" and identity.nationality == "BE"
    image = client.get(url + "photo/")
    assert image.status_code == 200 and image["Cache-Control"] == "private, no-store"
    assert b"".join(image.streaming_content) == _png()

    response = client.post(url + "extract/", {"checked_on": "2099-01-01", "result": "clear"})
    assert response.status_code == 422 and not CriminalRecordExtract.objects.exists()
    client.post(url + "extract/", {"checked_on": "2026-01-05", "result": "clear"})
    assert CriminalRecordExtract.objects.get(person=worker).result == "clear"

    # a PFSO does not record security verifications: the screening authority does
    response = client.post(url + "verification/", {"category": "Terminal", "status": "positive"})
    assert response.status_code == 422 and not Verification.objects.exists()

    client.post(url + "badge-state/", {"badge": "AP-1", "state": "blocked"})
    assert services.gate_decide(
        actor=SYSTEM, gate_code="SCT-G1", kind="badge", value="AP-1"
    ).reasons == ("BADGE_BLOCKED",)
    client.logout()

    sign_in(client, user_in(site["authority"], Role.PORT_SECURITY_OFFICER))
    client.post(url + "verification/", {"category": "Terminal", "status": "positive"})
    assert Verification.objects.get(person=worker).valid_until is not None
    stranger = user_in(OrganisationFactory(), Role.COMPANY_SECURITY_MANAGER)
    client.logout()
    sign_in(client, stranger)
    assert client.get(url + "photo/").status_code == 404


def _fast_lane(secret: str, body: bytes, language: str = "en") -> tuple[int, dict]:
    """Call the ASGI application the way uvicorn does, through the gate's fast lane."""
    import json

    from asgiref.sync import async_to_sync
    from asgiref.testing import ApplicationCommunicator

    from port2port.asgi import application

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/access/decide",
        "query_string": b"",
        "headers": [
            (b"authorization", f"Bearer {secret}".encode()),
            (b"content-type", b"application/json"),
            (b"accept-language", language.encode()),
            (b"host", b"127.0.0.1"),
        ],
    }

    async def run():
        lane = ApplicationCommunicator(application, scope)
        await lane.send_input({"type": "http.request", "body": body, "more_body": False})
        start = await lane.receive_output(5)
        payload = await lane.receive_output(5)
        return start["status"], json.loads(payload["body"])

    return async_to_sync(run)()


def test_the_fast_lane_answers_like_the_api(site, client):
    import json

    gate = Gate.objects.get(code="SCT-G1")
    device, secret = services.device_issue(actor=site["pfso"], gate=gate, name="Turnstile 1")
    headers = {"Authorization": f"Bearer {secret}"}
    cases = [
        {"gate": "SCT-G1", "badge": "AP-1"},
        {"gate": "SCT-G1", "badge": "AP-1", "direction": "out"},
        {"gate": "SCT-G1", "badge": "NOBODY"},
        {"gate": "SCT-G1", "plate": "!!"},
        {"gate": "SCT-G1"},
        {"gate": "SCT-G2", "badge": "AP-1"},
        {"gate": "SCT-G1", "badge": "AP-1", "direction": "sideways"},
    ]
    for body in cases:
        slow = client.post(
            "/api/v1/access/decide", body, content_type="application/json", headers=headers
        )
        fast = _fast_lane(secret, json.dumps(body).encode())
        assert fast == (slow.status_code, slow.json()), body
    status, answer = _fast_lane(secret, b"{not json")
    assert status == 400 and answer["error"] == "bad_request"
    status, answer = _fast_lane(secret, b'{"gate": "SCT-G1", "badge": "AP-1"}', "nl-BE,nl;q=0.9")
    assert status == 200 and answer["messages"] == ["Toegang verleend."]
    assert (
        GateDecision.objects.filter(gate_code="SCT-G1").count() == 2 * 3 + 1
    )  # every decision logged
    services.device_revoke(actor=site["pfso"], device=device)
    assert _fast_lane(secret, b'{"gate": "SCT-G1", "badge": "AP-1"}')[0] == 401


def test_map_changes_reach_the_gates_and_anti_passback_is_set_on_the_port_page(site, client):
    from port2port.sites import services as sites_services

    officer = user_in(site["authority"], Role.PORT_SECURITY_OFFICER)
    assert _in().granted  # the snapshot is built now
    sites_services.gate_create(
        actor=officer,
        port=site["port"],
        code="SCT-G3",
        name="Gate 3",
        geometry=POINT,
        kind="both",
        leads_into=[site["yard"]],
    )
    assert _in(gate="SCT-G3").granted  # a new gate decides at once, no restart needed

    sign_in(client, officer)
    url = f"/sites/BEANR/areas/{site['area'].pk}/anti-passback/"
    response = client.post(url, {"mode": "sideways", "timeout_minutes": "30"}, follow=True)
    assert "Select a valid choice" in response.content.decode()
    client.post(url, {"mode": "hard", "timeout_minutes": "30"})
    site["area"].refresh_from_db()
    assert (site["area"].anti_passback, site["area"].presence_timeout) == ("hard", 30)
    now = timezone.localtime()
    # the entries before anti-passback was switched on count: the worker is still inside
    assert _in(at=now).reasons == ("ANTI_PASSBACK",)
    assert _in(direction="out", at=now).granted
    assert _in(at=now).granted
    assert _in(gate="SCT-G2", at=now).reasons == ("ANTI_PASSBACK",)
    client.logout()
    sign_in(client, site["pfso"])  # a terminal does not set its port's areas
    client.post(url, {"mode": "off", "timeout_minutes": "30"})
    site["area"].refresh_from_db()
    assert site["area"].anti_passback == "hard"


def test_an_itsme_verified_identity_is_a_credential(site, client):
    worker = site["worker"]
    services.identity_set(
        actor=site["pfso"], person=worker, oidc_subject="https://idp.itsme.be|abc"
    )
    gate = Gate.objects.get(code="SCT-G1")
    _device, secret = services.device_issue(actor=site["pfso"], gate=gate, name="kiosk")
    headers = {"Authorization": f"Bearer {secret}"}
    body = {"gate": "SCT-G1", "identity": "https://idp.itsme.be|abc"}
    answer = client.post(
        "/api/v1/access/decide", body, content_type="application/json", headers=headers
    ).json()
    assert answer["decision"] == "grant"
    body = {"gate": "SCT-G1", "identity": "https://idp.itsme.be|zzz"}
    answer = client.post(
        "/api/v1/access/decide", body, content_type="application/json", headers=headers
    ).json()
    assert answer["reasons"] == ["UNKNOWN_CREDENTIAL"]
    both = {"gate": "SCT-G1", "identity": "x", "badge": "AP-1"}
    response = client.post(
        "/api/v1/access/decide", both, content_type="application/json", headers=headers
    )
    assert response.status_code == 422
    other = PersonFactory(organisation=site["operator"])
    with pytest.raises(Exception, match="another person"):
        services.identity_set(
            actor=site["pfso"], person=other, oidc_subject="https://idp.itsme.be|abc"
        )


def test_a_change_committed_late_is_not_skipped(site):
    """Two transactions take change numbers 1 and 2; 2 commits first. Number 1 still counts."""
    from port2port.access.models import AccessChange, PortBan
    from port2port.access.snapshot import store

    assert _in().granted
    today = timezone.localdate()
    PortBan.objects.create(
        person=site["worker"], starts_on=today, ends_on=today + timedelta(days=9), source="court"
    )
    late = AccessChange.objects.create(person=site["worker"]).seq
    AccessChange.objects.create(person=None)  # the other transaction, committed first
    AccessChange.objects.filter(seq=late).delete()  # as if not committed when the store polls
    assert _in(direction="out").granted  # the poll saw the later number only
    assert late in store._missing
    AccessChange.objects.create(seq=late, person=site["worker"])  # now it commits
    assert _in().reasons == ("PORT_BAN",)
    assert late not in store._missing


def test_decision_times_without_offset_or_in_the_future(site, client):
    from port2port.core.errors import Invalid

    with pytest.raises(Invalid, match="future"):
        _in(at=timezone.localtime() + timedelta(hours=1))
    naive = timezone.localtime().replace(tzinfo=None) - timedelta(minutes=1)
    assert _in(at=naive).granted  # the port's local time
    sign_in(client, site["pfso"])
    response = client.post(
        "/api/v1/access/decide",
        {"gate": "SCT-G1", "badge": "AP-1", "at": "2099-01-01T07:42:00"},
        content_type="application/json",
    )
    assert response.status_code == 422 and "at" in response.json()["fields"]


def test_a_long_itsme_subject_is_logged_whole(site):
    subject = "https://idp.prd.itsme.services/v2|" + "x" * 200
    services.identity_set(actor=site["pfso"], person=site["worker"], oidc_subject=subject)
    decision = services.gate_decide(
        actor=SYSTEM, gate_code="SCT-G1", kind="identity", value=subject
    )
    assert decision.granted
    assert GateDecision.objects.get(credential_kind="identity").credential == subject


def test_a_photo_too_large_in_pixels_is_refused(site, monkeypatch):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from port2port.core.errors import Invalid

    monkeypatch.setattr(services, "MAX_PHOTO_PIXELS", 100)
    photo = SimpleUploadedFile("me.png", _png(), content_type="image/png")
    with pytest.raises(Invalid, match="40 million pixels"):
        services.identity_set(actor=site["pfso"], person=site["worker"], photo=photo)
    assert not Identity.objects.filter(person=site["worker"]).exists()
