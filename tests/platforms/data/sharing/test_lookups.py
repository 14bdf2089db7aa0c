"""Live lookups under grants: is an enterprise registered, is a person's address in a district;
the same 403s as datasets, a grant's parameter filter, and every read in the access log."""

from __future__ import annotations

from sqlalchemy import select

from cityloop.platforms.data.access.models import DataAccess
from tests.support.city import City
from tests.support.identity import fresh_id_number, new_citizen, post, reach_level_2
from tests.support.sharing import approve, ask, call, request

SNACK_SHOP = "92110105MA01CD34ER"
DEMO_ID_NUMBER = "44030519920415007X"  # the demo citizen, whose document's address is Old Town


def test_a_department_checks_an_enterprise_under_its_grant(city: City) -> None:
    refused = ask(city, "enterprise-registered", "handler-fire", 403, params={"uscc": SNACK_SHOP})
    assert refused["reason"] == "no-grant" and "enterprise-registered" in refused["detail"]
    asked = request(city, "handler-fire", "enterprise-registered", kind="lookup")
    assert asked["owner"]["code"] == "market" and asked["title_zh"] == "企业登记核验"
    assert [c["name"] for c in asked["field_choices"]] == ["name", "status"]
    assert [c["name"] for c in asked["filter_choices"]] == ["uscc"]
    approve(city, asked["id"], "handler-market", fields=["status"])
    answer = ask(city, "enterprise-registered", "worker-fire", params={"uscc": SNACK_SHOP})
    assert answer == {
        "lookup": "enterprise-registered",
        "grant_id": asked["id"],
        "answer": {"registered": True, "status": "active"},
    }
    unknown = ask(
        city, "enterprise-registered", "worker-fire", params={"uscc": "91110000600037341L"}
    )
    assert unknown["answer"] == {"registered": False, "status": None}
    outside = ask(
        city, "enterprise-registered", "worker-fire", 403,
        params={"uscc": SNACK_SHOP}, fields=["name"],
    )  # fmt: skip
    assert outside["reason"] == "field-not-granted"
    with city.ctx.db.read() as session:
        logged = session.scalars(
            select(DataAccess).where(DataAccess.enterprise_uscc == SNACK_SHOP)
            .where(DataAccess.purpose == "shared_lookup")
        ).all()  # fmt: skip
    # One read of the enterprise (the unknown code read nobody's registration).
    assert [(e.grant_id, e.actor, e.actor_department, e.fields) for e in logged] == [
        (asked["id"], "worker-fire", "fire", ["enterprise_registration"])
    ]


def test_an_address_check_stays_within_the_grants_district_and_the_person_sees_it(
    city: City,
) -> None:
    asked = request(city, "handler-civil", "address-in-district", kind="lookup")
    approve(
        city, asked["id"], "handler-police", fields=["in_district"],
        row_filter={"district": ["RV01"]},
    )  # fmt: skip
    params = {"id_number": DEMO_ID_NUMBER, "district": "RV01"}
    answer = ask(city, "address-in-district", "handler-civil", params=params, reference="case 7")
    assert answer["answer"] == {"in_district": True}
    other = ask(
        city, "address-in-district", "handler-civil", 403,
        params={"id_number": DEMO_ID_NUMBER, "district": "RV02"},
    )  # fmt: skip
    assert other["reason"] == "outside-grant" and "district = ['RV01']" in other["detail"]
    log = call(city, "GET", "/api/v1/me/data-access", "citizen")["items"]
    checks = [e for e in log if e["purpose"]["code"] == "shared_lookup"]
    assert len(checks) == 1 and checks[0]["reference"] == "case 7"
    assert checks[0]["department"]["code"] == "civil"
    assert [f["code"] for f in checks[0]["fields"]] == ["address"]
    # Someone with no address on file is simply not in the district.
    username, user_id = new_citizen(city)
    number = fresh_id_number()
    reach_level_2(city, username, user_id, number)
    nowhere = ask(
        city, "address-in-district", "handler-civil",
        params={"id_number": number, "district": "RV01"},
    )  # fmt: skip
    assert nowhere["answer"] == {"in_district": False}
    checked = post(
        city, "/identity/counter-verifications", "clerk", username=username, id_number=number,
        address="河港市老城区鼓楼街道 3 号", address_district="RV01",
    )  # fmt: skip
    assert checked.status_code == 200, checked.text
    params = {"id_number": number, "district": "RV01"}
    assert ask(city, "address-in-district", "handler-civil", params=params)["answer"] == {
        "in_district": True
    }


def test_bad_lookup_questions_are_4xx_naming_the_parameter(city: City) -> None:
    # Public security owns the lookup: it asks without a grant.
    def asked(params: object, expect: int) -> dict:
        return ask(city, "address-in-district", "handler-police", expect, params=params)  # type: ignore[no-any-return]

    assert asked({"id_number": DEMO_ID_NUMBER}, 422)["field"] == "params.district"
    assert asked({"id_number": DEMO_ID_NUMBER, "district": "RV01", "x": 1}, 422)["field"] == (
        "params.x"
    )
    wrong = asked({"id_number": "44030519920415007Y", "district": "RV01"}, 400)
    assert wrong["field"] == "params.id_number"
    assert asked({"id_number": DEMO_ID_NUMBER, "district": "RV01-S01"}, 422)["field"] == (
        "params.district"
    )
    assert asked([1, 2], 422)["field"] == "params"
    person = ask(city, "person-profile", "handler-police", 422, params={})
    assert "one of the two" in person["detail"]
    assert ask(city, "horoscope", "handler-police", 404, params={})["type"].endswith("/not-found")
    mine = ask(
        city, "person-profile", "handler-police", params={"id_number": DEMO_ID_NUMBER},
        fields=["legal_name", "real_name_level"],
    )  # fmt: skip
    assert mine["grant_id"] is None
    assert mine["answer"] == {"found": True, "legal_name": "张丽华", "real_name_level": 2}
    assert (
        ask(city, "person-profile", "handler-police", 422, params={"user_id": 1}, fields=["shoe"])[
            "field"
        ]
        == "fields"
    )


def test_the_lookups_are_listed_with_what_my_department_holds(city: City) -> None:
    listed = {x["name"]: x for x in call(city, "GET", "/api/v1/data/lookups", "handler-urbanmgmt")}
    assert set(listed) >= {
        "enterprise-registered", "enterprise-profile", "address-in-district", "person-profile",
    }  # fmt: skip
    # The demo city's standing grant for prefilling forms.
    profile = listed["person-profile"]
    assert profile["access"] == "granted" and profile["owner"]["code"] == "police"
    assert profile["params"] == ["user_id", "id_number"] and profile["always"] == ["found"]
    assert listed["address-in-district"]["access"] == "none"
    police = {x["name"]: x for x in call(city, "GET", "/api/v1/data/lookups", "worker-police")}
    assert police["person-profile"]["access"] == "own"
