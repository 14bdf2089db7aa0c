"""A department requests a grant on another's personal dataset, is approved, reads what the grant
allows, and the grant expires; the citizen sees every read, with the grant it went through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from cityloop.base.outbox import OutboxEvent
from cityloop.platforms.application.identity.models import AuditEntry, User
from cityloop.platforms.application.notify import service as notify
from cityloop.platforms.data.access.models import DataAccess
from cityloop.platforms.data.sharing import service
from cityloop.platforms.data.sharing.models import DataGrant
from tests.platforms.data.sharing.conftest import People
from tests.support.city import City
from tests.support.sharing import ALLOWANCES, GRANTS, approve, call, request, rows

DATASET = ALLOWANCES.name


def log_of(city: City, username: str) -> list[dict]:
    return list(call(city, "GET", "/api/v1/me/data-access", username)["items"])


def test_request_approve_read_expire_and_the_citizen_sees_every_read(
    city: City, people: People
) -> None:
    # Without a grant the answer is 403, saying why and where to ask, in both languages.
    refused = rows(city, DATASET, "handler-health", 403)
    assert refused["type"].endswith("/no-grant") and refused["reason"] == "no-grant"
    assert "health" in refused["detail"] and DATASET in refused["detail"]
    assert "POST /api/v1/data/grants" in refused["detail"]
    assert "卫生健康委员会" in refused["detail_zh"] and "申请" in refused["detail_zh"]

    asked = request(city, "handler-health", DATASET, fields=["name", "district"])
    grant_id = asked["id"]
    assert asked["status"] == "requested" and asked["owner"]["code"] == "civil"
    assert asked["requester"]["code"] == "health" and asked["requested_by"] == "handler-health"
    assert asked["actions"] == []  # the requester does not decide
    assert [c["name"] for c in asked["field_choices"]] == [
        "user_id", "name", "phone", "district", "monthly_yuan",
    ]  # fmt: skip

    pending = rows(city, DATASET, "handler-health", 403)
    assert pending["reason"] == "grant-pending" and pending["grant_id"] == grant_id
    approve(city, grant_id, "handler-health", 403, fields=["name"])

    decisions = call(city, "GET", f"{GRANTS}?view=decisions", "handler-civil")
    mine = next(g for g in decisions["items"] if g["id"] == grant_id)
    assert mine["actions"] == ["approve", "refuse"]
    assert grant_id not in [
        g["id"] for g in call(city, "GET", f"{GRANTS}?view=requests", "handler-civil")["items"]
    ]
    approved = approve(
        city, grant_id, "handler-civil", fields=["name", "district", "monthly_yuan"],
        row_filter={"district": "RV01"}, note="for the 2027 allowance check",
    )  # fmt: skip
    assert approved["status"] == "approved" and approved["decided_by"] == "handler-civil"
    assert approved["actions"] == ["revoke"]

    # The grant's fields and rows, nothing else: Riverside's row and the phone stay out.
    read = rows(city, DATASET, "handler-health", sort="monthly_yuan desc")
    assert read["grant_id"] == grant_id and read["total"] == 3
    assert [f["id"] for f in read["fields"]] == ["_id", "name", "district", "monthly_yuan"]
    assert [r["name"] for r in read["records"]] == ["张丽华", "李四", "赵六"]
    assert all(set(r) == {"_id", "name", "district", "monthly_yuan"} for r in read["records"])
    assert rows(city, DATASET, "handler-health", q="王")["total"] == 0
    narrowed = rows(city, DATASET, "handler-health", filters='{"monthly_yuan": [250, 100]}')
    assert [r["name"] for r in narrowed["records"]] == ["李四", "赵六"]
    for query, field in [
        ({"fields": "name,phone"}, "phone"),
        ({"filters": '{"phone": "13800138000"}'}, "phone"),
        ({"sort": "user_id"}, "user_id"),
    ]:
        outside = rows(city, DATASET, "handler-health", 403, **query)
        assert outside["reason"] == "field-not-granted" and field in outside["detail"]

    # Every person in an answer sees the read, naming the department and the grant.
    mine_log = log_of(city, "citizen")
    shared = [e for e in mine_log if e["purpose"]["code"] == "shared_read"]
    assert len(shared) == 1  # the one answer that held the demo citizen's row
    assert all(e["reference"] == f"grant:{grant_id}" for e in shared)
    assert shared[0]["department"]["code"] == "health" and shared[0]["role"]["code"] == "handler"
    assert [f["code"] for f in shared[0]["fields"]] == ["legal_name"]
    assert shared[0]["purpose"]["name_zh"] == "依共享授权读取共享数据"
    neighbour = [e for e in log_of(city, people.neighbour) if e["purpose"]["code"] == "shared_read"]
    assert len(neighbour) == 2
    assert log_of(city, people.riverside) == []  # outside the grant's rows: never read
    with city.ctx.db.read() as session:
        logged = session.scalars(
            select(DataAccess).where(DataAccess.user_id == people.citizen)
            .where(DataAccess.purpose == "shared_read")
        ).all()  # fmt: skip
        assert {entry.grant_id for entry in logged} == {grant_id}

    # The grant's time runs out: the next read is refused at once, before the timer runs.
    with city.ctx.db.writing() as session:
        past = datetime.now(UTC) - timedelta(minutes=1)
        session.execute(update(DataGrant).where(DataGrant.id == grant_id).values(expires_at=past))
    expired = rows(city, DATASET, "handler-health", 403)
    assert expired["reason"] == "grant-expired" and f"grant #{grant_id}" in expired["detail"]
    assert "expired at" in expired["detail"] and "到期" in expired["detail_zh"]
    assert call(city, "GET", f"{GRANTS}/{grant_id}", "handler-health")["expired"] is True
    with city.ctx.db.writing() as session:
        assert service.expire_due(session) >= 1
    shown = call(city, "GET", f"{GRANTS}/{grant_id}", "handler-civil")
    assert shown["status"] == "expired" and shown["actions"] == []
    assert [(h["action"], h["from_status"], h["to_status"]) for h in shown["history"]] == [
        ("request", None, "requested"),
        ("approve", "requested", "approved"),
        ("expire", "approved", "expired"),
    ]
    assert shown["history"][1]["note"] == "for the 2027 allowance check"
    assert rows(city, DATASET, "handler-health", 403)["reason"] == "grant-expired"
    assert len([e for e in log_of(city, "citizen") if e["purpose"]["code"] == "shared_read"]) == 1

    # Each step is an event through the outbox and an audit entry.
    with city.ctx.db.read() as session:
        types = session.scalars(
            select(OutboxEvent.type).where(OutboxEvent.aggregate_id == str(grant_id))
            .where(OutboxEvent.type.like("sharing.%")).order_by(OutboxEvent.id)
        ).all()  # fmt: skip
        audited = session.scalars(
            select(AuditEntry.action).where(AuditEntry.target == f"grant:{grant_id}")
            .order_by(AuditEntry.id)
        ).all()  # fmt: skip
    assert types == [
        "sharing.grant.requested", "sharing.grant.approved", "sharing.grant.expired",
    ]  # fmt: skip
    assert audited == ["sharing.grant.request", "sharing.grant.approve", "sharing.grant.expire"]


def test_the_owner_and_anyone_for_open_data_read_without_a_grant(
    city: City, people: People
) -> None:
    own = rows(city, DATASET, "worker-civil")
    assert own["grant_id"] is None and own["total"] == 4
    assert "phone" in [f["id"] for f in own["fields"]]
    # The owner's own read of people's rows is logged too (no grant to name).
    entries = [e for e in log_of(city, people.riverside) if e["purpose"]["code"] == "shared_read"]
    assert entries and entries[0]["reference"] == f"dataset:{DATASET}"
    assert {f["code"] for f in entries[0]["fields"]} == {"legal_name", "phone"}
    opened = rows(city, "test-open-toilets", "handler-roads")
    assert opened["records"] == [{"_id": 1, "code": "T1", "seats": 4}]
    assert rows(city, "test-vending-pitches", "handler-urbanmgmt")["total"] == 3


def test_a_shared_dataset_without_people_is_read_under_a_grant_and_audited(
    city: City, people: People
) -> None:
    asked = request(city, "handler-fire", "test-vending-pitches")
    approve(city, asked["id"], "handler-urbanmgmt", fields=["pitch", "stalls"],
            row_filter={"goods": ["fruit", "flowers"]})  # fmt: skip
    read = rows(city, "test-vending-pitches", "worker-fire")
    assert read["records"] == [
        {"_id": 1, "pitch": "P-01", "stalls": 4}, {"_id": 3, "pitch": "P-03", "stalls": 2},
    ]  # fmt: skip
    listed = call(city, "GET", "/api/v1/data/shared", "worker-fire")
    pitches = next(d for d in listed if d["name"] == "test-vending-pitches")
    assert pitches["access"] == "granted" and pitches["grant_id"] == asked["id"]
    assert next(d for d in listed if d["name"] == DATASET)["access"] == "none"
    assert "test-open-toilets" not in [d["name"] for d in listed]
    with city.ctx.db.read() as session:
        audited = session.scalar(
            select(AuditEntry).where(AuditEntry.actor == "worker-fire")
            .where(AuditEntry.action == "sharing.read")
        )  # fmt: skip
    assert audited is not None and audited.detail == {"grant": asked["id"], "rows": 2}


def test_the_owner_hears_of_a_request_and_the_requester_of_the_decision(
    city: City, people: People
) -> None:
    def notices(username: str, kind: str) -> list:
        with city.ctx.reading() as session:
            user = session.scalar(select(User).where(User.username == username))
            assert user is not None
            return [n for n in notify.for_user(session, user_id=user.id) if n.kind == kind]

    grant_id = request(city, "handler-fire", DATASET, fields=["name"])["id"]
    city.drain()
    asked = [n for n in notices("handler-civil", "grant.requested") if f"#{grant_id}" in n.message]
    assert len(asked) == 1 and asked[0].message_code == "sharing.notice.requested"
    approve(city, grant_id, "handler-civil", fields=["name"])
    city.drain()
    told = [n for n in notices("handler-fire", "grant.approved") if f"#{grant_id}" in n.message]
    assert len(told) == 1 and "until" in told[0].message


def test_a_refused_read_is_in_the_audit_trail(city: City, people: People) -> None:
    refused = rows(city, DATASET, "handler-culture", 403)
    assert refused["reason"] == "no-grant"
    with city.ctx.reading() as session:
        entries = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "sharing.read.refused", AuditEntry.actor == "handler-culture"
            )
        ).all()
    assert [(e.target, e.detail["reason"]) for e in entries] == [(f"dataset:{DATASET}", "no-grant")]
