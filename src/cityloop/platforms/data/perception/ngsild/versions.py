"""Version preference (ETSI GS CIM 009 4.3.6.8): a client that reads only an earlier version of
the specification says so with ``Prefer: ngsi-ld=<major.minor>`` (RFC 7240); the answer names
the version it honoured in ``Preference-Applied`` and reformats, in entity data, the attribute
types that version did not have (Table 4.3.6.8-1), answering 203 when it altered anything."""

from __future__ import annotations

import re
from typing import Any

# The attribute types later versions added, the version that added each, and its fallback:
# the type it is reformatted as and the member its content moves to.
_ADDED: dict[str, tuple[tuple[int, int], str, str, str]] = {
    "LanguageProperty": ((1, 4), "languageMap", "Property", "value"),
    "VocabProperty": ((1, 8), "vocab", "Property", "value"),
    "JsonProperty": ((1, 8), "json", "Property", "value"),
    "ListProperty": ((1, 8), "valueList", "Property", "value"),
    "ListRelationship": ((1, 8), "objectList", "Relationship", "object"),
}
_VERSION = re.compile(r"^(\d{1,3})\.(\d{1,3})$")
_ENTITY_MEMBERS = frozenset({"id", "type", "scope", "@context", "createdAt", "modifiedAt"})


def preferred_version(prefer: str | None) -> str | None:
    """The ``ngsi-ld`` preference of a Prefer header (name case-insensitive, value a token or
    a quoted string, parameters after ``;`` ignored); None without a well-formed one."""
    for preference in (prefer or "").split(","):
        head = preference.split(";", 1)[0].strip()
        name, sep, value = head.partition("=")
        if sep and name.strip().lower() == "ngsi-ld":
            version = value.strip().strip('"')
            if _VERSION.match(version):
                return version
    return None


def prefers_body_json(prefer: str | None) -> bool:
    """Whether a Prefer header asks for ``body=json`` (6.3.6: a GeoJSON answer then names its
    @context in a Link header instead of its body)."""
    for preference in (prefer or "").split(","):
        name, _, value = preference.split(";", 1)[0].strip().partition("=")
        if name.strip().lower() == "body" and value.strip().strip('"').lower() == "json":
            return True
    return False


def _as_tuple(version: str) -> tuple[int, int]:
    major, minor = version.split(".")
    return int(major), int(minor)


def _instance(instance: Any, version: tuple[int, int]) -> tuple[Any, bool]:
    if not isinstance(instance, dict):
        return instance, False
    fallback = _ADDED.get(str(instance.get("type")))
    if fallback is None or version >= fallback[0]:
        return instance, False
    _, member, kind, target = fallback
    out = {k: v for k, v in instance.items() if k != member}
    out["type"], out[target] = kind, instance.get(member)
    if kind == "Relationship" and isinstance(out[target], list):
        # A ListRelationship's items are {"object": id}; a Relationship's object is the ids.
        out[target] = [i.get("object") if isinstance(i, dict) else i for i in out[target]]
    return out, True


def downgrade_entity(entity: Any, version: str) -> tuple[Any, bool]:
    """``entity`` (normalized) as a client of ``version`` reads it, and whether it changed."""
    if not isinstance(entity, dict):
        return entity, False
    wanted = _as_tuple(version)
    altered = False
    out: dict[str, Any] = {}
    for name, attribute in entity.items():
        if name in _ENTITY_MEMBERS:
            out[name] = attribute
            continue
        items = attribute if isinstance(attribute, list) else [attribute]
        changed = [_instance(item, wanted) for item in items]
        altered = altered or any(flag for _, flag in changed)
        values = [item for item, _ in changed]
        out[name] = values if isinstance(attribute, list) else values[0]
    return out, altered


def downgrade(data: Any, version: str) -> tuple[Any, bool]:
    """One entity or a list of entities for ``version``, and whether anything changed."""
    if isinstance(data, list):
        pairs = [downgrade_entity(item, version) for item in data]
        return [item for item, _ in pairs], any(flag for _, flag in pairs)
    return downgrade_entity(data, version)
