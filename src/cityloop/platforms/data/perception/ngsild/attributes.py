"""The attribute format (clause 4.5): which members each attribute type admits, the concise
inference rules, the NGSI-LD Null, and multi-attribute instances keyed by ``datasetId``.
Pure functions: what a client sends becomes the stored (expanded) form, or a 400 naming the
member at fault."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from cityloop.platforms.data.perception.ngsild.context import NGSI_LD, ActiveContext
from cityloop.platforms.data.perception.ngsild.errors import bad_data
from cityloop.platforms.data.perception.ngsild.geo import GEOMETRIES, valid_geojson
from cityloop.platforms.data.perception.ngsild.identifiers import (
    NGSI_LD_NULL,
    check_term,
    check_utc_time,
    is_uri,
)
from cityloop.platforms.data.perception.ngsild.texts import text

LOCATION = NGSI_LD + "location"
GEO_ATTRIBUTES = frozenset({LOCATION, NGSI_LD + "observationSpace", NGSI_LD + "operationSpace"})
# The member that carries each attribute type's content, in the order concise inference tries.
CONTENT_MEMBER = {
    "Relationship": "object",
    "ListRelationship": "objectList",
    "LanguageProperty": "languageMap",
    "VocabProperty": "vocab",
    "JsonProperty": "json",
    "ListProperty": "valueList",
    "Property": "value",
    "GeoProperty": "value",
}
ATTRIBUTE_TYPES = tuple(CONTENT_MEMBER)
# Members besides the content one that each type admits (clause 5.2.5 to 5.2.38's tables).
OPTIONAL_MEMBERS = {
    "Property": {"unitCode", "valueType", "lang"},
    "GeoProperty": set(),
    "Relationship": {"objectType"},
    "LanguageProperty": {"valueType"},
    "VocabProperty": set(),
    "JsonProperty": {"valueType"},
    "ListProperty": {"unitCode", "valueType"},
    "ListRelationship": {"objectType"},
}
SYSTEM_MEMBERS = frozenset({"createdAt", "modifiedAt", "deletedAt", "instanceId"})
# Members every attribute type may carry; expiresAt (clause 4.22) makes an instance transient.
TIMED_MEMBERS = frozenset({"observedAt", "datasetId", "expiresAt"})
INSTANCE_MEMBERS = frozenset(
    {"type", "observedAt", "unitCode", "datasetId", "objectType", "lang", "valueType", "expiresAt"}
)
# Output-only members: a client may not send them (clause 4.5.2.2 and 4.5.3.2's tables).
OUTPUT_MEMBERS = frozenset(
    {
        "previousValue",
        "previousObject",
        "previousObjectList",
        "previousLanguageMap",
        "previousVocab",
        "previousJson",
        "previousValueList",
        "entity",
        "entityList",
        "entityIdSealed",
        "entityTypeSealed",
    }
)
CORE_MEMBERS = (
    INSTANCE_MEMBERS | frozenset(CONTENT_MEMBER.values()) | SYSTEM_MEMBERS | OUTPUT_MEMBERS
)
# An entity's own members; the system-generated timestamps a client sends are ignored.
ENTITY_MEMBERS = frozenset(
    {"id", "type", "scope", "expiresAt", "@context", "createdAt", "modifiedAt"}
)
RESERVED_NAMES = ENTITY_MEMBERS | CORE_MEMBERS
DEFAULT_DATASET = "@none"
LANG_STRING = frozenset(
    {"langString", "rdf:langString", "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"}
)
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
MAX_DEPTH = 4
MAX_INSTANCES = 100


@dataclass(frozen=True)
class Deletion:
    """An NGSI-LD Null in an update (clause 4.5.x, 5.5.4): delete the instance or
    sub-attribute it stands for."""

    dataset_id: str | None = None


def check_attribute_name(name: Any) -> str:
    """The attribute name, checked and not a core member's; 400 BadRequestData otherwise."""
    check_term(name)
    if name in RESERVED_NAMES:
        raise bad_data(text("reserved_name", name=name))
    return str(name)


def check_dataset_id(value: Any) -> str:
    """A datasetId as sent: a URI, or "@none" for the default instance (clause 4.5.5); the
    NGSI-LD Null is refused, as a datasetId cannot be deleted (clause 5.5.8)."""
    if value == NGSI_LD_NULL:
        raise bad_data(text("dataset_null"))
    if value != DEFAULT_DATASET and not is_uri(value):
        raise bad_data(text("dataset_not_uri"))
    return str(value)


def instances(attribute: Any) -> list[Any]:
    """An attribute's instances, whether stored as one object or a list."""
    if isinstance(attribute, list):
        return list(attribute)
    return [] if attribute is None else [attribute]


def dataset_of(instance: Any) -> str | None:
    """The instance's datasetId; None for the default instance."""
    if isinstance(instance, Deletion):
        return instance.dataset_id
    return instance.get("datasetId") if isinstance(instance, dict) else None


def combine(items: list[Any]) -> Any:
    """Instances as stored: None when none is left, one object, or the list of them."""
    if not items:
        return None
    return items[0] if len(items) == 1 else items


def _check_json(name: str, value: Any, depth: int = 0, *, verbatim: bool = False) -> None:
    """Plain, finite JSON. Outside a ``verbatim`` JsonProperty, null and the NGSI-LD Null
    (clause 5.5.4 refuses it inside values) are not allowed either."""
    if depth > 64:
        raise bad_data(text("value_too_deep", name=name))
    if value is None and not verbatim:
        raise bad_data(text("value_null_inside", name=name))
    if value == NGSI_LD_NULL and not verbatim:
        raise bad_data(text("value_ngsi_null_inside", name=name))
    if isinstance(value, float) and not math.isfinite(value):
        raise bad_data(text("value_not_finite", name=name))
    if isinstance(value, dict):
        for key, item in value.items():
            _check_json(f"{name}.{key}", item, depth + 1, verbatim=verbatim)
    elif isinstance(value, list):
        for item in value:
            _check_json(name, item, depth + 1, verbatim=verbatim)


def _is_geometry(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") in GEOMETRIES and "coordinates" in value


def is_null_content(member: str, item: Any) -> bool:
    """Whether a content member holds its type's NGSI-LD Null."""
    if member == "languageMap":
        return item == {"@none": NGSI_LD_NULL}
    if member in ("valueList", "objectList"):
        return item in ([NGSI_LD_NULL], [{"object": NGSI_LD_NULL}])
    return item == NGSI_LD_NULL


def infer_type(raw: dict[str, Any], iri: str) -> str | None:
    """The type a concise attribute implies (clause 4.5.2.3 onwards), if any."""
    for kind, member in CONTENT_MEMBER.items():
        if member in raw:
            if member == "value" and (iri in GEO_ATTRIBUTES or _is_geometry(raw["value"])):
                return "GeoProperty"
            return kind
    return None


def _geometry(name: str, item: Any) -> Any:
    """A GeoProperty value; a string holding GeoJSON is parsed (clause 4.7.1's encoding)."""
    if isinstance(item, str):
        try:
            item = json.loads(item)
        except ValueError as exc:
            raise bad_data(text("not_geometry", name=name)) from exc
    _check_json(f"{name}.value", item)
    try:
        valid_geojson(item)
    except Exception as exc:
        raise bad_data(text("bad_geometry", name=name, reason=getattr(exc, "detail", exc))) from exc
    return item


def _content(name: str, kind: str, member: str, item: Any, active: ActiveContext) -> Any:
    """A content member, checked for its type; vocab terms expanded, objectList normalized."""
    where = f"{name}.{member}"
    if member == "value" and kind == "GeoProperty":
        return _geometry(name, item)
    if member == "object":
        objects = item if isinstance(item, list) else [item]
        if not objects or not all(is_uri(o) and o != NGSI_LD_NULL for o in objects):
            raise bad_data(text("not_uris", where=where))
        return item
    if member == "objectList":
        entries = [o.get("object") if isinstance(o, dict) else o for o in item or [None]]
        if not isinstance(item, list) or not all(is_uri(o) and o != NGSI_LD_NULL for o in entries):
            raise bad_data(text("not_object_list", where=where))
        return [{"object": o} for o in entries]
    if member == "languageMap":
        _check_language_map(where, item)
        return item
    if member == "vocab":
        terms = item if isinstance(item, list) else [item]
        if not terms or not all(isinstance(t, str) and t and t != NGSI_LD_NULL for t in terms):
            raise bad_data(text("not_terms", where=where))
        expanded = [active.expand(t) for t in terms]
        return expanded if isinstance(item, list) else expanded[0]
    if member == "json":
        if not isinstance(item, dict | list):
            raise bad_data(text("not_json", where=where))
        _check_json(where, item, verbatim=True)
        return item
    if member == "valueList" and not isinstance(item, list):
        raise bad_data(text("not_list", where=where))
    _check_json(where, item)
    return item


def _check_language_map(where: str, item: Any) -> None:
    if not isinstance(item, dict) or not item:
        raise bad_data(text("not_language_map", where=where))
    for tag, said in item.items():
        if tag != "@none" and not _LANGUAGE_TAG.match(tag):
            raise bad_data(text("not_language_tag", where=where, tag=tag))
        strings = said if isinstance(said, list) else [said]
        if not strings or not all(isinstance(s, str) and s != NGSI_LD_NULL for s in strings):
            raise bad_data(text("language_text", where=where, tag=tag))


def _member(name: str, kind: str | None, key: str, item: Any) -> Any:
    """An optional core member of an instance, checked."""
    where = f"{name}.{key}"
    if item is None:
        raise bad_data(text("member_null", where=where))
    if kind is not None and key not in OPTIONAL_MEMBERS[kind] | TIMED_MEMBERS:
        raise bad_data(text("member_not_of_type", where=where, kind=kind, key=key))
    if key in ("observedAt", "expiresAt"):
        return check_utc_time(item, where)
    if key == "datasetId":
        return check_dataset_id(item)
    if key == "valueType" and kind == "LanguageProperty" and item not in LANG_STRING:
        raise bad_data(text("lang_string_only", where=where))
    if key == "objectType":
        names = item if isinstance(item, list) else [item]
        if not names or not all(isinstance(n, str) and n for n in names):
            raise bad_data(text("not_type_names", where=where))
        return item
    if not isinstance(item, str) or not item or len(item) > 200:
        raise bad_data(text("not_short_string", where=where))
    return item


def expand_instance(
    name: str,
    raw: Any,
    active: ActiveContext,
    *,
    iri: str,
    stamp: str,
    deletes: bool = False,
    kind: str | None = None,
    partial: bool = False,
    depth: int = 0,
) -> Any:
    """Validate one attribute (normalized or concise; several instances in a list) and return
    its stored form. With ``deletes`` an NGSI-LD Null becomes a :class:`Deletion` (updates);
    otherwise it is refused (creation). ``kind`` is the type an update must keep; ``partial``
    admits a fragment without its content member."""
    if isinstance(raw, list) and depth == 0 and raw and all(isinstance(i, dict) for i in raw):
        if len(raw) > MAX_INSTANCES:
            raise bad_data(text("too_many_instances", name=name, limit=MAX_INSTANCES))
        out = [
            expand_instance(name, i, active, iri=iri, stamp=stamp, deletes=deletes, kind=kind)
            for i in raw
        ]
        seen = [dataset_of(i) for i in out]
        if len(seen) != len(set(seen)):
            raise bad_data(text("dataset_twice", name=name))
        return combine(out)
    if raw is None:
        raise bad_data(text("attribute_null", name=name))
    if not isinstance(raw, dict) or (_is_geometry(raw) and "value" not in raw):
        # Concise form: a bare value is a Property, a bare geometry a GeoProperty.
        raw = {"value": raw}
    given = raw.get("type")
    if given is not None and given not in ATTRIBUTE_TYPES:
        raise bad_data(text("unknown_attribute_type", name=name, given=given))
    if given is not None and kind is not None and given != kind:
        raise bad_data(text("attribute_type_differs", name=name, kind=kind, given=given))
    kind = given or kind or infer_type(raw, iri)
    if kind is None and not partial:
        raise bad_data(text("attribute_needs_type", name=name))
    if iri in GEO_ATTRIBUTES and kind not in (None, "GeoProperty"):
        raise bad_data(text("must_be_geo", name=name))
    content = CONTENT_MEMBER[kind] if kind else None
    if content is not None and content not in raw and not partial:
        raise bad_data(text("needs_content", name=name, kind=kind, member=content))
    if content in raw and is_null_content(content, raw[content]):
        if not deletes:
            raise bad_data(text("null_not_creatable", name=name, member=content))
        dataset = raw.get("datasetId")
        return Deletion(None if dataset in (None, DEFAULT_DATASET) else dataset)
    out: dict[str, Any] = {"type": kind} if kind else {}
    for key, item in raw.items():
        if key == "type" or key in SYSTEM_MEMBERS:
            continue
        if key in CONTENT_MEMBER.values() or key in ("value", "object"):
            if kind is not None and key != content:
                raise bad_data(
                    text("member_not_of_type", where=f"{name}.{key}", kind=kind, key=key)
                )
            out[key] = _content(name, kind or infer_type(raw, iri) or "Property", key, item, active)
        elif key in OUTPUT_MEMBERS:
            raise bad_data(text("output_only", name=name, key=key))
        elif key in INSTANCE_MEMBERS:
            value = _member(name, kind, key, item)
            if not (key == "datasetId" and value == DEFAULT_DATASET):
                out[key] = value
        else:
            if depth >= MAX_DEPTH:
                raise bad_data(text("sub_attributes_too_deep", name=name))
            check_attribute_name(key)
            sub_iri = active.expand(key)
            out[sub_iri] = expand_instance(
                f"{name}.{key}",
                item,
                active,
                iri=sub_iri,
                stamp=stamp,
                deletes=deletes,
                depth=depth + 1,
            )
    out["createdAt"] = stamp
    out["modifiedAt"] = stamp
    return out


def expand_attributes(
    body: dict[str, Any],
    active: ActiveContext,
    *,
    stamp: str,
    deletes: bool = False,
) -> dict[str, Any]:
    """Validate a client's attributes and return their stored forms, by expanded name."""
    attrs: dict[str, Any] = {}
    for name, raw in body.items():
        check_attribute_name(name)
        iri = active.expand(name)
        attrs[iri] = expand_instance(name, raw, active, iri=iri, stamp=stamp, deletes=deletes)
    return attrs


def without_deletions(instance: dict[str, Any]) -> dict[str, Any]:
    """The instance without the sub-attributes an NGSI-LD Null removes."""
    return {k: v for k, v in instance.items() if not isinstance(v, Deletion)}


def keep_created(instance: Any, previous: Any) -> Any:
    """The instance stamped with the createdAt of the instance it replaces."""
    if isinstance(instance, dict) and isinstance(previous, dict) and "createdAt" in previous:
        return {**instance, "createdAt": previous["createdAt"]}
    return instance
