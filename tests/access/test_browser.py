"""Ban registered → the badge is refused at a gate → the desk sees PORT_BAN → the employer is alerted."""

import pytest

from port2port.access.models import Badge
from port2port.core.demo import demo_password, demo_totp_code, seed_demo

from ..core.test_browser import browser_page  # noqa: F401 - the shared Chromium fixture
from ..sharing.test_browser import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo():
    seed_demo()
    badge = Badge.objects.get(person__user__username="driver.haulage")
    return {
        "password": demo_password(),
        "code": demo_totp_code("pso.antwerp"),
        "badge": badge.number,
    }


def test_a_ban_reaches_the_gate_and_the_employer(live_server, demo, browser_page):  # noqa: F811
    page, base = browser_page, live_server.url
    sign_in(page, base, "pso.antwerp", demo["password"], demo["code"])
    page.goto(f"{base}/access/?q=Demir")
    page.get_by_role("link", name="Yusuf Demir").click()
    page.get_by_text("Register a port ban").click()
    page.get_by_label("Until").fill("2030-12-31")
    page.get_by_label("Court decision or authority").fill("Court of first instance, Antwerp")
    page.get_by_role("button", name="Register the ban").click()
    assert page.get_by_test_id("ban-state").inner_text() == "Port ban"
    sign_out(page)

    sign_in(page, base, "desk.sct", demo["password"])
    page.goto(f"{base}/access/")
    page.locator("#id_gate").select_option("BEANR-0869-G1")
    page.get_by_label("Badge or pass number").fill(demo["badge"])
    page.get_by_role("button", name="Decide").click()
    decision = page.get_by_test_id("decision")
    assert "PORT_BAN" in decision.inner_text()
    sign_out(page)

    sign_in(page, base, "csm.haulage", demo["password"])
    page.goto(f"{base}/access/")
    assert page.get_by_role("alert").filter(has_text="Yusuf Demir").count() == 1


def test_the_desk_approves_and_checks_in_an_announced_visitor(live_server, demo, browser_page):  # noqa: F811
    """The agency's announcement of today → the desk approves, checks in → the plate opens the gate."""
    page, base = browser_page, live_server.url

    def decide_plate() -> str:
        page.goto(f"{base}/access/")
        page.locator("#id_gate").select_option("BEANR-0869-G2")
        page.get_by_label("Or vehicle plate").fill("1-VIS-001")
        page.get_by_role("button", name="Decide").click()
        return page.get_by_test_id("decision").inner_text()

    sign_in(page, base, "host.agency", demo["password"])
    page.goto(f"{base}/access/visits/")
    assert page.get_by_test_id("visit").first.is_visible()
    sign_out(page)

    sign_in(page, base, "desk.sct", demo["password"])
    assert "VISITOR_NOT_APPROVED" in decide_plate()
    page.goto(f"{base}/access/visits/")
    row = page.get_by_test_id("visitor").filter(has_text="Joris Van Acker")
    assert row.get_by_test_id("ban-check").inner_text() == "Clear"
    assert row.get_by_test_id("visitor-status").inner_text() == "Announced"
    row.get_by_role("button", name="Approve").click()
    row = page.get_by_test_id("visitor").filter(has_text="Joris Van Acker")
    assert row.get_by_test_id("visitor-status").inner_text() == "Approved"
    row.get_by_role("button", name="Check in").click()
    row = page.get_by_test_id("visitor").filter(has_text="Joris Van Acker")
    assert row.get_by_test_id("visitor-status").inner_text() == "Checked in"
    assert "GRANTED" in decide_plate()
    sign_out(page)
