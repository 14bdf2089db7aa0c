"""The services domain's prefill is a grant like any other: a service's department fills a form
from people's profiles and enterprise registrations only under its grant, the access-log entry
names the grant, and without one the form stays empty and the answer says why."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from cityloop.platforms.data.access.models import DataAccess
from tests.support.city import City
from tests.support.services import definition, draft, save_service
from tests.support.sharing import GRANTS, approve, call, request

SNACK_SHOP = "92110105MA01CD34ER"  # the demo citizen 张丽华 is its legal representative
SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "phone": {"type": "string"},
        "firm": {"type": "string"},
    },
}
PREFILL = {"name": "profile.legal_name", "phone": "profile.phone", "firm": "enterprise.name"}


@pytest.fixture(scope="module", autouse=True)
def services(city: City) -> None:
    # Environment holds no standing grant in the demo city; urban management holds both.
    for code, department in (("env-prefill", "environment"), ("city-prefill", "urbanmgmt")):
        save_service(
            city,
            definition(
                code, department=department, form={"schema": SCHEMA}, prefill=PREFILL,
                materials=[], workflow=[{"departments": [department], "days": 3}],
            ),
        )  # fmt: skip


def prefill(city: City, service: str) -> dict[str, Any]:
    application = draft(city, service, enterprise=SNACK_SHOP)
    return dict(
        call(
            city, "POST", f"/api/v1/applications/{application['id']}/prefill", "citizen",
            json={"consent": True},
        )
    )  # fmt: skip


def entries(city: City, number: int) -> list[DataAccess]:
    with city.ctx.db.read() as session:
        query = select(DataAccess).where(DataAccess.reference == f"application:{number}")
        return list(session.scalars(query.order_by(DataAccess.id)))


def test_a_department_with_the_standing_grants_fills_the_form_and_the_log_names_them(
    city: City,
) -> None:
    filled = prefill(city, "city-prefill")
    assert filled["form"] == {
        "name": "张丽华",
        "phone": "13800138000",
        "firm": "河畔市老街张记小吃店",
    }
    assert filled["not_filled"] == []
    grants = {
        g["name"]: g["id"]
        for g in call(city, "GET", f"{GRANTS}?view=requests&status=approved", "handler-urbanmgmt")[
            "items"
        ]
    }
    logged = entries(city, filled["id"])
    assert [(e.user_id is not None, e.grant_id, e.fields) for e in logged] == [
        (True, grants["person-profile"], ["legal_name", "phone"]),
        (False, grants["enterprise-profile"], ["enterprise_registration"]),
    ]
    assert logged[0].actor == "system:prefill" and logged[0].actor_department == "urbanmgmt"
    assert logged[1].enterprise_uscc == SNACK_SHOP
    assert all(e.legal_basis == "consent" and e.consent_id for e in logged)


def test_without_a_grant_prefill_fills_nothing_and_says_why_in_both_languages(
    city: City,
) -> None:
    empty = prefill(city, "env-prefill")
    assert empty["form"] == {} and empty["prefilled"] == {}
    gaps = {gap["source"]: gap for gap in empty["not_filled"]}
    assert gaps["profile"]["fields"] == ["name", "phone"]
    assert gaps["profile"]["reason"] == "no-grant" and "environment" in gaps["profile"]["message"]
    assert "共享授权" in gaps["profile"]["message_zh"]
    assert gaps["enterprise"]["fields"] == ["firm"] and gaps["enterprise"]["reason"] == "no-grant"
    assert entries(city, empty["id"]) == []  # nothing was read


def test_a_grant_fills_what_it_covers_and_a_revoked_one_nothing(city: City) -> None:
    asked = request(city, "handler-environment", "person-profile", kind="lookup")
    approve(city, asked["id"], "handler-police", fields=["legal_name"])
    partly = prefill(city, "env-prefill")
    assert partly["form"] == {"name": "张丽华"}
    gaps = {gap["source"]: gap for gap in partly["not_filled"]}
    assert gaps["profile"]["fields"] == ["phone"]
    assert gaps["profile"]["reason"] == "field-not-granted"
    assert "phone" in gaps["profile"]["message"]
    assert [(e.grant_id, e.fields) for e in entries(city, partly["id"])] == [
        (asked["id"], ["legal_name"])
    ]
    # The citizen sees the read with its purpose and their consent.
    log = call(city, "GET", "/api/v1/me/data-access", "citizen")["items"]
    mine = [e for e in log if e["reference"] == f"application:{partly['id']}"]
    assert mine[0]["purpose"]["code"] == "prefill" and mine[0]["legal_basis"]["code"] == "consent"
    assert mine[0]["department"]["code"] == "environment"

    call(
        city, "POST", f"{GRANTS}/{asked['id']}/revoke", "handler-police",
        json={"reason": "the service no longer needs names"},
    )  # fmt: skip
    revoked = prefill(city, "env-prefill")
    assert revoked["form"] == {}
    gaps = {gap["source"]: gap for gap in revoked["not_filled"]}
    assert gaps["profile"]["reason"] == "grant-revoked"
    assert "the service no longer needs names" in gaps["profile"]["message"]
