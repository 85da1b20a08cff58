"""`port2port ingest file`: a file of device messages in, each rejected line named, and a second
run of the same file stores nothing twice."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from port2port.cli import main
from port2port.detection.models import Alarm, AlarmEvent, DeadLetter, Event, RuleKind
from tests.detection.factories import rule, sensor, world

pytestmark = pytest.mark.django_db

# Last night, 02:14:07 in Zeebrugge: recent enough for the rules (DETECTION_LATE_SECONDS) and for
# every kind's retention.
AT = (datetime.now(ZoneInfo("Europe/Brussels")) - timedelta(days=1)).replace(
    hour=2, minute=14, second=7, microsecond=0
)
EPOCH_MS = int(AT.timestamp()) * 1000 + 123

ALPR_GROUP = {  # as in test_adapters.py, from our camera
    "version": 2,
    "data_type": "alpr_group",
    "epoch_start": EPOCH_MS,
    "epoch_end": EPOCH_MS + 1333,
    "agent_uid": "zeebrugge-gate-3",
    "camera_id": "BEZEE-ANPR1",
    "country": "eu",
    "uuids": [f"zeebrugge-gate-3-1834271-{EPOCH_MS}"],
    "candidates": [{"plate": "1ABC123", "confidence": 94.1, "matches_template": 1}],
    "best_plate": {"plate": "1ABC123", "confidence": 94.1, "region": "be"},
    "best_confidence": 94.1,
    "best_plate_number": "1ABC123",
    "best_region": "be",
    "best_uuid": f"zeebrugge-gate-3-1834271-{EPOCH_MS}",
    "travel_direction": 92.5,
}
AIS_POSITION = "!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C"
AIS_STATIC = [
    "!AIVDM,2,1,4,A,55O0W7`00001L@gCWGA2uItLth@DqtL5@F22220j1h742t0Ht0000000,0*08",
    "!AIVDM,2,2,4,A,000000000000000,2*20",
]


@pytest.fixture
def zeebrugge():
    return world("BEZEE")


def ingest(capsys, *args) -> tuple[int, list[str], str]:
    status = main(["ingest", "file", *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


def fence(n: int, device: str = "BEZEE-FENCE1", **more) -> str:
    return sensor("fence", device, AT + timedelta(seconds=n), f"fz-{n}", **more)


def test_json_lines_good_and_broken_each_rejection_named_and_kept(zeebrugge, tmp_path, capsys):
    rule(zeebrugge, RuleKind.PERIMETER, zone=zeebrugge.quay, suppress_seconds=600)
    lines = [
        fence(1),
        "{not json",  # line 2
        "",
        fence(2),
        fence(3, device="NOWHERE-9"),  # line 5: not one of ours
        json.dumps({"type": "fence", "device": "BEZEE-FENCE1", "at": AT.isoformat()}),  # no id
        sensor("thermal", "BEZEE-THERM1", AT, "th-1", label="person"),
        "   ",
        json.dumps({"type": "radar", "id": "r1", "device": "BEZEE-FENCE1", "at": "x"}),  # 9
    ]
    path = tmp_path / "fence.jsonl"
    path.write_text("\n".join(lines) + "\n")

    status, out, _ = ingest(capsys, "--format", "sensor", path)

    assert status == 1
    assert out[0] == "accepted 3, duplicates 0, rejected 4"
    assert out[1].startswith("  line 2: sensor: not valid JSON")
    assert out[2] == "  line 5: unknown device 'NOWHERE-9'"
    assert out[3] == "  line 6: sensor (fence): missing field 'id'"
    assert out[4] == "  line 9: sensor: 'type' must be fence, thermal or drone"
    assert len(out) == 5
    assert Event.objects.count() == 3
    dead = list(DeadLetter.objects.order_by("id").values_list("channel", "format", "payload"))
    assert [channel for channel, _, _ in dead] == [f"file:fence.jsonl:{n}" for n in (2, 5, 6, 9)]
    assert dead[0][1:] == ("sensor", "{not json")
    [alarm] = Alarm.objects.all()  # two fence events and the thermal camera: one intrusion
    assert (alarm.kind, alarm.count, AlarmEvent.objects.count()) == ("perimeter", 3, 3)

    status, out, _ = ingest(capsys, "--format", "sensor", path)

    assert status == 1
    assert out[0] == "accepted 0, duplicates 3, rejected 4"
    assert Event.objects.count() == 3
    alarm.refresh_from_db()
    assert (Alarm.objects.count(), alarm.count, AlarmEvent.objects.count()) == (1, 3, 3)


def test_clean_file_exits_zero_and_is_stored_in_batches(zeebrugge, tmp_path, capsys, monkeypatch):
    from port2port.detection.ingest import Pipeline

    sizes = []
    original = Pipeline.ingest

    def counting(self, fmt, messages, **kwargs):
        sizes.append(len(messages))
        return original(self, fmt, messages, **kwargs)

    monkeypatch.setattr(Pipeline, "ingest", counting)
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(fence(n) for n in range(2500)))

    status, out, _ = ingest(capsys, "--format", "sensor", path)

    assert (status, out) == (0, ["accepted 2500, duplicates 0, rejected 0"])
    assert sizes == [1000, 1000, 500]
    assert Event.objects.filter(kind="fence_alarm").count() == 2500


def test_one_message_written_over_several_lines(zeebrugge, tmp_path, capsys):
    path = tmp_path / "group.json"
    path.write_text(json.dumps(ALPR_GROUP, indent=2))

    status, out, _ = ingest(capsys, "--format", "openalpr", path)

    assert (status, out) == (0, ["accepted 1, duplicates 0, rejected 0"])
    event = Event.objects.get()
    assert (event.plate, event.device_code, event.kind) == ("1ABC123", "BEZEE-ANPR1", "plate_read")


def test_ais_file_keeps_multi_part_messages_together(zeebrugge, tmp_path, capsys):
    path = tmp_path / "ais.nmea"
    lines = [AIS_POSITION, *AIS_STATIC, AIS_POSITION[:-1] + "D", AIS_STATIC[1]]
    path.write_text("\r\n".join(lines) + "\r\n")

    status, out, _ = ingest(capsys, "--format", "ais", "--device", "BEZEE-AIS1", path)

    assert status == 1
    assert out[0] == "accepted 2, duplicates 0, rejected 2"
    assert out[1] == "  line 4: AIS: bad checksum"
    assert out[2] == "  line 5: AIS: part 2 of 2 arrived without the parts before it"
    static = Event.objects.get(kind="vessel_static")
    assert (static.mmsi, static.label, static.device_code) == (
        368060190,
        "P/V_GOLDEN_GATE",
        "BEZEE-AIS1",
    )
    assert static.device_id == zeebrugge.devices["AIS1"].pk


def test_more_than_fifty_rejections_are_summed_up(zeebrugge, tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(["[1, 2"] * 60))

    status, out, _ = ingest(capsys, "--format", "sensor", path)

    assert status == 1
    assert out[0] == "accepted 0, duplicates 0, rejected 60"
    assert out[50].startswith("  line 50: ") and out[51] == "  … and 10 more"
    assert len(out) == 52 and DeadLetter.objects.count() == 60


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "sensor", "{tmp}/missing.jsonl"], "cannot read"),
        (["--format", "radar", "{tmp}/x.jsonl"], "unknown format “radar”"),
        (["--format", "ais", "{tmp}/x.nmea"], "--device"),
    ],
)
def test_usage_errors_exit_two(tmp_path, capsys, args, message):
    (tmp_path / "x.jsonl").write_text("{}")
    (tmp_path / "x.nmea").write_text(AIS_POSITION)
    status, out, err = ingest(capsys, *[a.format(tmp=tmp_path) for a in args])
    assert status == 2 and out == [] and message in err and err.startswith("error: ")
    assert not Event.objects.exists() and not DeadLetter.objects.exists()
