import pytest

from port2port.core.roles import Role
from port2port.sharing.models import Distribution, Tlp

from ..core.factories import sign_in
from .factories import circle_with, share, terminal, user_in

pytestmark = pytest.mark.django_db


def test_every_sharing_page_renders(client):
    org = terminal()
    pso = user_in(org, Role.PORT_SECURITY_OFFICER)
    circle = circle_with(org)
    item = share(
        pso,
        tlp=Tlp.AMBER,
        distribution=Distribution.CIRCLE,
        circle=circle,
        body="**bold** <script>alert(1)</script>",
    )
    sign_in(client, pso)
    for url in [
        "/sharing/",
        "/sharing/items/new/",
        f"/sharing/items/{item.pk}/",
        f"/sharing/items/{item.pk}/edit/",
        "/sharing/search/?q=seals",
        "/sharing/circles/",
        f"/sharing/circles/{circle.pk}/",
        "/sharing/inbox/",
        "/sharing/alerts/",
        "/sharing/import/",
        "/sharing/export.stix.json",
        "/public/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:3000])
    page = client.get(f"/sharing/items/{item.pk}/").content.decode()
    assert "<strong>bold</strong>" in page
    assert "<script>alert" not in page


def test_dashboard_shows_the_latest_items_shared_with_the_user(client):
    org = terminal()
    pso = user_in(org, Role.PORT_SECURITY_OFFICER)
    other = terminal()
    hidden = share(
        user_in(other, Role.PFSO),
        title="Not for them",
        tlp=Tlp.AMBER,
        distribution=Distribution.ORGANISATION,
    )
    share(pso, title="Visible on the home feed", tlp=Tlp.GREEN, distribution=Distribution.PLATFORM)
    sign_in(client, pso)
    page = client.get("/").content.decode()
    assert "Visible on the home feed" in page
    assert hidden.title not in page
