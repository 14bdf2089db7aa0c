"""The configuration routes over HTTP: admins only, every kind of bad input a 4xx naming the
field, stale edits a 409 naming the current version, and the history of each object."""

from __future__ import annotations

from typing import Any

import pytest

from cityloop.platforms.application.geo import service as geo
from tests.support.city import City
from tests.support.configuration import category_body, fresh_code

ADMIN = "/api/v1/admin"


def _label(city: City, code: str) -> tuple[float, float]:
    with city.ctx.reading() as session:
        lon, lat = geo.jurisdiction_index(session).label_points[code]
    return lat, lon


def _post(city: City, path: str, body: dict[str, Any], user: str = "admin") -> Any:
    return city.client.post(ADMIN + path, json=body, headers=city.headers(user))


def _new_category(city: City) -> dict[str, Any]:
    response = _post(city, "/categories", category_body(fresh_code("EV")))
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/categories"),
        ("get", "/departments"),
        ("get", "/routing-rules"),
        ("post", "/routing/test"),
        ("get", "/history/category/C-03-01"),
    ],
)
def test_configuration_is_for_admins_only(city: City, method: str, path: str) -> None:
    assert getattr(city.client, method)(ADMIN + path).status_code == 401
    refused = getattr(city.client, method)(ADMIN + path, headers=city.headers("dispatcher"))
    assert refused.status_code == 403


def test_an_admin_creates_edits_and_deactivates_a_category(city: City) -> None:
    created = _new_category(city)
    code = created["code"]
    assert created["version"] == 1 and created["active"]
    assert created["sla"][0] == {
        "priority": "normal",
        "response_minutes": 120,
        "resolution_minutes": 1440,
    }
    edited = city.client.put(
        f"{ADMIN}/categories/{code}",
        json={**category_body(name_zh="断枝"), "version": 1},
        headers=city.headers("admin"),
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2 and edited.json()["name_zh"] == "断枝"
    # The public catalogue shows the change, and loses the category once it is deactivated.
    assert city.client.get(f"/api/v1/categories/{code}").json()["name_zh"] == "断枝"
    gone = _post(city, f"/categories/{code}/deactivate", {"version": 2})
    assert gone.status_code == 200 and not gone.json()["active"]
    assert code not in [c["code"] for c in city.client.get("/api/v1/categories").json()]
    history = city.client.get(
        f"{ADMIN}/history/category/{code}", headers=city.headers("admin")
    ).json()
    assert [(v["version"], v["action"]) for v in history] == [
        (3, "deactivate"),
        (2, "edit"),
        (1, "create"),
    ]
    assert history[1]["changes"] == ["name_zh"] and history[0]["actor"] == "admin"


def test_a_stale_edit_gets_a_409_naming_the_current_version(city: City) -> None:
    code = _new_category(city)["code"]
    headers = city.headers("admin")
    first = city.client.put(
        f"{ADMIN}/categories/{code}", json={**category_body(), "version": 1}, headers=headers
    )
    assert first.status_code == 200
    stale = city.client.put(
        f"{ADMIN}/categories/{code}",
        json=category_body(),
        headers={**headers, "If-Match": '"1"'},
    )
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2 and stale.json()["field"] == "version"
    blind = city.client.put(f"{ADMIN}/categories/{code}", json=category_body(), headers=headers)
    assert blind.status_code == 428 and blind.json()["field"] == "version"
    garbled = city.client.put(
        f"{ADMIN}/categories/{code}", json=category_body(), headers={**headers, "If-Match": "x"}
    )
    assert garbled.status_code == 400 and garbled.json()["field"] == "If-Match"


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"code": "has space"}, 422, "code"),
        ({"kind": "thing"}, 422, "kind"),
        ({"major_class": "1"}, 422, "major_class"),
        ({"name_zh": ""}, 422, "name_zh"),
        ({"priority": "whenever"}, 422, "priority"),
        ({"dedupe_radius_m": 0}, 422, "dedupe_radius_m"),
        ({"default_department": "nobody"}, 400, "default_department"),
        ({"sla": []}, 422, "sla"),
        (
            {"sla": [{"priority": "normal", "response_minutes": 0, "resolution_minutes": 5}]},
            422,
            "sla.0.response_minutes",
        ),
        (
            {"sla": [{"priority": "normal", "response_minutes": 50, "resolution_minutes": 5}]},
            400,
            "sla[0].response_minutes",
        ),
        ({"attributes": [{"code": "x"}]}, 422, "attributes.0.datatype"),
        (
            {
                "attributes": [
                    {
                        "code": "x",
                        "datatype": "singlevaluelist",
                        "order": 1,
                        "description": "X?",
                        "description_zh": "X？",
                    }
                ]
            },
            400,
            "attributes[0].values",
        ),
        ({"surprise": 1}, 422, "surprise"),
    ],
)
def test_bad_category_input_names_the_field(
    city: City, changes: dict[str, Any], status: int, field: str
) -> None:
    body = {**category_body(fresh_code("EV")), **changes}
    response = _post(city, "/categories", body)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field


def test_a_taken_category_code_is_a_conflict(city: City) -> None:
    response = _post(city, "/categories", category_body("C-03-01"))
    assert response.status_code == 409


def test_routing_rules_are_added_edited_refused_when_clashing_and_deleted(city: City) -> None:
    code = _new_category(city)["code"]
    rule = _post(
        city, "/routing-rules", {"category": code, "district": "RV02", "department": "roads"}
    )
    assert rule.status_code == 201, rule.text
    rule_id = rule.json()["id"]
    clash = _post(
        city, "/routing-rules", {"category": code, "district": "RV02", "department": "water"}
    )
    assert clash.status_code == 409 and clash.json()["rule_id"] == rule_id
    headers = city.headers("admin")
    moved = city.client.put(
        f"{ADMIN}/routing-rules/{rule_id}",
        json={"category": code, "district": "RV02", "department": "water", "version": 1},
        headers=headers,
    )
    assert moved.status_code == 200 and moved.json()["version"] == 2
    listed = city.client.get(
        f"{ADMIN}/routing-rules", params={"category": code}, headers=headers
    ).json()
    assert [(r["district"], r["department"]) for r in listed] == [("RV02", "water")]
    stale = city.client.delete(f"{ADMIN}/routing-rules/{rule_id}?version=1", headers=headers)
    assert stale.status_code == 409
    gone = city.client.delete(
        f"{ADMIN}/routing-rules/{rule_id}", headers={**headers, "If-Match": "2"}
    )
    assert gone.status_code == 204
    assert (
        city.client.delete(
            f"{ADMIN}/routing-rules/{rule_id}?version=3", headers=headers
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"category": "C-03-01", "district": "RV09", "department": "roads"}, 400, "district"),
        ({"category": "C-03-01", "district": "RV02", "department": "x"}, 400, "department"),
        ({"category": "NOPE", "district": "RV02", "department": "roads"}, 400, "category"),
        ({"category": "C-03-01", "district": "RV02"}, 422, "department"),
        ({"category": "C-03-01", "district": "", "department": "roads"}, 422, "district"),
    ],
)
def test_bad_rule_input_names_the_field(
    city: City, body: dict[str, Any], status: int, field: str
) -> None:
    response = _post(city, "/routing-rules", body)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field


def test_testing_a_point_answers_where_it_is_which_rule_and_the_deadlines(city: City) -> None:
    lat, lon = _label(city, "RV01-S02")
    answer = _post(city, "/routing/test", {"category": "C-03-01", "lat": lat, "lon": lon})
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["district"]["code"] == "RV01" and found["street"]["code"] == "RV01-S02"
    assert found["matched"] == "district" and found["rule"]["district"] == "RV01"
    assert found["department"]["code"] == "urbanmgmt"
    assert found["explanation"] and found["sla"]["resolution_due"] > found["at"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"category": "C-03-01", "lat": 1.0, "lon": 1.0}, 400, "lat"),
        ({"category": "C-03-01", "lat": 91, "lon": 1.0}, 422, "lat"),
        ({"category": "C-03-01", "lat": "north", "lon": 1.0}, 422, "lat"),
        ({"category": "C-03-01", "lat": 30.0}, 422, "lon"),
        ({"category": "NOPE", "lat": 30.0, "lon": 120.0}, 400, "category"),
        ({"category": "C-03-01", "lat": 30.0, "lon": 120.0, "priority": "x"}, 422, "priority"),
    ],
)
def test_bad_points_are_refused_naming_the_field(
    city: City, body: dict[str, Any], status: int, field: str
) -> None:
    response = _post(city, "/routing/test", body)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field


def test_departments_are_added_renamed_and_deactivated_with_guards(city: City) -> None:
    code = fresh_code("dept").lower()
    added = _post(city, "/departments", {"code": code, "name": "Bridges", "name_zh": "桥梁处"})
    assert added.status_code == 201 and added.json()["version"] == 1
    again = _post(city, "/departments", {"code": code, "name": "B", "name_zh": "乙"})
    assert again.status_code == 409
    headers = city.headers("admin")
    renamed = city.client.put(
        f"{ADMIN}/departments/{code}",
        json={"name": "Bridges and Tunnels", "name_zh": "桥隧处", "version": 1},
        headers=headers,
    )
    assert renamed.status_code == 200 and renamed.json()["version"] == 2
    in_use = _post(city, "/departments/sanitation/deactivate", {"version": 1})
    assert in_use.status_code == 409
    assert any("routing rule" in b for b in in_use.json()["blockers"])
    done = _post(city, f"/departments/{code}/deactivate", {"version": 2})
    assert done.status_code == 200 and not done.json()["active"]
    history = city.client.get(f"{ADMIN}/history/department/{code}", headers=headers).json()
    assert [v["action"] for v in history] == ["deactivate", "edit", "create"]
    trail = city.client.get(
        "/api/v1/audit", params={"target": f"department:{code}"}, headers=headers
    ).json()
    assert [a["action"] for a in trail] == [
        "department.deactivate",
        "department.edit",
        "department.create",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "Has Caps", "name": "A", "name_zh": "甲"}, "code"),
        ({"code": "okcode", "name": "", "name_zh": "甲"}, "name"),
        ({"code": "okcode", "name": "A"}, "name_zh"),
        ({"code": "okcode", "name": "A", "name_zh": "甲", "kind": "club"}, "kind"),
    ],
)
def test_bad_department_input_names_the_field(city: City, body: dict[str, Any], field: str) -> None:
    response = _post(city, "/departments", body)
    assert response.status_code == 422 and response.json()["field"] == field


def test_a_calendar_day_keeps_its_versions(city: City) -> None:
    headers = city.headers("admin")
    day = "2031-05-02"
    body = {"kind": "holiday", "name": "Labour Day", "name_zh": "劳动节"}
    assert (
        city.client.put(f"/api/v1/calendar/days/{day}", json=body, headers=headers).status_code
        == 200
    )
    assert city.client.delete(f"/api/v1/calendar/days/{day}", headers=headers).status_code == 204
    history = city.client.get(f"{ADMIN}/history/calendar/{day}", headers=headers).json()
    assert [(v["version"], v["action"]) for v in history] == [(2, "clear"), (1, "set")]
    assert history[1]["state"]["name_zh"] == "劳动节"
