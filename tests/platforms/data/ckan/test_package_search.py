"""package_search as CKAN clients use it: words in both languages, field terms in q and fq,
paging, sorting and facets in CKAN's shapes, its errors, and a catalogue that changes between
two searches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from cityloop.platforms.data.catalogue import service
from cityloop.platforms.data.catalogue.models import Dataset
from tests.platforms.data.ckan.conftest import AIR, Catalogue, ckan, result
from tests.support.city import City

FACETS = '["organization", "groups", "tags", "res_format", "license_id"]'


def names(found: dict[str, Any]) -> list[str]:
    return [package["name"] for package in found["results"]]


def search(city: City, **params: Any) -> dict[str, Any]:
    return dict(result(city, "package_search", **params))


def test_words_are_found_in_names_titles_descriptions_and_keywords_in_both_languages(
    city: City, catalogue: Catalogue
) -> None:
    assert names(search(city, q="shelter")) == ["test-bus-stops"]
    assert names(search(city, q="公交")) == ["test-bus-stops"]
    assert names(search(city, q="PM2.5 station")) == ["test-air-quality"]
    assert names(search(city, q="监测站")) == ["test-air-quality"]
    assert search(city, q="shelter pollution")["count"] == 0  # every word must match
    assert sorted(names(search(city, q="transport"))) == ["test-air-quality", "test-bus-stops"]
    assert search(city, q="*:*")["count"] == search(city)["count"] >= 2


def test_field_terms_match_as_ckans_solr_fields_do(city: City, catalogue: Catalogue) -> None:
    stops = result(city, "package_show", id="test-bus-stops")
    cases = {
        "tags:bus": ["test-bus-stops"],
        "tags:transport AND organization:environment": ["test-air-quality"],
        'organization:"roads"': ["test-bus-stops"],
        "groups:envi": ["test-air-quality"],
        "res_format:GeoJSON": ["test-bus-stops"],
        "license_id:CC0-1.0": ["test-air-quality"],
        f"id:{stops['id']}": ["test-bus-stops"],
        f"owner_org:{stops['owner_org']}": ["test-bus-stops"],
        "name:test-bus-*": ["test-bus-stops"],
        "title:quality": ["test-air-quality"],
        "tags:transport -tags:bus": ["test-air-quality"],
        "tags:transport NOT organization:roads": ["test-air-quality"],
        "tags:(bus OR air) AND capacity:public": ["test-air-quality", "test-bus-stops"],
        "tags:bus OR tags:air": ["test-air-quality", "test-bus-stops"],
        "tags:Bus": [],
    }
    for q, expected in cases.items():
        assert sorted(names(search(city, q=q))) == expected, q


def test_fq_narrows_what_q_finds_and_takes_quoted_values(city: City, catalogue: Catalogue) -> None:
    found = search(city, q="transport", fq='organization:"roads" res_format:"CSV"')
    assert names(found) == ["test-bus-stops"]
    assert search(city, q="transport", fq="+groups:tran +license_id:CC0-1.0")["count"] == 0
    listed = search(city, fq_list=["tags:transport", "groups:envi"], post=True)
    assert names(listed) == ["test-air-quality"]
    repeated = city.client.get(
        "/api/3/action/package_search", params=[("fq", "tags:transport"), ("fq", "groups:tran")]
    )
    assert names(repeated.json()["result"]) == ["test-bus-stops"]


def test_a_harvester_asks_for_what_changed_since_its_last_run(
    city: City, catalogue: Catalogue
) -> None:
    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = search(city, fq=f"metadata_modified:[{since} TO *]")
    assert {"test-air-quality", "test-bus-stops"} <= set(names(recent))
    assert search(city, fq="metadata_modified:[* TO NOW-1DAY]")["count"] == 0
    assert search(city, fq="metadata_created:{NOW TO *}")["count"] == 0


def test_rows_start_and_sort_page_through_the_results(city: City, catalogue: Catalogue) -> None:
    everything = names(search(city, sort="name asc", rows=1000))
    assert everything == sorted(everything)
    assert names(search(city, sort="name asc", rows=1, start=1)) == everything[1:2]
    assert names(search(city, sort="name desc", rows=1)) == everything[-1:]
    by_title = search(city, sort="title_string desc")
    assert names(by_title)[0] == "test-bus-stops" and by_title["sort"] == "title_string desc"
    newest = search(city)
    assert newest["sort"] == "score desc, metadata_modified desc"
    modified = [p["metadata_modified"] for p in newest["results"]]
    assert modified == sorted(modified, reverse=True)
    oldest = [p["metadata_modified"] for p in search(city, sort="metadata_modified asc")["results"]]
    assert oldest == sorted(oldest)
    assert search(city, rows=0)["results"] == [] and search(city, rows=0)["count"] >= 2


def test_a_dataset_whose_title_has_the_word_ranks_first(city: City, catalogue: Catalogue) -> None:
    # Both mention buses, the air quality's only in its description; it changed last.
    assert names(search(city, q="bus")) == ["test-bus-stops", "test-air-quality"]
    newest_first = search(city, q="bus", sort="metadata_modified desc")
    assert names(newest_first) == ["test-air-quality", "test-bus-stops"]


def test_facets_count_the_matches_in_ckans_two_shapes(city: City, catalogue: Catalogue) -> None:
    found = search(city, q="transport", **{"facet.field": FACETS})
    assert found["facets"]["tags"] == {"transport": 2, "air": 1, "bus": 1, "pollution": 1}
    assert found["facets"]["res_format"] == {"CSV": 2, "JSON": 2, "Parquet": 2, "GeoJSON": 1}
    tags = found["search_facets"]["tags"]
    assert tags["title"] == "tags"
    assert [item["name"] for item in tags["items"]] == ["transport", "pollution", "bus", "air"]
    organizations = found["search_facets"]["organization"]["items"]
    assert {"name": "roads", "display_name": "Roads", "count": 1} in organizations
    groups = found["search_facets"]["groups"]["items"]
    assert {"name": "envi", "display_name": "Environment", "count": 1} in groups
    licences = found["search_facets"]["license_id"]["items"]
    assert {"name": "CC0-1.0", "display_name": "Creative Commons Zero 1.0 (public domain)",
            "count": 1} in licences  # fmt: skip
    limited = search(city, q="transport", **{"facet.field": '["tags"]', "facet.limit": 1})
    assert limited["facets"]["tags"] == {"transport": 2}
    frequent = search(city, q="transport", **{"facet.field": '["tags"]', "facet.mincount": 2})
    assert frequent["facets"]["tags"] == {"transport": 2}
    assert search(city, q="transport")["facets"] == {}
    as_list = search(city, post=True, q="transport", **{"facet.field": ["groups"]})
    assert as_list["facets"] == {"groups": {"envi": 1, "tran": 1}}


def test_bad_parameters_answer_ckans_errors(city: City, catalogue: Catalogue) -> None:
    def error(status: int, **params: Any) -> dict[str, Any]:
        response = ckan(city, "package_search", **params)
        assert response.status_code == status, response.text
        assert response.json()["success"] is False
        return dict(response.json()["error"])

    assert error(409, rows="many") == {"rows": ["Invalid integer"], "__type": "Validation Error"}
    assert error(409, start="-3")["start"] == ["Must be a natural number"]
    assert error(409, **{"facet.field": "tags"})["facet.field"] == ["Could not parse as valid JSON"]
    assert error(409, **{"facet.field": '"tags"'})["facet.field"] == ["Not a list"]
    assert error(400, sort="colour asc") == {
        "__type": "Search Query Error",
        "message": "Search Query is invalid: ('Invalid \"sort\" parameter',)",
    }
    assert error(400, colour="red")["message"] == (
        "Search Query is invalid: (\"Invalid search parameters: ['colour']\",)"
    )
    assert error(409, q='tags:"bus')["__type"] == "Search Error"
    assert "undefined field colour" in error(409, q="colour:red")["message"]
    assert "undefined field colour" in error(409, **{"facet.field": '["colour"]'})["message"]
    assert "Invalid Date String" in error(409, fq="metadata_modified:[yesterday TO *]")["message"]
    assert search(city, rows=5000, include_private=True)["count"] >= 2  # cut to 1000, no error


def test_a_change_to_the_catalogue_shows_in_the_next_search(
    city: City, catalogue: Catalogue
) -> None:
    assert search(city, q="tags:trams")["count"] == 0
    with city.ctx.writing() as session:
        dataset = service.get_dataset(session, name="test-air-quality")
        service.update_dataset(
            session, dataset=dataset, changes={"keywords": ["air", "pollution", "trams"]}
        )
    assert names(search(city, q="tags:trams")) == ["test-air-quality"]
    with city.ctx.writing() as session:
        dataset = service.get_dataset(session, name="test-air-quality")
        service.update_dataset(session, dataset=dataset, changes={"keywords": list(AIR.keywords)})
    with city.ctx.writing() as session:
        stops = session.scalar(select(Dataset).where(Dataset.name == "test-bus-stops"))
        assert stops is not None
        stops.sensitivity = "shared"  # reclassified: it leaves the open catalogue at once
    try:
        assert search(city, q="shelter")["count"] == 0
        assert ckan(city, "package_show", id="test-bus-stops").status_code == 404
    finally:
        with city.ctx.writing() as session:
            stops = session.scalar(select(Dataset).where(Dataset.name == "test-bus-stops"))
            assert stops is not None
            stops.sensitivity = "open"
    assert names(search(city, q="shelter")) == ["test-bus-stops"]
