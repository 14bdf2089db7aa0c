"""The CKAN action API over the open catalogue: CKAN's envelope and errors on both prefixes, by
GET and by POST; packages, resources, organizations, groups and tags in CKAN's shapes; and
nothing of a shared or personal dataset, not even its name."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from tests.platforms.data.ckan.conftest import Catalogue, ckan, result
from tests.support.city import City

CKAN_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$")
HIDDEN = ("test-secret-roster", "test-citizen-files")


def failure(response: Any, status: int) -> dict[str, Any]:
    """The error of a CKAN failure envelope, after checking its status and shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["help"].endswith(
        "/api/3/action/help_show?name=" + response.url.path.rsplit("/", 1)[-1]
    )
    return dict(body["error"])


@pytest.mark.parametrize("prefix", ["/api/action/", "/api/3/action/"])
@pytest.mark.parametrize("post", [False, True])
def test_both_prefixes_answer_get_and_post_in_ckans_envelope(
    city: City, catalogue: Catalogue, prefix: str, post: bool
) -> None:
    response = ckan(city, "package_show", prefix=prefix, post=post, id="test-bus-stops")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    body = response.json()
    assert list(body) == ["help", "success", "result"]
    assert body["help"] == "http://127.0.0.1:8000/api/3/action/help_show?name=package_show"
    assert body["success"] is True and body["result"]["name"] == "test-bus-stops"


def test_a_json_body_sent_as_a_form_is_read_as_ckan_reads_it(
    city: City, catalogue: Catalogue
) -> None:
    # curl -d '{"id": ...}' sends the JSON as the one field of a form, with no value.
    response = city.client.post(
        "/api/3/action/package_show",
        content=json.dumps({"id": "test-air-quality"}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.json()["result"]["name"] == "test-air-quality"
    as_fields = city.client.post("/api/action/package_show", data={"id": "test-air-quality"})
    assert as_fields.json()["result"]["name"] == "test-air-quality"


def test_status_show_names_the_site_its_version_and_extensions(city: City) -> None:
    status = result(city, "status_show")
    assert status["site_title"] == "Riverton Open Data"
    assert status["site_url"] == "http://127.0.0.1:8000"
    assert status["ckan_version"].startswith("2.11")
    assert status["extensions"] == ["datastore", "dcat"]
    assert "河港市" in status["site_description"]
    assert city.client.get("/api/3").json() == {"version": 3}


def test_package_list_names_the_open_datasets_only(city: City, catalogue: Catalogue) -> None:
    names = result(city, "package_list")
    assert names == sorted(names) and {"test-air-quality", "test-bus-stops"} <= set(names)
    assert not set(HIDDEN) & set(names)
    assert result(city, "package_list", limit=1, offset=1) == names[1:2]
    error = failure(ckan(city, "package_list", limit="-1"), 409)
    assert error == {"limit": ["Must be a natural number"], "__type": "Validation Error"}
    assert failure(ckan(city, "package_list", offset=str(10**30)), 409)["offset"] == [
        "Invalid integer"
    ]


def test_a_dataset_is_a_ckan_package(city: City, catalogue: Catalogue) -> None:
    package = result(city, "package_show", id="test-bus-stops")
    assert uuid.UUID(package["id"]).version == 5
    assert package["name"] == "test-bus-stops" and package["title"] == "Bus stops"
    assert package["notes"] == "Every bus stop with its shelter count."
    assert package["title_translated"]["zh_Hans_CN"] == "公交站点"
    assert (package["state"], package["private"], package["type"]) == ("active", False, "dataset")
    assert (
        [t["name"] for t in package["tags"]]
        == ["bus", "transport"]
        == [t["display_name"] for t in package["tags"]]
    )
    assert package["num_tags"] == 2
    assert (package["license_id"], package["isopen"]) == ("CC-BY-4.0", True)
    assert package["license_url"] == "https://creativecommons.org/licenses/by/4.0/"
    organization = package["organization"]
    assert (organization["name"], organization["title"]) == ("roads", "Roads")
    assert organization["is_organization"] and package["owner_org"] == organization["id"]
    assert [(g["name"], g["title"]) for g in package["groups"]] == [("tran", "Transport")]
    extras = {e["key"]: e["value"] for e in package["extras"]}
    assert extras["title_zh"] == "公交站点" and extras["notes_zh"] == "全市公交站点及候车亭数量。"
    assert (extras["frequency"], extras["sensitivity"], extras["theme"]) == (
        "MONTHLY", "open", "TRAN",
    )  # fmt: skip
    assert CKAN_TIME.match(package["metadata_created"])
    assert CKAN_TIME.match(package["metadata_modified"])
    formats = [r["format"] for r in package["resources"]]
    assert formats == ["CSV", "JSON", "GeoJSON", "Parquet"] and package["num_resources"] == 4
    csv = package["resources"][0]
    assert csv["id"] == catalogue.resources["test-bus-stops"]["CSV"]
    assert csv["package_id"] == package["id"] and csv["position"] == 0
    assert csv["url"] == (
        "http://127.0.0.1:8000/api/v1/data/datasets/test-bus-stops/distributions/" + csv["id"]
    )
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", csv["hash"]) and csv["size"] > 0
    assert csv["mimetype"] == "text/csv" and csv["datastore_active"] is True
    assert CKAN_TIME.match(csv["last_modified"])
    # The same package by its id, which stays the same across calls.
    assert result(city, "package_show", id=package["id"]) == package


def test_package_show_answers_ckans_errors(city: City, catalogue: Catalogue) -> None:
    missing = failure(ckan(city, "package_show"), 409)
    assert missing == {"name_or_id": ["Missing value"], "__type": "Validation Error"}
    unknown = failure(ckan(city, "package_show", id="no-such-dataset"), 404)
    assert unknown == {"__type": "Not Found Error", "message": "Not found"}


def test_shared_and_personal_datasets_are_nowhere_not_even_their_names(
    city: City, catalogue: Catalogue
) -> None:
    for name in HIDDEN:
        assert failure(ckan(city, "package_show", id=name), 404)["__type"] == "Not Found Error"
        hidden_id = result(city, "package_search", q=f"name:{name}")
        assert hidden_id["count"] == 0
        for resource_id in catalogue.resources[name].values():
            assert ckan(city, "resource_show", id=resource_id).status_code == 404
            assert ckan(city, "datastore_search", resource_id=resource_id).status_code == 404
    everything = result(city, "package_search", q="*:*", rows=1000, **{"facet.field": '["tags"]'})
    text = json.dumps(everything, ensure_ascii=False)
    for word in ("secret", "roster", "hidden-keyword", "personal-keyword", "市民档案", "内部排班"):
        assert word not in text.lower()
    assert result(city, "package_search", q="hidden-keyword")["count"] == 0
    assert not {"hidden-keyword", "personal-keyword"} & set(result(city, "tag_list"))
    counts = {
        o["name"]: o["package_count"] for o in result(city, "organization_list", all_fields=True)
    }
    assert counts["roads"] == 1 and counts["water"] == 0


def test_resource_show_answers_the_resource_its_package_lists(
    city: City, catalogue: Catalogue
) -> None:
    package = result(city, "package_show", id="test-air-quality")
    for listed in package["resources"]:
        assert result(city, "resource_show", id=listed["id"]) == listed
    assert failure(ckan(city, "resource_show"), 409) == {
        "id": ["Missing value"], "__type": "Validation Error",
    }  # fmt: skip
    assert failure(ckan(city, "resource_show", id=str(uuid.uuid4())), 404)["message"] == "Not found"


def test_an_unknown_action_is_a_bad_request_in_ckans_words(city: City) -> None:
    response = city.client.get("/api/3/action/package_frobnicate")
    assert response.status_code == 400
    assert response.json() == "Bad request - Action name not known: package_frobnicate"


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]"], ids=["not JSON", "not an object"])
def test_a_body_that_is_not_a_json_object_is_a_bad_request(city: City, body: bytes) -> None:
    response = city.client.post(
        "/api/action/package_list", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json().startswith("Bad request - JSON Error: ")


def test_an_action_that_writes_is_refused(city: City, catalogue: Catalogue) -> None:
    error = failure(ckan(city, "package_create", post=True, name="mine"), 403)
    assert error["__type"] == "Authorization Error"
    assert error["message"].startswith("Access denied: ")
    by_get = city.client.get("/api/3/action/datastore_upsert")
    assert by_get.status_code == 400 and "Please use POST" in by_get.json()
    assert result(city, "package_list") == result(city, "package_list")  # nothing changed


def test_errors_of_the_paths_themselves_come_in_ckans_envelope(city: City) -> None:
    wrong_method = city.client.put("/api/3/action/package_list", json={})
    assert wrong_method.status_code == 405 and wrong_method.json()["success"] is False
    no_action = city.client.get("/api/3/action/")
    assert no_action.status_code == 404
    assert no_action.json()["error"] == {"__type": "Not Found Error", "message": "Not found"}


def test_help_show_explains_an_action(city: City) -> None:
    assert "facet.field" in result(city, "help_show", name="package_search")
    assert failure(ckan(city, "help_show", name="nope"), 404)["message"] == (
        "Not found: Action function not found"
    )
    assert failure(ckan(city, "help_show"), 409)["name"] == ["Missing value"]


def test_organizations_are_the_departments_with_their_open_datasets(
    city: City, catalogue: Catalogue
) -> None:
    names = result(city, "organization_list")
    assert {"roads", "environment", "water"} <= set(names)
    by_name = result(city, "organization_list", sort="name desc")
    assert by_name == sorted(names, reverse=True)
    assert (
        result(city, "organization_list", sort="name asc", limit=2, offset=1) == sorted(names)[1:3]
    )
    full = result(city, "organization_list", all_fields=True, organizations="roads,environment")
    assert {o["name"]: o["package_count"] for o in full} == {"roads": 1, "environment": 1}
    assert all(o["type"] == "organization" and o["is_organization"] for o in full)
    bad_sort = failure(ckan(city, "organization_list", sort="colour"), 409)
    assert bad_sort == {"message": "Cannot sort by field `colour`", "__type": "Validation Error"}
    assert failure(ckan(city, "organization_list", limit="x"), 409)["limit"] == ["Invalid integer"]

    roads = result(city, "organization_show", id="roads", include_datasets=True)
    assert roads["package_count"] == 1 and roads["title"] == "Roads"
    assert roads["extras"] == [{"key": "title_zh", "value": "道路管理处"}]
    assert [p["name"] for p in roads["packages"]] == ["test-bus-stops"]
    assert result(city, "organization_show", id=roads["id"])["name"] == "roads"
    assert "packages" not in result(city, "organization_show", id="roads")
    assert failure(ckan(city, "organization_show", id="nowhere"), 404)["__type"] == (
        "Not Found Error"
    )


def test_groups_are_the_data_themes(city: City, catalogue: Catalogue) -> None:
    names = result(city, "group_list")
    assert {"tran", "envi", "gove"} <= set(names) and len(names) == 13
    groups = {g["name"]: g for g in result(city, "group_list", all_fields=True, limit=50)}
    assert groups["tran"]["package_count"] == 1 and groups["tran"]["title"] == "Transport"
    assert groups["tran"]["is_organization"] is False and groups["tran"]["type"] == "group"
    envi = result(city, "group_show", id="envi", include_datasets="true")
    assert [p["name"] for p in envi["packages"]] == ["test-air-quality"]
    assert {"key": "title_zh", "value": "环境"} in envi["extras"]


def test_tags_are_the_open_datasets_keywords(city: City, catalogue: Catalogue) -> None:
    assert result(city, "tag_list") == ["air", "bus", "pollution", "transport"]
    assert result(city, "tag_list", query="us") == ["bus"]
    (tag,) = result(city, "tag_list", query="air", all_fields=True)
    assert tag["name"] == tag["display_name"] == "air" and uuid.UUID(tag["id"])
    assert result(city, "tag_list", vocabulary_id="countries") == []


def test_license_list_names_the_open_licences(city: City) -> None:
    licences = {item["id"]: item for item in result(city, "license_list")}
    assert set(licences) == {"CC-BY-4.0", "CC0-1.0", "ODbL-1.0"}
    assert licences["CC0-1.0"]["url"].startswith("https://creativecommons.org/")
