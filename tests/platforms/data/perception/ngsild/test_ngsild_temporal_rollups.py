"""Temporal aggregation from the per-minute and per-hour rollups: the answers equal those
computed from the instances, and every path that writes or removes instances keeps the
rollups equal to a rebuild from the instances."""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.platforms.data.perception import retention, rollups
from cityloop.platforms.data.perception.ingest import DeviceMessage, ingest_batch
from cityloop.platforms.data.perception.models import Measurement, MeasurementRollup
from cityloop.platforms.data.perception.ngsild.temporal_aggregation import (
    aggregate_series,
    parse_aggregation,
)
from cityloop.platforms.data.perception.ngsild.temporal_buckets import Series, plan
from tests.support.city import City
from tests.support.ngsild import API
from tests.support.perception import batch, send, setup_device

pytestmark = pytest.mark.usefixtures("ngsild_credentials")

TEMPORAL = API + "/temporal/entities"
DAY0 = datetime(2024, 3, 1, tzinfo=UTC)
DATASET = "urn:ngsi-ld:Dataset:b"
PERIODS = ["PT1M", "PT5M", "PT15M", "PT1H", "PT90M", "PT7M13S", "P1D", None]
METHODS = ["totalCount", "sum", "avg", "min", "max", "stddev", "sumsq"]


def _z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def random_series(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Instances over three days: mostly whole seconds (some on minute and hour boundaries),
    some with microseconds, two datasetIds, and a few text values."""
    moments: set[datetime] = set()
    while len(moments) < count:
        moment = DAY0 + timedelta(seconds=rng.randrange(3 * 86400))
        if rng.random() < 0.1:
            moment = moment.replace(second=0)
        if rng.random() < 0.1:
            moment += timedelta(microseconds=rng.randrange(1, 1_000_000))
        moments.add(moment)
    out = []
    for moment in sorted(moments):
        value: Any = round(rng.uniform(-50, 150), 2) if rng.random() < 0.95 else "off"
        instance = {"type": "Property", "value": value, "observedAt": _z(moment)}
        if rng.random() < 0.3:
            instance["datasetId"] = DATASET
        out.append(instance)
    return out


def create(city: City, entity_id: str, instances: list[dict[str, Any]]) -> None:
    body = {"id": entity_id, "type": "Vehicle", "speed": instances}
    response = city.client.post(TEMPORAL, json=body)
    assert response.status_code in (201, 204), response.text


def both_answers(
    session: Session,
    entity_id: str,
    *,
    methods: str,
    period: str | None,
    since: datetime | None = None,
    until: datetime | None = None,
    datasets: tuple[str, ...] = (),
) -> tuple[Any, Any]:
    """The aggregation from the rollups and from the instances alone."""
    m = Measurement
    where: list[Any] = [m.tenant == "", m.entity_id == entity_id, m.attribute == "speed"]
    if datasets:
        where.append(m.dataset_id.in_(datasets))
    if since is not None:
        where.append(m.observed_at > since)
    if until is not None:
        where.append(m.observed_at < until)
    aggregation = parse_aggregation(methods, period)
    common: dict[str, Any] = {
        "where": where,
        "time_column": m.observed_at,
        "end": until,
        "aggregation": aggregation,
    }
    series = Series("", entity_id, "speed", datasets)
    fast = aggregate_series(session, series=series, **common)
    slow = aggregate_series(session, **common)
    return fast, slow


def assert_same(fast: Any, slow: Any) -> None:
    assert set(fast) == set(slow)
    for dataset, methods in slow.items():
        for method, values in methods.items():
            got = fast[dataset][method]
            assert [v[1:] for v in got] == [v[1:] for v in values], (dataset, method)
            for (a, *_), (b, *_) in zip(got, values, strict=True):
                if b is None:
                    assert a is None, (dataset, method)
                else:
                    assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6), (dataset, method, a, b)


def test_rollup_answers_equal_the_instance_answers_for_random_windows_periods_and_methods(
    city: City,
) -> None:
    rng = random.Random(20261206)
    entity_id = f"urn:ngsi-ld:Vehicle:r{uuid.uuid4().hex[:8]}"
    create(city, entity_id, random_series(rng, 3000))
    with city.ctx.db.writing() as session:
        for _ in range(60):
            period = rng.choice(PERIODS)
            methods = ",".join(rng.sample(METHODS, rng.randint(1, len(METHODS))))
            since = until = None
            if rng.random() < 0.6:
                since = DAY0 + timedelta(seconds=rng.randrange(86400))
                since = since.replace(second=0) if rng.random() < 0.3 else since
            if rng.random() < 0.6:
                until = DAY0 + timedelta(seconds=rng.randrange(86400, 3 * 86400 + 600))
            datasets = rng.choice([(), ("",), (DATASET,), ("", DATASET)])
            fast, slow = both_answers(
                session,
                entity_id,
                methods=methods,
                period=period,
                since=since,
                until=until,
                datasets=datasets,
            )
            assert_same(fast, slow)


def test_an_answer_from_the_rollups_reads_hours_for_a_long_series(city: City) -> None:
    """Instances every 30 s over two days, per day: whole hours come from the hour rollups."""
    entity_id = f"urn:ngsi-ld:Vehicle:h{uuid.uuid4().hex[:8]}"
    instances = [
        {"type": "Property", "value": n % 97, "observedAt": _z(DAY0 + timedelta(seconds=30 * n))}
        for n in range(5760)
    ]
    for chunk in range(0, len(instances), 2000):
        create(city, entity_id, instances[chunk : chunk + 2000])
    last = DAY0 + timedelta(seconds=30 * 5759)
    ranges = plan(start=DAY0, last=last, period=86400.0, until=None)
    # Day one is its 24 hours; day two ends at the last instance: 23 hours, 59 minutes, 30 s.
    assert ranges is not None
    assert [(k, b - a) for k, a, b in ranges.hours] == [(0, 86400), (1, 23 * 3600)]
    assert [(k, b - a) for k, a, b in ranges.minutes] == [(1, 59 * 60)]
    assert [(k, b - a) for k, a, b in ranges.raw] == [(1, timedelta(seconds=30, microseconds=1))]
    with city.ctx.db.writing() as session:
        fast, slow = both_answers(session, entity_id, methods="totalCount,avg,stddev", period="P1D")
    assert_same(fast, slow)
    assert [v[0] for v in fast[""]["totalCount"]] == [2880, 2880]


def rollup_rows(session: Session, prefix: str) -> list[tuple[Any, ...]]:
    r = MeasurementRollup
    statement = select(
        r.tenant, r.entity_id, r.attribute, r.width, r.bucket, r.dataset_id,
        r.count, r.numbers, r.sum, r.sumsq, r.min, r.max,
    ).where(r.entity_id.startswith(prefix)).order_by(
        r.tenant, r.entity_id, r.attribute, r.width, r.bucket, r.dataset_id
    )  # fmt: skip
    return [tuple(row) for row in session.execute(statement)]


def assert_rollups_true(city: City, prefix: str) -> None:
    """The rollups kept on write of the entities whose id starts with ``prefix`` equal a
    rebuild from the instances."""
    with city.ctx.db.engine.connect() as connection:
        session = Session(bind=connection)
        kept = rollup_rows(session, prefix)
        rollups.rebuild(session)
        rebuilt = rollup_rows(session, prefix)
        session.rollback()
    assert len(kept) == len(rebuilt)
    for a, b in zip(kept, rebuilt, strict=True):
        assert a[:8] == b[:8], (a, b)
        for x, y in zip(a[8:], b[8:], strict=True):
            assert (x is None and y is None) or math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6), (
                a,
                b,
            )


def test_each_temporal_write_keeps_the_rollups_equal_to_the_instances(city: City) -> None:
    rng = random.Random(5)
    entity_id = f"urn:ngsi-ld:Vehicle:w{uuid.uuid4().hex[:8]}"
    url = f"{TEMPORAL}/{entity_id}"
    create(city, entity_id, random_series(rng, 300))
    assert_rollups_true(city, entity_id)
    # A resent instance is stored once and counted once.
    create(city, entity_id, random_series(random.Random(5), 300)[:50])
    assert_rollups_true(city, entity_id)
    appended = city.client.post(f"{url}/attrs", json={"speed": random_series(rng, 100)})
    assert appended.status_code == 204, appended.text
    assert_rollups_true(city, entity_id)
    speed = city.client.get(url, params={"attrs": "speed", "lastN": "5"}).json()["speed"]
    # Lowering and raising an instance's value: its bucket's minimum and maximum move.
    for instance, value in zip(speed[:2], [-1000, 1000], strict=False):
        patched = city.client.patch(
            f"{url}/attrs/speed/{instance['instanceId']}", json={"value": value}
        )
        assert patched.status_code == 204, patched.text
        assert_rollups_true(city, entity_id)
    # Moving an instance to another time leaves one bucket and joins another.
    moved = city.client.patch(
        f"{url}/attrs/speed/{speed[2]['instanceId']}",
        json={"value": 5, "observedAt": "2024-02-01T10:00:00Z"},
    )
    assert moved.status_code == 204, moved.text
    assert_rollups_true(city, entity_id)
    # Raising the minimum: the bucket's minimum must be recounted from what remains.
    low = city.client.get(
        url, params={"attrs": "speed", "timerel": "before", "timeAt": "2024-02-02T00:00:00Z"}
    ).json()["speed"]
    removed = city.client.delete(f"{url}/attrs/speed/{low[0]['instanceId']}")
    assert removed.status_code == 204, removed.text
    assert_rollups_true(city, entity_id)
    dataset = city.client.delete(f"{url}/attrs/speed", params={"datasetId": DATASET})
    assert dataset.status_code == 204, dataset.text
    assert_rollups_true(city, entity_id)
    everything = city.client.delete(f"{url}/attrs/speed", params={"deleteAll": "true"})
    assert everything.status_code == 204, everything.text
    assert_rollups_true(city, entity_id)
    create(city, entity_id, random_series(rng, 50))
    assert city.client.delete(url).status_code == 204
    assert_rollups_true(city, entity_id)


def test_entity_writes_delete_and_purge_keep_the_rollups_true(city: City) -> None:
    kind = f"Bus{uuid.uuid4().hex[:6]}"
    entity_id = f"urn:ngsi-ld:{kind}:1"
    body = {"id": entity_id, "type": kind, "speed": {"type": "Property", "value": 3}}
    assert city.client.post(API + "/entities", json=body).status_code == 201
    for value in (4, 5):
        patch = {"speed": {"type": "Property", "value": value}}
        response = city.client.patch(f"{API}/entities/{entity_id}/attrs", json=patch)
        assert response.status_code == 204, response.text
    assert_rollups_true(city, f"urn:ngsi-ld:{kind}:")
    assert city.client.delete(f"{API}/entities/{entity_id}/attrs/speed").status_code == 204
    assert_rollups_true(city, f"urn:ngsi-ld:{kind}:")
    assert city.client.delete(f"{API}/entities/{entity_id}").status_code == 204
    assert_rollups_true(city, f"urn:ngsi-ld:{kind}:")
    for n in range(3):
        other = {"id": f"urn:ngsi-ld:{kind}:p{n}", "type": kind, "speed": {"value": n}}
        assert city.client.post(API + "/entities", json=other).status_code == 201
    assert city.client.delete(API + "/entities", params={"type": kind}).status_code == 204
    assert_rollups_true(city, f"urn:ngsi-ld:{kind}:")


def test_device_readings_over_http_batch_and_mqtt_keep_the_rollups_true(city: City) -> None:
    apikey, device = setup_device(city)
    send(city, apikey, device, "2024-03-01T00:00:10Z|t|20.5")
    send(city, apikey, device, "2024-03-01T00:00:10Z|t|99")  # a resend: stored once
    measures = [
        {"k": apikey, "i": device, "payload": f"2024-03-01T00:{m:02d}:30Z|t|{m}"} for m in range(5)
    ]
    batch(city, measures)
    with city.ctx.db.read() as session:
        entity = session.scalar(
            select(Measurement.entity_id).where(Measurement.device_id == device).limit(1)
        )
        assert entity is not None
        assert (
            session.scalar(
                select(MeasurementRollup.count).where(
                    MeasurementRollup.entity_id == entity, MeasurementRollup.width == 3600
                )
            )
            == 6
        )  # the resend counted once
    assert_rollups_true(city, entity)
    with city.ctx.db.writing() as session:  # the MQTT subscriber's batch call
        ingest_batch(
            session,
            messages=[
                DeviceMessage(apikey, device, f"2024-03-01T01:00:0{s}Z|t|{s}".encode(), None)
                for s in range(5)
            ],
        )
    assert_rollups_true(city, entity)


def test_retention_keeps_the_rollups_true(city: City) -> None:
    entity_id = f"urn:ngsi-ld:Vehicle:old{uuid.uuid4().hex[:8]}"
    old = [
        {"type": "Property", "value": n, "observedAt": _z(DAY0 + timedelta(minutes=7 * n))}
        for n in range(40)
    ]
    create(city, entity_id, old)
    cutoff = retention.hour_of(DAY0 + timedelta(hours=2))
    with city.ctx.db.writing() as session:
        while retention.fold_chunk(session, cutoff=cutoff, batch=7) != (0, 0):
            pass
    assert_rollups_true(city, entity_id)
