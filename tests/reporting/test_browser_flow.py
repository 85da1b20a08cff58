"""Submit → receipt → the hub replies and forwards to Liège → the reporter reads the reply with the
receipt alone → the Liège team has the report."""

import pytest

from port2port.core.demo import demo_password, demo_totp_code, seed_demo

from ..core.test_browser import browser_page  # noqa: F401 - the shared Chromium fixture
from ..sharing.test_browser import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(settings):
    settings.REPORTING_POW_BITS = 8  # the browser's proof of work, kept short for the test
    seed_demo()
    return {"password": demo_password(), "code": demo_totp_code("police.antwerp")}


def test_report_reply_follow_up_and_forward(live_server, demo, browser_page):  # noqa: F811
    page, base = browser_page, live_server.url

    page.goto(f"{base}/report/portwatch/?lang=en")
    page.locator("#id_category").select_option("cyber")
    page.locator("#id_port").select_option("BELGG")
    page.get_by_label("What happened?").fill("Someone photographed the terminal's network cabinet.")
    page.locator("#report-map").click()  # the port areas, drawn without any tile server
    assert page.locator("#id_latitude").input_value() != ""
    page.get_by_role("button", name="Send my report").click()
    receipt = page.locator("#receipt").inner_text().replace(" ", "")
    assert len(receipt) == 16 and receipt.isdigit()
    assert page.context.cookies() == []  # the reporter's side set no cookie

    sign_in(page, base, "police.antwerp", demo["password"], demo["code"])
    page.goto(f"{base}/reporting/?category=cyber")
    page.get_by_test_id("report-row").first.get_by_role("link").click()
    assert "network cabinet" in page.get_by_test_id("answers").inner_text()
    page.locator("form[action$='/reply/'] textarea").fill("Thank you. At what time was this?")
    page.get_by_role("button", name="Send the reply").click()
    page.locator("summary", has_text="Forward to another port's team").click()
    page.locator("form[action$='/forward/'] select").select_option(
        label="Sûreté portuaire Liège (BELGG)"
    )
    page.get_by_role("button", name="Forward").click()
    assert page.get_by_test_id("report-status").inner_text() == "Forwarded"
    assert page.get_by_test_id("report-team").inner_text() == "Sûreté portuaire Liège"
    sign_out(page)

    page.goto(f"{base}/report/follow-up/?lang=en")
    page.get_by_label("Your receipt (16 digits)").fill(
        f"{receipt[:4]} {receipt[4:8]} {receipt[8:12]} {receipt[12:]}"
    )
    page.get_by_role("button", name="Open my report").click()
    assert "At what time was this?" in page.content()
    page.get_by_label("Write to the team").fill("Around 23:00, near gate 2.")
    page.get_by_role("button", name="Send").click()
    assert "Around 23:00" in page.content()

    sign_in(page, base, "pso.liege", demo["password"])
    page.goto(f"{base}/reporting/?category=cyber")
    page.get_by_test_id("report-row").first.get_by_role("link").click()
    assert "Around 23:00, near gate 2." in page.content()
    sign_out(page)
