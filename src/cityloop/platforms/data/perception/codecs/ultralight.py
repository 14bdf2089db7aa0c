"""UltraLight 2.0: ``t|21.5|h|40``, ``#``-separated groups, optional leading ISO 8601 timestamp."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cityloop.platforms.data.perception.codecs.base import (
    CodecError,
    Reading,
    apply_mapping,
    mappings_from_config,
    parse_timestamp,
)
from cityloop.platforms.data.perception.messages import Message

_INT = re.compile(r"[+-]?\d+")
# Only plain decimal literals are numbers; "nan", "inf" and "1_000" stay text, as a vendor meant.
_FLOAT = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")


def parse_value(text: str) -> int | float | str:
    """A UL value: an int or a float when it looks like one, otherwise the text itself."""
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def parse_groups(text: str) -> list[tuple[datetime | None, dict[str, int | float | str]]]:
    """The measure groups of a UL payload, each with its own timestamp (or None)."""
    text = text.strip()
    if not text:
        raise CodecError(Message("perception.codec.empty_payload"), field="payload")
    groups = []
    for index, group in enumerate(text.split("#"), start=1):
        fields = [f.strip() for f in group.strip().split("|")]
        observed_at = None
        # An odd field count means the key|value pairs are preceded by a timestamp.
        if len(fields) % 2 == 1:
            observed_at = parse_timestamp(fields[0], field="timestamp")
            fields = fields[1:]
            if not fields:
                raise CodecError(
                    Message("perception.codec.group_no_measures", {"index": str(index)}),
                    field="payload",
                )
        values: dict[str, int | float | str] = {}
        for key, value in zip(fields[::2], fields[1::2], strict=True):
            if not key:
                raise CodecError(
                    Message("perception.codec.group_empty_attribute", {"index": str(index)}),
                    field="key",
                )
            if not value:
                raise CodecError(
                    Message(
                        "perception.codec.group_no_value", {"index": str(index), "key": repr(key)}
                    ),
                    field=key,
                )
            values[key] = parse_value(value)
        groups.append((observed_at, values))
    return groups


class UltraLightCodec:
    """The FIWARE IoT Agent UltraLight 2.0 measure format."""

    name = "ul"

    def decode(self, payload: bytes, *, device_id: str, config: Mapping[str, Any]) -> list[Reading]:
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CodecError(Message("perception.codec.not_utf8"), field="payload") from exc
        mappings = mappings_from_config(config)
        readings: list[Reading] = []
        for observed_at, values in parse_groups(text):
            readings.extend(apply_mapping(values, mappings, device_id, observed_at))
        return readings
