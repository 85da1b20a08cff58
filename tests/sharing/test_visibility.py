"""The one visibility rule of shared knowledge, against a brute-force oracle (issue 3, part 4)."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from port2port.core.models import ClearanceLevel, Membership, Organisation, User
from port2port.core.roles import Role
from port2port.sharing import search, selectors
from port2port.sharing.models import Circle, CircleMember, Distribution, Item, Kind, Tlp

from ..core.factories import OrganisationFactory, PortFactory, sign_in, user_in
from .factories import circle_with, share, terminal

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    antwerp, liege = PortFactory(locode="BEANR"), PortFactory(locode="BELGG")
    poab = terminal(antwerp, name="Port of Antwerp-Bruges")
    sct = terminal(antwerp, name="Scheldt Container Terminal")
    ltt = terminal(liege, name="Liège Trilogiport Terminal")
    pso = user_in(poab, Role.PORT_SECURITY_OFFICER)
    pfso_sct = user_in(sct, Role.PFSO)
    pfso_liege = user_in(ltt, Role.PFSO)
    employee = user_in(poab, Role.EMPLOYEE)  # no sharing role
    circle = circle_with(poab, pfso_liege, name="Taskforce Containers")
    return locals()


def visible(user, item):
    return selectors.item_visible_to(user, item)


def test_amber_circle_alert_reaches_only_the_circle(world, client):
    w = world
    item = share(
        w["pso"],
        tlp=Tlp.AMBER,
        distribution=Distribution.CIRCLE,
        circle=w["circle"],
        urgency="urgent",
    )
    assert visible(w["pso"], item)
    assert visible(w["pfso_liege"], item)  # a person member of the circle
    assert not visible(w["pfso_sct"], item)  # same port, not in the circle
    assert not visible(w["employee"], item)  # in the source organisation, but no sharing role
    sign_in(client, w["pfso_sct"])
    assert client.get(f"/sharing/items/{item.pk}/").status_code == 404
    assert client.get(f"/api/v1/sharing/items/{item.pk}").status_code == 404
    assert item.title not in client.get("/sharing/").content.decode()
    assert item.title not in client.get("/sharing/search/?q=cloned").content.decode()
    assert str(item.pk) not in client.get("/api/v1/sharing/search?q=cloned").content.decode()
    assert item.title not in client.get("/sharing/export.stix.json").content.decode()


def test_red_reaches_only_named_people(world):
    w = world
    item = share(
        w["pso"], tlp=Tlp.RED, distribution=Distribution.PLATFORM, recipients=[w["pfso_sct"]]
    )
    assert visible(w["pfso_sct"], item)
    assert visible(w["pso"], item)  # the author
    colleague = user_in(w["poab"], Role.PORT_SECURITY_OFFICER)
    assert not visible(colleague, item)  # same organisation, not named
    assert not visible(w["pfso_liege"], item)


def test_amber_strict_reaches_source_organisation_and_named(world):
    w = world
    item = share(
        w["pso"],
        tlp=Tlp.AMBER_STRICT,
        distribution=Distribution.PLATFORM,
        recipients=[w["pfso_liege"]],
    )
    assert visible(user_in(w["poab"], Role.PFSO), item)
    assert visible(w["pfso_liege"], item)
    assert not visible(w["pfso_sct"], item)


def test_port_community_and_platform(world):
    w = world
    community = share(w["pso"], tlp=Tlp.GREEN, distribution=Distribution.PORT_COMMUNITY)
    assert visible(w["pfso_sct"], community)
    assert not visible(w["pfso_liege"], community)
    platform = share(w["pso"], tlp=Tlp.GREEN, distribution=Distribution.PLATFORM)
    assert visible(w["pfso_liege"], platform)


def test_minimum_clearance_wins(world):
    w = world
    from port2port.core.errors import Invalid

    with pytest.raises(Invalid, match="clearance you do not hold"):
        share(
            w["pso"],
            tlp=Tlp.GREEN,
            distribution=Distribution.PLATFORM,
            min_clearance=ClearanceLevel.CONFIDENTIAL,
        )
    author = user_in(w["poab"], Role.PORT_SECURITY_OFFICER, clearance=ClearanceLevel.CONFIDENTIAL)
    item = share(
        author,
        tlp=Tlp.GREEN,
        distribution=Distribution.PLATFORM,
        min_clearance=ClearanceLevel.CONFIDENTIAL,
    )
    assert not visible(w["pfso_sct"], item)
    cleared = user_in(w["sct"], Role.PFSO, clearance=ClearanceLevel.SECRET)
    assert visible(cleared, item)
    User.objects.filter(pk=cleared.pk).update(clearance_valid_until="2000-01-01")
    assert not visible(User.objects.get(pk=cleared.pk), item)  # an expired clearance counts as none


def test_leaving_a_circle_ends_access(world):
    w = world
    item = share(w["pso"], tlp=Tlp.AMBER, distribution=Distribution.CIRCLE, circle=w["circle"])
    CircleMember.objects.filter(user=w["pfso_liege"]).update(status=CircleMember.Status.LEFT)
    assert not visible(User.objects.get(pk=w["pfso_liege"].pk), item)


def test_token_sees_as_its_organisation_without_clearance(world, client):
    from port2port.core import services as core_services

    w = world
    platform = share(w["pso"], tlp=Tlp.GREEN, distribution=Distribution.PLATFORM)
    red = share(
        w["pso"], tlp=Tlp.RED, distribution=Distribution.PLATFORM, recipients=[w["pfso_sct"]]
    )
    _, secret = core_services.token_create(
        actor=w["pfso_sct"],
        organisation=w["sct"],
        name="siem",
        scopes=["sharing:item:view", "sharing:item:export"],
    )
    ids = {
        i["id"]
        for i in client.get(
            "/api/v1/sharing/items", headers={"Authorization": f"Bearer {secret}"}
        ).json()["items"]
    }
    assert str(platform.pk) in ids and str(red.pk) not in ids


# Property: selector == oracle -----------------------------------------------------------------

SHARING_ROLES = [Role.PORT_SECURITY_OFFICER, Role.PFSO, Role.EMPLOYEE, Role.CONTROL_ROOM_OPERATOR]
CLEARANCES = [ClearanceLevel.NONE, ClearanceLevel.CONFIDENTIAL, ClearanceLevel.SECRET]


def oracle(user: User, item: Item) -> bool:
    """Written from the rules of issue 3 and DESIGN.md §4, independently of the selector."""
    if not user.is_active:
        return False  # authors have no exception: see selectors.visibility_q
    my_orgs = {
        m.organisation_id
        for m in Membership.objects.filter(user=user)
        if "sharing:item:view" in m.perms()
    }
    if not my_orgs:
        return False
    rank = ClearanceLevel.rank(user.effective_clearance())
    if rank < ClearanceLevel.rank(item.min_clearance):
        return False
    named = item.recipients.filter(pk=user.pk).exists()
    if item.tlp == Tlp.RED:
        return named
    in_source = item.source_org_id in my_orgs
    if item.tlp == Tlp.AMBER_STRICT:
        return in_source or named
    if in_source or item.distribution == Distribution.PLATFORM:
        return True
    if item.distribution == Distribution.PORT_COMMUNITY:
        source_ports = set(item.source_org.ports.values_list("pk", flat=True))
        return any(
            set(Organisation.objects.get(pk=o).ports.values_list("pk", flat=True)) & source_ports
            for o in my_orgs
        )
    if item.distribution == Distribution.CIRCLE:
        active = CircleMember.objects.filter(
            circle_id=item.circle_id, status=CircleMember.Status.ACTIVE
        )
        return any(m.user_id == user.pk or m.organisation_id in my_orgs for m in active)
    if item.distribution == Distribution.NAMED:
        return named
    return False


world_strategy = st.fixed_dictionaries(
    {
        "orgs": st.lists(st.sets(st.integers(0, 2), min_size=1), min_size=2, max_size=4),
        "users": st.lists(
            st.tuples(
                st.lists(
                    st.tuples(st.integers(0, 3), st.sampled_from(SHARING_ROLES)),
                    min_size=1,
                    max_size=2,
                ),
                st.sampled_from(CLEARANCES),
                st.booleans(),
            ),
            min_size=2,
            max_size=5,
        ),
        "circles": st.lists(
            st.lists(
                st.tuples(
                    st.booleans(), st.integers(0, 4), st.sampled_from(list(CircleMember.Status))
                ),
                max_size=3,
            ),
            min_size=1,
            max_size=2,
        ),
        "items": st.lists(
            st.tuples(
                st.integers(0, 4),  # author (only sharing authors can post; others are skipped)
                st.sampled_from(list(Tlp)),
                st.sampled_from(list(Distribution)),
                st.sampled_from(CLEARANCES),
                st.sets(st.integers(0, 4), max_size=2),
                st.integers(0, 1),
            ),
            min_size=1,
            max_size=6,
        ),
    }
)


class _Rollback(Exception):
    pass


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world_strategy)
def test_selector_matches_the_oracle(data):
    try:
        with transaction.atomic():
            ports = [PortFactory() for _ in range(3)]
            orgs = [
                OrganisationFactory(ports=[ports[i] for i in port_ix]) for port_ix in data["orgs"]
            ]
            users = []
            for grants, clearance, active in data["users"]:
                first_org, first_role = grants[0]
                user = user_in(orgs[first_org % len(orgs)], first_role, clearance=clearance)
                for org_ix, role in grants[1:]:
                    Membership.objects.get_or_create(
                        user=user, organisation=orgs[org_ix % len(orgs)], defaults={"roles": [role]}
                    )
                User.objects.filter(pk=user.pk).update(is_active=active)
                users.append(User.objects.get(pk=user.pk))
            circles = []
            for n, members in enumerate(data["circles"]):
                circle = Circle.objects.create(name=f"circle {n}")
                for is_org, ix, status in members:
                    kwargs = (
                        {"organisation": orgs[ix % len(orgs)]}
                        if is_org
                        else {"user": users[ix % len(users)]}
                    )
                    CircleMember.objects.get_or_create(
                        circle=circle, **kwargs, defaults={"status": status}
                    )
                circles.append(circle)
            items = []
            for author_ix, tlp, distribution, clearance, named_ix, circle_ix in data["items"]:
                author = users[author_ix % len(users)]
                membership = Membership.objects.filter(user=author).first()
                item = Item.objects.create(
                    source_org_id=membership.organisation_id,
                    author=author,
                    kind=Kind.DOCUMENT,
                    title="x",
                    tlp=tlp,
                    distribution=distribution,
                    circle=circles[circle_ix % len(circles)]
                    if distribution == Distribution.CIRCLE
                    else None,
                    min_clearance=clearance,
                    min_clearance_rank=ClearanceLevel.rank(clearance),
                )
                item.recipients.set([users[i % len(users)] for i in named_ix])
                items.append(item)
            for user in users:
                got = set(selectors.items_visible_to(user).values_list("pk", flat=True))
                expected = {item.pk for item in items if oracle(user, item)}
                assert got == expected, user.username
            raise _Rollback
    except _Rollback:
        pass


def test_search_goes_through_the_rule(world):
    w = world
    hidden = share(
        w["pso"],
        title="Drone over the Deurganck dock",
        tlp=Tlp.AMBER,
        distribution=Distribution.CIRCLE,
        circle=w["circle"],
    )
    shared = share(
        w["pso"],
        title="Drone sightings at night",
        tlp=Tlp.GREEN,
        distribution=Distribution.PLATFORM,
    )
    found = list(search.matching(selectors.items_visible_to(w["pfso_sct"]), "drone"))
    assert found == [shared]
    assert set(search.matching(selectors.items_visible_to(w["pfso_liege"]), "drone")) == {
        hidden,
        shared,
    }


def test_search_never_misses_what_a_narrow_viewer_may_see(monkeypatch):
    """With a word found everywhere, the one match a viewer may see is still found (the best-match
    window of the RUM path falls back to ranking every match)."""
    from port2port.sharing import search as search_module

    monkeypatch.setattr(search_module, "WINDOW", 5)
    monkeypatch.setattr(search_module, "MIN_VISIBLE", 3)
    port = PortFactory()
    big, small = terminal(port, name="Big"), terminal(PortFactory(), name="Small")
    author = user_in(big, Role.PORT_SECURITY_OFFICER)
    for n in range(12):
        share(
            author,
            title=f"drone drone drone report {n}",
            tlp=Tlp.AMBER,
            distribution=Distribution.ORGANISATION,
        )
    viewer = user_in(small, Role.PFSO)
    mine = share(
        viewer,
        title="a drone once",
        body="x " * 200,
        tlp=Tlp.AMBER,
        distribution=Distribution.ORGANISATION,
    )
    assert list(search.matching(selectors.items_visible_to(viewer), "drone")) == [mine]
    # A viewer who sees many matches gets the best of them (at most WINDOW on PostgreSQL with RUM).
    found = list(search.matching(selectors.items_visible_to(author), "drone"))
    assert len(found) in {5, 12}
    assert all("drone" in item.title for item in found)


def test_search_ranks_every_match_past_the_largest_window(monkeypatch):
    from port2port.sharing import search as search_module

    monkeypatch.setattr(search_module, "WINDOW", 2)
    monkeypatch.setattr(search_module, "MAX_WINDOW", 2)
    monkeypatch.setattr(search_module, "MIN_VISIBLE", 3)
    big, small = terminal(PortFactory(), name="Big"), terminal(PortFactory(), name="Small")
    author = user_in(big, Role.PORT_SECURITY_OFFICER)
    for n in range(6):
        share(
            author,
            title=f"drone drone drone report {n}",
            tlp=Tlp.AMBER,
            distribution=Distribution.ORGANISATION,
        )
    viewer = user_in(small, Role.PFSO)
    mine = share(
        viewer,
        title="a drone once",
        body="x " * 200,
        tlp=Tlp.AMBER,
        distribution=Distribution.ORGANISATION,
    )
    assert list(search.matching(selectors.items_visible_to(viewer), "drone")) == [mine]
    assert len(list(search.matching(selectors.items_visible_to(author), "drone"))) == 6
