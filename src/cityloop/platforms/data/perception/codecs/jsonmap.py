"""JSON with an attribute mapping: ``{"lvl": 87, "timestamp": "..."}`` or a list of such objects."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cityloop.platforms.data.perception.codecs.base import (
    CodecError,
    Reading,
    apply_mapping,
    mappings_from_config,
    parse_timestamp,
)
from cityloop.platforms.data.perception.messages import Message

TIMESTAMP_KEYS = ("timestamp", "TimeInstant")


def _refuse_constant(name: str) -> Any:
    # json accepts NaN and Infinity by default; they are not JSON and not a measurement.
    raise CodecError(Message("perception.codec.json_constant", {"name": name}), field="payload")


class JsonCodec:
    """Flat JSON objects of object_id → scalar, mapped through the device's attribute mappings."""

    name = "json"

    def decode(self, payload: bytes, *, device_id: str, config: Mapping[str, Any]) -> list[Reading]:
        try:
            document = json.loads(payload.decode("utf-8"), parse_constant=_refuse_constant)
        except UnicodeDecodeError as exc:
            raise CodecError(Message("perception.codec.not_utf8"), field="payload") from exc
        except json.JSONDecodeError as exc:
            raise CodecError(
                Message("perception.codec.not_json", {"error": exc.msg}), field="payload"
            ) from exc
        objects = document if isinstance(document, list) else [document]
        mappings = mappings_from_config(config)
        readings: list[Reading] = []
        for item in objects:
            if not isinstance(item, dict):
                raise CodecError(Message("perception.codec.measure_object"), field="payload")
            values = dict(item)
            observed_at = None
            for key in TIMESTAMP_KEYS:
                if key in values:
                    observed_at = parse_timestamp(values.pop(key), field=key)
            for key, value in values.items():
                if not key:
                    raise CodecError(Message("perception.codec.empty_attribute"), field="key")
                # Readings are scalars; nested objects, lists and null have no normalised meaning.
                if not isinstance(value, int | float | str | bool):
                    raise CodecError(
                        Message("perception.codec.scalar_value", {"key": repr(key)}), field=key
                    )
            readings.extend(apply_mapping(values, mappings, device_id, observed_at))
        return readings
