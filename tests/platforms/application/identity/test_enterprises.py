"""An enterprise's legal representative authorises agents, who act for it until revoked; staff
look an enterprise up by its code with the representative's number masked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cityloop.base.problems import Problem
from cityloop.platforms.application.identity import enterprises
from cityloop.platforms.application.identity.models import AuditEntry
from tests.support.city import City
from tests.support.identity import (
    CATERING,
    CONSTRUCTION,
    ID_NUMBERS,
    fresh_id_number,
    new_citizen,
    post,
    reach_level_2,
)


@pytest.fixture(scope="module")
def representative(city: City) -> tuple[str, int]:
    """The catering company's legal representative, at level 2 with the registered number."""
    username, user_id = new_citizen(city, "rep")
    reach_level_2(city, username, user_id, ID_NUMBERS[1])
    return username, user_id


def acts_for(city: City, user_id: int, uscc: str) -> bool:
    with city.ctx.db.read() as session:
        try:
            enterprises.acting_for(session, user_id=user_id, uscc=uscc)
        except Problem as refused:
            assert refused.status == 403
            return False
    return True


def test_the_legal_representative_acts_for_the_enterprise(
    city: City, representative: tuple[str, int]
) -> None:
    username, user_id = representative
    assert acts_for(city, user_id, CATERING)
    assert not acts_for(city, user_id, CONSTRUCTION)
    mine = city.client.get("/api/v1/me/enterprises", headers=city.headers(username)).json()
    assert [(e["enterprise"]["uscc"], e["relation"]) for e in mine] == [
        (CATERING, "legal_representative")
    ]
    assert ID_NUMBERS[1] not in str(mine)


def test_the_registered_number_alone_is_not_enough_below_level_2(city: City) -> None:
    username, user_id = new_citizen(city)
    given = post(city, "/me/identity", username, legal_name="李建国", id_number=ID_NUMBERS[0])
    assert given.status_code == 200
    assert not acts_for(city, user_id, CONSTRUCTION)
    assert city.client.get("/api/v1/me/enterprises", headers=city.headers(username)).json() == []


def test_an_agent_acts_until_revoked_and_not_a_moment_after(
    city: City, representative: tuple[str, int]
) -> None:
    rep, _ = representative
    agent, agent_id = new_citizen(city, "agent")
    assert not acts_for(city, agent_id, CATERING)
    granted = post(city, f"/enterprises/{CATERING}/agents", rep, username=agent)
    assert granted.status_code == 201, granted.text
    assert granted.json()["active"] is True and granted.json()["granted_by"] == rep
    assert acts_for(city, agent_id, CATERING)
    mine = city.client.get("/api/v1/me/enterprises", headers=city.headers(agent)).json()
    assert [(e["enterprise"]["uscc"], e["relation"]) for e in mine] == [(CATERING, "agent")]
    grant = granted.json()["id"]
    revoked = post(city, f"/enterprises/{CATERING}/agents/{grant}/revoke", rep)
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert not acts_for(city, agent_id, CATERING)
    with city.ctx.db.read() as session, pytest.raises(Problem) as refused:
        enterprises.acting_for(session, user_id=agent_id, uscc=CATERING)
    assert refused.value.type_ == "not-authorised-for-enterprise"
    assert city.client.get("/api/v1/me/enterprises", headers=city.headers(agent)).json() == []
    twice = post(city, f"/enterprises/{CATERING}/agents/{grant}/revoke", rep)
    assert twice.status_code == 409 and twice.json()["type"].endswith("already-revoked")


def test_grants_and_revocations_are_listed_and_audited(
    city: City, representative: tuple[str, int]
) -> None:
    rep, _ = representative
    agent, _ = new_citizen(city, "listed")
    grant = post(city, f"/enterprises/{CATERING}/agents", rep, username=agent).json()["id"]
    post(city, f"/enterprises/{CATERING}/agents/{grant}/revoke", rep)
    listed = city.client.get(
        f"/api/v1/enterprises/{CATERING}/agents", headers=city.headers(rep)
    ).json()
    row = next(r for r in listed if r["id"] == grant)
    assert row["username"] == agent and row["revoked_by"] == rep and row["revoked_at"]
    with city.ctx.db.read() as session:
        trail = [
            (a.action, a.detail["agent"])
            for a in session.scalars(
                select(AuditEntry).where(AuditEntry.target == f"enterprise:{CATERING}")
            )
        ]
    assert ("enterprise.agent_grant", agent) in trail
    assert ("enterprise.agent_revoke", agent) in trail


def test_bad_grants_are_refused_each_with_its_reason(
    city: City, representative: tuple[str, int]
) -> None:
    rep, _ = representative
    agent, _ = new_citizen(city, "twice")
    path = f"/enterprises/{CATERING}/agents"
    assert post(city, path, rep, username=agent).status_code == 201
    again = post(city, path, rep, username=agent)
    assert again.status_code == 409 and again.json()["type"].endswith("already-agent")
    own = post(city, path, rep, username=rep)
    assert own.status_code == 400 and own.json()["field"] == "username"
    staff = post(city, path, rep, username="handler-roads")
    assert staff.status_code == 400 and staff.json()["field"] == "username"
    assert post(city, path, rep, username="nobody-here").status_code == 404
    unknown = post(city, "/enterprises/91110000600037341L/agents", rep, username=agent)
    assert unknown.status_code == 404
    checksum = post(city, "/enterprises/91110105MA01AB12CA/agents", rep, username=agent)
    assert checksum.status_code == 400 and checksum.json()["type"].endswith("bad-checksum")
    short = post(city, "/enterprises/91110105MA01/agents", rep, username=agent)
    assert short.status_code == 400 and short.json()["type"].endswith("wrong-length")
    missing = post(city, f"{path}/999999/revoke", rep)
    assert missing.status_code == 404


def test_only_the_legal_representative_manages_agents(
    city: City, representative: tuple[str, int]
) -> None:
    rep, _ = representative
    agent, _ = new_citizen(city, "not-rep")
    other, _ = new_citizen(city, "other")
    post(city, f"/enterprises/{CATERING}/agents", rep, username=agent)
    # An agent acts for the enterprise but does not hand its rights on.
    for who in (agent, "admin"):
        refused = post(city, f"/enterprises/{CATERING}/agents", who, username=other)
        assert refused.status_code == 403, who
        listed = city.client.get(
            f"/api/v1/enterprises/{CATERING}/agents", headers=city.headers(who)
        )
        assert listed.status_code == 403, who


def test_staff_look_an_enterprise_up_with_the_number_masked(city: City) -> None:
    found = city.client.get(f"/api/v1/enterprises/{CONSTRUCTION}", headers=city.headers("clerk"))
    assert found.status_code == 200
    body = found.json()
    assert body["name"] == "河畔市鸿图建筑工程有限公司" and body["legal_rep_name"] == "李建国"
    assert body["legal_rep_id_number_masked"] == "1101**********002X"
    assert ID_NUMBERS[0] not in found.text
    assert body["registered_on"] == "2008-09-01" and body["registered_capital_yuan"] == 20000000
    lower = city.client.get(
        f"/api/v1/enterprises/{CONSTRUCTION.lower()}", headers=city.headers("handler-roads")
    )
    assert lower.status_code == 200 and lower.json()["uscc"] == CONSTRUCTION
    citizen, _ = new_citizen(city)
    assert (
        city.client.get(
            f"/api/v1/enterprises/{CONSTRUCTION}", headers=city.headers(citizen)
        ).status_code
        == 403
    )
    assert city.client.get(f"/api/v1/enterprises/{CONSTRUCTION}").status_code == 401
    unknown = city.client.get(
        "/api/v1/enterprises/91110000600037341L", headers=city.headers("clerk")
    )
    assert unknown.status_code == 404


def test_registering_checks_both_numbers(city: City) -> None:
    from datetime import date

    with city.ctx.db.writing() as session, pytest.raises(Problem) as refused:
        enterprises.register_enterprise(
            session,
            uscc=CATERING,
            name="x",
            legal_rep_name="y",
            legal_rep_id_number=fresh_id_number()[:-1] + "Z",
            registered_on=date(2020, 1, 1),
        )
    assert refused.value.field == "legal_rep_id_number"
