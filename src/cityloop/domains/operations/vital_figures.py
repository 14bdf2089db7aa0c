"""The SQL behind the vital signs, the same on SQLite and PostgreSQL: an indicator's value over
its devices' latest values, its hourly trend from the readings, and its linked alarms.

A latest value is JSON (a number, a text or a boolean). ``_number`` and ``_text`` read it in the
engine's own JSON functions, so nothing is fetched row by row into Python; the history keeps
numbers in ``num_value`` and everything else as text (booleans as ``true``/``false``), which is
the same text form.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    and_,
    case,
    cast,
    false,
    func,
    literal_column,
    select,
    true,
)
from sqlalchemy.orm import Session

from cityloop.domains.operations.vital_models import VitalSign
from cityloop.platforms.data.perception.alarm_models import Alarm, AlarmRule
from cityloop.platforms.data.perception.alarms import ACTIVE
from cityloop.platforms.data.perception.models import Device, LatestValue, Measurement
from cityloop.platforms.data.perception.telemetry import DEFAULT_TENANT

TREND_HOURS = 24
# The alarm ids an answer lists; the count is always the full one.
MAX_ALARM_IDS = 200
# Aggregations that compare each device's value with a number, or with a text/boolean.
NUMBER_TESTS = ("share_above", "share_below")
TEXT_TESTS = ("share_equal", "count_equal")


@dataclass(frozen=True)
class Figure:
    """An indicator's value now and how many devices have a value it could use."""

    value: float | None
    devices: int


def operand_text(operand: Any) -> str:
    """The text form a text/boolean operand is compared in (booleans as true/false)."""
    if isinstance(operand, bool):
        return "true" if operand else "false"
    return str(operand)


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _number(session: Session, value: Any) -> ColumnElement[Any]:
    """A JSON latest value as a number, NULL when it is not one."""
    if _postgres(session):
        return case(
            (
                func.json_typeof(value) == "number",
                cast(value.op("#>>")(literal_column("'{}'")), Float),
            ),
            else_=None,
        )
    return case((func.json_type(value).in_(("integer", "real")), func.json_extract(value, "$")))


def _text(session: Session, value: Any) -> ColumnElement[Any]:
    """A JSON latest value as text (true/false for booleans), NULL for numbers and null."""
    if _postgres(session):
        return case(
            (
                func.json_typeof(value).in_(("string", "boolean")),
                value.op("#>>")(literal_column("'{}'")),
            ),
            else_=None,
        )
    kind = func.json_type(value)
    return case(
        (kind.in_(("true", "false")), kind),
        (kind == "text", func.json_extract(value, "$")),
        else_=None,
    )


def _hits(sign: VitalSign, number: Any, text: Any) -> ColumnElement[Any]:
    """1 for a device whose value meets the indicator's test, else 0."""
    if sign.aggregation == "share_above":
        test = number > float(sign.operand)
    elif sign.aggregation == "share_below":
        test = number < float(sign.operand)
    else:
        test = text == operand_text(sign.operand)
    return case((test, 1), else_=0)


def _aggregate(sign: VitalSign, number: Any, text: Any) -> tuple[Any, Any]:
    """(the indicator's aggregate, the count of values it covers) over one value per device."""
    covered = func.count(text if sign.aggregation in TEXT_TESTS else number)
    if sign.aggregation == "mean":
        return cast(func.avg(number), Float), covered
    if sign.aggregation == "max":
        return cast(func.max(number), Float), covered
    if sign.aggregation == "min":
        return cast(func.min(number), Float), covered
    hits = func.sum(_hits(sign, number, text))
    if sign.aggregation == "count_equal":
        return cast(hits, Float), covered
    # A share in per cent; NULLIF keeps "no device" from dividing by zero.
    return cast(100.0 * hits / func.nullif(covered, 0), Float), covered


def _in_scope(column: Any, devices: Collection[str] | None) -> ColumnElement[bool]:
    """True, or the device id among ``devices`` (a district's), when a scope applies."""
    if devices is None:
        return true()
    return column.in_(sorted(devices)) if devices else false()


def current(session: Session, *, sign: VitalSign, devices: Collection[str] | None) -> Figure:
    """The indicator over its active devices' latest values (``devices`` limits to a scope)."""
    number = _number(session, LatestValue.value)
    text = _text(session, LatestValue.value)
    value, covered = _aggregate(sign, number, text)
    row = session.execute(
        select(value, covered)
        .select_from(LatestValue)
        .join(Device, Device.entity_id == LatestValue.entity_id)
        .where(
            LatestValue.attribute == sign.attribute,
            Device.profile_code == sign.profile_code,
            Device.active.is_(True),
            _in_scope(Device.device_id, devices),
        )
    ).one()
    count = int(row[1] or 0)
    return Figure(None if count == 0 or row[0] is None else float(row[0]), count)


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


# Closed hours do not change (but for a reading that arrives late), so each process keeps an
# indicator's closed hours for a few minutes and asks the database only for the current hour.
CLOSED_HOURS_SECONDS = 300.0
_closed_hours: dict[tuple[Any, ...], tuple[float, dict[datetime, float | None]]] = {}
_closed_hours_lock = threading.Lock()


def forget_trends() -> None:
    """Drop the kept closed hours (tests and benchmarks measure the first request too)."""
    with _closed_hours_lock:
        _closed_hours.clear()


def trend(
    session: Session, *, sign: VitalSign, devices: Collection[str] | None, now: datetime
) -> list[dict[str, Any]]:
    """The indicator for each of the last 24 UTC hours (the current one last), each over every
    device's last reading in that hour; None for an hour without readings."""
    last_hour = hour_of(now)
    first_hour = last_hour - timedelta(hours=TREND_HOURS - 1)
    key = (
        str(session.get_bind().url),
        sign.code,
        sign.version,
        None if devices is None else frozenset(devices),
    )
    closed = [first_hour + timedelta(hours=step) for step in range(TREND_HOURS - 1)]
    clock = time.monotonic()
    with _closed_hours_lock:
        kept = _closed_hours.get(key)
    if (
        kept is not None
        and clock - kept[0] < CLOSED_HOURS_SECONDS
        and set(closed) <= kept[1].keys()
    ):
        by_hour = {hour: kept[1][hour] for hour in closed}
        by_hour.update(_hourly(session, sign, devices, last_hour, last_hour + timedelta(hours=1)))
    else:
        by_hour = _hourly(session, sign, devices, first_hour, last_hour + timedelta(hours=1))
        remembered = {hour: by_hour.get(hour) for hour in closed}
        with _closed_hours_lock:
            for old in [
                k for k, (at, _) in _closed_hours.items() if clock - at >= CLOSED_HOURS_SECONDS
            ]:
                del _closed_hours[old]
            _closed_hours[key] = (clock, remembered)
    return [
        {"hour": hour.isoformat(), "value": by_hour.get(hour)}
        for hour in (first_hour + timedelta(hours=step) for step in range(TREND_HOURS))
    ]


def _hourly(
    session: Session,
    sign: VitalSign,
    devices: Collection[str] | None,
    start: datetime,
    end: datetime,
) -> dict[datetime, float | None]:
    """The indicator per UTC hour in [start, end) over each device's last reading of the hour."""
    m = Measurement
    readings = (
        # The profile's devices first, so each one's (device, time) index range is read rather
        # than every reading of the day.
        m.device_id.in_(
            select(Device.device_id).where(
                Device.profile_code == sign.profile_code,
                Device.active.is_(True),
                _in_scope(Device.device_id, devices),
            )
        ),
        m.tenant == DEFAULT_TENANT,
        m.attribute == sign.attribute,
        m.observed_at >= start,
        m.observed_at < end,
    )
    if _postgres(session):
        hour: Any = func.date_trunc("hour", func.timezone("UTC", m.observed_at))
        newest_first = func.row_number().over(
            partition_by=(m.device_id, hour), order_by=m.observed_at.desc()
        )
        ranked = (
            select(
                hour.label("hour"),
                m.num_value.label("number"),
                m.text_value.label("text"),
                newest_first.label("rank"),
            )
            .where(*readings)
            .subquery()
        )
        last = select(ranked).where(ranked.c.rank == 1).subquery()
    else:
        # SQLite keeps naive UTC text, so the hour is its first 13 characters; and a column
        # beside max() comes from the row that holds the max: each device's last reading of
        # each hour, in about half the time of a window.
        hour = func.substr(m.observed_at, 1, 13)
        last = (
            select(
                hour.label("hour"),
                m.num_value.label("number"),
                m.text_value.label("text"),
                func.max(m.observed_at).label("newest"),
            )
            .where(*readings)
            .group_by(m.device_id, hour)
            .subquery()
        )
    value, covered = _aggregate(sign, last.c.number, last.c.text)
    rows = session.execute(select(last.c.hour, value, covered).group_by(last.c.hour))
    by_hour: dict[datetime, float | None] = {}
    for raw_hour, figure, count in rows:
        moment = datetime.fromisoformat(f"{raw_hour}:00") if isinstance(raw_hour, str) else raw_hour
        by_hour[moment.replace(tzinfo=UTC)] = (
            float(figure) if count and figure is not None else None
        )
    return by_hour


def linked_rules(sign: VitalSign, entity_type: str | None, rules: list[AlarmRule]) -> list[int]:
    """The alarm rules watching the indicator's measurement: on its profile (or its profile's
    entity type) and its attribute."""
    found = []
    for rule in rules:
        on_target = rule.profile_code == sign.profile_code or (
            entity_type is not None and rule.entity_type == entity_type
        )
        definition = rule.definition if isinstance(rule.definition, dict) else {}
        if on_target and definition.get("attribute") == sign.attribute:
            found.append(rule.id)
    return sorted(found)


def active_alarms(
    session: Session, *, rule_ids: list[int], devices: Collection[str] | None
) -> tuple[list[int], int]:
    """The newest active alarms of these rules (at most MAX_ALARM_IDS ids) and their count."""
    if not rule_ids:
        return [], 0
    where = and_(
        Alarm.rule_id.in_(rule_ids),
        Alarm.status.in_(ACTIVE),
        _in_scope(Alarm.originator_id, devices),
    )
    count = session.scalar(select(func.count()).select_from(Alarm).where(where)) or 0
    ids = session.scalars(
        select(Alarm.id)
        .where(where)
        .order_by(Alarm.started_at.desc(), Alarm.id.desc())
        .limit(MAX_ALARM_IDS)
    )
    return list(ids), int(count)


def device_rows(
    session: Session, *, sign: VitalSign, devices: Collection[str] | None
) -> list[dict[str, Any]]:
    """Each active device of the indicator (in scope) with its latest value, by device id."""
    rows = session.execute(
        select(
            Device.device_id,
            Device.name,
            Device.name_zh,
            Device.lat,
            Device.lon,
            LatestValue.value,
            LatestValue.observed_at,
        )
        .select_from(Device)
        .outerjoin(
            LatestValue,
            and_(
                LatestValue.entity_id == Device.entity_id,
                LatestValue.attribute == sign.attribute,
            ),
        )
        .where(
            Device.profile_code == sign.profile_code,
            Device.active.is_(True),
            _in_scope(Device.device_id, devices),
        )
        .order_by(Device.device_id)
    )
    return [row._asdict() for row in rows]


def device_alarms(
    session: Session, *, rule_ids: list[int], device_ids: list[str]
) -> dict[str, list[int]]:
    """The active alarm ids of these rules per device."""
    if not rule_ids or not device_ids:
        return {}
    found: dict[str, list[int]] = {}
    for alarm_id, device_id in session.execute(
        select(Alarm.id, Alarm.originator_id)
        .where(
            Alarm.rule_id.in_(rule_ids),
            Alarm.status.in_(ACTIVE),
            Alarm.originator_id.in_(device_ids),
        )
        .order_by(Alarm.id)
    ):
        found.setdefault(device_id, []).append(alarm_id)
    return found
