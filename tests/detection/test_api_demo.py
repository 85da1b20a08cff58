"""The demo's hotlists as its people see them through the API (issue 6 review): every list is one
its keeper could have made (services._require_hotlist), and the stolen truck 1-ABC-123 still
raises an alarm that the police and the control room of Antwerp-Bruges follow."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from port2port.core.demo import seed_demo
from port2port.core.models import User
from port2port.detection.ingest import Message, pipeline
from port2port.detection.models import Alarm, Hotlist
from port2port.sites.models import Device, DeviceKind
from tests.core.factories import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    seed_demo()
    pipeline.reset()


def names(client, username: str) -> set[str]:
    sign_in(client, User.objects.get(username=username))
    answer = client.get("/api/v1/detection/hotlists")
    assert answer.status_code == 200, answer.content
    return {row["name"] for row in answer.json()["items"]}


def test_every_demo_list_is_one_its_keeper_could_make(demo):
    lists = list(Hotlist.objects.select_related("owner", "port"))
    assert len(lists) >= 3
    for hotlist in lists:
        own = set(hotlist.owner.ports.values_list("locode", flat=True))
        if hotlist.port is None:
            assert not own, f"{hotlist} binds no port yet {hotlist.owner} has ports"
        else:
            assert hotlist.port.locode in own, hotlist
    assert Hotlist.objects.get(name="Stolen vehicles").entries.filter(plate="1ABC123").exists()


def test_the_demo_people_see_sensible_lists(client, demo):
    assert names(client, "police.antwerp") == {"Stolen vehicles"}
    assert names(client, "pso.antwerp") == {"Stolen vehicles", "Banned from the terminals"}
    assert names(client, "admin") == set(Hotlist.objects.values_list("name", flat=True))
    assert names(client, "pso.northsea") == set()  # another port authority's port
    # pso.antwerp keeps the port security's list, and follows the police's list read-only.
    sign_in(client, User.objects.get(username="pso.antwerp"))
    banned = Hotlist.objects.get(name="Banned from the terminals")
    answer = client.patch(
        f"/api/v1/detection/hotlists/{banned.pk}",
        data=json.dumps({"priority": 25}),
        content_type="application/json",
    )
    assert answer.status_code == 200 and answer.json()["priority"] == 25
    stolen = Hotlist.objects.get(name="Stolen vehicles")
    answer = client.patch(
        f"/api/v1/detection/hotlists/{stolen.pk}",
        data=json.dumps({"priority": 25}),
        content_type="application/json",
    )
    assert answer.status_code == 403


def test_the_stolen_truck_raises_an_alarm_the_police_and_the_control_room_follow(client, demo):
    camera = Device.objects.filter(kind=DeviceKind.ANPR, port__locode="BEANR").first()
    assert camera is not None
    read = json.dumps(
        {
            "data_type": "alpr_group",
            "camera_id": camera.code,
            "epoch_start": int(timezone.now().timestamp() * 1000),
            "best_plate_number": "1-ABC-123",
            "best_uuid": "demo-1",
        }
    )
    assert pipeline.ingest("openalpr", [Message(read)]).raised >= 1  # and maybe: no gate right
    alarm = Alarm.objects.get(kind="hotlist")
    assert alarm.hotlist.name == "Stolen vehicles"
    for username in ("police.antwerp", "control.zeebrugge", "pso.antwerp"):
        sign_in(client, User.objects.get(username=username))
        items = client.get("/api/v1/detection/alarms?kind=hotlist").json()["items"]
        assert [item["id"] for item in items] == [str(alarm.pk)], username
