"""The console's access log: administrators and the supervision centre list every read of
people's and enterprises' data, filtered by whose data and who read it, and see whether the hash
chain holds. Nobody else may; and each look at the log is itself in the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from cityloop.platforms.application.credentials.keys import KeyVault
from cityloop.platforms.data.access import chain
from cityloop.platforms.data.access.models import DataAccess
from cityloop.platforms.data.access.service import record_access
from tests.support.city import City, make_city
from tests.support.databases import BACKENDS
from tests.support.identity import new_citizen

LOG = "/api/v1/data/access-log"
SNACK_SHOP = "92110105MA01CD34ER"


def listing(city: City, who: str = "admin", path: str = LOG, **params: Any) -> Any:
    return city.client.get(path, params=params, headers=city.headers(who))


def audited(city: City, action: str) -> list[dict[str, Any]]:
    trail = city.client.get(
        "/api/v1/audit", params={"target": "access_log"}, headers=city.headers("admin")
    )
    assert trail.status_code == 200, trail.text
    return [entry for entry in trail.json() if entry["action"] == action]


def test_the_log_is_listed_with_whose_data_each_entry_was(city: City) -> None:
    username, user_id = new_citizen(city)
    with city.ctx.writing() as session:
        record_access(
            session, user_id=user_id, actor="counter-7", actor_role="clerk",
            actor_department="command", fields=["legal_name"], purpose="counter_verification",
            reference="test:console",
        )  # fmt: skip
        record_access(
            session, enterprise_uscc=SNACK_SHOP, actor="counter-7", actor_role="clerk",
            fields=["enterprise_registration"], purpose="enterprise_check", grant_id=41,
        )  # fmt: skip
    page = listing(city, actor="counter-7")
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["total"] == 2
    firm, person = body["items"]
    assert (person["user_id"], person["username"], person["enterprise_uscc"]) == (
        user_id,
        username,
        None,
    )
    assert person["department"]["code"] == "command" and len(person["entry_hash"]) == 64
    assert (firm["enterprise_uscc"], firm["username"], firm["grant_id"]) == (SNACK_SHOP, None, 41)
    assert [e["id"] for e in listing(city, username=username).json()["items"]] == [person["id"]]
    assert [e["id"] for e in listing(city, user_id=user_id).json()["items"]] == [person["id"]]
    assert [e["id"] for e in listing(city, uscc=SNACK_SHOP, actor="counter-7").json()["items"]] == [
        firm["id"]
    ]
    only = listing(city, "supervisor", actor="counter-7", purpose="enterprise_check")
    assert [e["id"] for e in only.json()["items"]] == [firm["id"]]
    assert listing(city, actor="counter-7", since="2999-01-01").json()["total"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"username": "nobody-of-that-name"}, "username"),
        ({"uscc": "not-a-code"}, "uscc"),
        ({"since": "soon"}, "since"),
        ({"purpose": "curiosity"}, "purpose"),
        ({"user_id": 0}, "user_id"),
        ({"limit": 1000}, "limit"),
    ],
)
def test_a_bad_filter_is_a_422_naming_it(city: City, params: dict[str, Any], field: str) -> None:
    refused = listing(city, **params)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field


def test_the_log_is_for_administrators_and_supervisors_only(city: City) -> None:
    citizen, _ = new_citizen(city)
    for path in (LOG, f"{LOG}/chain"):
        for who in ("dispatcher", "handler-roads", "clerk", "hotline", citizen):
            refused = listing(city, who, path)
            assert refused.status_code == 403, (who, path)
            assert "admin" in refused.json()["detail"]
        assert city.client.get(path).status_code == 401
        assert listing(city, "supervisor", path).status_code == 200


def test_reading_the_log_and_checking_its_chain_are_audited(city: City) -> None:
    reads, checks = len(audited(city, "access_log.read")), len(audited(city, "access_log.verify"))
    assert listing(city, "supervisor", purpose="review", offset=5).status_code == 200
    newest = audited(city, "access_log.read")
    assert len(newest) == reads + 1
    assert newest[0]["actor"] == "supervisor"
    assert newest[0]["detail"] == {"purpose": "review", "limit": 50, "offset": 5}
    assert listing(city, "admin", f"{LOG}/chain").status_code == 200
    check = audited(city, "access_log.verify")
    assert len(check) == checks + 1 and check[0]["detail"]["intact"] is True
    # A refused look leaves no trace of having read anything.
    listing(city, "dispatcher")
    assert len(audited(city, "access_log.read")) == reads + 1


def test_the_chain_status_reports_the_walk_and_the_newest_checkpoint(city: City) -> None:
    _, user_id = new_citizen(city)
    with city.ctx.writing() as session:
        record_access(
            session, user_id=user_id, actor="counter-8", actor_role="clerk",
            fields=["legal_name"], purpose="counter_verification",
        )  # fmt: skip
        signed = chain.checkpoint(session, vault=KeyVault(city.ctx.settings.resolved_secret_key))
        assert signed is not None
        signed_upto = signed.upto_id
    status = listing(city, "admin", f"{LOG}/chain").json()
    assert status["intact"] is True and status["broken_at"] is None
    assert (status["reason"], status["kind"]) == ("", "")
    assert status["entries"] >= 1 and status["checkpoints"] >= 1
    assert status["latest_checkpoint"]["upto_id"] == signed_upto
    assert len(status["latest_checkpoint"]["upto_hash"]) == 64


@pytest.fixture(params=BACKENDS)
def fresh(
    request: pytest.FixtureRequest, templates: dict[str, str], tmp_path: Path
) -> Iterator[City]:
    """A city of its own: the test damages its log."""
    yield from make_city(templates, request.param, tmp_path)


def test_an_edited_entry_shows_in_the_chain_status(fresh: City) -> None:
    _, user_id = new_citizen(fresh)
    with fresh.ctx.writing() as session:
        entry = record_access(
            session, user_id=user_id, actor="counter-9", actor_role="clerk",
            fields=["legal_name"], purpose="counter_verification",
        )  # fmt: skip
        session.flush()
        session.execute(
            update(DataAccess).where(DataAccess.id == entry.id).values(purpose="review")
        )
    status = listing(fresh, "admin", f"{LOG}/chain").json()
    assert status["intact"] is False and status["broken_at"] == entry.id
    assert "edited" in status["reason"] and status["kind"] == "edited"
    assert audited(fresh, "access_log.verify")[0]["detail"]["broken_at"] == entry.id
