"""Sharing as users click it: the author posts an AMBER alert to a circle, a member finds it by
search, a non-member gets 404 on its URL (issue 3, done-when)."""

import pytest

from port2port.core.demo import demo_password, demo_totp_code, seed_demo

from ..core.test_browser import browser_page  # noqa: F401 - the shared Chromium fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def accounts():
    seed_demo()
    return {"password": demo_password(), "pso_code": demo_totp_code("pso.antwerp")}


def sign_in(page, base, username, password, code=None):
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()
    if code:
        page.wait_for_url("**/login/code/")
        page.get_by_label("6-digit code").fill(code)
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/")


def test_amber_alert_to_a_circle(live_server, accounts, browser_page):  # noqa: F811
    page, base = browser_page, live_server.url
    sign_in(page, base, "pso.antwerp", accounts["password"], accounts["pso_code"])
    page.goto(f"{base}/sharing/items/new/")
    page.locator("#id_kind").select_option("modus_operandi")
    page.get_by_label("Title", exact=False).first.fill(
        "Tampered reefer vents at the Deurganck dock"
    )
    page.locator("#id_body").fill("Vent covers of reefers are **unscrewed** to hide bags.")
    page.get_by_label("Smuggling").check()
    page.locator("#id_urgency").select_option("urgent")
    page.get_by_label("TLP:AMBER —").check()
    page.locator("#id_distribution").select_option("circle")
    page.locator("#id_circle").select_option(label="Taskforce Containers")
    page.get_by_role("button", name="Share").click()
    page.wait_for_url("**/sharing/items/*/")
    item_url = page.url
    assert page.get_by_role(
        "heading", name="Tampered reefer vents at the Deurganck dock"
    ).is_visible()
    sign_out(page)

    # A member of the circle (a person member, PFSO in Liège) finds it by search.
    sign_in(page, base, "pfso.liege", accounts["password"])
    page.goto(f"{base}/sharing/search/")
    page.get_by_label("Words to find (in any language)").fill("reefer vents")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Tampered reefer vents at the Deurganck dock").click()
    page.wait_for_url(item_url)
    sign_out(page)

    # Not a member: the same URL answers 404.
    sign_in(page, base, "pso.ostend", accounts["password"])
    response = page.goto(item_url)
    assert response.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()
