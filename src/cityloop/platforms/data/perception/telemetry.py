"""The telemetry store: an append-only history of readings and the latest value per entity.

A reading is keyed by (device, attribute, observed_at); sending it again changes nothing, so a
device or gateway that retries after a lost acknowledgement cannot double-count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from cityloop.base.bulk import clear_stage, driver_statement, execute_many, rows_source
from cityloop.base.problems import bad_request
from cityloop.platforms.data.perception import history, rollups
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
    if moment.tzinfo is UTC:  # the usual case, and the hot path of ingest
        return moment
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
    # inserted by a concurrent writer, is skipped and counted: the database decides, not a read
    # made before the write. A device's entity is its own, in the default tenant.
    # Rows go through the driver (inline or by COPY on PostgreSQL), never as ORM objects: at
    # thousands of readings a batch, per-row work in Python is what limits ingest, not the
    # database.
    seen: set[tuple[str, str, datetime]] = set()
    kept: list[list[tuple[str, datetime, Reading]]] = []
    duplicates = [0] * len(messages)
    rows: list[tuple[Any, ...]] = []
    for index, (device, readings, received_at) in enumerate(messages):
        mine: list[tuple[str, datetime, Reading]] = []
        kept.append(mine)
        entity_id = device.entity_id
        for reading in readings:
            moment = as_utc(reading.observed_at or received_at)
            key = (entity_id, reading.attribute, moment)
            if key in seen:
                duplicates[index] += 1
                continue
            seen.add(key)
            mine.append((reading.attribute, moment, reading))
            num_value, text_value = _columns(reading.value)
            rows.append(
                (
                    DEFAULT_TENANT,
                    device.device_id,
                    entity_id,
                    reading.attribute,
                    moment,
                    num_value,
                    text_value,
                    reading.unit,
                    "",
                )
            )
    refused = history.append(session, rows=rows) if rows else set()
    # The stored readings (not the resent ones) fold into their series' rollups.
    rollups.add_instances(
        session,
        instances=[
            rollups.Instance(DEFAULT_TENANT, row[2], row[3], "", row[4], row[5])
            for position, row in enumerate(rows)
            if position not in refused
        ],
    )
    results: list[StoreResult] = []
    newest: dict[tuple[str, str], tuple[Any, ...]] = {}
    last_seen: dict[str, datetime] = {}
    position = 0
    for index, (device, _readings, received_at) in enumerate(messages):
        appended = []
        for attribute, moment, reading in kept[index]:
            position += 1
            if position - 1 in refused:
                duplicates[index] += 1
                continue
            appended.append(StoredReading(attribute, moment, reading.value, reading.unit))
            key = (device.entity_id, attribute)
            known = newest.get(key)
            if known is None or moment > known[4]:
                newest[key] = (
                    device.entity_id,
                    attribute,
                    device.device_id,
                    reading.value,
                    moment,
                    reading.unit,
                )
        appended.sort(key=lambda stored: stored.observed_at)
        results.append(StoreResult(len(appended), duplicates[index], tuple(appended)))
        last_seen[device.device_id] = as_utc(received_at)
        # Written below in one statement; set as committed so the ORM does not write it again.
        set_committed_value(device, "last_seen_at", last_seen[device.device_id])
    if newest:
        _upsert_latest(session, list(newest.values()))
    if last_seen:
        history.set_last_seen(session, seen=last_seen)
    return results


def _upsert_latest(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """Newest wins: a row is replaced only by a later reading, so an old message arriving late
    (a gateway flushing its buffer) never rolls the current state back."""
    # Rows hold the values of ``_LATEST`` in order.
    connection = session.connection()
    target = LatestValue.__table__
    if connection.dialect.name == "postgresql":
        stage = rows_source(
            connection, name="latest_values_incoming", like=target, columns=_LATEST, rows=rows
        )
        connection.execute(
            _newest_wins(postgresql.insert(target).from_select(_LATEST, select(stage)))
        )
        clear_stage(connection, stage)
        return
    statement = driver_statement(
        "latest-values-upsert",
        connection.dialect,
        target,
        _LATEST,
        lambda _: _newest_wins(
            sqlite.insert(target).values({name: bindparam(name) for name in _LATEST})
        ),
    )
    execute_many(connection, statement, rows)


_LATEST = ("entity_id", "attribute", "device_id", "value", "observed_at", "unit")


def _newest_wins(statement: Any) -> Any:
    table = LatestValue.__table__
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["entity_id", "attribute"],
        set_={
            "device_id": excluded.device_id,
            "value": excluded.value,
            "unit": excluded.unit,
            "observed_at": excluded.observed_at,
        },
        where=table.c.observed_at < excluded.observed_at,
    )


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
