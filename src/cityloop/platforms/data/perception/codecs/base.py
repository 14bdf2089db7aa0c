"""The codec interface and the attribute mapping every codec shares.

A codec turns one vendor payload into normalised :class:`Reading` objects. The mapping step
(object_id to name, type, unit, expression, range) is common to all vendors, so it lives here and
each codec only has to produce a flat ``{object_id: raw value}`` dictionary.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from cityloop.platforms.data.perception.codecs.errors import CodecError
from cityloop.platforms.data.perception.codecs.expressions import SafeExpression, compile_expression
from cityloop.platforms.data.perception.messages import Message

__all__ = [
    "AttributeMapping",
    "Codec",
    "CodecError",
    "Reading",
    "apply_mapping",
    "mappings_from_config",
    "parse_timestamp",
]

Scalar = float | int | str | bool

ATTRIBUTE_TYPES = frozenset({"Number", "Text", "Boolean"})
_TRUE_WORDS = frozenset({"true", "1", "on", "yes"})
_FALSE_WORDS = frozenset({"false", "0", "off", "no"})


@dataclass(frozen=True, slots=True)
class Reading:
    """One normalised measurement; ``observed_at`` is None when the device sent no timestamp."""

    device_id: str
    attribute: str
    value: Scalar
    observed_at: datetime | None
    unit: str | None


@runtime_checkable
class Codec(Protocol):
    """What a vendor plug-in implements; registered in the ``cityloop.codecs`` entry-point group."""

    name: str

    def decode(
        self, payload: bytes, *, device_id: str, config: Mapping[str, Any]
    ) -> list[Reading]: ...


@dataclass(frozen=True, slots=True)
class AttributeMapping:
    """How one vendor attribute (``object_id``) becomes a platform attribute (``name``)."""

    object_id: str
    name: str
    type: str
    unit: str | None = None
    expression: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    # A lookup table from a raw code to a word, e.g. {"0": "free", "1": "occupied"}: how a
    # bit in a binary uplink becomes a Smart Data Models value without code in the profile.
    values: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        # Validate at configuration time, so a bad profile fails once, not on every message.
        if not self.object_id or not self.name:
            raise CodecError(Message("perception.codec.mapping_needs_names"), field="mappings")
        if self.type not in ATTRIBUTE_TYPES:
            raise CodecError(
                Message(
                    "perception.codec.mapping_type",
                    {"object_id": repr(self.object_id), "types": str(sorted(ATTRIBUTE_TYPES))},
                ),
                field="mappings",
            )
        if self.expression is not None:
            self.compiled()
        if self.values is not None:
            pairs = self.values.items() if isinstance(self.values, Mapping) else ()
            if not pairs or not all(isinstance(k, str) and isinstance(v, str) for k, v in pairs):
                raise CodecError(
                    Message("perception.codec.mapping_values", {"object_id": repr(self.object_id)}),
                    field="mappings",
                )
            if self.type != "Text":
                raise CodecError(
                    Message(
                        "perception.codec.mapping_values_text", {"object_id": repr(self.object_id)}
                    ),
                    field="mappings",
                )

    def compiled(self) -> SafeExpression | None:
        return None if self.expression is None else compile_expression(self.expression)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AttributeMapping:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise CodecError(
                Message("perception.codec.mapping_unknown_keys", {"keys": str(sorted(unknown))}),
                field="mappings",
            )
        try:
            return cls(**data)
        except TypeError as exc:
            raise CodecError(
                Message(
                    "perception.codec.mapping_invalid",
                    {"mapping": repr(dict(data)), "error": str(exc)},
                ),
                field="mappings",
            ) from exc


def mappings_from_config(config: Mapping[str, Any]) -> list[AttributeMapping]:
    """The ``mappings`` list of a codec configuration, as :class:`AttributeMapping` objects."""
    raw = config.get("mappings") or []
    if not isinstance(raw, list):
        raise CodecError(Message("perception.codec.mappings_list"), field="mappings")
    result = []
    for item in raw:
        if isinstance(item, AttributeMapping):
            result.append(item)
        elif isinstance(item, Mapping):
            result.append(AttributeMapping.from_dict(item))
        else:
            raise CodecError(
                Message("perception.codec.mapping_object", {"item": repr(item)}), field="mappings"
            )
    return result


def parse_timestamp(text: Any, *, field: str = "timestamp") -> datetime:
    """An ISO 8601 timestamp; a naive one is taken as UTC so every reading is comparable."""
    if not isinstance(text, str) or not text:
        raise CodecError(
            Message("perception.codec.timestamp_text", {"value": repr(text)}), field=field
        )
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise CodecError(
            Message("perception.codec.timestamp_format", {"value": repr(text)}), field=field
        ) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _to_number(value: Scalar, attribute: str) -> int | float:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        number: int | float = value
    else:
        try:
            number = int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError as exc:
                message = Message(
                    "perception.codec.not_a_number", {"attribute": attribute, "value": repr(value)}
                )
                raise CodecError(message, field=attribute) from exc
    if isinstance(number, float) and not math.isfinite(number):
        raise CodecError(
            Message("perception.codec.not_finite", {"attribute": attribute, "value": repr(value)}),
            field=attribute,
        )
    return number


def _convert(value: Scalar, type_: str, attribute: str) -> Scalar:
    if type_ == "Number":
        return _to_number(value, attribute)
    if type_ == "Boolean":
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise CodecError(
            Message("perception.codec.not_boolean", {"attribute": attribute, "value": repr(value)}),
            field=attribute,
        )
    # Text: booleans as JSON spells them, so "true" reads the same whatever the vendor sent.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def apply_mapping(
    raw: Mapping[str, Any],
    mappings: Iterable[AttributeMapping],
    device_id: str,
    observed_at: datetime | None,
    *,
    default_units: Mapping[str, str | None] | None = None,
) -> list[Reading]:
    """Readings from one group of raw values, through the device's attribute mappings."""
    # Unmapped attributes pass through unchanged, as the FIWARE IoT Agents do, so a new sensor field
    # is visible before anyone writes a mapping for it. ``default_units`` lets a codec that knows
    # units on its own (a binary layout) supply them when the mapping does not.
    by_object_id = {m.object_id: m for m in mappings}
    units = default_units or {}
    # Other raw attributes are visible to expressions by object_id (e.g. "t - offset").
    shared = {key: value for key, value in raw.items() if key.isidentifier()}
    readings: list[Reading] = []
    for object_id, value in raw.items():
        mapping = by_object_id.get(object_id)
        if mapping is None:
            readings.append(Reading(device_id, object_id, value, observed_at, units.get(object_id)))
            continue
        name = mapping.name
        if mapping.type == "Number":
            value = _to_number(value, name)
        expression = mapping.compiled()
        if expression is not None:
            try:
                value = expression.evaluate({**shared, "value": value})
            except CodecError as exc:
                inner = exc.detail if isinstance(exc.detail, Message) else None
                errors = {
                    "error": str(exc),
                    "error_zh": inner.render("zh-CN") if inner else str(exc),
                }
                raise CodecError(
                    Message("perception.codec.expression_failed", {"attribute": name, **errors}),
                    field=name,
                ) from exc
        if mapping.values is not None:
            value = _look_up(value, mapping)
        value = _convert(value, mapping.type, name)
        if mapping.type == "Number":
            _check_range(value, mapping)
        unit = mapping.unit if mapping.unit is not None else units.get(object_id)
        readings.append(Reading(device_id, name, value, observed_at, unit))
    return readings


def _look_up(value: Scalar, mapping: AttributeMapping) -> str:
    assert mapping.values is not None
    if isinstance(value, bool):
        key = "true" if value else "false"
    elif isinstance(value, float) and value.is_integer():
        key = str(int(value))
    else:
        key = str(value)
    if key not in mapping.values:
        raise CodecError(
            Message(
                "perception.codec.not_a_choice",
                {
                    "attribute": mapping.name,
                    "value": repr(value),
                    "choices": str(sorted(mapping.values)),
                },
            ),
            field=mapping.name,
            reason="out_of_range",
        )
    return mapping.values[key]


def _check_range(value: Scalar, mapping: AttributeMapping) -> None:
    assert isinstance(value, int | float)
    if mapping.minimum is not None and value < mapping.minimum:
        raise CodecError(
            Message(
                "perception.codec.below_minimum",
                {"attribute": mapping.name, "value": str(value), "minimum": str(mapping.minimum)},
            ),
            field=mapping.name,
            reason="out_of_range",
        )
    if mapping.maximum is not None and value > mapping.maximum:
        raise CodecError(
            Message(
                "perception.codec.above_maximum",
                {"attribute": mapping.name, "value": str(value), "maximum": str(mapping.maximum)},
            ),
            field=mapping.name,
            reason="out_of_range",
        )
