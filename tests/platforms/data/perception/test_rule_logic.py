"""Rule definitions and one-reading steps, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cityloop.base.problems import Problem
from cityloop.platforms.data.perception.rule_logic import (
    Memory,
    Outcome,
    parse_definition,
    position_of,
    step,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def run(
    kind: str, definition: dict[str, Any], values: list[Any], attribute: str = "x"
) -> list[str]:
    parsed = parse_definition(kind, definition)
    memory = Memory()
    outcomes = []
    for index, value in enumerate(values):
        outcome, memory = step(parsed, memory, attribute, value, T0 + timedelta(minutes=index))
        outcomes.append(outcome.value)
    return outcomes


def test_threshold_with_hysteresis_does_not_flap() -> None:
    tilt = {"attribute": "x", "op": ">", "value": 20, "clear": 10}
    # 21 raises; hovering between 10 and 20 keeps it raised without repeats; 9 clears.
    assert run("threshold", tilt, [5, 21, 19, 20.5, 15, 11, 9, 19, 21]) == [
        "none",
        "raise",
        "none",
        "repeat",
        "none",
        "none",
        "clear",
        "none",
        "raise",
    ]


def test_threshold_without_clear_ends_when_the_condition_does() -> None:
    low = {"attribute": "x", "op": "<", "value": 0.15}
    assert run("threshold", low, [0.5, 0.1, 0.12, 0.15, 0.1]) == [
        "none",
        "raise",
        "repeat",
        "clear",
        "raise",
    ]


def test_threshold_ignores_text_values() -> None:
    assert run("threshold", {"attribute": "x", "op": ">", "value": 1}, ["high", 2]) == [
        "none",
        "raise",
    ]


def test_state_matches_booleans_strictly_and_clears_on_any_other_value() -> None:
    assert run("state", {"attribute": "x", "values": [True]}, [False, 1, True, True, False]) == [
        "none",
        "none",
        "raise",
        "repeat",
        "clear",
    ]
    assert run(
        "state", {"attribute": "x", "values": ["defectiveLamp"]}, ["ok", "defectiveLamp"]
    ) == [
        "none",
        "raise",
    ]


def test_rate_needs_a_previous_reading_and_uses_minutes() -> None:
    # One reading a minute: +5, +30 (spike), +25 (still), -10 (ends).
    assert run("rate", {"attribute": "x", "per_minute": 20}, [10, 15, 45, 70, 60]) == [
        "none",
        "none",
        "raise",
        "repeat",
        "clear",
    ]


def test_rate_skips_a_reading_older_than_the_last() -> None:
    parsed = parse_definition("rate", {"attribute": "x", "per_minute": 1})
    _, memory = step(parsed, Memory(), "x", 10, T0)
    outcome, after = step(parsed, memory, "x", 100, T0 - timedelta(minutes=1))
    assert outcome is Outcome.NONE and after == memory


SQUARE = {
    "type": "Polygon",
    "coordinates": [[[113.0, 23.0], [113.1, 23.0], [113.1, 23.1], [113.0, 23.1], [113.0, 23.0]]],
}


def test_geofence_inside_and_outside() -> None:
    parsed = parse_definition("geofence", {"polygon": SQUARE, "inside": False})
    memory = Memory()
    outcome, memory = step(parsed, memory, "location", "23.05,113.05", T0)
    assert outcome is Outcome.NONE
    outcome, memory = step(parsed, memory, "latitude", 23.5, T0)  # longitude remembered
    assert outcome is Outcome.RAISE
    outcome, memory = step(
        parsed, memory, "location", {"type": "Point", "coordinates": [113.05, 23.05]}, T0
    )
    assert outcome is Outcome.CLEAR


def test_position_forms() -> None:
    assert position_of("23.1, 113.2") == (113.2, 23.1)
    assert position_of('{"type": "Point", "coordinates": [113.2, 23.1]}') == (113.2, 23.1)
    assert position_of("nowhere") is None
    assert position_of("95,10") is None


@pytest.mark.parametrize(
    ("kind", "definition", "field"),
    [
        ("threshold", {"attribute": "x", "op": "==", "value": 1}, "definition.op"),
        ("threshold", {"attribute": "x", "op": ">", "value": "hot"}, "definition.value"),
        ("threshold", {"attribute": "x", "op": ">", "value": 20, "clear": 30}, "definition.clear"),
        (
            "threshold",
            {"attribute": "x", "op": "<", "value": 0.15, "clear": 0.1},
            "definition.clear",
        ),
        ("threshold", {"op": ">", "value": 1}, "definition.attribute"),
        ("threshold", {"attribute": "x", "op": ">", "value": 1, "extra": 2}, "definition.extra"),
        ("state", {"attribute": "x", "values": []}, "definition.values"),
        ("state", {"attribute": "x", "values": [{"a": 1}]}, "definition.values"),
        ("rate", {"attribute": "x"}, "definition.per_minute"),
        ("nodata", {"seconds": 5}, "definition.seconds"),
        ("nodata", {"seconds": True}, "definition.seconds"),
        ("geofence", {"polygon": {"type": "Point", "coordinates": [1, 2]}}, "definition.polygon"),
        (
            "geofence",
            {
                "polygon": {
                    "type": "Polygon",
                    "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
                }
            },
            "definition.polygon",
        ),
        ("geofence", {"polygon": SQUARE, "inside": "yes"}, "definition.inside"),
        # A 400-digit JSON integer overflows a float; NaN and infinities are no numbers.
        ("threshold", {"attribute": "x", "op": ">", "value": 10**400}, "definition.value"),
        (
            "threshold",
            {"attribute": "x", "op": ">", "value": 1, "clear": -(10**400)},
            "definition.clear",
        ),
        ("threshold", {"attribute": "x", "op": ">", "value": float("nan")}, "definition.value"),
        ("rate", {"attribute": "x", "per_minute": 10**400}, "definition.per_minute"),
        ("rate", {"attribute": "x", "per_minute": float("inf")}, "definition.per_minute"),
        ("state", {"attribute": "x", "values": [10**400]}, "definition.values"),
        ("sometimes", {}, "kind"),
        ("threshold", [1, 2], "definition"),
    ],
)
def test_bad_definitions_name_the_field(kind: str, definition: Any, field: str) -> None:
    with pytest.raises(Problem) as caught:
        parse_definition(kind, definition)
    assert caught.value.status == 400
    assert caught.value.field == field


def test_a_huge_reading_is_no_number_rather_than_an_error() -> None:
    assert run("threshold", {"attribute": "x", "op": ">", "value": 1}, [10**400, 2]) == [
        "none",
        "raise",
    ]
    assert run("rate", {"attribute": "x", "per_minute": 1}, [1, 10**400]) == ["none", "none"]


@pytest.mark.parametrize(
    ("kind", "definition", "attribute", "bad", "good"),
    [
        ("threshold", {"attribute": "x", "op": ">", "value": 10}, "x", 20, 5),
        ("state", {"attribute": "x", "values": [True]}, "x", True, False),
        (
            "geofence",
            {"polygon": SQUARE, "inside": False},
            "location",
            "23.5,113.05",
            "23.05,113.05",
        ),
    ],
)
def test_a_reading_older_than_the_last_is_ignored(
    kind: str, definition: dict[str, Any], attribute: str, bad: Any, good: Any
) -> None:
    parsed = parse_definition(kind, definition)
    outcome, memory = step(parsed, Memory(), attribute, bad, T0)
    assert outcome is Outcome.RAISE and memory.last_at == T0
    # A buffered reading from half an hour earlier says normal: it must not clear the alarm.
    late, after = step(parsed, memory, attribute, good, T0 - timedelta(minutes=30))
    assert (late, after) == (Outcome.NONE, memory)
    newer, _ = step(parsed, memory, attribute, good, T0 + timedelta(minutes=1))
    assert newer is Outcome.CLEAR
