"""datastore_search over an open dataset's rows, by any of its resource ids: filters, text,
fields, sort and paging as CKAN's DataStore takes them, its answer's shape and links, and a 409
naming whatever the table does not have."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.platforms.data.ckan.conftest import Catalogue, ckan, result
from tests.support.city import City


def stops(catalogue: Catalogue, fmt: str = "CSV") -> str:
    return catalogue.resources["test-bus-stops"][fmt]


def rows(city: City, catalogue: Catalogue, **params: Any) -> dict[str, Any]:
    params.setdefault("resource_id", stops(catalogue))
    return dict(result(city, "datastore_search", **params))


def codes(found: dict[str, Any]) -> list[str]:
    return [record["code"] for record in found["records"]]


def test_a_resource_reads_as_its_datasets_rows_in_ckans_shape(
    city: City, catalogue: Catalogue
) -> None:
    found = rows(city, catalogue)
    assert found["resource_id"] == stops(catalogue)
    assert (found["total"], found["limit"], found["records_format"]) == (5, 100, "objects")
    assert found["include_total"] is True and found["total_was_estimated"] is False
    assert found["records"][0] == {
        "_id": 1, "code": "S1", "name": "Harbour Gate", "district": "D1", "lat": 31.2,
        "lon": 121.4, "shelters": 2, "accessible": True, "extra": {"lines": [1, 4]},
    }  # fmt: skip
    types = {field["id"]: field["type"] for field in found["fields"]}
    assert types == {
        "_id": "int", "code": "text", "name": "text", "district": "text", "lat": "numeric",
        "lon": "numeric", "shelters": "int", "accessible": "bool", "extra": "json",
    }  # fmt: skip
    assert found["fields"][1]["info"] == {"label": "Stop code", "notes": "As on the pole"}
    start = found["_links"]["start"]
    assert start.startswith("/api/3/action/datastore_search?resource_id=")
    assert found["_links"]["next"] == start + "&offset=100"
    # Every resource of the dataset reads the same rows.
    for fmt in ("JSON", "GeoJSON", "Parquet"):
        assert rows(city, catalogue, resource_id=stops(catalogue, fmt))["total"] == 5


def test_filters_match_values_or_lists_of_values(city: City, catalogue: Catalogue) -> None:
    assert codes(rows(city, catalogue, filters='{"district": "D1"}')) == ["S1", "S2"]
    both = rows(city, catalogue, filters=json.dumps({"district": ["D2", "D3"], "shelters": "1"}))
    assert codes(both) == ["S3", "S5"] and both["total"] == 2
    assert both["filters"] == {"district": ["D2", "D3"], "shelters": "1"}
    posted = ckan(
        city,
        "datastore_search",
        post=True,
        resource_id=stops(catalogue),
        filters={"accessible": False},
    )
    assert codes(posted.json()["result"]) == ["S2", "S5"]


def test_q_finds_text_in_every_field_or_in_the_fields_named(
    city: City, catalogue: Catalogue
) -> None:
    assert codes(rows(city, catalogue, q="harbour")) == ["S1", "S5"]
    assert codes(rows(city, catalogue, q='{"name": "park"}')) == ["S3"]
    assert codes(rows(city, catalogue, q='{"name": "harbour", "district": "D2"}')) == ["S5"]


def test_fields_sort_limit_and_offset_shape_the_page(city: City, catalogue: Catalogue) -> None:
    page = rows(city, catalogue, fields="code,shelters", sort="shelters desc, code", limit=2)
    assert page["records"] == [{"code": "S4", "shelters": 3}, {"code": "S1", "shelters": 2}]
    assert [f["id"] for f in page["fields"]] == ["code", "shelters"]
    assert page["total"] == 5 and page["limit"] == 2
    following = rows(city, catalogue, sort='"shelters" desc, code asc', limit=2, offset=2)
    assert codes(following) == ["S3", "S5"] and following["offset"] == 2
    assert "&offset=4&" in following["_links"]["next"]
    assert "offset" not in following["_links"]["start"]
    listed = ckan(
        city,
        "datastore_search",
        post=True,
        resource_id=stops(catalogue),
        fields=["code"],
        sort="_id desc",
        limit=1,
    )
    assert listed.json()["result"]["records"] == [{"code": "S5"}]
    assert "total" not in rows(city, catalogue, include_total="false")
    assert rows(city, catalogue, limit=100000)["limit"] == 32000


def test_records_come_as_lists_or_csv_when_asked(city: City, catalogue: Catalogue) -> None:
    lists = rows(city, catalogue, fields="code,shelters", limit=2, records_format="lists")
    assert lists["records"] == [["S1", 2], ["S2", 0]]
    text = rows(city, catalogue, fields="code,accessible", limit=2, records_format="csv")
    assert text["records"] == "S1,True\nS2,False\n"


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"fields": "code,colour"}, {"fields": ['invalid value "colour"']}),
        ({"sort": "colour desc"}, {"sort": ['invalid value "colour desc"']}),
        ({"sort": "code sideways"}, {"sort": ['invalid value "code sideways"']}),
        ({"filters": '{"colour": "red"}'}, {"filters": ['invalid value "colour"']}),
        ({"filters": "{broken"}, {"filters": ["Cannot parse JSON"]}),
        ({"q": '{"colour": "red"}'}, {"q": ['invalid value "colour"']}),
        ({"limit": "ten"}, {"limit": ["Invalid integer"]}),
        ({"offset": "-5"}, {"offset": ['invalid value "-5"']}),
        ({"offset": str(10**30)}, {"offset": ["Invalid integer"]}),
        ({"records_format": "xml"}, {"records_format": ["Value must be one of ['objects', "
                                                        "'lists', 'csv', 'tsv']"]}),
        ({"colour": "red"}, {"__junk": ["The input field [('colour',)] was not expected."]}),
    ],
    ids=["field", "sort field", "sort direction", "filter", "filters JSON", "q field", "limit",
         "offset", "offset too wide", "records format", "unknown parameter"],
)  # fmt: skip
def test_what_the_table_does_not_have_is_a_validation_error_naming_it(
    city: City, catalogue: Catalogue, params: dict[str, Any], error: dict[str, Any]
) -> None:
    response = ckan(city, "datastore_search", resource_id=stops(catalogue), **params)
    assert response.status_code == 409, response.text
    assert response.json()["error"] == {**error, "__type": "Validation Error"}


def test_a_filter_of_the_wrong_type_or_on_structured_values_is_refused(
    city: City, catalogue: Catalogue
) -> None:
    for filters in (
        {"shelters": "many"},
        {"shelters": 10**30},
        {"_id": "1.5"},
        {"accessible": "maybe"},
        {"extra": "x"},
    ):
        response = ckan(
            city, "datastore_search", post=True, resource_id=stops(catalogue), filters=filters
        )
        assert response.status_code == 409, response.text
        (key,) = [k for k in response.json()["error"] if k != "__type"]
        assert key == "filters" and next(iter(filters)) in response.json()["error"][key][0]


def test_an_unknown_resource_is_not_found_and_a_missing_one_is_required(city: City) -> None:
    response = ckan(city, "datastore_search", resource_id="nope")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "__type": "Not Found Error",
        "message": 'Not found: Resource "nope" was not found.',
    }
    missing = ckan(city, "datastore_search")
    assert missing.status_code == 409
    assert missing.json()["error"]["resource_id"] == ["Missing value"]
