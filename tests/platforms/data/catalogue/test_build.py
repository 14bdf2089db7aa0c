"""A producer's dataset is built into the DataStore and published in every format, with its
checksum, size and quality; open datasets from reports are de-identified by the platform."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session

from cityloop.platforms.data.catalogue import build, datastore, producers, service
from cityloop.platforms.data.catalogue.deidentify import PointRecord
from cityloop.settings import Settings
from tests.support.city import City

TOILETS = producers.DatasetSpec(
    name="test-public-toilets",
    owner_department="facilities",
    title="Public toilets",
    title_zh="公共厕所",
    description="Where the public toilets are.",
    description_zh="公共厕所位置。",
    theme="REGI",
    frequency="WEEKLY",
    sensitivity="open",
    keywords=("toilets",),
    table_schema={
        "fields": [
            {"name": "code", "type": "string", "constraints": {"required": True}},
            {"name": "name_zh", "type": "string"},
            {"name": "lat", "type": "number"},
            {"name": "lon", "type": "number"},
            {"name": "seats", "type": "integer"},
        ]
    },
)


def toilets(session: Session, *, settings: Settings) -> list[dict[str, Any]]:
    return [
        {"code": "T1", "name_zh": "河港公园厕所", "lat": 31.2, "lon": 121.4, "seats": 6},
        {"code": "T2", "name_zh": "call 13812345678", "lat": 31.21, "lon": 121.41, "seats": None},
    ]


REPORTS = producers.DatasetSpec(
    name="test-report-points",
    owner_department="command",
    title="Reports",
    title_zh="上报",
    description="",
    description_zh="",
    theme="GOVE",
    frequency="DAILY",
    sensitivity="open",
    table_schema={"fields": [{"name": "reporter_phone", "type": "string"}]},
    shape="points",
)
DAY = datetime(2026, 11, 2, 9, tzinfo=UTC)


def reports(session: Session, *, settings: Settings) -> list[PointRecord]:
    crowded = [
        PointRecord(str(n), "potholes", 31.2 + n * 1e-5, 121.4, DAY + timedelta(minutes=n),
                    text="big hole", text_moderated=n % 2 == 0)
        for n in range(5)
    ]  # fmt: skip
    lonely = PointRecord("99", "potholes", 31.3, 121.5, DAY, text="outside no. 7, Li Lei")
    return [*crowded, lonely]


@pytest.fixture(scope="module")
def built(city: City) -> City:
    producers.register(city.ctx, producers.FunctionProducer(TOILETS, toilets))
    producers.register(city.ctx, producers.FunctionProducer(REPORTS, reports))
    assert set(build.refresh(city.ctx)) >= {"test-public-toilets", "test-report-points"}
    return city


def test_a_built_dataset_is_published_in_every_format_with_checksum_and_size(built: City) -> None:
    with built.ctx.reading() as session:
        dataset = service.get_dataset(session, name="test-public-toilets")
        files = service.distributions_of(session, dataset_id=dataset.id)
        assert [d.format for d in files] == ["CSV", "JSON", "GeoJSON", "Parquet"]
        assert dataset.row_count == 2 and not dataset.dirty
        for distribution in files:
            data = built.ctx.storage.get(distribution.storage_key or "")
            assert distribution.byte_size == len(data)
            assert distribution.sha256 == hashlib.sha256(data).hexdigest()
        by_format = {d.format: built.ctx.storage.get(d.storage_key or "") for d in files}
    rows = list(csv.DictReader(io.StringIO(by_format["CSV"].decode("utf-8-sig"))))
    assert rows[0] == {
        "code": "T1",
        "name_zh": "河港公园厕所",
        "lat": "31.2",
        "lon": "121.4",
        "seats": "6",
    }
    features = json.loads(by_format["GeoJSON"])["features"]
    assert features[0]["geometry"] == {"type": "Point", "coordinates": [121.4, 31.2]}
    table = pq.read_table(io.BytesIO(by_format["Parquet"]))
    assert table.column("seats").to_pylist() == [6, None]


def test_an_open_dataset_never_publishes_a_phone_number(built: City) -> None:
    with built.ctx.reading() as session:
        dataset = service.get_dataset(session, name="test-public-toilets")
        found = datastore.search(session, dataset_id=dataset.id, schema=dataset.table_schema)
    assert [r["name_zh"] for r in found.records] == ["河港公园厕所", "call ***"]
    assert dataset.quality["blanked_values"] == 1


def test_quality_counts_missing_values_and_freshness(built: City) -> None:
    with built.ctx.reading() as session:
        quality = service.get_dataset(session, name="test-public-toilets").quality
    assert quality["field_completeness"]["seats"] == 0.5
    assert quality["completeness"] == 0.9
    assert quality["stale"] is False and quality["schema_errors"] == 0


def test_report_points_are_snapped_thinned_to_groups_of_k_and_keep_only_moderated_text(
    built: City,
) -> None:
    with built.ctx.reading() as session:
        dataset = service.get_dataset(session, name="test-report-points")
        rows = datastore.search(session, dataset_id=dataset.id, schema=dataset.table_schema)
    assert "reporter_phone" not in json.dumps(dataset.table_schema)
    assert sorted(r["ref"] for r in rows.records) == ["0", "1", "2", "3", "4"]
    assert {(r["lat"], r["lon"]) for r in rows.records} == {
        (rows.records[0]["lat"], rows.records[0]["lon"])
    }
    assert {r["ref"]: r["description"] for r in rows.records}["1"] == ""
    assert {r["ref"]: r["description"] for r in rows.records}["0"] == "big hole"
    assert {r["day"] for r in rows.records} == {"2026-11-02"}
