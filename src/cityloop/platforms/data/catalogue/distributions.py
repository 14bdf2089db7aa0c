"""Distributions: a dataset's rows as CSV, JSON, GeoJSON (when they have a place) and Parquet,
each stored with its SHA-256 and byte size. A dataset keeps one distribution id per format across
rebuilds, so a CKAN client's resource id stays valid."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.storage import Storage
from cityloop.platforms.data.catalogue.datastore import schema_fields
from cityloop.platforms.data.catalogue.models import Dataset, Distribution
from cityloop.platforms.data.catalogue.vocabularies import FORMATS

_ARROW_TYPES: dict[str, pa.DataType] = {
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
}


def point_fields(schema: Mapping[str, Any]) -> tuple[str, str] | None:
    """The (latitude, longitude) fields of a table that has a place, if it has one."""
    names = {field["name"] for field in schema_fields(schema)}
    for lat, lon in (("lat", "lon"), ("latitude", "longitude")):
        if lat in names and lon in names:
            return lat, lon
    return None


def formats_of(schema: Mapping[str, Any]) -> list[str]:
    """The formats a dataset of this schema is published in."""
    spatial = point_fields(schema) is not None
    return [name for name in FORMATS if name != "GeoJSON" or spatial]


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def render(fmt: str, *, schema: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> bytes:
    """The rows in one format."""
    names = [field["name"] for field in schema_fields(schema)]
    if fmt == "CSV":
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow("" if row.get(n) is None else _cell(row.get(n)) for n in names)
        # A byte-order mark: spreadsheet programs then read the Chinese text as UTF-8.
        return ("\ufeff" + text.getvalue()).encode("utf-8")
    if fmt == "JSON":
        records = [{n: _plain(row.get(n)) for n in names} for row in rows]
        return json.dumps(records, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if fmt == "GeoJSON":
        place = point_fields(schema)
        assert place is not None, "GeoJSON needs a place"
        lat, lon = place
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [row[lon], row[lat]]}
                if row.get(lat) is not None and row.get(lon) is not None
                else None,
                "properties": {n: _plain(row.get(n)) for n in names if n not in place},
            }
            for row in rows
        ]
        collection = {"type": "FeatureCollection", "features": features}
        return json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if fmt == "Parquet":
        types = {f["name"]: _ARROW_TYPES.get(f["type"], pa.string()) for f in schema_fields(schema)}
        columns = {
            n: pa.array([_arrow_value(row.get(n), types[n]) for row in rows], type=types[n])
            for n in names
        }
        sink = io.BytesIO()
        pq.write_table(pa.table(columns), sink)
        return sink.getvalue()
    raise ValueError(f"unknown format {fmt!r}")


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(_plain(value))


def _arrow_value(value: Any, arrow_type: pa.DataType) -> Any:
    if value is None or arrow_type != pa.string():
        return value
    return _cell(value)


def publish(
    session: Session,
    storage: Storage,
    *,
    dataset: Dataset,
    rows: Sequence[Mapping[str, Any]],
    at: datetime,
) -> list[Distribution]:
    """Write every format of the rows, replacing the files of the last build."""
    existing = {
        d.format: d
        for d in session.scalars(select(Distribution).where(Distribution.dataset_id == dataset.id))
    }
    wanted = formats_of(dataset.table_schema)
    published = []
    for fmt in wanted:
        media_type, extension = FORMATS[fmt]
        distribution = existing.pop(fmt, None) or Distribution(
            id=str(uuid.uuid4()), dataset_id=dataset.id, format=fmt, media_type=media_type
        )
        data = render(fmt, schema=dataset.table_schema, rows=rows)
        key = f"datasets/{dataset.name}/{distribution.id}.{extension}"
        storage.put(key, data, media_type)
        distribution.storage_key = key
        distribution.byte_size = len(data)
        distribution.sha256 = hashlib.sha256(data).hexdigest()
        distribution.row_count = len(rows)
        distribution.generated_at = at
        session.add(distribution)
        published.append(distribution)
    for stale in existing.values():  # a format the schema no longer supports
        if stale.storage_key:
            storage.delete(stale.storage_key)
        session.delete(stale)
    session.flush()
    return published
