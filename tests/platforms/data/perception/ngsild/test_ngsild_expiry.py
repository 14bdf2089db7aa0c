"""Transient entities (CIM 009 4.22, the entity member expiresAt of 5.2.4): hidden from every
read once expired, their id free again, and deleted by the sweep with a delete change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from cityloop.base.outbox import OutboxEvent
from cityloop.platforms.data.perception.events import EntitiesChanged
from cityloop.platforms.data.perception.ngsild import expiry
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from tests.support.city import City
from tests.support.ngsild import API, error_type
from tests.support.waiting import wait_until

pytestmark = pytest.mark.usefixtures("ngsild_credentials")

FUTURE = "2099-01-01T00:00:00Z"
PAST = "2000-01-01T00:00:00Z"


def parcel(n: str, **members: Any) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:Parcel:e{n}",
        "type": "Parcel",
        "weight": {"type": "Property", "value": 2},
        **members,
    }


def read(city: City, entity_id: str) -> Any:
    return city.client.get(f"{API}/entities/{entity_id}")


def listed(city: City) -> list[str]:
    response = city.client.get(API + "/entities", params={"type": "Parcel", "limit": 1000})
    return [e["id"] for e in response.json()]


def expire(city: City, entity_id: str) -> None:
    """Merge a past expiresAt (5.6.17): the entity expires at once."""
    body = {"expiresAt": PAST}
    assert city.client.patch(f"{API}/entities/{entity_id}", json=body).status_code == 204


def deletions(city: City, entity_id: str) -> int:
    with city.ctx.reading() as session:
        events = [
            EntitiesChanged.model_validate(row.payload)
            for row in session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == EntitiesChanged.type)
            )
        ]
    return sum(1 for e in events if e.deleted and e.changes[0].entity_id == entity_id)


def test_an_expired_entity_is_hidden_from_every_read(city: City) -> None:
    """4.22: until expiresAt the entity is served; after it, reads, queries, types and writes
    all answer as if it did not exist."""
    entity = parcel("1", expiresAt=FUTURE)
    assert city.client.post(API + "/entities", json=entity).status_code == 201
    assert read(city, entity["id"]).status_code == 200 and entity["id"] in listed(city)
    expire(city, entity["id"])
    gone = read(city, entity["id"])
    assert gone.status_code == 404 and error_type(gone) == "ResourceNotFound"
    assert entity["id"] not in listed(city)
    assert city.client.get(API + "/types/Parcel").status_code == 404
    patched = city.client.post(
        f"{API}/entities/{entity['id']}/attrs", json={"size": {"type": "Property", "value": 1}}
    )
    assert patched.status_code == 404
    # Its id is free again before any sweep: the expired entity gives way, with its delete change.
    assert city.client.post(API + "/entities", json=parcel("1")).status_code == 201
    assert read(city, entity["id"]).status_code == 200
    assert deletions(city, entity["id"]) == 1


def test_the_same_read_hides_an_entity_once_its_time_passes(city: City) -> None:
    """The criterion is built once: "now" must be read each time a statement runs, so a read
    whose compiled form is cached still hides an entity that expired since it last ran."""
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    entity = parcel("soon", expiresAt=soon)
    assert city.client.post(API + "/entities", json=entity).status_code == 201
    assert read(city, entity["id"]).status_code == 200
    wait_until(lambda: read(city, entity["id"]).status_code == 404, "the entity expired", 10)


def test_counts_over_subqueries_skip_expired_entities_too(city: City) -> None:
    """The hiding rule reaches entities inside subqueries (a count over a subquery, as paging
    counts are built), not only top-level selects of entities."""
    live, doomed = parcel("sub1", expiresAt=FUTURE), parcel("sub2", expiresAt=FUTURE)
    response = city.client.post(API + "/entityOperations/create", json=[live, doomed])
    assert response.status_code == 201
    expire(city, doomed["id"])
    ids = [live["id"], doomed["id"]]
    inner = select(NgsiEntity.id).where(NgsiEntity.entity_id.in_(ids)).subquery()
    with city.ctx.reading() as session:
        assert session.scalar(select(func.count()).select_from(inner)) == 1
        everything = session.scalar(
            select(func.count())
            .select_from(inner)
            .execution_options(**{expiry.INCLUDE_EXPIRED: True})
        )
        assert everything == 2


def test_the_sweep_deletes_expired_entities_and_emits_the_delete(city: City) -> None:
    """4.22: expired entities are deleted (the periodic job), each with its delete change;
    entities not yet expired stay."""
    doomed, kept = parcel("2", expiresAt=FUTURE), parcel("3", expiresAt=FUTURE)
    response = city.client.post(API + "/entityOperations/create", json=[doomed, kept])
    assert response.status_code == 201
    expire(city, doomed["id"])
    with city.ctx.writing() as session:
        assert expiry.sweep_expired(session) >= 1
    with city.ctx.reading() as session:
        rows = session.scalars(
            select(NgsiEntity.entity_id)
            .where(NgsiEntity.entity_id.in_([doomed["id"], kept["id"]]))
            .execution_options(**{expiry.INCLUDE_EXPIRED: True})
        ).all()
    assert rows == [kept["id"]]
    assert deletions(city, doomed["id"]) == 1
    with city.ctx.writing() as session:
        assert expiry.sweep_expired(session) == 0


def test_expiry_is_set_kept_and_cleared_as_the_writes_say(city: City) -> None:
    """5.6.17 merge sets expiresAt (the NGSI-LD Null clears it); 5.6.4 replace without it
    makes the entity durable; a malformed expiresAt is 400 BadRequestData naming it."""
    entity = parcel("4", expiresAt=FUTURE)
    assert city.client.post(API + "/entities", json=entity).status_code == 201
    null = {"expiresAt": "urn:ngsi-ld:null"}
    assert city.client.patch(f"{API}/entities/{entity['id']}", json=null).status_code == 204
    expire(city, entity["id"])
    assert read(city, entity["id"]).status_code == 404
    durable = parcel("5", expiresAt=FUTURE)
    assert city.client.post(API + "/entities", json=durable).status_code == 201
    replaced = city.client.put(f"{API}/entities/{durable['id']}", json=parcel("5"))
    assert replaced.status_code == 204
    with city.ctx.reading() as session:
        row = session.scalar(select(NgsiEntity).where(NgsiEntity.entity_id == durable["id"]))
        assert row is not None and row.expires_at is None
    for bad in ("tomorrow", 5):
        refused = city.client.post(API + "/entities", json=parcel("6", expiresAt=bad))
        assert refused.status_code == 400 and "expiresAt" in refused.json()["detail"]
        assert error_type(refused) == "BadRequestData"


def test_attribute_instances_expire_on_their_own(city: City) -> None:
    """4.22 / 4.5.5: an attribute instance's expiresAt hides that instance only; expiresAt is
    served with sysAttrs (on the entity and its attributes) and not without."""
    speed = [
        {"type": "Property", "value": 10, "expiresAt": FUTURE},
        {"type": "Property", "value": 20, "datasetId": "urn:ngsi-ld:Dataset:x", "expiresAt": PAST},
    ]
    entity = parcel("7", expiresAt=FUTURE, speed=speed, flash={"value": 1, "expiresAt": PAST})
    assert city.client.post(API + "/entities", json=entity).status_code == 201
    plain = read(city, entity["id"]).json()
    assert plain["speed"] == {"type": "Property", "value": 10}
    assert "flash" not in plain and "expiresAt" not in str(plain)
    full = city.client.get(f"{API}/entities/{entity['id']}", params={"options": "sysAttrs"}).json()
    assert full["expiresAt"] == FUTURE and full["speed"]["expiresAt"] == FUTURE
    bad = parcel("8", speed={"value": 1, "expiresAt": "2026-13-45T00:00:00Z"})
    refused = city.client.post(API + "/entities", json=bad)
    assert refused.status_code == 400 and "speed.expiresAt" in refused.json()["detail"]
