"""Rule definitions and their evaluation, without a database.

A rule is declarative JSON checked once by :func:`parse_definition`; evaluating one reading is a
pure step from the (rule, device) memory to an outcome and the next memory, so hysteresis and
rates work across messages and tests need no database.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from shapely.geometry import Point, shape
from shapely.prepared import PreparedGeometry, prep

from cityloop.base.problems import Problem, bad_request
from cityloop.platforms.data.perception.messages import Message

KINDS = ("threshold", "state", "rate", "nodata", "geofence")
SEVERITIES = ("CRITICAL", "MAJOR", "MINOR", "WARNING", "INDETERMINATE")
# Higher number, more severe: a repeat may escalate an alarm, never lower it.
SEVERITY_RANK = {name: len(SEVERITIES) - i for i, name in enumerate(SEVERITIES)}
OPERATORS = (">", ">=", "<", "<=")
MAX_VALUES = 50
MAX_POLYGON_POINTS = 10_000
# A week is the longest silence worth a rule; longer is a decommissioned device.
MAX_NODATA_SECONDS = 7 * 24 * 3600
MIN_NODATA_SECONDS = 60


class Outcome(StrEnum):
    NONE = "none"  # nothing changes for the alarm
    RAISE = "raise"  # the condition starts
    REPEAT = "repeat"  # the condition holds again while active
    CLEAR = "clear"  # the condition ends


@dataclass(frozen=True, slots=True)
class Memory:
    """What one rule remembers about one device between messages."""

    active: bool = False
    last_value: Any = None
    last_at: datetime | None = None


@dataclass(frozen=True)
class Definition:
    kind: str
    attribute: str | None = None
    op: str | None = None
    value: float | None = None
    clear: float | None = None
    values: tuple[Any, ...] = ()
    per_minute: float | None = None
    seconds: int | None = None
    inside: bool = True
    polygon: Any = None
    prepared: PreparedGeometry | None = field(default=None, compare=False, repr=False)

    def attributes(self) -> frozenset[str]:
        """The reading attributes this rule looks at."""
        if self.kind == "geofence":
            return frozenset({"latitude", "longitude", "location"})
        if self.kind == "nodata" or self.attribute is None:
            return frozenset()
        return frozenset({self.attribute})


def _fail(detail: Message, name: str) -> Problem:
    return bad_request(detail, field=f"definition.{name}", type_="invalid-rule")


def _number(raw: Mapping[str, Any], name: str, required: bool = True) -> float | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise _fail(Message("perception.rule.required", {"name": name}), name)
        return None
    number = _as_number(value)
    if number is None:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "…"
        raise _fail(Message("perception.rule.not_a_number", {"name": name, "given": shown}), name)
    return number


def _attribute(raw: Mapping[str, Any]) -> str:
    value = raw.get("attribute")
    if not isinstance(value, str) or not value or len(value) > 200:
        raise _fail(Message("perception.rule.attribute"), "attribute")
    return value


def _known_keys(raw: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _fail(
            Message(
                "perception.rule.unknown_key",
                {"key": repr(unknown[0]), "keys": ", ".join(sorted(allowed))},
            ),
            unknown[0],
        )


def parse_definition(kind: str, raw: Any) -> Definition:
    """Check a rule's JSON definition; a Problem names the offending field."""
    if kind not in KINDS:
        raise bad_request(
            Message("perception.kind_choices", {"items": ", ".join(KINDS)}), field="kind"
        )
    if not isinstance(raw, Mapping):
        raise bad_request(Message("perception.definition_object"), field="definition")
    if kind == "threshold":
        _known_keys(raw, {"attribute", "op", "value", "clear"})
        op = raw.get("op")
        if op not in OPERATORS:
            raise _fail(
                Message("perception.rule.op_choices", {"items": ", ".join(OPERATORS)}), "op"
            )
        value = _number(raw, "value")
        clear = _number(raw, "clear", required=False)
        assert value is not None
        # The clear point lies on the safe side of the trigger, or the alarm could never clear
        # without being raised again by the same reading.
        if clear is not None and op.startswith(">") and clear > value:
            raise _fail(Message("perception.rule.clear_above", {"op": op}), "clear")
        if clear is not None and op.startswith("<") and clear < value:
            raise _fail(Message("perception.rule.clear_below", {"op": op}), "clear")
        return Definition(kind, attribute=_attribute(raw), op=op, value=value, clear=clear)
    if kind == "state":
        _known_keys(raw, {"attribute", "values"})
        values = raw.get("values")
        if not isinstance(values, list) or not values or len(values) > MAX_VALUES:
            raise _fail(
                Message("perception.rule.values_list", {"limit": str(MAX_VALUES)}), "values"
            )
        for item in values:
            if not isinstance(item, str | bool | int | float) or (
                isinstance(item, int | float)
                and not isinstance(item, bool)
                and _as_number(item) is None
            ):
                raise _fail(Message("perception.rule.value_kind", {"given": repr(item)}), "values")
        return Definition(kind, attribute=_attribute(raw), values=tuple(values))
    if kind == "rate":
        _known_keys(raw, {"attribute", "per_minute"})
        per_minute = _number(raw, "per_minute")
        return Definition(kind, attribute=_attribute(raw), per_minute=per_minute)
    if kind == "nodata":
        _known_keys(raw, {"seconds"})
        seconds = raw.get("seconds")
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int)
            or not MIN_NODATA_SECONDS <= seconds <= MAX_NODATA_SECONDS
        ):
            raise _fail(
                Message(
                    "perception.rule.seconds_range",
                    {"low": str(MIN_NODATA_SECONDS), "high": str(MAX_NODATA_SECONDS)},
                ),
                "seconds",
            )
        return Definition(kind, seconds=seconds)
    _known_keys(raw, {"polygon", "inside"})
    inside = raw.get("inside", True)
    if not isinstance(inside, bool):
        raise _fail(Message("perception.rule.inside"), "inside")
    polygon = raw.get("polygon")
    prepared = _polygon(polygon)
    return Definition(kind, inside=inside, polygon=polygon, prepared=prepared)


def _polygon(geometry: Any) -> PreparedGeometry:
    if not isinstance(geometry, Mapping) or geometry.get("type") not in (
        "Polygon",
        "MultiPolygon",
    ):
        raise _fail(Message("perception.rule.polygon_type"), "polygon")
    try:
        points = json.dumps(geometry.get("coordinates")).count("[") if geometry else 0
        if points > MAX_POLYGON_POINTS:
            raise _fail(
                Message("perception.rule.polygon_points", {"limit": str(MAX_POLYGON_POINTS)}),
                "polygon",
            )
        shaped = shape(geometry)
    except Problem:
        raise
    except Exception as exc:  # shapely reports bad rings in several exception types
        raise _fail(
            Message("perception.rule.polygon_invalid", {"reason": str(exc)}), "polygon"
        ) from exc
    if shaped.is_empty or not shaped.is_valid:
        raise _fail(Message("perception.rule.polygon_empty"), "polygon")
    bounds = shaped.bounds
    if not (-180 <= bounds[0] <= bounds[2] <= 180 and -90 <= bounds[1] <= bounds[3] <= 90):
        raise _fail(Message("perception.rule.polygon_degrees"), "polygon")
    return prep(shaped)


def _as_number(value: Any) -> float | None:
    """A finite float, or None; a huge JSON integer overflows a float and is no number here."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _same(a: Any, b: Any) -> bool:
    # True == 1 in Python; a state rule for `open == true` must not match a count of 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


def _compare(op: str, left: float, right: float) -> bool:
    return {
        ">": left > right,
        ">=": left >= right,
        "<": left < right,
        "<=": left <= right,
    }[op]


def _cleared(definition: Definition, value: float) -> bool:
    """Whether an active threshold alarm ends at this value (hysteresis when clear is set)."""
    assert definition.op is not None and definition.value is not None
    if definition.clear is None:
        return not _compare(definition.op, value, definition.value)
    if definition.op.startswith(">"):
        return value < definition.clear
    return value > definition.clear


def _transition(memory: Memory, holds: bool, ends: bool) -> tuple[Outcome, bool]:
    if not memory.active:
        return (Outcome.RAISE, True) if holds else (Outcome.NONE, False)
    if holds:
        return Outcome.REPEAT, True
    if ends:
        return Outcome.CLEAR, False
    return Outcome.NONE, True  # inside the hysteresis band: stay raised, count nothing


def position_of(value: Any) -> tuple[float, float] | None:
    """(lon, lat) of a `location` reading: "lat,lon" text, or a GeoJSON Point (object or text)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError:
                return None
        else:
            parts = text.split(",")
            if len(parts) != 2:
                return None
            try:
                lat, lon = float(parts[0]), float(parts[1])
            except ValueError:
                return None
            return (lon, lat) if -90 <= lat <= 90 and -180 <= lon <= 180 else None
    if isinstance(value, Mapping) and value.get("type") == "Point":
        coordinates = value.get("coordinates")
        if isinstance(coordinates, list) and len(coordinates) >= 2:
            lon, lat = _as_number(coordinates[0]), _as_number(coordinates[1])
            if lon is not None and lat is not None:
                return lon, lat
    return None


def step(
    definition: Definition, memory: Memory, attribute: str, value: Any, at: datetime
) -> tuple[Outcome, Memory]:
    """Evaluate one reading against one rule: the outcome and what to remember next."""
    # A reading older than the last one judged changes nothing: a buffered, late reading must not
    # undo what newer ones said.
    kind = definition.kind
    if kind in ("threshold", "state", "geofence") and (
        memory.last_at is not None and at < memory.last_at
    ):
        return Outcome.NONE, memory
    if kind == "threshold":
        number = _as_number(value)
        if number is None:
            return Outcome.NONE, memory
        assert definition.op is not None and definition.value is not None
        holds = _compare(definition.op, number, definition.value)
        outcome, active = _transition(memory, holds, _cleared(definition, number))
        return outcome, replace(memory, active=active, last_value=number, last_at=at)
    if kind == "state":
        holds = any(_same(value, wanted) for wanted in definition.values)
        outcome, active = _transition(memory, holds, not holds)
        return outcome, replace(memory, active=active, last_value=value, last_at=at)
    if kind == "rate":
        number = _as_number(value)
        if number is None:
            return Outcome.NONE, memory
        previous = _as_number(memory.last_value)
        if previous is None or memory.last_at is None or at <= memory.last_at:
            # The first reading (or one older than the last) has no rate; keep the newest.
            if memory.last_at is not None and at <= memory.last_at:
                return Outcome.NONE, memory
            return Outcome.NONE, replace(memory, last_value=number, last_at=at)
        minutes = (at - memory.last_at).total_seconds() / 60
        assert definition.per_minute is not None
        holds = (number - previous) / minutes > definition.per_minute
        outcome, active = _transition(memory, holds, not holds)
        return outcome, replace(memory, active=active, last_value=number, last_at=at)
    if kind == "geofence":
        known = dict(memory.last_value) if isinstance(memory.last_value, Mapping) else {}
        if attribute == "location":
            point = position_of(value)
            if point is None:
                return Outcome.NONE, memory
            known = {"lon": point[0], "lat": point[1]}
        elif attribute in ("latitude", "longitude"):
            number = _as_number(value)
            if number is None:
                return Outcome.NONE, memory
            known["lat" if attribute == "latitude" else "lon"] = number
        else:
            return Outcome.NONE, memory
        remembered = replace(memory, last_value=known, last_at=at)
        if "lat" not in known or "lon" not in known:
            return Outcome.NONE, remembered
        assert definition.prepared is not None
        inside = definition.prepared.contains(Point(known["lon"], known["lat"]))
        holds = inside == definition.inside
        outcome, active = _transition(memory, holds, not holds)
        return outcome, replace(remembered, active=active)
    return Outcome.NONE, memory  # nodata is evaluated by the scheduler, not per reading
