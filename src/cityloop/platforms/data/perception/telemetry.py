"""The telemetry store: an append-only history of readings and the latest value per entity.

A reading is keyed by (device, attribute, observed_at); sending it again changes nothing, so a
device or gateway that retries after a lost acknowledgement cannot double-count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cityloop.base.problems import bad_request
from cityloop.platforms.data.perception import rollups
from cityloop.platforms.data.perception.codecs import Reading
from cityloop.platforms.data.perception.messages import Message
from cityloop.platforms.data.perception.models import Device, LatestValue, Measurement

# Device readings belong to NGSI-LD's default tenant (the empty name).
DEFAULT_TENANT = ""


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A reading as it was appended: its attribute, UTC time, value and unit."""

    attribute: str
    observed_at: datetime
    value: Any
    unit: str | None


@dataclass(frozen=True, slots=True)
class StoreResult:
    stored: int
    duplicates: int
    # The readings actually appended, oldest first; what entity projection and rules act on.
    readings: tuple[StoredReading, ...] = ()


# Dates a query may name: far from the ends of Python's datetime range, where shifting a
# time to UTC overflows.
MIN_YEAR, MAX_YEAR = 1970, 9000


def as_utc(moment: datetime) -> datetime:
    """The moment in UTC; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def check_query_moment(name: str, moment: datetime | None) -> None:
    """A 400 naming ``name`` for a date a query cannot use; checked before any arithmetic."""
    if moment is not None and not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise bad_request(
            Message(
                "perception.date_from",
                {"name": str(name), "min_year": str(MIN_YEAR), "max_year": str(MAX_YEAR)},
            ),
            field=name,
        )


def _columns(value: Any) -> tuple[float | None, str | None]:
    """The history columns of a value: numbers in num_value, everything else as text."""
    if isinstance(value, bool):
        return None, "true" if value else "false"
    if isinstance(value, int | float):
        return float(value), None
    return None, str(value)


def store_readings(
    session: Session, *, device: Device, readings: Sequence[Reading], received_at: datetime
) -> StoreResult:
    """Append one device message's ``readings``; see ``store_batch``."""
    return store_batch(session, messages=[(device, readings, received_at)])[0]


def store_batch(
    session: Session, *, messages: Sequence[tuple[Device, Sequence[Reading], datetime]]
) -> list[StoreResult]:
    """Append the readings of many device messages in a few statements; one result per message."""
    # The latest values and the devices' last-seen times are brought up to date too; the results are
    # in message order.
    # Each message is (device, readings, received_at); readings without a timestamp take their
    # message's ``received_at``. A duplicate, whether already stored, repeated in this batch or
    # inserted by a concurrent writer, is skipped and counted: the insert is ``ON CONFLICT DO
    # NOTHING ... RETURNING``, so the database decides, not a read made before the write.
    # A device's entity is its own, in the default tenant: (entity, attribute, time) is the key.
    owners: dict[tuple[str, str, datetime], int] = {}
    candidates: dict[int, list[tuple[str, datetime, Reading]]] = {}
    duplicates = [0] * len(messages)
    rows: list[dict[str, Any]] = []
    for index, (device, readings, received_at) in enumerate(messages):
        kept = candidates.setdefault(index, [])
        for reading in readings:
            moment = as_utc(reading.observed_at or received_at)
            key = (device.entity_id, reading.attribute, moment)
            if key in owners:
                duplicates[index] += 1
                continue
            owners[key] = index
            kept.append((reading.attribute, moment, reading))
            num_value, text_value = _columns(reading.value)
            rows.append(
                {
                    "tenant": DEFAULT_TENANT,
                    "device_id": device.device_id,
                    "entity_id": device.entity_id,
                    "attribute": reading.attribute,
                    "observed_at": moment,
                    "num_value": num_value,
                    "text_value": text_value,
                    "unit": reading.unit,
                }
            )
    inserted: set[tuple[str, str, datetime]] = set()
    if rows:
        table = Measurement.__table__
        statement = (
            _dialect_insert(session, table)
            .on_conflict_do_nothing(
                index_elements=["tenant", "entity_id", "attribute", "observed_at", "dataset_id"]
            )
            .returning(table.c.entity_id, table.c.attribute, table.c.observed_at)
        )
        for entity_id, attribute, moment in session.execute(statement, rows):
            inserted.add((entity_id, attribute, as_utc(moment)))
        # The stored readings (not the resent ones) fold into their series' rollups.
        stored = [
            rollups.Instance(
                DEFAULT_TENANT,
                row["entity_id"],
                row["attribute"],
                "",
                row["observed_at"],
                row["num_value"],
            )
            for row in rows
            if (row["entity_id"], row["attribute"], row["observed_at"]) in inserted
        ]
        rollups.add_instances(session, instances=stored)
    results: list[StoreResult] = []
    newest: dict[tuple[str, str], dict[str, Any]] = {}
    for index, (device, _readings, received_at) in enumerate(messages):
        appended = []
        for attribute, moment, reading in candidates[index]:
            if (device.entity_id, attribute, moment) not in inserted:
                duplicates[index] += 1
                continue
            appended.append(StoredReading(attribute, moment, reading.value, reading.unit))
            key = (device.entity_id, attribute)
            if key not in newest or moment > newest[key]["observed_at"]:
                newest[key] = {
                    "entity_id": device.entity_id,
                    "attribute": attribute,
                    "device_id": device.device_id,
                    "value": reading.value,
                    "unit": reading.unit,
                    "observed_at": moment,
                }
        appended.sort(key=lambda stored: stored.observed_at)
        results.append(StoreResult(len(appended), duplicates[index], tuple(appended)))
        device.last_seen_at = as_utc(received_at)
    if newest:
        _upsert_latest(session, list(newest.values()))
    session.flush()
    return results


def _dialect_insert(session: Session, table: Any) -> Any:
    """The engine's own INSERT, which knows ON CONFLICT (SQLite and PostgreSQL spell it alike)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _upsert_latest(session: Session, rows: list[dict[str, Any]]) -> None:
    """Newest wins: a row is replaced only by a later reading, so an old message arriving late
    (a gateway flushing its buffer) never rolls the current state back."""
    table = LatestValue.__table__
    statement = _dialect_insert(session, table)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=["entity_id", "attribute"],
        set_={
            "device_id": excluded.device_id,
            "value": excluded.value,
            "unit": excluded.unit,
            "observed_at": excluded.observed_at,
        },
        where=table.c.observed_at < excluded.observed_at,
    )
    session.execute(statement, rows)


def latest_values(session: Session, *, entity_id: str) -> list[LatestValue]:
    """The latest value of each attribute of an entity, by attribute name."""
    return list(
        session.scalars(
            select(LatestValue)
            .where(LatestValue.entity_id == entity_id)
            .order_by(LatestValue.attribute)
        )
    )


def measurements(
    session: Session,
    *,
    device_id: str,
    attribute: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[Measurement]:
    """A device's history, newest first."""
    check_query_moment("since", since)
    query = select(Measurement).where(Measurement.device_id == device_id)
    if attribute is not None:
        query = query.where(Measurement.attribute == attribute)
    if since is not None:
        query = query.where(Measurement.observed_at >= as_utc(since))
    query = query.order_by(Measurement.observed_at.desc(), Measurement.id.desc()).limit(limit)
    return list(session.scalars(query))
