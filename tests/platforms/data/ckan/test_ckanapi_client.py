"""A CKAN client that is not ours, ckanapi, reads the open catalogue from a running `cityloop
serve` unchanged: it lists, searches with fq and facets, shows packages and reads a DataStore
resource with filters, and gets CKAN's own exceptions for what is not there."""

from __future__ import annotations

from collections.abc import Iterator

import ckanapi
import pytest

from tests.platforms.data.ckan.conftest import Catalogue
from tests.support.city import City
from tests.support.servers import running


@pytest.fixture(scope="module")
def remote(
    city: City, catalogue: Catalogue, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ckanapi.RemoteCKAN]:
    env = {"CITYLOOP_DATABASE_URL": city.ctx.settings.resolved_database_url}
    with (
        running("serve", tmp_path_factory.mktemp("ckan-serve"), env) as base,
        ckanapi.RemoteCKAN(base, user_agent="cityloop-tests") as client,
    ):
        yield client


def test_ckanapi_lists_searches_and_shows_the_open_datasets(
    remote: ckanapi.RemoteCKAN, catalogue: Catalogue
) -> None:
    assert remote.action.status_show()["ckan_version"].startswith("2.11")
    names = remote.action.package_list()
    assert {"test-bus-stops", "test-air-quality"} <= set(names)
    assert "test-secret-roster" not in names and "test-citizen-files" not in names
    # facet.field has a dot: no keyword argument, so the action is called by name.
    found = remote.call_action(
        "package_search",
        {
            "q": "transport",
            "fq": 'organization:"environment"',
            "facet.field": ["tags", "res_format"],
        },
    )
    assert [p["name"] for p in found["results"]] == ["test-air-quality"]
    assert found["facets"]["tags"] == {"air": 1, "pollution": 1, "transport": 1}
    assert {i["name"] for i in found["search_facets"]["res_format"]["items"]} == {
        "CSV", "JSON", "Parquet",
    }  # fmt: skip
    package = remote.action.package_show(id="test-bus-stops")
    assert package["organization"]["name"] == "roads"
    assert remote.action.package_show(id=package["id"])["name"] == "test-bus-stops"
    resource = remote.action.resource_show(id=catalogue.resources["test-bus-stops"]["CSV"])
    assert resource["package_id"] == package["id"] and resource["datastore_active"] is True
    assert resource["url"].endswith(f"/distributions/{resource['id']}")
    assert "roads" in remote.action.organization_list()
    assert remote.action.group_show(id="tran")["package_count"] == 1


def test_ckanapi_reads_a_datastore_resource_with_filters(
    remote: ckanapi.RemoteCKAN, catalogue: Catalogue
) -> None:
    found = remote.action.datastore_search(
        resource_id=catalogue.resources["test-bus-stops"]["JSON"],
        filters={"district": ["D1", "D3"], "accessible": True},
        fields=["code", "shelters"],
        sort="shelters desc",
    )
    assert found["records"] == [{"code": "S4", "shelters": 3}, {"code": "S1", "shelters": 2}]
    assert found["total"] == 2
    by_get = ckanapi.RemoteCKAN(remote.address, get_only=True)
    with by_get:
        assert (
            by_get.action.datastore_search(
                resource_id=catalogue.resources["test-bus-stops"]["CSV"], q="harbour", limit=1
            )["records"][0]["code"]
            == "S1"
        )


def test_ckanapi_raises_ckans_own_exceptions(
    remote: ckanapi.RemoteCKAN, catalogue: Catalogue
) -> None:
    with pytest.raises(ckanapi.NotFound):
        remote.action.package_show(id="test-secret-roster")
    with pytest.raises(ckanapi.ValidationError) as invalid:
        remote.action.datastore_search(
            resource_id=catalogue.resources["test-bus-stops"]["CSV"], fields=["colour"]
        )
    assert invalid.value.error_dict["fields"] == ['invalid value "colour"']
    with pytest.raises(ckanapi.NotAuthorized):
        remote.action.package_create(name="mine")
    with pytest.raises(ckanapi.SearchQueryError):
        remote.action.package_search(sort="colour asc")


def test_the_served_process_uses_its_own_address_in_links(remote: ckanapi.RemoteCKAN) -> None:
    package = remote.action.package_show(id="test-air-quality")
    assert all(r["url"].startswith(remote.address) for r in package["resources"])
