"""The hotlist index on its own, and the detection API: device feeds in, alarms and set-up."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from port2port.core.models import AuditRecord, OrganisationKind
from port2port.core.visibility import SYSTEM
from port2port.detection.hotlists import HotlistIndex, ListInfo, canonical, differences
from port2port.detection.models import Alarm, DeadLetter, Event, Hotlist, RuleKind
from port2port.sites.services import device_token_issue
from tests.core.factories import OrganisationFactory, sign_in, user_in

from .factories import rule, sensor, world

TODAY = date(2026, 11, 20)


def info(n: int, differences: int = 0, port=None, **more) -> ListInfo:
    return ListInfo(
        id=n,
        name=f"L{n}",
        priority=n,
        port_id=port,
        max_differences=differences,
        valid_from=more.get("valid_from"),
        valid_until=more.get("valid_until"),
        owner_id=None,
    )


def test_look_alikes_reduce_to_one_form():
    assert canonical("1A8C123") == canonical("1ABC123")
    assert canonical("0ODQ") == "0000"
    assert canonical("5S2Z6G1I") == "55226611"
    assert canonical("1ABC123") != canonical("1ACC123")


def test_index_finds_exact_look_alike_and_fuzzy_entries_by_priority():
    lists = [info(10), info(20, differences=1), info(30, differences=2, port="p1")]
    index = HotlistIndex.build(
        lists, [(10, 1, "1ABC123"), (20, 2, "1ABC123"), (20, 3, "2XYZ999"), (30, 4, "9QQQ111")]
    )
    hits = index.lookup("1A8C123", "p1", TODAY)
    assert [(h.list.id, h.entry_id, h.differences) for h in hits] == [(10, 1, 0), (20, 2, 0)]
    assert [h.entry_id for h in index.lookup("2XYZ990", None, TODAY)] == [3]  # 1 difference
    assert index.lookup("2XYA990", None, TODAY) == []  # 2 differences, list allows 1
    assert [h.entry_id for h in index.lookup("9QQA211", "p1", TODAY)] == [4]  # 2 allowed
    assert index.lookup("9QQA211", "p2", TODAY) == []  # the list is bound to port p1


def test_index_respects_list_validity():
    lists = [info(1, valid_from=TODAY + timedelta(days=1)), info(2, valid_until=TODAY)]
    index = HotlistIndex.build(lists, [(1, 1, "1ABC123"), (2, 2, "1ABC123")])
    assert [h.entry_id for h in index.lookup("1ABC123", None, TODAY)] == [2]


plates = st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=10)


@given(st.lists(plates, min_size=1, max_size=30, unique=True), plates)
def test_index_agrees_with_a_plain_scan(entries, read):
    lists = [info(1), info(2, differences=1), info(3, differences=2)]
    rows = [(1 + n % 3, n, plate) for n, plate in enumerate(entries)]
    index = HotlistIndex.build(lists, rows)
    expected = set()
    for list_id, entry_id, plate in rows:
        a, b = canonical(plate), canonical(read)
        if len(a) == len(b) and differences(a, b) <= lists[list_id - 1].max_differences:
            expected.add(entry_id)
    assert {h.entry_id for h in index.lookup(read, None, TODAY)} == expected


# --- the API -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_device_posts_json_lines_with_its_token(client):
    w = world()
    rule(w, RuleKind.PERIMETER)
    token = device_token_issue(actor=SYSTEM, device=w.devices["FENCE1"])
    night = timezone.now() - timedelta(hours=1)
    body = "\n".join(
        [
            sensor("fence", w.devices["FENCE1"].code, night, "1"),
            "not json",
            sensor("fence", w.devices["FENCE1"].code, night, "1"),
        ]
    )
    answer = client.post(
        "/api/v1/detection/ingest?format=sensor",
        data=body,
        content_type="application/x-ndjson",
        headers={"authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert (data["accepted"], data["duplicates"], data["alarms_raised"]) == (1, 1, 1)
    assert data["rejected"][0]["where"] == "line 2"
    assert "not valid JSON" in data["rejected"][0]["reason"]
    assert Event.objects.count() == 1 and DeadLetter.objects.count() == 1


@pytest.mark.django_db
def test_ingest_refuses_bad_tokens_and_formats(client):
    w = world()
    token = device_token_issue(actor=SYSTEM, device=w.devices["FENCE1"])
    url = "/api/v1/detection/ingest?format=sensor"
    assert client.post(url, data="", content_type="text/plain").status_code == 401
    bad = client.post(
        url, data="", content_type="text/plain", headers={"authorization": "Bearer dv_x_y"}
    )
    assert bad.status_code == 401
    answer = client.post(
        "/api/v1/detection/ingest?format=gps",
        data="",
        content_type="text/plain",
        headers={"authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 422 and "unknown format" in answer.json()["message"]
    # A new token replaces the old one; a switched-off device is refused.
    device_token_issue(actor=SYSTEM, device=w.devices["FENCE1"])
    old = client.post(
        url, data="", content_type="text/plain", headers={"authorization": f"Bearer {token}"}
    )
    assert old.status_code == 401


@pytest.mark.django_db
def test_operator_handles_an_alarm_through_the_api(client):
    w = world()
    rule(w, RuleKind.PERIMETER)
    from port2port.detection.ingest import Message, pipeline

    pipeline.ingest(
        "sensor", [Message(sensor("fence", w.devices["FENCE1"].code, timezone.now(), "x"))]
    )
    alarm = Alarm.objects.get()
    operator = user_in(w.authority, "control_room_operator")
    stranger = user_in(world().authority, "control_room_operator")
    sign_in(client, stranger)
    assert client.get(f"/api/v1/detection/alarms/{alarm.pk}").status_code == 404
    assert client.get("/api/v1/detection/alarms").json()["count"] == 0
    sign_in(client, operator)
    listed = client.get("/api/v1/detection/alarms?open=true").json()
    assert listed["count"] == 1 and "Intrusion" in listed["items"][0]["summary"]
    assert client.post(f"/api/v1/detection/alarms/{alarm.pk}/acknowledge").json()["state"] == (
        "acknowledged"
    )
    again = client.post(f"/api/v1/detection/alarms/{alarm.pk}/acknowledge")
    assert again.status_code == 409
    empty = client.post(
        f"/api/v1/detection/alarms/{alarm.pk}/close",
        data=json.dumps({"report": "  "}),
        content_type="application/json",
    )
    assert empty.status_code == 422 and empty.json()["fields"] == {
        "report": "write the incident report before closing"
    }
    closed = client.post(
        f"/api/v1/detection/alarms/{alarm.pk}/close",
        data=json.dumps({"report": "A fox. Fence checked."}),
        content_type="application/json",
    ).json()
    assert closed["state"] == "closed" and closed["report"] == "A fox. Fence checked."
    kinds = [entry["kind"] for entry in closed["timeline"]]
    assert kinds[0] in {"event", "raised"} and kinds[-1] == "closed"
    assert AuditRecord.objects.filter(action="detection.alarm.closed").exists()


@pytest.mark.django_db
def test_police_keep_a_hotlist_and_see_its_hits_anywhere(client):
    w = world()
    # A port's own security officer keeps lists for that port only: a list for every port's
    # cameras would let them follow any plate anywhere.
    sign_in(client, user_in(w.authority, "port_security_officer"))
    refused = client.post(
        "/api/v1/detection/hotlists",
        data=json.dumps({"name": "All", "owner": str(w.authority.pk), "priority": 10}),
        content_type="application/json",
    )
    assert refused.status_code == 422 and refused.json()["fields"]["port"]
    police = OrganisationFactory(kind=OrganisationKind.POLICE, ports=[])  # national
    officer = user_in(police, "police_liaison")
    sign_in(client, officer)
    created = client.post(
        "/api/v1/detection/hotlists",
        data=json.dumps({"name": "Stolen", "owner": str(police.pk), "priority": 10}),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    hotlist = Hotlist.objects.get()
    bad = client.post(
        f"/api/v1/detection/hotlists/{hotlist.pk}/entries",
        data=json.dumps({"entries": "1ABC123;stolen truck\n!!;x"}),
        content_type="application/json",
    )
    assert bad.status_code == 422 and "line 2" in bad.json()["message"]
    assert not hotlist.entries.exists()  # nothing half-stored
    good = client.post(
        f"/api/v1/detection/hotlists/{hotlist.pk}/entries",
        data=json.dumps({"entries": "1-ABC-123;stolen truck\n2DEF456;stolen trailer;2030-01-01"}),
        content_type="application/json",
    )
    assert good.json() == {"stored": 2}
    from port2port.detection.ingest import Message, pipeline

    read = json.dumps(
        {
            "data_type": "alpr_group",
            "camera_id": w.devices["ANPR1"].code,
            "epoch_start": int(timezone.now().timestamp() * 1000),
            "best_plate_number": "1A8C123",
            "best_uuid": "u1",
        }
    )
    assert pipeline.ingest("openalpr", [Message(read)]).raised == 1
    items = client.get("/api/v1/detection/alarms").json()["items"]
    assert [item["kind"] for item in items] == ["hotlist"]
    # Someone of the same port but not the list's owner and without the control room: nothing.
    other = user_in(OrganisationFactory(ports=[w.port]), "employee")
    sign_in(client, other)
    assert client.get("/api/v1/detection/alarms").json()["count"] == 0


@pytest.mark.django_db
def test_security_officer_sets_up_rules_of_their_port_only(client):
    w = world()
    elsewhere = world()
    officer = user_in(w.authority, "port_security_officer")
    sign_in(client, officer)
    made = client.post(
        f"/api/v1/detection/ports/{w.port.locode}/rules",
        data=json.dumps(
            {"name": "Quay", "kind": "perimeter", "priority": 30, "zone": str(w.quay.pk)}
        ),
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["alarms"] == 0
    bad = client.post(
        f"/api/v1/detection/ports/{w.port.locode}/rules",
        data=json.dumps({"name": "X", "kind": "perimeter", "priority": 300}),
        content_type="application/json",
    )
    assert bad.status_code == 422
    foreign = client.post(
        f"/api/v1/detection/ports/{elsewhere.port.locode}/rules",
        data=json.dumps({"name": "X", "kind": "perimeter"}),
        content_type="application/json",
    )
    assert foreign.status_code in {403, 404}
    changed = client.patch(
        f"/api/v1/detection/rules/{made.json()['id']}",
        data=json.dumps({"enabled": False}),
        content_type="application/json",
    )
    assert changed.json()["enabled"] is False


def _redis_up() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_live_updates_cross_processes_through_redis(settings):
    """With LIVE_REDIS_URL every web node gets every alarm: a message published by one hub (an
    ingest worker) reaches the subscribers of another (a web node)."""
    import queue as queue_module
    import time

    from port2port.detection.live import Hub

    settings.LIVE_REDIS_URL = "redis://127.0.0.1:6379/15"
    web, worker = Hub(), Hub()
    subscriber = web.subscribe_sync()
    time.sleep(0.5)  # the listener thread subscribes
    message = {"type": "alarm", "id": "a1", "port": "p", "priority": 5}
    deadline = time.monotonic() + 5
    got = None
    while got is None and time.monotonic() < deadline:
        worker.publish([message])
        try:
            got = subscriber.queue.get(timeout=0.5)
        except queue_module.Empty:
            continue
    assert got == message


@pytest.mark.django_db
def test_retention_is_set_by_platform_admins_only(client):
    from port2port.detection.models import Retention

    w = world()
    officer = user_in(w.authority, "port_security_officer")
    sign_in(client, officer)
    refused = client.put(
        "/api/v1/detection/retention/plate_read",
        data=json.dumps({"days": 10}),
        content_type="application/json",
    )
    assert refused.status_code == 403
    admin = user_in(w.authority, "platform_admin")
    sign_in(client, admin)
    done = client.put(
        "/api/v1/detection/retention/plate_read",
        data=json.dumps({"days": 10}),
        content_type="application/json",
    )
    assert done.status_code == 200, done.content
    assert Retention.objects.get(kind="plate_read").days == 10
    listed = {row["kind"]: row["days"] for row in client.get("/api/v1/detection/retention").json()}
    assert listed["plate_read"] == 10 and listed["fence_alarm"] == 365
    bad = client.put(
        "/api/v1/detection/retention/plate_read",
        data=json.dumps({"days": 0}),
        content_type="application/json",
    )
    assert bad.status_code == 422


@pytest.mark.django_db
def test_retention_page_for_platform_admins(client):
    from port2port.detection.models import Retention

    w = world()
    sign_in(client, user_in(w.authority, "platform_admin"))
    page = client.get("/detection/dead-letters/")
    assert page.status_code == 200 and 'data-testid="retention"' in page.content.decode()
    client.post("/detection/dead-letters/", {"kind": "plate_read", "days": "14"})
    assert Retention.objects.get(kind="plate_read").days == 14
    answer = client.post(
        "/detection/dead-letters/", {"kind": "plate_read", "days": "x"}, follow=True
    )
    assert "between 1 and 3650 days" in answer.content.decode()
