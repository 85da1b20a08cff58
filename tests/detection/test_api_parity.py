"""The JSON API does what the pages do (issue 6 review): sharing an incident, the delivery log and
the nearest camera, the alarm filters, procedures, contacts, flights, a hotlist's settings and
entries, and the dead letters of one's own ports."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from port2port.core.models import AuditRecord, OrganisationKind
from port2port.core.roles import Role
from port2port.detection.models import (
    Alarm,
    AlarmState,
    AuthorisedFlight,
    Contact,
    DeadLetter,
    Delivery,
    Hotlist,
    HotlistEntry,
    Procedure,
    RuleKind,
)
from port2port.sharing.models import Item
from tests.core.factories import OrganisationFactory, sign_in, user_in

from .factories import LAT, LON, procedure, rule, world

pytestmark = pytest.mark.django_db
API = "/api/v1/detection"
NOW = timezone.now()


def send(client, method: str, url: str, body: dict | None = None):
    return getattr(client, method)(
        f"{API}{url}", data=json.dumps(body or {}), content_type="application/json"
    )


def alarm_in(w, kind: str = RuleKind.PERIMETER, **fields) -> Alarm:
    fields = {
        "priority": 40,
        "first_at": NOW - timedelta(minutes=5),
        "last_at": NOW,
        "latitude": LAT,
        "longitude": LON,
        "key": f"{kind}:{Alarm.objects.count()}",
        **fields,
    }
    return Alarm.objects.create(port=w.port, kind=kind, **fields)


@pytest.fixture
def w():
    return world()


@pytest.fixture
def pso(client, w):
    user = user_in(w.authority, Role.PORT_SECURITY_OFFICER, email="pso@example.org")
    sign_in(client, user)
    return user


# --- A1: sharing an incident ---------------------------------------------------------------------


def test_a_closed_hotlist_alarm_is_shared_through_the_api_without_its_plate(client, w, pso):
    hit = alarm_in(
        w,
        RuleKind.HOTLIST,
        params={"plate": "1ABC123", "read": "1A8C123", "list": "Stolen", "camera": "C1"},
    )
    assert send(client, "post", f"/alarms/{hit.pk}/share", {"title": "x", "body": "y"}).json()[
        "fields"
    ] == {"state": "close the alarm with its incident report first"}
    send(client, "post", f"/alarms/{hit.pk}/close", {"report": "Truck stopped at the gate"})
    draft = client.get(f"{API}/alarms/{hit.pk}/share-draft").json()
    assert set(draft) == {"title", "body"} and w.port.name in draft["title"]
    assert "1ABC123" not in draft["title"] + draft["body"]
    assert "1A8C123" not in draft["body"]
    leaking = send(
        client,
        "post",
        f"/alarms/{hit.pk}/share",
        {"title": draft["title"], "body": draft["body"] + "Truck 1-ABC-123 stopped."},
    )
    assert leaking.status_code == 422 and set(leaking.json()["fields"]) == {"body"}
    named = send(
        client,
        "post",
        f"/alarms/{hit.pk}/share",
        {"title": draft["title"], "body": draft["body"], "distribution": "named"},
    )
    assert named.status_code == 422 and set(named.json()["fields"]) == {"distribution"}
    red = send(
        client,
        "post",
        f"/alarms/{hit.pk}/share",
        {"title": draft["title"], "body": draft["body"], "tlp": "red"},
    )
    assert red.status_code == 422 and set(red.json()["fields"]) == {"tlp"}
    assert not Item.objects.exists()
    shared = send(
        client,
        "post",
        f"/alarms/{hit.pk}/share",
        {"title": draft["title"], "body": draft["body"] + "A stolen truck was stopped."},
    )
    assert shared.status_code == 201, shared.content
    item = Item.objects.get()
    assert shared.json()["shared_item"] == str(item.pk)
    assert [i["shared_item"] for i in client.get(f"{API}/alarms").json()["items"]] == [str(item.pk)]
    again = send(client, "post", f"/alarms/{hit.pk}/share", {"title": "t", "body": "b"})
    assert again.status_code == 409 and again.json()["fields"] == {
        "state": "this incident was already shared"
    }
    assert AuditRecord.objects.filter(action="detection.alarm.shared").count() == 1


def test_the_share_draft_of_another_ports_alarm_is_404(client, pso):
    theirs = alarm_in(world())
    assert client.get(f"{API}/alarms/{theirs.pk}/share-draft").status_code == 404


# --- A2: the delivery log and the nearest camera -------------------------------------------------


def test_the_alarm_detail_gives_the_delivery_log_and_the_pages_nearest_camera(client, w, pso):
    alarm = alarm_in(w, rule=rule(w, RuleKind.PERIMETER))
    sent_at = NOW - timedelta(minutes=1)
    Delivery.objects.create(
        alarm=alarm,
        channel=Contact.Channel.WEBHOOK,
        target="https://hooks.example.org/secret-token-4711/alarm",
        level=1,
        state=Delivery.State.FAILED,
        attempts=3,
        last_error="HTTP 500",
    )
    Delivery.objects.create(
        alarm=alarm,
        channel=Contact.Channel.EMAIL,
        target="pso@example.org",
        user=pso,
        state=Delivery.State.SENT,
        attempts=1,
        sent_at=sent_at,
    )
    Delivery.objects.create(
        alarm=alarm, channel=Contact.Channel.WEB_PUSH, target="https://push.example/ep", user=pso
    )
    detail = client.get(f"{API}/alarms/{alarm.pk}")
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "secret-token-4711" not in body and "push.example" not in body
    rows = detail.json()["deliveries"]
    assert [(r["channel"], r["to"], r["level"], r["state"], r["attempts"]) for r in rows] == [
        ("webhook", "hooks.example.org", 1, "failed", 3),
        ("email", "pso@example.org", 0, "sent", 1),
        ("web_push", str(pso), 0, "pending", 0),
    ]
    assert rows[0]["last_error"] == "HTTP 500" and rows[0]["sent_at"] is None
    assert rows[1]["sent_at"].startswith(sent_at.strftime("%Y-%m-%dT%H:%M"))
    # The page shows the webhook by its host too, and the same nearest camera.
    page = client.get(f"/detection/alarms/{alarm.pk}/")
    assert "secret-token-4711" not in page.content.decode()
    camera, metres = page.context["nearest"]
    nearest = detail.json()["nearest_camera"]
    assert (nearest["code"], nearest["kind"], nearest["metres"]) == (
        camera.code,
        camera.kind,
        round(metres),
    )
    assert camera.kind in {"ai_camera", "thermal", "anpr"} and 60 < metres < 80  # 0.001° east


def test_an_alarm_without_a_place_has_no_nearest_camera(client, w, pso):
    alarm = alarm_in(w, latitude=None, longitude=None)
    assert client.get(f"{API}/alarms/{alarm.pk}").json()["nearest_camera"] is None


# --- A3: filters and one rule --------------------------------------------------------------------


def test_alarms_are_filtered_by_rule_and_kind_and_bad_values_are_named(client, w, pso):
    fence = rule(w, RuleKind.PERIMETER)
    by_rule = alarm_in(w, rule=fence)
    silent = alarm_in(w, RuleKind.DEVICE_SILENT, state=AlarmState.CLOSED)
    ids = lambda answer: [i["id"] for i in answer.json()["items"]]  # noqa: E731
    assert ids(client.get(f"{API}/alarms?rule={fence.pk}")) == [str(by_rule.pk)]
    assert ids(client.get(f"{API}/alarms?kind=device_silent")) == [str(silent.pk)]
    assert ids(client.get(f"{API}/alarms?kind=device_silent&state=new")) == []
    assert ids(client.get(f"{API}/alarms?state=closed")) == [str(silent.pk)]
    for query, field in (("state=open", "state"), ("kind=fire", "kind")):
        bad = client.get(f"{API}/alarms?{query}")
        assert bad.status_code == 422, query
        assert list(bad.json()["fields"]) == [field]
        assert bad.json()["error"] == "invalid"
    assert client.get(f"{API}/alarms?rule=not-a-uuid").status_code == 422


def test_one_rule_is_read_and_another_ports_answers_404(client, w, pso):
    mine = rule(w, RuleKind.GATE_REFUSALS, count=3, minutes=5)
    theirs = rule(world(), RuleKind.PERIMETER)
    answer = client.get(f"{API}/rules/{mine.pk}")
    assert answer.status_code == 200
    assert (answer.json()["kind"], answer.json()["count"], answer.json()["port"]) == (
        "gate_refusals",
        3,
        w.port.locode,
    )
    assert client.get(f"{API}/rules/{theirs.pk}").status_code == 404


# --- A4: procedures ------------------------------------------------------------------------------


def test_procedures_are_listed_created_and_changed(client, w, pso):
    other = world()
    procedure(other, "Elsewhere")
    made = send(
        client,
        "post",
        f"/ports/{w.port.locode.lower()}/procedures",
        {"name": "Drone", "steps": ["Find the pilot", "  ", "Call the police"]},
    )
    assert made.status_code == 201, made.content
    assert made.json()["steps"] == ["Find the pilot", "Call the police"]
    listed = client.get(f"{API}/procedures").json()
    assert [p["name"] for p in listed["items"]] == ["Drone"]  # not the other port's
    assert client.get(f"{API}/procedures?port={other.port.locode}").json()["count"] == 0
    sop = Procedure.objects.get(name="Drone")
    assert client.get(f"{API}/procedures/{sop.pk}").json()["port"] == w.port.locode
    renamed = send(client, "patch", f"/procedures/{sop.pk}", {"name": "Drone seen"})
    assert renamed.json()["steps"] == ["Find the pilot", "Call the police"]
    empty = send(client, "patch", f"/procedures/{sop.pk}", {"steps": [" "]})
    assert empty.status_code == 422 and list(empty.json()["fields"]) == ["steps"]
    sop.refresh_from_db()
    assert (sop.name, sop.steps) == ("Drone seen", ["Find the pilot", "Call the police"])
    theirs = Procedure.objects.get(port=other.port)
    assert client.get(f"{API}/procedures/{theirs.pk}").status_code == 404
    assert send(client, "patch", f"/procedures/{theirs.pk}", {"name": "x"}).status_code == 404
    foreign = send(
        client, "post", f"/ports/{other.port.locode}/procedures", {"name": "x", "steps": ["y"]}
    )
    assert foreign.status_code in {403, 404}
    assert AuditRecord.objects.filter(action="detection.procedure.changed").count() == 1


# --- A5: contacts of a rule ----------------------------------------------------------------------


def test_contacts_of_a_rule_through_the_api(client, w, pso):
    fence = rule(w, RuleKind.PERIMETER)
    operator = user_in(w.authority, Role.CONTROL_ROOM_OPERATOR, email="op@example.org")
    stranger = user_in(OrganisationFactory(), Role.CONTROL_ROOM_OPERATOR, email="s@example.org")
    url = f"/rules/{fence.pk}/contacts"
    email = send(client, "post", url, {"channel": "email", "level": 0, "user": str(operator.pk)})
    assert email.status_code == 201, email.content
    assert (email.json()["user"], email.json()["name"]) == (str(operator.pk), str(operator.person))
    hook = send(
        client, "post", url, {"channel": "webhook", "level": 1, "url": "https://h.example/x"}
    )
    assert hook.status_code == 201 and hook.json()["user"] is None
    for user in (stranger.pk, "00000000-0000-0000-0000-000000000000"):
        refused = send(client, "post", url, {"channel": "email", "user": str(user)})
        assert refused.status_code == 422, user
        assert list(refused.json()["fields"]) == ["user"]
    nobody = send(client, "post", url, {"channel": "email"})
    assert nobody.status_code == 422 and nobody.json()["fields"]["user"]
    listed = client.get(f"{API}{url}").json()["items"]
    assert [(c["channel"], c["level"]) for c in listed] == [("email", 0), ("webhook", 1)]
    assert send(client, "delete", f"{url}/{hook.json()['id']}").status_code == 204
    assert list(Contact.objects.values_list("channel", flat=True)) == ["email"]
    assert send(client, "delete", f"{url}/{hook.json()['id']}").status_code == 404
    # A contact is addressed through its own rule only.
    other_rule = rule(w, RuleKind.DRONE)
    mail_contact = Contact.objects.get()
    wrong = send(client, "delete", f"/rules/{other_rule.pk}/contacts/{mail_contact.pk}")
    assert wrong.status_code == 404 and Contact.objects.count() == 1
    theirs = rule(world(), RuleKind.PERIMETER)
    assert client.get(f"{API}/rules/{theirs.pk}/contacts").status_code == 404
    assert AuditRecord.objects.filter(action="detection.contact.removed").count() == 1


# --- A6: flights ---------------------------------------------------------------------------------


def test_flights_are_listed_for_the_ports_one_sets_up(client, w, pso):
    other = world()
    start = NOW + timedelta(days=1)
    for port in (w.port, other.port):
        AuthorisedFlight.objects.create(
            port=port,
            operator=f"Team {port.locode}",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
        )
    listed = client.get(f"{API}/flights").json()
    assert [f["operator"] for f in listed["items"]] == [f"Team {w.port.locode}"]
    assert client.get(f"{API}/flights?port={w.port.locode.lower()}").json()["count"] == 1
    assert client.get(f"{API}/flights?port={other.port.locode}").json()["count"] == 0


# --- A7: a hotlist's settings and entries --------------------------------------------------------


def test_a_hotlist_is_read_changed_and_loses_an_entry(client, w):
    police = OrganisationFactory(kind=OrganisationKind.POLICE, ports=[w.port])
    sign_in(client, user_in(police, Role.POLICE_LIAISON))
    hotlist = Hotlist.objects.create(owner=police, port=w.port, name="Stolen", priority=10)
    HotlistEntry.objects.create(hotlist=hotlist, plate="1ABC123", reason="stolen truck")
    entry = HotlistEntry.objects.create(hotlist=hotlist, plate="2DEF456")
    read = client.get(f"{API}/hotlists/{hotlist.pk}").json()
    assert (read["name"], read["port"], read["entries"]) == ("Stolen", w.port.locode, 2)
    changed = send(
        client,
        "patch",
        f"/hotlists/{hotlist.pk}",
        {
            "name": "Stolen vehicles",
            "priority": 5,
            "max_differences": 1,
            "valid_until": "2099-01-01",
        },
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["priority"], changed.json()["port"]) == (5, w.port.locode)
    # A police force with a port keeps lists for its port only.
    national = send(client, "patch", f"/hotlists/{hotlist.pk}", {"port": None})
    assert national.status_code == 422 and list(national.json()["fields"]) == ["port"]
    elsewhere = send(client, "patch", f"/hotlists/{hotlist.pk}", {"port": world().port.locode})
    assert elsewhere.status_code == 422 and list(elsewhere.json()["fields"]) == ["port"]
    hotlist.refresh_from_db()
    assert (hotlist.name, hotlist.priority, hotlist.port, hotlist.max_differences) == (
        "Stolen vehicles",
        5,
        w.port,
        1,
    )
    entries = client.get(f"{API}/hotlists/{hotlist.pk}/entries").json()["items"]
    assert {e["plate"]: e["id"] for e in entries}["2DEF456"] == entry.pk
    assert send(client, "delete", f"/hotlists/{hotlist.pk}/entries/{entry.pk}").status_code == 204
    assert list(hotlist.entries.values_list("plate", flat=True)) == ["1ABC123"]
    assert send(client, "delete", f"/hotlists/{hotlist.pk}/entries/{entry.pk}").status_code == 404
    assert AuditRecord.objects.filter(action="detection.hotlist.changed").count() == 1
    # Someone who sees the list (it is bound to their port) but does not keep it: refused.
    sign_in(client, user_in(w.authority, Role.PORT_SECURITY_OFFICER))
    assert client.get(f"{API}/hotlists/{hotlist.pk}").status_code == 200
    refused = send(client, "patch", f"/hotlists/{hotlist.pk}", {"priority": 90})
    assert refused.status_code == 403
    kept = hotlist.entries.get()
    assert send(client, "delete", f"/hotlists/{hotlist.pk}/entries/{kept.pk}").status_code == 403
    # And a stranger does not see it at all.
    sign_in(client, user_in(world().authority, Role.PORT_SECURITY_OFFICER))
    assert client.get(f"{API}/hotlists/{hotlist.pk}").status_code == 404


# --- A8: dead letters through the api ------------------------------------------------------------


def test_dead_letters_through_the_api_name_their_sender_and_port(client, w, pso):
    DeadLetter.objects.create(
        format="sensor",
        channel="http",
        sender=f"device {w.devices['FENCE1'].code}",
        port=w.port,
        reason="line 1: not valid JSON",
        payload="{",
        digest="a",
    )
    DeadLetter.objects.create(format="sensor", reason="no port", payload="x", digest="b")
    DeadLetter.objects.create(
        format="sensor", port=world().port, reason="theirs", payload="y", digest="c"
    )
    items = client.get(f"{API}/dead-letters").json()["items"]
    assert [(i["sender"], i["port"], i["reason"]) for i in items] == [
        (f"device {w.devices['FENCE1'].code}", w.port.locode, "line 1: not valid JSON")
    ]
    sign_in(client, user_in(w.authority, Role.PLATFORM_ADMIN))
    items = client.get(f"{API}/dead-letters").json()["items"]
    assert {i["reason"] for i in items} == {"line 1: not valid JSON", "no port", "theirs"}
    assert {i["port"] for i in items if i["reason"] == "no port"} == {None}
