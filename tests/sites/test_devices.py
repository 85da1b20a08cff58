"""Devices of the detection module on the sites pages and API: register, token, refusals."""

import json

import pytest

from port2port.core.models import AuditRecord
from port2port.sites.models import Device
from port2port.sites.services import device_authenticate
from tests.core.factories import sign_in, user_in
from tests.detection.factories import world

pytestmark = pytest.mark.django_db


def test_security_officer_registers_a_camera_and_issues_its_token(client):
    w = world()
    officer = user_in(w.authority, "port_security_officer")
    sign_in(client, officer)
    form = {
        "code": "ZEE-CAM-9",
        "name": "Camera quay 9",
        "kind": "anpr",
        "geometry": '{"type": "Point", "coordinates": [3.2, 51.33]}',
        "owner": str(w.authority.pk),
        "zone": str(w.quay.pk),
        "gate": str(w.gate.pk),
        "silent_after": "20",
    }
    answer = client.post(f"/sites/{w.port.locode}/new/device/", form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    device = Device.objects.get(code="ZEE-CAM-9")
    assert (device.gate, device.silent_after, device.owner) == (w.gate, 20, w.authority)
    page = client.get(f"/sites/{w.port.locode}/").content.decode()
    assert "ZEE-CAM-9" in page
    shown = client.post(f"/sites/{w.port.locode}/devices/{device.pk}/token/")
    token = shown.context["token"]
    assert token.startswith("dv_") and token in shown.content.decode()
    assert device_authenticate(token) == device
    assert AuditRecord.objects.filter(action="sites.device.token_issued").exists()
    # Only an ANPR camera watches a gate: the form names the field.
    form.update(code="ZEE-FENCE-9", kind="fence")
    refused = client.post(f"/sites/{w.port.locode}/new/device/", form)
    assert refused.status_code == 200
    assert "only an ANPR camera watches a gate" in refused.content.decode()
    assert not Device.objects.filter(code="ZEE-FENCE-9").exists()


def test_devices_over_the_api_and_other_ports_stay_out(client):
    w = world()
    other = world()
    officer = user_in(w.authority, "port_security_officer")
    sign_in(client, officer)
    listed = client.get(f"/api/v1/sites/ports/{w.port.locode}/devices").json()
    assert listed["count"] == len(w.devices)
    made = client.post(
        f"/api/v1/sites/ports/{w.port.locode}/devices",
        data=json.dumps(
            {
                "code": "DRONE-9",
                "name": "Drone radar",
                "kind": "drone_detector",
                "geometry": {"type": "Point", "coordinates": [3.2, 51.33]},
                "owner": str(w.authority.pk),
            }
        ),
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    token = client.post(f"/api/v1/sites/devices/{made.json()['id']}/token")
    assert token.status_code == 201 and token.json()["token"].startswith("dv_")
    foreign = other.devices["FENCE1"]
    assert client.post(f"/api/v1/sites/devices/{foreign.pk}/token").status_code in {403, 404}
    bad = client.post(
        f"/api/v1/sites/ports/{w.port.locode}/devices",
        data=json.dumps(
            {
                "code": "X1",
                "name": "X",
                "kind": "satellite",
                "geometry": {"type": "Point", "coordinates": [3.2, 51.33]},
                "owner": str(w.authority.pk),
            }
        ),
        content_type="application/json",
    )
    assert bad.status_code == 422 and bad.json()["fields"].get("kind")
