"""A table with a decimal column uploads, publishes and previews (Frictionless reads "number"
cells as Decimals, which JSON does not take)."""

from __future__ import annotations

from tests.support.city import City

TREES = {
    "name": "street-trees",
    "title": "Street trees",
    "title_zh": "行道树",
    "theme": "ENVI",
    "frequency": "MONTHLY",
    "licence": "CC-BY-4.0",
    "sensitivity": "open",
    "table_schema": {
        "fields": [
            {"name": "tree", "type": "string", "constraints": {"required": True}},
            {"name": "height", "type": "number"},
        ]
    },
}


def test_a_table_with_decimal_heights_is_accepted_and_previews_its_numbers(city: City) -> None:
    headers = city.headers("handler-parks")
    made = city.client.post("/api/v1/data/datasets", headers=headers, json=TREES)
    assert made.status_code == 201, made.text
    upload = city.client.post(
        "/api/v1/data/datasets/street-trees/uploads",
        headers=headers,
        files={"file": ("trees.csv", b"tree,height\nT1,4.5\nT2,6\n", "text/csv")},
    )
    assert upload.status_code == 201, upload.text
    assert upload.json()["rows"] == 2
    preview = city.client.get("/api/v1/data/datasets/street-trees/preview").json()
    assert [r["height"] for r in preview["records"]] == [4.5, 6]
    listed = city.client.get("/api/v1/data/datasets", params={"q": "Street trees"}).json()
    assert listed["items"][0]["completeness"] == 1.0
