"""Two writers on one entity at once: attributes are one JSON document, so without a row lock
on PostgreSQL the second read-modify-write would silently drop the first's change."""

from __future__ import annotations

import threading

from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild.rows import find
from cityloop.platforms.data.perception.ngsild.writes import create_entity, update_attributes
from tests.support.city import City
from tests.support.databases import a_writer_is_waiting
from tests.support.waiting import wait_until

ENTITY = "urn:ngsi-ld:WasteContainer:concurrency-1"


def test_two_concurrent_attribute_updates_both_survive(city: City) -> None:
    core = contexts.core()
    with city.ctx.writing() as session:
        if find(session, tenant="", entity_id=ENTITY) is None:
            body = {
                "id": ENTITY,
                "type": "WasteContainer",
                "fillingLevel": {"type": "Property", "value": 0.1},
                "temperature": {"type": "Property", "value": 10},
            }
            create_entity(session, tenant="", body=body, active=core)
    first_wrote = threading.Event()
    release_first = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with city.ctx.writing() as session:
                patch = {"fillingLevel": {"type": "Property", "value": 0.9}}
                update_attributes(session, tenant="", entity_id=ENTITY, body=patch, active=core)
                first_wrote.set()
                release_first.wait(10)  # hold the transaction open while the second starts
        except BaseException as exc:
            errors.append(exc)

    def second() -> None:
        try:
            first_wrote.wait(10)
            with city.ctx.writing() as session:
                patch = {"temperature": {"type": "Property", "value": 31}}
                update_attributes(session, tenant="", entity_id=ENTITY, body=patch, active=core)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    assert first_wrote.wait(10)
    # The race happens: the second writer is waiting for the first's lock before it commits.
    wait_until(lambda: a_writer_is_waiting(city.ctx.db), "the second writer waiting")
    release_first.set()
    for thread in threads:
        thread.join(20)
    assert errors == []
    entity = city.client.get(f"/ngsi-ld/v1/entities/{ENTITY}", params={"options": "keyValues"})
    assert entity.status_code == 200, entity.text
    assert (entity.json()["fillingLevel"], entity.json()["temperature"]) == (0.9, 31)
