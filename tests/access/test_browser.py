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
