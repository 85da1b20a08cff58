"""A user's main flow in Debian's Chromium, driven by Playwright: login with TOTP, Nederlands, dashboard."""

import os
import shutil

import pytest
from django.utils import translation

from port2port.core.demo import demo_password, demo_totp_code, seed_demo

CHROMIUM = os.environ.get("PORT2PORT_CHROMIUM", "/usr/bin/chromium")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page(monkeypatch):
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test, but {CHROMIUM} is missing")
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test are plain
    # synchronous code and safe here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
        page = context.new_page()
        page.set_default_timeout(15000)
        yield page
        context.close()
        browser.close()


@pytest.fixture
def demo_network():
    """Seeded before Playwright starts: its sync API runs the test in a greenlet with its own
    database connections, which would outlive the test on PostgreSQL."""
    seed_demo()
    with translation.override("nl"):
        dutch = {
            "heading": translation.gettext("Your organisations"),
            "people": translation.gettext("People of your organisation"),
        }
    return {"password": demo_password(), "code": demo_totp_code("pso.antwerp"), "nl": dutch}


def test_pso_signs_in_with_totp_switches_to_dutch_and_sees_the_dashboard(
    live_server, demo_network, browser_page
):
    demo = demo_network
    page = browser_page
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill("pso.antwerp")
    page.get_by_label("Password").fill(demo["password"])
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/login/code/")
    page.get_by_label("6-digit code").fill(demo["code"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", name="Your organisations").is_visible()
    assert page.get_by_role("link", name="Port of Antwerp-Bruges").first.is_visible()

    page.get_by_label("Language").select_option("nl")  # submits itself (progressive enhancement)
    heading, people = demo["nl"]["heading"], demo["nl"]["people"]
    assert heading != "Your organisations"
    page.get_by_role("heading", name=heading).wait_for()
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.get_by_role("heading", name=people).is_visible()
    assert (
        page.get_by_text("Koen Peeters").first.is_visible()
        or page.get_by_text("Peeters").first.is_visible()
    )
    page.screenshot(
        path=os.path.join(os.environ.get("PORT2PORT_VAR", "var"), "browser-dashboard-nl.png"),
        full_page=True,
    )
