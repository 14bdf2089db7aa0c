"""The wallet names each licence claim in both languages: a form's claim by its field's title,
the others by what they are, and a chosen value (a form's choice) by the choice's title."""

from __future__ import annotations

from typing import Any

from tests.support.city import City
from tests.support.media import jpeg_bytes
from tests.support.services import call, draft, staff, step_of

STREET_VENDING_FORM = {
    "id_number": "110105199003071234",
    "phone": "13800138000",
    "zone": "RV02-S03-wharf-square",
    "goods": "crafts",
    "hours": "17:00-22:00",
}


def street_vending_licence(city: City) -> dict[str, Any]:
    """The demo's street-vending permit, applied for and approved, as the wallet shows it."""
    number = draft(city, "street-vending")["id"]
    call(city, "PUT", f"/api/v1/applications/{number}/form", "citizen",
         json={"form": STREET_VENDING_FORM})  # fmt: skip
    response = city.client.post(
        f"/api/v1/applications/{number}/materials", data={"material": "stall-photo"},
        files={"file": ("stall.jpg", jpeg_bytes(), "image/jpeg")}, headers=city.headers("citizen"),
    )  # fmt: skip
    assert response.status_code == 201, response.text
    call(city, "POST", f"/api/v1/applications/{number}/submit", "citizen")
    accepted = staff(city, number, "accept", "handler-urbanmgmt")
    step = step_of(accepted, "urbanmgmt")
    approved = staff(city, number, f"steps/{step['id']}/approve", "handler-urbanmgmt")
    assert approved["status"] == "issued", approved["status"]
    wallet = call(city, "GET", "/api/v1/me/licences", "citizen")
    return next(w for w in wallet if w["application_id"] == number)


def test_each_claim_of_a_licence_has_a_name_in_both_languages(city: City) -> None:
    licence = street_vending_licence(city)
    labels = licence["labels"]
    assert set(labels) == set(licence["claims"]) | set(licence["disclosable"])
    assert labels["location"]["name"] == "Vending zone"
    assert labels["location"]["name_zh"] == "便民疏导点"
    assert labels["holder_name"]["name_zh"] == "持证人"
    assert labels["permit_number"]["name"] == "Number"


def test_a_chosen_value_is_named_by_its_choice(city: City) -> None:
    licence = street_vending_licence(city)
    assert licence["claims"]["location"] == "RV02-S03-wharf-square"
    zone = licence["labels"]["location"]["values"]["RV02-S03-wharf-square"]
    assert zone == {"name": "Wharf Square (Riverside)", "name_zh": "码头广场（滨江区）"}
    assert licence["labels"]["goods"]["values"]["crafts"]["name_zh"] == "手工艺品及小修小补"
    assert licence["labels"]["id_number"]["values"] == {}
