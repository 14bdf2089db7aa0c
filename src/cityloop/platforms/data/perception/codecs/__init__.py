"""Vendor codecs: a payload in, normalised readings out.

Built-ins are looked up first; a partner adds a vendor by registering a class (or an instance)
in the ``cityloop.codecs`` entry-point group, without forking the platform.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from cityloop.platforms.data.perception.codecs.base import (
    AttributeMapping,
    Codec,
    CodecError,
    Reading,
    apply_mapping,
)
from cityloop.platforms.data.perception.codecs.binary import BinaryCodec
from cityloop.platforms.data.perception.codecs.jsonmap import JsonCodec
from cityloop.platforms.data.perception.codecs.ultralight import UltraLightCodec
from cityloop.platforms.data.perception.messages import Message

ENTRY_POINT_GROUP = "cityloop.codecs"

__all__ = [
    "ENTRY_POINT_GROUP",
    "AttributeMapping",
    "Codec",
    "CodecError",
    "Reading",
    "apply_mapping",
    "builtin_codecs",
    "get_codec",
]


def builtin_codecs() -> dict[str, Codec]:
    """The codecs shipped with the platform, by name."""
    codecs: list[Codec] = [UltraLightCodec(), JsonCodec(), BinaryCodec()]
    return {codec.name: codec for codec in codecs}


_BUILTIN = builtin_codecs()


def get_codec(name: str) -> Codec:
    """The codec called ``name``: a built-in, else one installed through an entry point."""
    if name in _BUILTIN:
        return _BUILTIN[name]
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == name:
            loaded = entry.load()
            codec = loaded() if isinstance(loaded, type) else loaded
            if not isinstance(codec, Codec):
                raise CodecError(
                    Message("perception.codec.no_decode", {"name": repr(name)}), field="codec"
                )
            return codec  # type: ignore[no-any-return]
    raise CodecError(Message("perception.codec.unknown", {"name": repr(name)}), field="codec")
