"""The control room as an operator uses it: a night intrusion reaches the queue without a reload,
the operator acknowledges it, ticks off the procedure and closes it with a report (issue 6)."""

from __future__ import annotations

import json
import os

import pytest
import requests
from django.utils import timezone

from port2port.core.roles import Role
from port2port.core.visibility import SYSTEM
from port2port.detection.models import RuleKind
from port2port.sites.services import device_token_issue
from tests.core.factories import PASSWORD, user_in

from ..core.test_browser import browser_page  # noqa: F401 - the shared Chromium fixture
from ..sharing.test_browser import sign_in
from .factories import procedure, rule, world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
STEPS = ("Look at the nearest camera", "Send the patrol", "Call the police")


@pytest.fixture
def control_room():
    """Everything in the database before Playwright starts: its sync API runs the test in a
    greenlet whose database connections would outlive the test."""
    w = world()
    rule(w, RuleKind.PERIMETER, name="Night fence", priority=40, procedure=procedure(w, *STEPS))
    operator = user_in(w.authority, Role.CONTROL_ROOM_OPERATOR)
    fence, thermal = w.devices["FENCE1"], w.devices["THERM1"]
    return {
        "username": operator.username,
        "token": device_token_issue(actor=SYSTEM, device=fence),
        "fence": fence.code,
        "thermal": thermal.code,
        "zone": w.quay.name,
        "port": w.port.locode,
    }


def shot(page, name: str) -> None:
    page.screenshot(path=os.path.join(os.environ.get("PORT2PORT_VAR", "var"), name), full_page=True)


def intrusion_lines(seed: dict) -> str:
    now = timezone.now()
    return "\n".join(
        json.dumps({"type": kind, "id": ident, "device": device, "at": now.isoformat()})
        for kind, ident, device in (
            ("fence", "fz-1", seed["fence"]),
            ("thermal", "th-1", seed["thermal"]),
        )
    )


def test_a_night_intrusion_is_handled_from_the_control_room(
    live_server,
    control_room,
    browser_page,  # noqa: F811
):
    page, base, seed = browser_page, live_server.url, control_room
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.set_viewport_size({"width": 1366, "height": 900})  # a control room's screen
    sign_in(page, base, seed["username"], PASSWORD)

    page.goto(f"{base}/detection/")
    page.wait_for_selector("#live-status[data-state='live']")  # subscribed to the stream
    assert page.get_by_test_id("alarm-row").count() == 0
    assert page.locator("#control-room-map .device-marker").count() >= 3
    page.wait_for_selector("#control-room-map[data-alarms='0']")

    answer = requests.post(
        f"{live_server.url}/api/v1/detection/ingest?format=sensor",
        data=intrusion_lines(seed),
        headers={"Authorization": f"Bearer {seed['token']}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["alarms_raised"] == 1

    row = page.get_by_test_id("alarm-row")
    row.wait_for(timeout=5000)  # pushed by the server: no reload
    assert f"Intrusion in {seed['zone']}" in row.inner_text()
    assert row.get_by_test_id("alarm-state").inner_text() == "New"
    assert not page.locator("#queue-empty").is_visible()
    page.wait_for_selector("#control-room-map[data-alarms='1']")
    assert page.locator("#control-room-map .alarm-marker").count() == 1
    shot(page, "browser-control-room.png")

    row.get_by_role("link").click()
    page.wait_for_url("**/detection/alarms/*/")
    state = page.locator("#alarm-state").get_by_test_id("alarm-state")
    assert state.inner_text() == "New"
    page.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url("**/detection/alarms/*/")
    assert state.inner_text() == "Acknowledged"

    for done, step in enumerate(STEPS, start=1):
        page.get_by_label(step).check()  # posted by htmx; the page is not reloaded
        page.wait_for_function(
            "n => document.querySelectorAll('[data-testid=step-done]').length === n", arg=done
        )
    ticks = page.locator("#alarm-timeline [data-kind='step']")
    assert ticks.count() == 3
    assert [t.inner_text().split("\n")[-1] for t in ticks.all()] == [
        f"{n}. {step}" for n, step in enumerate(STEPS, start=1)
    ]

    page.get_by_label("Incident report").fill("A fox on the fence; the patrol found no breach.")
    page.get_by_role("button", name="Close with this report").click()
    page.wait_for_url("**/detection/alarms/*/")
    assert state.inner_text() == "Closed"
    assert "no breach" in page.get_by_test_id("report").inner_text()
    assert page.locator("#alarm-timeline [data-kind='closed']").count() == 1
    assert page.locator("#alarm-timeline [data-kind='step']").count() == 3
    shot(page, "browser-alarm-closed.png")

    page.goto(f"{base}/detection/")
    page.wait_for_selector("#live-status[data-state='live']")
    assert page.get_by_test_id("alarm-row").count() == 0  # closed: off the queue
    assert not problems, problems
