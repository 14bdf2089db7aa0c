"""The telemetry store: an append-only history of readings and the latest value per entity.

A reading is keyed by (device, attribute, observed_at); sending it again changes nothing, so a
device or gateway that retries after a lost acknowledgement cannot double-count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from cityloop.perception.codecs import Reading
from cityloop.perception.models import Device, LatestValue, Measurement


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


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _columns(value: Any) -> tuple[float | None, str | None]:
    """The history columns of a value: numbers in num_value, everything else as text."""
    if isinstance(value, bool):
        return None, "true" if value else "false"
    if isinstance(value, int | float):
        return float(value), None
    return None, str(value)


def store_readings(
    session: Session, device: Device, readings: Sequence[Reading], received_at: datetime
) -> StoreResult:
    """Append ``readings`` to the history and bring the device's latest values up to date.

    Readings without a timestamp take ``received_at``. Duplicates, whether already stored or
    repeated inside this batch, are skipped and counted.
    """
    received = _utc(received_at)
    fresh: dict[tuple[str, datetime], Reading] = {}
    duplicates = 0
    for reading in readings:
        key = (reading.attribute, _utc(reading.observed_at or received))
        if key in fresh:
            duplicates += 1
        else:
            fresh[key] = reading
    if fresh:
        attributes = {attribute for attribute, _ in fresh}
        moments = {moment for _, moment in fresh}
        existing = session.execute(
            select(Measurement.attribute, Measurement.observed_at).where(
                # A device's entity is its own, in the default tenant; that key is unique.
                Measurement.tenant == "",
                Measurement.entity_id == device.entity_id,
                Measurement.attribute.in_(attributes),
                Measurement.observed_at.in_(moments),
            )
        )
        for attribute, moment in existing:
            if fresh.pop((attribute, _utc(moment)), None) is not None:
                duplicates += 1
    rows = []
    for (attribute, moment), reading in fresh.items():
        num_value, text_value = _columns(reading.value)
        rows.append(
            {
                "device_id": device.device_id,
                "entity_id": device.entity_id,
                "attribute": attribute,
                "observed_at": moment,
                "num_value": num_value,
                "text_value": text_value,
                "unit": reading.unit,
            }
        )
    if rows:
        session.execute(insert(Measurement), rows)
        _update_latest(session, device, fresh.items())
    device.last_seen_at = received
    session.flush()
    appended = sorted(
        (
            StoredReading(attribute, moment, reading.value, reading.unit)
            for (attribute, moment), reading in fresh.items()
        ),
        key=lambda stored: stored.observed_at,
    )
    return StoreResult(stored=len(rows), duplicates=duplicates, readings=tuple(appended))


def _update_latest(
    session: Session, device: Device, items: Iterable[tuple[tuple[str, datetime], Reading]]
) -> None:
    newest: dict[str, tuple[datetime, Reading]] = {}
    for (attribute, moment), reading in items:
        if attribute not in newest or moment > newest[attribute][0]:
            newest[attribute] = (moment, reading)
    current = {
        row.attribute: row
        for row in session.scalars(
            select(LatestValue).where(
                LatestValue.entity_id == device.entity_id,
                LatestValue.attribute.in_(newest),
            )
        )
    }
    for attribute, (moment, reading) in newest.items():
        row = current.get(attribute)
        if row is None:
            session.add(
                LatestValue(
                    entity_id=device.entity_id,
                    attribute=attribute,
                    device_id=device.device_id,
                    value=reading.value,
                    unit=reading.unit,
                    observed_at=moment,
                )
            )
        elif moment > _utc(row.observed_at):
            row.device_id = device.device_id
            row.value = reading.value
            row.unit = reading.unit
            row.observed_at = moment


def latest_values(session: Session, entity_id: str) -> list[LatestValue]:
    return list(
        session.scalars(
            select(LatestValue)
            .where(LatestValue.entity_id == entity_id)
            .order_by(LatestValue.attribute)
        )
    )


def measurements(
    session: Session,
    device_id: str,
    *,
    attribute: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[Measurement]:
    """A device's history, newest first."""
    query = select(Measurement).where(Measurement.device_id == device_id)
    if attribute is not None:
        query = query.where(Measurement.attribute == attribute)
    if since is not None:
        query = query.where(Measurement.observed_at >= _utc(since))
    query = query.order_by(Measurement.observed_at.desc(), Measurement.id.desc()).limit(limit)
    return list(session.scalars(query))
