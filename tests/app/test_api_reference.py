"""The API reference is the project's own page: Swagger UI from the npm build, no CDN."""

from __future__ import annotations

import re

from tests.support.city import City


def test_docs_and_redoc_lead_to_the_built_reference_not_fastapis_cdn_pages(city: City) -> None:
    for path in ("/docs", "/redoc"):
        response = city.client.get(path, follow_redirects=False)
        assert response.status_code == 307 and response.headers["location"] == "/apidocs/"
        assert "cdn" not in city.client.get(path).text.lower()


def test_the_reference_page_loads_only_files_of_its_own(city: City) -> None:
    page = city.client.get("/apidocs/")
    assert page.status_code == 200, page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/apidocs/") for s in sources)
    for source in sources:
        assert city.client.get(source).status_code == 200, source


def test_the_openapi_document_says_which_operations_need_a_bearer_token(city: City) -> None:
    document = city.client.get("/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    paths = document["paths"]
    assert paths["/api/v1/data/datasets"]["post"]["security"] == [{"bearer": []}]
    assert paths["/api/v1/data/grants"]["get"]["security"] == [{"bearer": []}]
    assert "security" not in paths["/api/v1/data/datasets"]["get"]  # open to everyone
    assert "security" not in paths["/api/v1/categories"]["get"]
    assert all(op.get("summary") for ops in paths.values() for op in ops.values())


def test_every_operation_says_what_it_does(city: City) -> None:
    document = city.client.get("/openapi.json").json()
    bare = [
        f"{m} {p}"
        for p, ops in document["paths"].items()
        for m, op in ops.items()
        if not op.get("description")
    ]
    assert bare == []


def test_the_document_declares_the_api_keys_of_ngsi_ld_and_of_device_ingest(city: City) -> None:
    document = city.client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": schemes["apiKey"]["description"],
    }
    assert schemes["deviceKey"]["in"] == "query" and schemes["deviceKey"]["name"] == "k"
    create = document["paths"]["/ngsi-ld/v1/entities"]["post"]
    assert {"apiKey": []} in create["security"] and {"bearer": []} in create["security"]
    assert document["paths"]["/iot/d"]["post"]["security"] == [{"deviceKey": []}]
