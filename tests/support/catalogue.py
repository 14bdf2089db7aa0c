"""Datasets for tests: declare one with its rows, and the platform builds and publishes it;
read a built dataset's rows, state and files back; points that fall in one grid cell."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.data.catalogue import build, datastore, deidentify, producers, service
from cityloop.settings import Settings
from tests.support.city import City, fresh_point


def spec(name: str, *, fields: Sequence[dict[str, Any]], **entry: Any) -> producers.DatasetSpec:
    """A dataset declaration with test defaults for what the test does not care about."""
    defaults: dict[str, Any] = {
        "owner_department": "facilities",
        "title": name.replace("-", " ").capitalize(),
        "title_zh": f"测试数据集 {name}",
        "description": f"The {name} test dataset.",
        "description_zh": f"测试数据集 {name}。",
        "theme": "REGI",
        "frequency": "WEEKLY",
        "sensitivity": "open",
    }
    return producers.DatasetSpec(
        name=name, table_schema={"fields": list(fields)}, **{**defaults, **entry}
    )


def publish(city: City, declared: producers.DatasetSpec, rows: Sequence[dict[str, Any]]) -> None:
    """Register a producer of these rows in the city and build its dataset now."""

    def produce(session: Session, *, settings: Settings) -> list[dict[str, Any]]:
        return [dict(row) for row in rows]

    producers.register(city.ctx, producers.FunctionProducer(declared, produce))
    build.build(city.ctx, name=declared.name)


def rows(city: City, name: str) -> list[dict[str, Any]]:
    """Every DataStore row of a dataset, in order."""
    with city.ctx.reading() as session:
        dataset = service.get_dataset(session, name=name)
        return list(
            datastore.iter_rows(session, dataset_id=dataset.id, schema=dataset.table_schema)
        )


def state(city: City, name: str) -> tuple[bool, datetime | None]:
    """A dataset's (dirty, refreshed_at)."""
    with city.ctx.reading() as session:
        dataset = service.get_dataset(session, name=name)
        return dataset.dirty, dataset.refreshed_at


def distribution_texts(city: City, name: str) -> dict[str, str]:
    """Every distribution of a dataset as text, by format (Parquet read back with pyarrow)."""
    with city.ctx.reading() as session:
        dataset = service.get_dataset(session, name=name)
        files = service.distributions_of(session, dataset_id=dataset.id)
        keys = {d.format: d.storage_key or "" for d in files}
    texts = {}
    for fmt, key in keys.items():
        data = city.ctx.storage.get(key)
        if fmt == "Parquet":
            table = pq.read_table(io.BytesIO(data))
            texts[fmt] = json.dumps(
                {"columns": table.column_names, "rows": table.to_pylist()},
                ensure_ascii=False,
                default=str,
            )
        else:
            texts[fmt] = data.decode("utf-8-sig")
    return texts


def points_in_one_cell(city: City) -> list[tuple[float, float]]:
    """Five (lat, lon) points inside the city and inside one de-identification grid cell, each
    at least 90 m from the others: five reports there make five cases, not one."""
    metres = city.ctx.settings.open_data_grid_metres
    while True:
        lat, lon = fresh_point()
        cell, centre_lat, centre_lon = deidentify.cell_of(lat, lon, metres)
        points = [(centre_lat, centre_lon)] + [
            (round(centre_lat + dlat, 6), round(centre_lon + dlon, 6))
            for dlat in (-0.0006, 0.0006)
            for dlon in (-0.0007, 0.0007)
        ]
        with city.ctx.reading() as session:
            inside = all(geo.place_point(session, lon=p[1], lat=p[0]) for p in points)
        if inside and all(deidentify.cell_of(*p, metres)[0] == cell for p in points):
            return points
