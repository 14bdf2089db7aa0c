"""NGSI-LD temporal query filters (ETSI GS CIM 009 v1.8, clause 5.7.4.4): q, the geo-query and
scopeQ judged on the instances within the time range, and the scope kept over time (4.5.6,
4.18, 4.19, annex C.5.16)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cityloop.platforms.data.perception.models import Measurement
from cityloop.platforms.data.perception.ngsild.scopes import parse_scope_q
from cityloop.platforms.data.perception.ngsild.temporal_filters import scope_intervals
from tests.support.city import City
from tests.support.ngsild import API, error_type, use_ngsild_key

pytestmark = pytest.mark.usefixtures("ngsild_credentials")

TEMPORAL = API + "/temporal/entities"
WINDOW = {
    "timerel": "between",
    "timeAt": "2026-03-01T12:00:00Z",
    "endTimeAt": "2026-03-01T13:00:00Z",
}


def at(clock: str) -> str:
    """A time on the test day, 2026-03-01."""
    return f"2026-03-01T{clock}:00Z"


def prop(value: Any, clock: str) -> dict[str, Any]:
    return {"type": "Property", "value": value, "observedAt": at(clock)}


def create(city: City, body: dict[str, Any]) -> None:
    response = city.client.post(TEMPORAL, json=body)
    assert response.status_code == 201, response.text


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(e["id"] for e in response.json())


def test_a_scope_changed_through_the_core_api_becomes_a_property_instance(city: City) -> None:
    """4.5.6: the scope's temporal evolution is a Property whose instances carry only temporal
    properties; a Core API change sets observedAt as a copy of modifiedAt."""
    entity = "urn:ngsi-ld:Tram:scoped"
    created = city.client.post(
        API + "/entities",
        json={
            "id": entity,
            "type": "Tram",
            "scope": "/Old",
            "speed": {"type": "Property", "value": 1},
        },
    )
    assert created.status_code == 201, created.text
    patched = city.client.patch(f"{API}/entities/{entity}", json={"scope": "/New"})
    assert patched.status_code == 204, patched.text
    got = city.client.get(f"{TEMPORAL}/{entity}", params={"options": "sysAttrs"})
    assert got.status_code == 200, got.text
    scope = got.json()["scope"]
    assert [i["value"] for i in scope] == ["/Old", "/New"]
    newest = scope[-1]
    assert newest["type"] == "Property"
    assert newest["observedAt"] == newest["modifiedAt"]
    assert set(newest) <= {"type", "value", "instanceId", "createdAt", "modifiedAt", "observedAt"}


def test_a_removed_scope_reads_back_as_a_deletion_instance(city: City) -> None:
    """4.18 and 4.5.6: deleting the scope leaves an instance stamped with deletedAt, which
    timeproperty=deletedAt selects, in normalized and simplified form."""
    entity = "urn:ngsi-ld:Tram:unscoped"
    create(
        city,
        {
            "id": entity,
            "type": "Tram",
            "scope": ["/Madrid/Gardens", "/CompanyA"],
            "speed": [prop(3, "10:00")],
        },
    )
    assert city.client.delete(f"{API}/entities/{entity}/attrs/scope").status_code == 204
    got = city.client.get(f"{TEMPORAL}/{entity}", params={"timeproperty": "deletedAt"})
    assert got.status_code == 200, got.text
    body = got.json()
    assert "speed" not in body
    [deletion] = body["scope"]
    assert deletion["value"] == []
    assert "deletedAt" in deletion
    simplified = city.client.get(
        f"{TEMPORAL}/{entity}", params={"timeproperty": "deletedAt", "options": "temporalValues"}
    ).json()
    assert simplified["scope"]["values"][0][0] == []
    everything = city.client.get(f"{TEMPORAL}/{entity}").json()
    assert [i["value"] for i in everything["scope"]] == [["/Madrid/Gardens", "/CompanyA"], []]


@pytest.fixture(scope="module")
def scoped_fleet(city: City) -> None:
    """Barges whose scopes were set before, within and after the 12:00-13:00 window."""
    use_ngsild_key(city)  # module fixtures run before the function-scoped ngsild_credentials

    def barge(name: str, scopes: list[dict[str, Any]], speeds: list[dict[str, Any]]) -> None:
        body: dict[str, Any] = {"id": f"urn:ngsi-ld:Barge:{name}", "type": "Barge", "speed": speeds}
        if scopes:
            body["scope"] = scopes
        create(city, body)

    barge("ab", [prop("/A/B", "10:00")], [prop("ab", "12:05")])
    barge("x", [prop("/X", "10:00")], [prop("x", "12:05")])
    barge("bare", [], [prop("bare", "12:05")])
    barge("both", [prop(["/A/B", "/C"], "10:00")], [prop("both", "12:05")])
    barge("mid", [prop("/M", "12:10")], [prop("midpre", "12:05"), prop("midpost", "12:15")])
    barge(
        "rep",
        [prop("/R", "10:00"), prop("/S", "12:30")],
        [prop("repold", "12:15"), prop("repnew", "12:45")],
    )
    barge("late", [prop("/Z", "14:00")], [prop("late", "12:05")])


def scoped(city: City, scope_q: str) -> Any:
    return city.client.get(TEMPORAL, params={"type": "Barge", "scopeQ": scope_q, **WINDOW})


@pytest.mark.usefixtures("scoped_fleet")
@pytest.mark.parametrize(
    ("scope_q", "selected"),
    [
        ("/A/B", ["ab", "both"]),
        ("/Y", []),
        ("/A/#", ["ab", "both"]),
        ("/#", ["ab", "both", "mid", "rep", "x"]),
        ("/X|/M", ["mid", "x"]),
        ("(/A/B;/C)", ["both"]),
        ("/Z", []),
    ],
)
def test_scopeq_selects_entities_whose_scope_was_valid_within_the_range(
    city: City, scope_q: str, selected: list[str]
) -> None:
    """5.7.4.4 S4 with 4.19: a scope matches by its levels, '#' and '+' and alternatives; with
    4.18 a scope counts only while it was valid, so one set after the range never matches."""
    assert ids(scoped(city, scope_q)) == [f"urn:ngsi-ld:Barge:{name}" for name in selected]


@pytest.mark.usefixtures("scoped_fleet")
@pytest.mark.parametrize(
    ("scope_q", "shown"),
    [("/M", ["midpost"]), ("/R", ["repold"]), ("/S", ["repnew"])],
)
def test_scopeq_shows_only_the_instances_from_when_the_scope_held(
    city: City, scope_q: str, shown: list[str]
) -> None:
    """Annex C.5.16: a scope set or replaced within the range bounds the instances shown."""
    [entity] = scoped(city, scope_q).json()
    assert [i["value"] for i in entity["speed"]] == shown


@pytest.mark.usefixtures("scoped_fleet")
def test_the_scope_in_force_at_the_start_of_the_range_is_shown(city: City) -> None:
    """Annex C.5.16: a scope set before the range and still valid is shown with the entity."""
    [entity] = city.client.get(
        TEMPORAL, params={"id": "urn:ngsi-ld:Barge:ab", "scopeQ": "/A/B", **WINDOW}
    ).json()
    assert [i["value"] for i in entity["scope"]] == ["/A/B"]


@pytest.mark.usefixtures("scoped_fleet")
def test_a_posted_temporal_query_takes_scopeq(city: City) -> None:
    """6.24: the Query body's scopeQ filters as the URL parameter does."""
    response = city.client.post(
        API + "/temporal/entityOperations/query",
        json={
            "type": "Query",
            "entities": [{"type": "Barge"}],
            "scopeQ": "/X",
            "temporalQ": WINDOW,
        },
    )
    assert ids(response) == ["urn:ngsi-ld:Barge:x"]


@pytest.mark.usefixtures("scoped_fleet")
def test_ids_alone_are_not_enough_for_a_temporal_query_unless_it_is_local(city: City) -> None:
    """5.7.4 as 5.7.2.4: id and idPattern only narrow a type, attrs, q, scopeQ or geo-query;
    local=true asks for every local entity (6.18.3.2), in the URL or the Query body."""
    alone = city.client.get(TEMPORAL, params={"id": "urn:ngsi-ld:Barge:ab", **WINDOW})
    assert alone.status_code == 400, alone.text
    assert error_type(alone) == "BadRequestData"
    local = {"id": "urn:ngsi-ld:Barge:ab", "local": "true", **WINDOW}
    assert ids(city.client.get(TEMPORAL, params=local)) == ["urn:ngsi-ld:Barge:ab"]
    posted = city.client.post(
        API + "/temporal/entityOperations/query",
        json={"type": "Query", "local": True, "temporalQ": WINDOW},
    )
    assert "urn:ngsi-ld:Barge:ab" in ids(posted)


@pytest.mark.parametrize("scope_q", ["Madrid", "/A/#/B", "(/A", "/A;;/B"])
def test_a_malformed_scopeq_is_bad_request_data(city: City, scope_q: str) -> None:
    """4.19: a scopeQ outside the grammar is 400 BadRequestData naming scopeQ."""
    response = city.client.get(TEMPORAL, params={"type": "Barge", "scopeQ": scope_q})
    assert response.status_code == 400, response.text
    assert error_type(response) == "BadRequestData"
    assert "scopeQ" in response.json()["detail"]


def test_a_scope_instance_with_other_members_is_bad_request_data(city: City) -> None:
    """4.5.6: a scope instance has only the temporal properties besides its value."""
    response = city.client.post(
        TEMPORAL,
        json={
            "id": "urn:ngsi-ld:Barge:odd",
            "type": "Barge",
            "scope": [
                {"type": "Property", "value": "/A", "observedAt": at("10:00"), "unitCode": "M"}
            ],
        },
    )
    assert response.status_code == 400, response.text
    assert "unitCode" in response.json()["detail"]


@pytest.fixture(scope="module")
def ferries(city: City) -> None:
    """Ferries whose current state (their newest instance) differs from their state within the
    12:00-13:00 window."""
    use_ngsild_key(city)
    paris = {"type": "Point", "coordinates": [2.29, 48.85]}
    lyon = {"type": "Point", "coordinates": [4.83, 45.76]}

    def ferry(name: str, speeds: list[dict[str, Any]], places: list[dict[str, Any]]) -> None:
        create(
            city,
            {
                "id": f"urn:ngsi-ld:Ferry:{name}",
                "type": "Ferry",
                "speed": speeds,
                "location": [{**p, "type": "GeoProperty"} for p in places],
            },
        )

    # Fast within the window, slow now; in Paris within the window, in Lyon now.
    ferry(
        "was-fast",
        [prop(80, "12:30"), prop(5, "15:00")],
        [prop(paris, "12:30"), prop(lyon, "15:00")],
    )
    # Fast only before the window, fast now again; in Paris only before the window.
    ferry(
        "fast-outside",
        [prop(90, "09:00"), prop(10, "12:30"), prop(95, "15:00")],
        [prop(paris, "09:00"), prop(lyon, "12:30"), prop(paris, "15:00")],
    )
    ferry("fast-too", [prop(60, "12:10")], [prop(lyon, "12:10")])


def ferries_where(city: City, **params: str) -> Any:
    return city.client.get(TEMPORAL, params={"type": "Ferry", **WINDOW, **params})


@pytest.mark.usefixtures("ferries")
def test_q_is_judged_on_the_instances_within_the_range(city: City) -> None:
    """5.7.4.4 S2: q is checked against the attribute instances within the range, not the
    entity's current state; the count and the pages hold only true matches (6.3.10, 6.3.13)."""
    response = ferries_where(city, q="speed>50", count="true")
    assert ids(response) == ["urn:ngsi-ld:Ferry:fast-too", "urn:ngsi-ld:Ferry:was-fast"]
    assert response.headers["NGSILD-Results-Count"] == "2"
    # The instances shown are those within the range.
    shown = {e["id"]: [i["value"] for i in e["speed"]] for e in response.json()}
    assert shown["urn:ngsi-ld:Ferry:was-fast"] == [80]
    first = ferries_where(city, q="speed>50", limit="1", offset="0")
    second = ferries_where(city, q="speed>50", limit="1", offset="1")
    assert len(ids(first)) == len(ids(second)) == 1
    assert set(ids(first) + ids(second)) == {
        "urn:ngsi-ld:Ferry:fast-too",
        "urn:ngsi-ld:Ferry:was-fast",
    }
    assert ids(ferries_where(city, q="speed>50", limit="1", offset="2")) == []


@pytest.mark.usefixtures("ferries")
@pytest.mark.parametrize(
    ("q", "selected"),
    [
        ("speed<20", ["fast-outside"]),
        ("speed>70|speed<20", ["fast-outside", "was-fast"]),
        ("speed>50;speed<70", ["fast-too"]),
        ("speed!=80", ["fast-outside", "fast-too"]),
        ("!speed", []),
    ],
)
def test_each_q_term_holds_on_some_instance_within_the_range(
    city: City, q: str, selected: list[str]
) -> None:
    """4.9 on temporal evolution: each term is judged one instance at a time; an entity
    qualifies when some instance within the range satisfies it."""
    assert ids(ferries_where(city, q=q)) == [f"urn:ngsi-ld:Ferry:{name}" for name in selected]


def test_a_numeric_q_still_sees_arrays_and_structured_values(city: City) -> None:
    """4.9: a comparison reaches into an array value (any element) and a datatype mismatch
    never matches, whichever rows the store reads first."""
    for name, value in (("list", [130, 5]), ("text", "fast"), ("number", 121), ("slow", 3)):
        create(
            city,
            {"id": f"urn:ngsi-ld:Canoe:{name}", "type": "Canoe", "speed": [prop(value, "12:20")]},
        )
    response = city.client.get(TEMPORAL, params={"type": "Canoe", "q": "speed>120", **WINDOW})
    assert ids(response) == ["urn:ngsi-ld:Canoe:list", "urn:ngsi-ld:Canoe:number"]
    response = city.client.get(TEMPORAL, params={"type": "Canoe", "q": "speed==5", **WINDOW})
    assert ids(response) == ["urn:ngsi-ld:Canoe:list"]


@pytest.mark.usefixtures("ferries")
def test_a_geo_query_is_judged_on_the_locations_within_the_range(city: City) -> None:
    """5.7.4.4 S3: the geo-query is checked against the GeoProperty instances within the range:
    a ferry in Paris then (in Lyon now) is selected, one in Paris only outside it is not."""
    near = ferries_where(
        city, georel="near;maxDistance==2000", geometry="Point", coordinates="[2.29,48.85]"
    )
    assert ids(near) == ["urn:ngsi-ld:Ferry:was-fast"]
    disjoint = ferries_where(
        city,
        georel="disjoint",
        geometry="Polygon",
        coordinates="[[[2.0,48.5],[2.6,48.5],[2.6,49.2],[2.0,49.2],[2.0,48.5]]]",
    )
    assert ids(disjoint) == ["urn:ngsi-ld:Ferry:fast-outside", "urn:ngsi-ld:Ferry:fast-too"]


def _scope_row(value: Any, clock: str, deleted: bool = False) -> Measurement:
    moment = datetime.fromisoformat(at(clock))
    return Measurement(
        attribute="scope",
        observed_at=moment,
        document={"type": "Property", "value": value},
        deleted_at=moment if deleted else None,
    )


def test_a_scope_holds_from_when_it_was_set_until_it_was_replaced_or_removed() -> None:
    """4.18: the stretches of the range in which a matching scope was valid."""
    span = (datetime(2026, 3, 1, 12, tzinfo=UTC), datetime(2026, 3, 1, 13, tzinfo=UTC))
    history = [_scope_row("/R", "10:00"), _scope_row("/S", "12:30"), _scope_row([], "12:40", True)]
    assert scope_intervals(history, None, parse_scope_q("/R"), span) == [
        (span[0], datetime(2026, 3, 1, 12, 30, tzinfo=UTC))
    ]
    assert scope_intervals(history, None, parse_scope_q("/S"), span) == [
        (datetime(2026, 3, 1, 12, 30, tzinfo=UTC), datetime(2026, 3, 1, 12, 40, tzinfo=UTC))
    ]
    # The removal (an empty scope) ends the last stretch; nothing matches after it.
    assert scope_intervals(history, None, parse_scope_q("/#"), (None, None)) == [
        (datetime(2026, 3, 1, 10, tzinfo=UTC), datetime(2026, 3, 1, 12, 30, tzinfo=UTC)),
        (datetime(2026, 3, 1, 12, 30, tzinfo=UTC), datetime(2026, 3, 1, 12, 40, tzinfo=UTC)),
    ]
    # Without a scope history, the current scope has held all along.
    assert scope_intervals([], ["/R"], parse_scope_q("/R"), span) == [span]
    assert scope_intervals([], None, parse_scope_q("/#"), span) == []
