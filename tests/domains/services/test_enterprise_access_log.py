"""An application filed for an enterprise is the enterprise's data too: a reviewer's read of it,
and the licence issued from it, are in the enterprise's access log as well as the applicant's."""

from __future__ import annotations

import pytest

from tests.support.city import City
from tests.support.services import (
    GOOD_FORM,
    call,
    definition,
    draft,
    hand_in,
    save_service,
    staff,
    step_of,
)

SNACK_SHOP = "92110105MA01CD34ER"  # the demo citizen 张丽华 is its legal representative


LICENCE = {
    "type": "firm-licence", "name": "Test licence", "name_zh": "测试许可证", "valid_days": 30,
    "claims": {"holder": "applicant.name", "number": "application.number"}, "disclosable": [],
}  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def services(city: City) -> None:
    save_service(city, definition())
    one_stage = [{"departments": ["parks"], "days": 3}]
    save_service(city, definition("firm-licensed", workflow=one_stage, licence=LICENCE))


def entries(city: City, path: str, number: int, purpose: str = "review") -> list[str]:
    page = call(city, "GET", path, "citizen", params={"purpose": purpose})
    return [e["reference"] for e in page["items"] if e["reference"] == f"application:{number}"]


def test_a_review_of_an_enterprises_application_is_in_the_enterprises_log(city: City) -> None:
    firm = f"/api/v1/enterprises/{SNACK_SHOP}/data-access"
    application = draft(city, "test-permit", "citizen", enterprise=SNACK_SHOP)
    number = application["id"]
    call(city, "PUT", f"/api/v1/applications/{number}/form", "citizen", json={"form": GOOD_FORM})
    hand_in(city, number)
    call(city, "POST", f"/api/v1/applications/{number}/submit", "citizen")
    assert entries(city, firm, number) == []
    call(city, "GET", f"/api/v1/staff/applications/{number}", "handler-urbanmgmt")
    assert entries(city, firm, number) == [f"application:{number}"]
    assert entries(city, "/api/v1/me/data-access", number) == [f"application:{number}"]


def test_a_review_of_a_persons_application_is_not_in_any_enterprises_log(city: City) -> None:
    firm = f"/api/v1/enterprises/{SNACK_SHOP}/data-access"
    application = draft(city, "test-permit", "citizen")
    number = application["id"]
    call(city, "PUT", f"/api/v1/applications/{number}/form", "citizen", json={"form": GOOD_FORM})
    hand_in(city, number)
    call(city, "POST", f"/api/v1/applications/{number}/submit", "citizen")
    call(city, "GET", f"/api/v1/staff/applications/{number}", "handler-urbanmgmt")
    assert entries(city, "/api/v1/me/data-access", number) == [f"application:{number}"]
    assert entries(city, firm, number) == []


def test_a_licence_issued_to_an_enterprise_is_in_the_enterprises_log(city: City) -> None:
    firm = f"/api/v1/enterprises/{SNACK_SHOP}/data-access"
    number = draft(city, "firm-licensed", "citizen", enterprise=SNACK_SHOP)["id"]
    call(city, "PUT", f"/api/v1/applications/{number}/form", "citizen", json={"form": GOOD_FORM})
    hand_in(city, number)
    call(city, "POST", f"/api/v1/applications/{number}/submit", "citizen")
    accepted = staff(city, number, "accept", "handler-urbanmgmt")
    issued = staff(
        city, number, f"steps/{step_of(accepted, 'parks')['id']}/approve", "handler-parks"
    )
    assert issued["status"] == "issued", issued["status"]
    assert entries(city, firm, number, "licence_issue") == [f"application:{number}"]
    assert entries(city, "/api/v1/me/data-access", number, "licence_issue") == [
        f"application:{number}"
    ]
