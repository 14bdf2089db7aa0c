"""An enterprise's agent applies for it and loses the application the moment the representative
revokes them; a service needs its real-name level; prefill fills a draft from the city's records
only with consent, and the applicant sees every read of their data."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.city import City
from tests.support.identity import fresh_id_number, new_citizen, reach_level_2
from tests.support.services import GOOD_FORM, call, definition, draft, hand_in, save_service, staff

SNACK_SHOP = "92110105MA01CD34ER"  # the demo citizen 张丽华 is its legal representative
PREFILLED = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "id_number": {"type": "string"},
        "phone": {"type": "string"},
        "firm": {"type": "string"},
        "note": {"type": "string"},
    },
    "required": ["name", "id_number"],
}
PREFILL = {
    "name": "profile.legal_name",
    "id_number": "profile.id_number",
    "phone": "profile.phone",
    "firm": "enterprise.name",
}


@pytest.fixture(scope="module", autouse=True)
def services(city: City) -> None:
    save_service(city, definition())
    save_service(
        city,
        definition(
            "prefilled", form={"schema": PREFILLED}, prefill=PREFILL, materials=[],
            workflow=[{"departments": ["parks"], "days": 3}],
        ),
    )  # fmt: skip
    save_service(city, definition("counter-only", realname_level=3))


def agent(city: City) -> str:
    username, user_id = new_citizen(city, "agent")
    reach_level_2(city, username, user_id, fresh_id_number())
    granted = city.client.post(
        f"/api/v1/enterprises/{SNACK_SHOP}/agents", json={"username": username},
        headers=city.headers("citizen"),
    )  # fmt: skip
    assert granted.status_code == 201, granted.text
    return username


def test_an_agent_applies_for_the_enterprise_until_the_representative_revokes_them(
    city: City,
) -> None:
    username = agent(city)
    application = draft(city, "test-permit", username, enterprise=SNACK_SHOP)
    number = application["id"]
    assert application["enterprise_uscc"] == SNACK_SHOP
    call(city, "PUT", f"/api/v1/applications/{number}/form", username, json={"form": GOOD_FORM})
    hand_in(city, number, username=username)
    assert call(city, "POST", f"/api/v1/applications/{number}/submit", username)["status"] == (
        "submitted"
    )
    # The representative sees the enterprise's application too.
    assert number in [a["id"] for a in call(city, "GET", "/api/v1/me/applications", "citizen")]
    grants = call(city, "GET", f"/api/v1/enterprises/{SNACK_SHOP}/agents", "citizen")
    grant = next(g for g in grants if g["username"] == username and g["revoked_at"] is None)
    call(city, "POST", f"/api/v1/enterprises/{SNACK_SHOP}/agents/{grant['id']}/revoke", "citizen")
    gone = call(city, "GET", f"/api/v1/applications/{number}", username, 403)
    assert gone["type"].endswith("/not-authorised-for-enterprise")
    call(city, "POST", f"/api/v1/applications/{number}/withdraw", username, 403)
    call(
        city,
        "POST",
        "/api/v1/applications",
        username,
        403,
        json={"service": "test-permit", "enterprise": SNACK_SHOP},
    )
    assert call(city, "GET", f"/api/v1/applications/{number}", "citizen")["status"] == "submitted"


def test_nobody_applies_for_an_enterprise_they_do_not_act_for(city: City) -> None:
    username, _ = new_citizen(city, "stranger")
    call(
        city,
        "POST",
        "/api/v1/applications",
        username,
        403,
        json={"service": "test-permit", "enterprise": SNACK_SHOP},
    )
    call(
        city,
        "POST",
        "/api/v1/applications",
        "citizen",
        400,
        json={"service": "test-permit", "enterprise": "123"},
    )


def test_a_service_needing_a_higher_real_name_level_says_how_to_reach_it(city: City) -> None:
    application = draft(city, "counter-only")
    number = application["id"]
    call(city, "PUT", f"/api/v1/applications/{number}/form", "citizen", json={"form": GOOD_FORM})
    hand_in(city, number)
    refused = call(city, "POST", f"/api/v1/applications/{number}/submit", "citizen", 403)
    assert refused["needed_level"] == 3 and "counter" in refused["detail"]
    username, _ = new_citizen(city, "newcomer")
    fresh = draft(city, "test-permit", username)
    call(
        city, "PUT", f"/api/v1/applications/{fresh['id']}/form", username, json={"form": GOOD_FORM}
    )
    hand_in(city, fresh["id"], username=username)
    assert (
        call(city, "POST", f"/api/v1/applications/{fresh['id']}/submit", username, 403)["level"]
        == 1
    )


def prefill(city: City, number: int, expect: int = 200, **body: Any) -> Any:
    return call(
        city, "POST", f"/api/v1/applications/{number}/prefill", "citizen", expect, json=body
    )


def test_prefill_needs_consent_fills_from_records_and_keeps_what_was_typed(city: City) -> None:
    application = draft(city, "prefilled", enterprise=SNACK_SHOP)
    number = application["id"]
    refused = prefill(city, number, 422, consent=False)
    assert refused["type"].endswith("/consent-required")
    typed = {"phone": "13900000000"}
    call(city, "PUT", f"/api/v1/applications/{number}/form", "citizen", json={"form": typed})
    filled = prefill(city, number, consent=True)
    assert filled["form"]["name"] == "张丽华"
    assert filled["form"]["id_number"] == "44030519920415007X"
    assert filled["form"]["firm"] == "河畔市老街张记小吃店"
    assert filled["form"]["phone"] == "13900000000"  # typed by the applicant: kept
    assert set(filled["prefilled"]) == {"name", "id_number", "phone", "firm"}
    assert filled["prefilled"]["name"]["source"] == "profile.legal_name"
    log = call(city, "GET", "/api/v1/me/data-access", "citizen")
    entries = log["items"]
    mine = [e for e in entries if e["reference"] == f"application:{number}"]
    assert mine and mine[0]["purpose"]["code"] == "prefill"
    assert mine[0]["legal_basis"]["code"] == "consent"


def test_a_reviewers_read_is_in_the_applicants_access_log(city: City) -> None:
    application = draft(city, "prefilled")
    number = application["id"]
    prefill(city, number, consent=True)
    call(city, "POST", f"/api/v1/applications/{number}/submit", "citizen")
    staff(city, number, "accept", "handler-urbanmgmt")
    call(city, "GET", f"/api/v1/staff/applications/{number}", "handler-parks")
    log = call(city, "GET", "/api/v1/me/data-access", "citizen")
    entries = log["items"]
    reviews = [
        e
        for e in entries
        if e["reference"] == f"application:{number}" and e["purpose"]["code"] == "review"
    ]
    assert reviews
