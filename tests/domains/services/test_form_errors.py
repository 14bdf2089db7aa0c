"""A refused form names each failing field once: every missing required field by its own name,
so the citizen app can put each complaint under its field."""

from __future__ import annotations

from tests.support.city import City
from tests.support.services import call, draft


def test_each_missing_required_field_is_named(city: City) -> None:
    number = draft(city, "street-vending")["id"]
    form = {"id_number": "44030519920415007X", "phone": "13800138000"}
    call(city, "PUT", f"/api/v1/applications/{number}/form", "citizen", json={"form": form})
    problem = call(city, "POST", f"/api/v1/applications/{number}/submit", "citizen", 422)
    assert problem["type"].endswith("/invalid-form")
    assert [(e["field"], e["rule"]) for e in problem["errors"]] == [
        ("goods", "required"),
        ("hours", "required"),
        ("zone", "required"),
        ("materials.stall-photo", "required"),
    ]


def test_a_bad_value_and_a_missing_field_are_named_apart(city: City) -> None:
    number = draft(city, "street-vending")["id"]
    form = {"id_number": "44030519920415007X", "phone": "12345", "zone": "nowhere"}
    call(city, "PUT", f"/api/v1/applications/{number}/form", "citizen", json={"form": form})
    problem = call(city, "POST", f"/api/v1/applications/{number}/submit", "citizen", 422)
    named = {(e["field"], e["rule"]) for e in problem["errors"]}
    assert named == {
        ("goods", "required"),
        ("hours", "required"),
        ("phone", "pattern"),
        ("zone", "oneOf"),
        ("materials.stall-photo", "required"),
    }


def test_one_refusal_names_the_failing_fields_and_the_missing_materials_together(
    city: City,
) -> None:
    number = draft(city, "street-vending")["id"]
    problem = call(city, "POST", f"/api/v1/applications/{number}/submit", "citizen", 422)
    assert problem["type"].endswith("/invalid-form")
    fields = [e["field"] for e in problem["errors"]]
    assert fields == ["goods", "hours", "id_number", "phone", "zone", "materials.stall-photo"]
