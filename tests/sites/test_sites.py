"""Sites: GeoJSON checked at every input, the map of one's own ports only, changes by the right people."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from port2port.core.errors import Forbidden, Invalid
from port2port.core.models import AuditRecord, OrganisationKind
from port2port.core.roles import Role
from port2port.sites import selectors, services
from port2port.sites.geojson import rectangle, validate_geometry
from port2port.sites.models import Gate, Zone

from ..core.factories import OrganisationFactory, PortFactory, sign_in, user_in

POINT = {"type": "Point", "coordinates": [4.3, 51.28]}


@pytest.mark.parametrize(
    "geometry, problem",
    [
        ({"type": "Circle", "coordinates": [1, 2]}, "geometry type"),
        ({"type": "Point", "coordinates": [200, 51]}, "longitude"),
        ({"type": "Point", "coordinates": [4, 95]}, "latitude"),
        ({"type": "Point", "coordinates": ["4", 51]}, "finite numbers"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
            "end where it starts",
        ),
        ({"type": "LineString", "coordinates": [[0, 0]]}, "at least 2"),
        ("not a dict", "GeoJSON object"),
    ],
)
def test_bad_geometry_is_refused_naming_the_problem(geometry, problem):
    with pytest.raises(ValueError, match=problem):
        validate_geometry(geometry)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)


@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "type": st.sampled_from(["Point", "LineString", "Polygon", "MultiPolygon"]),
                "coordinates": json_values,
            }
        ),
    )
)
def test_any_input_gives_a_geometry_or_a_clear_error(value):
    try:
        result = validate_geometry(value)
    except ValueError as error:
        assert str(error)
    else:
        assert validate_geometry(result) == result


@pytest.fixture
def ports(db):
    antwerp, liege = (
        PortFactory(locode="BEANR", name="Antwerp"),
        PortFactory(locode="BELGG", name="Liège"),
    )
    authority = OrganisationFactory(kind=OrganisationKind.PORT_AUTHORITY, ports=[antwerp])
    terminal = OrganisationFactory(kind=OrganisationKind.FACILITY_OPERATOR, ports=[antwerp])
    other = OrganisationFactory(kind=OrganisationKind.FACILITY_OPERATOR, ports=[liege])
    pso = user_in(authority, Role.PORT_SECURITY_OFFICER)
    return {
        "antwerp": antwerp,
        "liege": liege,
        "authority": authority,
        "terminal": terminal,
        "other": other,
        "pso": pso,
    }


@pytest.mark.django_db
def test_port_authority_builds_the_map_and_it_is_audited(ports):
    p = ports
    facility = services.facility_create(
        actor=p["pso"],
        port=p["antwerp"],
        code="BEANR-0869",
        name="SCT",
        geometry=rectangle(4.3, 51.28, 0.02, 0.01),
        operator=p["terminal"],
    )
    yard = services.zone_create(
        actor=p["pso"],
        port=p["antwerp"],
        code="YARD",
        name="Yard",
        geometry=rectangle(4.3, 51.28, 0.01, 0.01),
        facility=facility,
    )
    reefer = services.zone_create(
        actor=p["pso"],
        port=p["antwerp"],
        code="REEFER",
        name="Reefers",
        geometry=rectangle(4.3, 51.28, 0.005, 0.005),
        parent=yard,
        critical=True,
    )
    assert reefer.restricted  # critical implies restricted
    gate = services.gate_create(
        actor=p["pso"],
        port=p["antwerp"],
        code="SCT-G1",
        name="Gate 1",
        geometry=POINT,
        leads_into=[yard],
    )
    assert list(gate.leads_into.all()) == [yard]
    actions = set(AuditRecord.objects.values_list("action", flat=True))
    assert {"sites.facility.created", "sites.zone.created", "sites.gate.created"} <= actions
    with pytest.raises(Invalid, match="inside itself"):
        services.zone_update(actor=p["pso"], zone=yard, parent=reefer)
    with pytest.raises(Invalid) as info:
        services.zone_create(
            actor=p["pso"],
            port=p["antwerp"],
            code="BAD",
            name="Bad",
            geometry={"type": "Point", "coordinates": [999, 0]},
        )
    assert info.value.fields == {"geometry": info.value.message}
    assert not Zone.objects.filter(code="BAD").exists()


@pytest.mark.django_db
def test_only_the_port_or_the_facility_changes_sites(ports):
    p = ports
    outsider = user_in(p["other"], Role.PFSO)
    with pytest.raises(Forbidden):
        services.area_create(actor=outsider, port=p["antwerp"], code="X", name="X", geometry=POINT)
    facility = services.facility_create(
        actor=p["pso"],
        port=p["antwerp"],
        code="F1",
        name="F1",
        geometry=POINT,
        operator=p["terminal"],
    )
    pfso = user_in(p["terminal"], Role.PFSO)
    zone = services.zone_create(
        actor=pfso,
        port=p["antwerp"],
        code="F1-Z",
        name="Own zone",
        geometry=POINT,
        facility=facility,
    )
    assert zone.facility == facility
    with pytest.raises(Forbidden):
        services.zone_create(
            actor=pfso, port=p["antwerp"], code="PORTWIDE", name="Not theirs", geometry=POINT
        )


@pytest.mark.django_db
def test_a_viewer_sees_the_maps_of_their_ports_only(ports, client):
    p = ports
    services.zone_create(
        actor=p["pso"], port=p["antwerp"], code="Z1", name="Secret yard", geometry=POINT
    )
    liege_staff = user_in(p["other"], Role.EMPLOYEE)
    assert list(selectors.ports_visible_to(liege_staff)) == [p["liege"]]
    sign_in(client, liege_staff)
    assert client.get("/sites/BEANR/").status_code == 404
    assert client.get("/sites/BEANR/map.geojson").status_code == 404
    assert client.get("/api/v1/sites/ports/BEANR/zones").status_code == 404
    national = user_in(
        OrganisationFactory(kind=OrganisationKind.AUTHORITY_NAMB, ports=[]), Role.LCMB_MEMBER
    )
    assert set(selectors.ports_visible_to(national)) == {p["antwerp"], p["liege"]}


@pytest.mark.django_db
def test_map_page_and_geojson(ports, client):
    p = ports
    zone = services.zone_create(
        actor=p["pso"],
        port=p["antwerp"],
        code="Z1",
        name="Yard",
        geometry=rectangle(4.3, 51.28, 0.01, 0.01),
        critical=True,
    )
    services.gate_create(
        actor=p["pso"], port=p["antwerp"], code="G1", name="Gate", geometry=POINT, leads_into=[zone]
    )
    sign_in(client, p["pso"])
    page = client.get("/sites/BEANR/").content.decode()
    assert 'id="port-map"' in page and "critical function" in page
    collection = client.get("/sites/BEANR/map.geojson").json()
    kinds = sorted(f["properties"]["kind"] for f in collection["features"])
    assert kinds == ["gate", "zone"]
    zone_feature = next(f for f in collection["features"] if f["properties"]["kind"] == "zone")
    assert zone_feature["properties"]["critical"] is True


@pytest.mark.django_db
def test_pages_create_sites_with_errors_naming_the_field(ports, client):
    p = ports
    sign_in(client, p["pso"])
    response = client.post(
        "/sites/BEANR/new/zone/", {"code": "Z9", "name": "Zone nine", "geometry": "{not json"}
    )
    assert response.status_code == 200 and "This is not JSON" in response.content.decode()
    response = client.post(
        "/sites/BEANR/new/zone/",
        {"code": "Z9", "name": "Zone nine", "geometry": json.dumps(POINT), "critical": "on"},
    )
    assert response.status_code == 302
    zone = Zone.objects.get(code="Z9")
    response = client.post(
        "/sites/BEANR/new/gate/",
        {
            "code": "G9",
            "name": "Gate nine",
            "geometry": json.dumps(POINT),
            "kind": "entry",
            "leads_into": [str(zone.pk)],
        },
    )
    assert response.status_code == 302
    assert Gate.objects.get(code="G9").kind == "entry"
    response = client.post(
        "/api/v1/sites/ports/BEANR/gates",
        {"code": "G9", "name": "again", "geometry": POINT, "leads_into": [str(zone.pk)]},
        content_type="application/json",
    )
    assert response.status_code == 409 and response.json()["fields"] == {
        "code": response.json()["message"]
    }


@pytest.mark.django_db
def test_demo_map_is_seeded_once():
    from port2port.core.demo import seed_demo

    seed_demo()
    counts = (Zone.objects.count(), Gate.objects.count())
    assert counts[0] >= 30 and counts[1] >= 20
    seed_demo()
    assert (Zone.objects.count(), Gate.objects.count()) == counts
    assert Zone.objects.filter(critical=True, restricted=True).exists()
