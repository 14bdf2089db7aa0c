"""Data quality (数据质量): completeness, schema conformance and freshness of each dataset."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from cityloop.platforms.data.catalogue.datastore import schema_fields
from cityloop.platforms.data.catalogue.models import Dataset
from cityloop.platforms.data.catalogue.vocabularies import FREQUENCIES

MAX_EXAMPLES = 20
_CHECKS: dict[str, Any] = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "date": lambda v: isinstance(v, date) or _parses(v, date.fromisoformat),
    "datetime": lambda v: isinstance(v, datetime) or _parses(v, datetime.fromisoformat),
}


def _parses(value: Any, parse: Any) -> bool:
    try:
        parse(value)
    except (TypeError, ValueError):
        return False
    return True


def schema_problems(
    schema: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]
) -> tuple[int, list[dict[str, Any]]]:
    """How many cells break the schema (a wrong type, a required value missing), with examples."""
    count, examples = 0, []
    for number, row in enumerate(rows, start=1):
        for field in schema_fields(schema):
            value = row.get(field["name"])
            required = bool(field.get("constraints", {}).get("required"))
            check = _CHECKS.get(field["type"])
            if value is None:
                broken = required
                code = "missing-value"
            else:
                broken = check is not None and not check(value)
                code = "type-error"
            if broken:
                count += 1
                if len(examples) < MAX_EXAMPLES:
                    examples.append({"row": number, "field": field["name"], "code": code})
    return count, examples


def freshness(dataset: Dataset, now: datetime) -> dict[str, Any]:
    """How old the dataset's rows are against its update frequency, and whether that is stale."""
    limit = FREQUENCIES.get(dataset.frequency, ("", "", None))[2]
    refreshed = dataset.refreshed_at
    if refreshed is None:
        return {"age_seconds": None, "max_age_seconds": _seconds(limit), "stale": True}
    age = now - refreshed.astimezone(UTC)
    return {
        "age_seconds": int(age.total_seconds()),
        "max_age_seconds": _seconds(limit),
        "stale": limit is not None and age > limit,
    }


def _seconds(limit: Any) -> int | None:
    return int(limit.total_seconds()) if limit is not None else None


def measure(
    *, dataset: Dataset, rows: Sequence[Mapping[str, Any]], blanked: int, now: datetime
) -> dict[str, Any]:
    """The quality record of a dataset just built from these rows."""
    fields = [f["name"] for f in schema_fields(dataset.table_schema)]
    filled = {name: sum(1 for row in rows if row.get(name) not in (None, "")) for name in fields}
    cells = len(rows) * len(fields)
    errors, examples = schema_problems(dataset.table_schema, rows)
    fresh = freshness(dataset, now)
    return {
        "checked_at": now.isoformat(),
        "rows": len(rows),
        "completeness": round(sum(filled.values()) / cells, 4) if cells else None,
        "field_completeness": {
            name: round(filled[name] / len(rows), 4) if rows else None for name in fields
        },
        "schema_errors": errors,
        "schema_error_examples": examples,
        "blanked_values": blanked,
        **fresh,
    }
