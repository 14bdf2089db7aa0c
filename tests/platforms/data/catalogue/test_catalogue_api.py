"""The catalogue over HTTP: the public sees open datasets only, downloads carry their checksum,
the DCAT-AP output parses as RDF and is complete, and departments define tables, upload them
(a table with bad rows changes nothing and names every bad cell) and define views."""

from __future__ import annotations

import hashlib
import io
import json

import openpyxl
import pytest
from rdflib import Graph
from rdflib.namespace import DCAT, DCTERMS, RDF

from cityloop.platforms.data.catalogue import service
from tests.support.catalogue import publish, spec
from tests.support.city import City

SCHEMA = {
    "fields": [
        {"name": "code", "type": "string", "constraints": {"required": True}},
        {"name": "district", "type": "string"},
        {"name": "beds", "type": "integer"},
        {"name": "opened", "type": "date"},
    ]
}
TABLE = {
    "name": "care-homes",
    "title": "Care homes",
    "title_zh": "养老院",
    "description": "Licensed care homes.",
    "description_zh": "持证养老院。",
    "keywords": ["care", "elderly"],
    "theme": "HEAL",
    "frequency": "MONTHLY",
    "sensitivity": "open",
    "table_schema": SCHEMA,
}


@pytest.fixture(scope="module")
def catalogue(city: City) -> City:
    fields = [{"name": "code", "type": "string"}, {"name": "lat", "type": "number"},
              {"name": "lon", "type": "number"}]  # fmt: skip
    publish(city, spec("test-benches", fields=fields), [{"code": "B1", "lat": 31.2, "lon": 121.4}])
    secret = [{"name": "site", "type": "string"}, {"name": "risk", "type": "integer"}]
    publish(city, spec("test-risk-sites", fields=secret, sensitivity="shared", licence="internal",
                       owner_department="police"), [{"site": "S1", "risk": 3}])  # fmt: skip
    headers = city.headers("handler-civil")
    made = city.client.post("/api/v1/data/datasets", json=TABLE, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["owner"]["code"] == "civil" and made.json()["source"] == "upload"
    good = b"code,district,beds,opened\nC1,north,40,2019-05-01\nC2,south,,2021-02-03\n"
    sent = city.client.post(
        "/api/v1/data/datasets/care-homes/uploads",
        files={"file": ("homes.csv", good, "text/csv")}, headers=headers,
    )  # fmt: skip
    assert sent.status_code == 201, sent.text
    assert sent.json()["rows"] == 2
    return city


def test_the_public_sees_open_datasets_and_staff_see_every_entry(catalogue: City) -> None:
    public = catalogue.client.get("/api/v1/data/datasets", params={"limit": 200}).json()
    names = {d["name"] for d in public["items"]}
    assert "test-benches" in names and "test-risk-sites" not in names
    staff = catalogue.client.get(
        "/api/v1/data/datasets", params={"limit": 200}, headers=catalogue.headers("admin")
    ).json()
    assert "test-risk-sites" in {d["name"] for d in staff["items"]}
    assert catalogue.client.get("/api/v1/data/datasets/test-risk-sites").status_code == 404


def test_a_download_is_the_file_its_checksum_and_size_describe(catalogue: City) -> None:
    shown = catalogue.client.get("/api/v1/data/datasets/test-benches").json()
    assert shown["sensitivity"]["name_zh"] and shown["theme"]["code"] == "REGI"
    for distribution in shown["distributions"]:
        answer = catalogue.client.get(distribution["url"].removeprefix("http://testserver"))
        assert answer.status_code == 200, distribution
        assert hashlib.sha256(answer.content).hexdigest() == distribution["sha256"]
        assert len(answer.content) == distribution["byte_size"]


def test_shared_rows_are_not_previewed_or_downloaded_without_a_grant(catalogue: City) -> None:
    headers = catalogue.headers("handler-roads")
    preview = catalogue.client.get("/api/v1/data/datasets/test-risk-sites/preview", headers=headers)
    assert preview.status_code == 403 and "grant" in preview.json()["detail"]
    own = catalogue.client.get(
        "/api/v1/data/datasets/test-risk-sites/preview", headers=catalogue.headers("handler-police")
    )
    assert own.status_code == 200 and own.json()["records"][0]["site"] == "S1"


@pytest.mark.parametrize("extension", ["ttl", "jsonld", "rdf"])
def test_the_dcat_catalogue_parses_and_names_every_open_dataset_and_file(
    catalogue: City, extension: str
) -> None:
    answer = catalogue.client.get(f"/api/v1/data/catalog.{extension}")
    assert answer.status_code == 200
    graph = Graph().parse(
        data=answer.content, format={"ttl": "turtle", "jsonld": "json-ld", "rdf": "xml"}[extension]
    )
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    listed = catalogue.client.get("/api/v1/data/datasets", params={"limit": 200}).json()
    assert len(datasets) == listed["total"]
    for node in datasets:
        titles = {t.language for t in graph.objects(node, DCTERMS.title)}
        assert titles == {"en", "zh"}, node
        for required in (DCTERMS.identifier, DCAT.theme, DCTERMS.accrualPeriodicity,
                         DCTERMS.publisher, DCAT.contactPoint, DCTERMS.modified):  # fmt: skip
            assert graph.value(node, required) is not None, (node, required)
        for distribution in graph.objects(node, DCAT.distribution):
            for required in (DCAT.downloadURL, DCTERMS.format, DCAT.mediaType, DCAT.byteSize):
                assert graph.value(distribution, required) is not None, (distribution, required)
    assert not any("risk-sites" in str(node) for node in datasets)


def _xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_department_defines_a_table_and_an_upload_with_bad_rows_changes_nothing(
    catalogue: City,
) -> None:
    headers = catalogue.headers("handler-civil")
    bad = _xlsx([["code", "district", "beds", "opened"], ["C3", "east", "many", "2020-01-01"],
                 [None, "west", 10, "2020-13-01"]])  # fmt: skip
    refused = catalogue.client.post(
        "/api/v1/data/datasets/care-homes/uploads",
        files={"file": ("homes.xlsx", bad, "application/octet-stream")}, headers=headers,
    )  # fmt: skip
    assert refused.status_code == 422
    report = refused.json()["upload"]
    assert report["status"] == "rejected" and report["error_count"] == 3
    assert {(e["row"], e["field"]) for e in report["errors"]} == {
        (2, "beds"),
        (3, "code"),
        (3, "opened"),
    }
    rows = catalogue.client.get("/api/v1/data/datasets/care-homes/preview").json()
    assert [r["code"] for r in rows["records"]] == ["C1", "C2"]
    assert rows["records"][0]["opened"] == "2019-05-01"
    history = catalogue.client.get("/api/v1/data/datasets/care-homes/uploads", headers=headers)
    assert [u["status"] for u in history.json()][:2] == ["rejected", "accepted"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"theme": "NOPE"}, "theme"),
        ({"frequency": "SOMETIMES"}, "frequency"),
        ({"name": "Bad Name!"}, "name"),
        ({"table_schema": {"fields": [{"name": "x", "type": "banana"}]}}, "table_schema"),
        (
            {"table_schema": {"fields": [{"name": "reporter_phone", "type": "string"}]}},
            "table_schema",
        ),
        ({"licence": "internal"}, "licence"),
        ({"sensitivity": "personal", "licence": "internal"}, "table_schema"),
        ({"table_schema": None}, "table_schema"),
    ],
)
def test_a_bad_dataset_entry_is_a_422_naming_it(catalogue: City, change: dict, field: str) -> None:
    body = {**TABLE, "name": "bad-entry", **change}
    answer = catalogue.client.post(
        "/api/v1/data/datasets", json=body, headers=catalogue.headers("handler-civil")
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field or field in answer.text


def test_uploads_refuse_other_departments_foreign_formats_and_built_datasets(
    catalogue: City,
) -> None:
    def send(name: str, user: str, filename: str = "t.csv", data: bytes = b"code\nX\n") -> int:
        return catalogue.client.post(
            f"/api/v1/data/datasets/{name}/uploads",
            files={"file": (filename, data, "text/plain")}, headers=catalogue.headers(user),
        ).status_code  # fmt: skip

    assert send("care-homes", "handler-roads") == 403
    assert send("care-homes", "handler-civil", filename="t.txt") == 422
    assert send("care-homes", "handler-civil", data=b"") == 422
    assert send("test-benches", "admin") == 409
    assert send("no-such-dataset", "admin") == 404
    again = catalogue.client.post(
        "/api/v1/data/datasets", json=TABLE, headers=catalogue.headers("handler-civil")
    )
    assert again.status_code == 409


def test_a_view_sums_its_source_and_cannot_read_another_departments_shared_data(
    catalogue: City,
) -> None:
    headers = catalogue.headers("handler-civil")
    view = {
        **{k: v for k, v in TABLE.items() if k != "table_schema"},
        "name": "beds-by-district",
        "title": "Beds by district",
        "title_zh": "各区床位数",
        "view_query": {
            "source": "care-homes",
            "group_by": ["district"],
            "aggregates": [{"op": "sum", "field": "beds", "as": "beds"},
                           {"op": "count", "as": "homes"}],
        },
    }  # fmt: skip
    made = catalogue.client.post("/api/v1/data/datasets", json=view, headers=headers)
    assert made.status_code == 201, made.text
    rows = catalogue.client.get("/api/v1/data/datasets/beds-by-district/preview").json()["records"]
    assert [(r["district"], r["beds"], r["homes"]) for r in rows] == [
        ("north", 40, 1),
        ("south", None, 1),
    ]
    sneaky = {**view, "name": "risky", "view_query": {"source": "test-risk-sites"}}
    assert (
        catalogue.client.post("/api/v1/data/datasets", json=sneaky, headers=headers).status_code
        == 403
    )
    wrong = {**view, "name": "wrong", "view_query": {"source": "care-homes", "group_by": ["nope"]}}
    answer = catalogue.client.post("/api/v1/data/datasets", json=wrong, headers=headers)
    assert answer.status_code == 422 and "nope" in answer.json()["detail"]


def test_a_citizen_cannot_define_datasets(catalogue: City) -> None:
    answer = catalogue.client.post(
        "/api/v1/data/datasets",
        json={**TABLE, "name": "mine"},
        headers=catalogue.headers("citizen"),
    )
    assert answer.status_code == 403
    assert json.loads(answer.text)["status"] == 403


def test_the_dcat_catalogue_holds_every_open_dataset_not_one_page(
    catalogue: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "MAX_PAGE", 1)  # a page of the list API holds one dataset
    graph = Graph().parse(
        data=catalogue.client.get("/api/v1/data/catalog.ttl").content, format="turtle"
    )
    monkeypatch.undo()
    listed = catalogue.client.get("/api/v1/data/datasets", params={"limit": 200}).json()
    assert listed["total"] > 1
    assert len(set(graph.subjects(RDF.type, DCAT.Dataset))) == listed["total"]
