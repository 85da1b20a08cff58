"""The port map renders our own GeoJSON with Leaflet in Chromium (no outside tiles)."""

import pytest

from port2port.core.demo import demo_password, seed_demo

from ..core.test_browser import browser_page  # noqa: F401 - the shared Chromium fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo():
    seed_demo()
    return demo_password()


def test_port_map_shows_zones_and_gates(live_server, demo, browser_page):  # noqa: F811
    page, base = browser_page, live_server.url
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base) else None)
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("harbour.antwerp")
    page.get_by_label("Password").fill(demo)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/sites/BEANR/")
    page.wait_for_selector("#port-map[data-features]")
    assert int(page.get_attribute("#port-map", "data-features")) > 10
    assert page.locator("#port-map path.leaflet-interactive").count() > 10
    assert not [url for url in outside if not url.startswith("data:")]
