"""Compact binary payloads (LoRaWAN style), hex or base64, decoded by a declared byte layout.

A layout entry: ``{"name": "temp", "offset": 0, "type": "i16", "scale": 0.1, "unit": "CEL"}``,
optionally ``"endian": "little"`` and ``"bits": [start, length]`` (counted from the least
significant bit) to pull a bit field out of an integer.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cityloop.platforms.data.perception.codecs.base import (
    CodecError,
    Reading,
    apply_mapping,
    mappings_from_config,
)
from cityloop.platforms.data.perception.messages import Message

FORMATS = {"u8": "B", "i8": "b", "u16": "H", "i16": "h", "u32": "I", "i32": "i", "f32": "f"}
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


@dataclass(frozen=True, slots=True)
class LayoutField:
    name: str
    offset: int
    type: str
    endian: str = "big"
    scale: float | None = None
    bits: tuple[int, int] | None = None
    unit: str | None = None

    @property
    def struct(self) -> struct.Struct:
        return struct.Struct((">" if self.endian == "big" else "<") + FORMATS[self.type])

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LayoutField:
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise CodecError(
                Message("perception.codec.layout_name", {"field": repr(dict(data))}), field="layout"
            )
        offset, type_ = data.get("offset"), data.get("type")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise CodecError(Message("perception.codec.layout_offset", {"name": name}), field=name)
        if type_ not in FORMATS:
            raise CodecError(
                Message(
                    "perception.codec.layout_type", {"name": name, "types": str(sorted(FORMATS))}
                ),
                field=name,
            )
        endian = data.get("endian", "big")
        if endian not in ("big", "little"):
            raise CodecError(Message("perception.codec.layout_endian", {"name": name}), field=name)
        scale = data.get("scale")
        numeric = isinstance(scale, int | float) and not isinstance(scale, bool)
        if scale is not None and not (numeric and math.isfinite(scale)):
            raise CodecError(Message("perception.codec.layout_scale", {"name": name}), field=name)
        bits = data.get("bits")
        if bits is not None:
            width = struct.calcsize(FORMATS[type_]) * 8
            if (
                type_ == "f32"
                or not isinstance(bits, list | tuple)
                or len(bits) != 2
                or not all(isinstance(b, int) and not isinstance(b, bool) for b in bits)
                or bits[0] < 0
                or bits[1] < 1
                or bits[0] + bits[1] > width
            ):
                raise CodecError(
                    Message("perception.codec.layout_bits", {"name": name, "width": str(width)}),
                    field=name,
                )
            bits = (bits[0], bits[1])
        return cls(name, offset, type_, endian, scale, bits, data.get("unit"))

    def read(self, data: bytes) -> int | float:
        layout = self.struct
        if self.offset + layout.size > len(data):
            raise CodecError(
                Message(
                    "perception.codec.payload_too_short",
                    {
                        "name": self.name,
                        "first": str(self.offset),
                        "last": str(self.offset + layout.size - 1),
                        "size": str(len(data)),
                    },
                ),
                field=self.name,
            )
        (value,) = layout.unpack_from(data, self.offset)
        if self.bits is not None:
            start, length = self.bits
            # Work on the unsigned bit pattern, so a field in a signed integer reads the same.
            value = ((value & ((1 << layout.size * 8) - 1)) >> start) & ((1 << length) - 1)
        if isinstance(value, float) and not math.isfinite(value):
            raise CodecError(
                Message(
                    "perception.codec.not_finite", {"attribute": self.name, "value": str(value)}
                ),
                field=self.name,
            )
        if self.scale is not None:
            if isinstance(value, int):
                # Decimal keeps 2155 × 0.01 at 21.55 rather than 21.549999999999997.
                return float(Decimal(value) * Decimal(repr(self.scale)))
            return value * self.scale
        return value


def payload_bytes(payload: bytes, encoding: str) -> bytes:
    """The raw bytes: as given (``raw``), from hex, from base64, or auto-detected."""
    if encoding == "raw":
        return payload
    if encoding not in ("auto", "hex", "base64"):
        raise CodecError(
            Message("perception.codec.unknown_encoding", {"encoding": repr(encoding)}),
            field="encoding",
        )
    try:
        text = payload.decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise CodecError(Message("perception.codec.not_ascii"), field="payload") from exc
    if encoding == "hex" or (encoding == "auto" and _HEX.fullmatch(text)):
        try:
            return bytes.fromhex(text)
        except ValueError as exc:
            raise CodecError(Message("perception.codec.not_hex"), field="payload") from exc
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise CodecError(Message("perception.codec.not_hex_nor_base64"), field="payload") from exc


class BinaryCodec:
    """Fixed byte layouts, the common shape of LoRaWAN and NB-IoT sensor uplinks."""

    name = "binary"

    def decode(self, payload: bytes, *, device_id: str, config: Mapping[str, Any]) -> list[Reading]:
        layout = config.get("layout")
        if not isinstance(layout, list) or not layout:
            raise CodecError(Message("perception.codec.layout_list"), field="layout")
        fields = [f if isinstance(f, LayoutField) else LayoutField.from_dict(f) for f in layout]
        data = payload_bytes(payload, str(config.get("encoding", "auto")))
        values = {f.name: f.read(data) for f in fields}
        units = {f.name: f.unit for f in fields}
        return apply_mapping(
            values, mappings_from_config(config), device_id, None, default_units=units
        )
