"""Pure functions on NGSI-LD entities: validate and expand what a client sends, and render a
stored entity under a client's @context (normalized, concise or keyValues). Nothing here
touches the database, so subscriptions and notifications reuse it as is."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cityloop.platforms.data.perception.ngsild.context import NGSI_LD, ActiveContext
from cityloop.platforms.data.perception.ngsild.errors import bad_data
from cityloop.platforms.data.perception.ngsild.geo import valid_geojson

LOCATION = NGSI_LD + "location"
GEO_ATTRIBUTES = frozenset({LOCATION, NGSI_LD + "observationSpace", NGSI_LD + "operationSpace"})
ATTRIBUTE_TYPES = (
    "Property",
    "Relationship",
    "GeoProperty",
    "LanguageProperty",
    "VocabProperty",
    "JsonProperty",
    "ListProperty",
    "ListRelationship",
)
# The member that carries each attribute type's content.
CONTENT_MEMBER = {
    "Property": "value",
    "GeoProperty": "value",
    "Relationship": "object",
    "LanguageProperty": "languageMap",
    "VocabProperty": "vocab",
    "JsonProperty": "json",
    "ListProperty": "valueList",
    "ListRelationship": "objectList",
}
SYSTEM_MEMBERS = frozenset({"createdAt", "modifiedAt", "deletedAt", "instanceId"})
ENTITY_MEMBERS = frozenset({"id", "type", "scope", "expiresAt", "@context"}) | SYSTEM_MEMBERS
INSTANCE_MEMBERS = frozenset({"type", "observedAt", "unitCode", "datasetId", "objectType", "lang"})
RESERVED_NAMES = (
    ENTITY_MEMBERS
    | INSTANCE_MEMBERS
    | frozenset(CONTENT_MEMBER.values())
    | frozenset({"value", "object"})
)
_FORBIDDEN = re.compile(r"[<>\"'=;()\s\x00-\x1f\x7f]")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`\x00-\x1f\x7f]+$")
MAX_ID_LENGTH = 300
MAX_NAME_LENGTH = 200
MAX_DEPTH = 4
MAX_INSTANCES = 100


def now_iso() -> str:
    """The current time as an NGSI-LD date-time (UTC, ``Z``)."""
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    """A moment as an NGSI-LD date-time (UTC, ``Z``; microseconds only when there are some)."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: Any, what: str) -> datetime:
    """An ISO 8601 date-time with a zone (Z or an offset), as UTC."""
    if not isinstance(text, str) or len(text) > 40:
        raise bad_data(f"{what} must be an ISO 8601 date-time string")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise bad_data(f"{what} {text!r} is not an ISO 8601 date-time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def is_uri(value: Any) -> bool:
    """Whether the value is a URI short enough to be an id."""
    return isinstance(value, str) and len(value) <= MAX_ID_LENGTH and bool(_URI.match(value))


def check_entity_id(value: Any) -> str:
    """The entity id, checked to be a URI; 400 BadRequestData otherwise."""
    if not isinstance(value, str) or not value:
        raise bad_data("the entity id must be a string")
    if not is_uri(value):
        raise bad_data(f"the entity id {value[:100]!r} is not a URI")
    return value


def check_name(name: Any, what: str = "attribute name") -> str:
    """The name, checked for length and forbidden characters; 400 BadRequestData otherwise."""
    if not isinstance(name, str) or not name:
        raise bad_data(f"an {what} must be a non-empty string")
    if len(name) > MAX_NAME_LENGTH:
        raise bad_data(f"{what} {name[:60]!r}… is longer than {MAX_NAME_LENGTH} characters")
    if _FORBIDDEN.search(name):
        raise bad_data(f"{what} {name!r} holds a forbidden character (<>\"'=;() or spaces)")
    return name


def check_attribute_name(name: Any) -> str:
    """The attribute name, checked and not reserved; 400 BadRequestData otherwise."""
    check_name(name)
    if name in RESERVED_NAMES:
        raise bad_data(f"{name!r} is reserved and cannot name an attribute")
    return str(name)


def _check_json(value: Any, depth: int = 0) -> None:
    """Values must be plain, finite JSON (databases refuse NaN and infinities)."""
    if depth > 64:
        raise bad_data("a value is nested too deeply")
    if isinstance(value, float) and not math.isfinite(value):
        raise bad_data("numbers must be finite")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise bad_data("object keys must be strings")
            _check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)


def infer_type(instance: dict[str, Any]) -> str | None:
    """The attribute type an instance's content member implies, if any."""
    for kind, member in CONTENT_MEMBER.items():
        if member in instance and kind != "GeoProperty":
            return kind
    return None


def expand_instance(
    name: str,
    raw: Any,
    active: ActiveContext,
    *,
    iri: str,
    stamp: str,
    previous: dict[str, Any] | None = None,
    depth: int = 0,
    partial: bool = False,
) -> dict[str, Any] | list[dict[str, Any]]:
    """Validate one attribute (normalized or concise) and return its stored form."""
    # Core members stay as they are, sub-attribute names are expanded, createdAt/modifiedAt stamped.
    if (
        isinstance(raw, list)
        and depth == 0
        and raw
        and all(isinstance(i, dict) and ("type" in i or infer_type(i)) for i in raw)
    ):
        if len(raw) > MAX_INSTANCES:
            raise bad_data(f"attribute {name!r} has more than {MAX_INSTANCES} instances")
        out = [
            expand_instance(name, item, active, iri=iri, stamp=stamp, depth=depth) for item in raw
        ]
        seen = [item.get("datasetId") for item in out if isinstance(item, dict)]
        if len(seen) != len(set(seen)):
            raise bad_data(f"attribute {name!r} repeats a datasetId")
        return out  # type: ignore[return-value]
    if not isinstance(raw, dict):
        # Concise form: a bare value is a Property.
        if raw is None:
            raise bad_data(f"attribute {name!r} has a null value")
        raw = {"type": "Property", "value": raw}
    kind = raw.get("type")
    if kind is None and not partial:
        geo = iri in GEO_ATTRIBUTES and "value" in raw
        kind = "GeoProperty" if geo else infer_type(raw)
        if kind is None:
            raise bad_data(f"attribute {name!r} needs a type (Property, Relationship, …)")
    if kind is not None and kind not in ATTRIBUTE_TYPES:
        raise bad_data(f"attribute {name!r} has unknown type {kind!r}")
    if iri in GEO_ATTRIBUTES and kind not in (None, "GeoProperty"):
        raise bad_data(f"attribute {name!r} must be a GeoProperty")
    out: dict[str, Any] = {}
    if kind is not None:
        out["type"] = kind
        member = CONTENT_MEMBER[kind]
        if member not in raw and not partial:
            raise bad_data(f"{kind} {name!r} needs a {member!r} member")
    for key, item in raw.items():
        if key in ("type", "createdAt", "modifiedAt", "instanceId", "deletedAt"):
            continue
        if key in CONTENT_MEMBER.values():
            out[key] = _content(name, kind, key, item)
        elif key == "observedAt":
            out[key] = iso(parse_time(item, f"{name}.observedAt"))
        elif key == "expiresAt":
            out[key] = iso(parse_time(item, f"{name}.expiresAt"))
        elif key == "unitCode":
            if not isinstance(item, str) or not item or len(item) > 40:
                raise bad_data(f"{name}.unitCode must be a short string")
            out[key] = item
        elif key == "datasetId":
            if not is_uri(item):
                raise bad_data(f"{name}.datasetId must be a URI")
            out[key] = item
        elif key in ("objectType", "lang"):
            _check_json(item)
            out[key] = item
        else:
            if depth >= MAX_DEPTH:
                raise bad_data(f"attribute {name!r} nests sub-attributes too deeply")
            check_attribute_name(key)
            sub_iri = active.expand(key)
            out[sub_iri] = expand_instance(
                f"{name}.{key}", item, active, iri=sub_iri, stamp=stamp, depth=depth + 1
            )
    out["createdAt"] = (previous or {}).get("createdAt", stamp)
    out["modifiedAt"] = stamp
    return out


def _content(name: str, kind: str | None, member: str, item: Any) -> Any:
    _check_json(item)
    if item is None:
        raise bad_data(f"{name}.{member} may not be null")
    if kind == "GeoProperty" and member == "value":
        valid_geojson(item)
    elif member == "object":
        objects = item if isinstance(item, list) else [item]
        if not objects or not all(is_uri(o) for o in objects):
            raise bad_data(f"Relationship {name!r} must point at a URI")
    elif member == "objectList":
        if not isinstance(item, list) or not all(
            is_uri(o if not isinstance(o, dict) else o.get("object")) for o in item
        ):
            raise bad_data(f"ListRelationship {name!r} needs a list of URIs")
    elif member == "languageMap":
        if not isinstance(item, dict) or not all(isinstance(v, str | list) for v in item.values()):
            raise bad_data(f"LanguageProperty {name!r} needs a map of language to string")
    elif member == "valueList" and not isinstance(item, list):
        raise bad_data(f"ListProperty {name!r} needs a list")
    elif member == "vocab" and not isinstance(item, str | list):
        raise bad_data(f"VocabProperty {name!r} needs a term or a list of terms")
    return item


@dataclass
class Incoming:
    """A validated entity from a client: expanded types and attributes."""

    entity_id: str | None
    types: list[str]
    scope: list[str] | None
    attrs: dict[str, Any]
    expires_at: datetime | None = None


def expand_entity(
    body: Any,
    active: ActiveContext,
    *,
    stamp: str,
    need_id: bool = True,
    need_type: bool = True,
    previous: dict[str, Any] | None = None,
) -> Incoming:
    """Validate an entity from a client and expand its types and attribute names."""
    if not isinstance(body, dict):
        raise bad_data("an entity must be a JSON object")
    entity_id = body.get("id")
    if need_id or entity_id is not None:
        entity_id = check_entity_id(entity_id)
    raw_type = body.get("type")
    types: list[str] = []
    if raw_type is None:
        if need_type:
            raise bad_data("the entity needs a type")
    else:
        names = raw_type if isinstance(raw_type, list) else [raw_type]
        if not names:
            raise bad_data("the entity type list is empty")
        for name in names:
            check_name(name, "entity type")
            iri = active.expand(name)
            if len(iri) > MAX_ID_LENGTH:
                raise bad_data(f"entity type {name!r} expands to an IRI over {MAX_ID_LENGTH} chars")
            types.append(iri)
    scope = body.get("scope")
    if scope is not None:
        scopes = scope if isinstance(scope, list) else [scope]
        if not all(isinstance(s, str) and s.startswith("/") and len(s) < 200 for s in scopes):
            raise bad_data("scope must be a path like /city/district or a list of them")
        scope = scopes
    attrs = expand_attributes(
        {k: v for k, v in body.items() if k not in ENTITY_MEMBERS},
        active,
        stamp=stamp,
        previous=previous,
    )
    expires_at = parse_time(body["expiresAt"], "expiresAt") if "expiresAt" in body else None
    return Incoming(entity_id, types, scope, attrs, expires_at)


def expand_attributes(
    body: dict[str, Any],
    active: ActiveContext,
    *,
    stamp: str,
    previous: dict[str, Any] | None = None,
    partial: bool = False,
) -> dict[str, Any]:
    """Validate a client's attributes and return their stored forms, by expanded name."""
    attrs: dict[str, Any] = {}
    for name, raw in body.items():
        check_attribute_name(name)
        iri = active.expand(name)
        before = (previous or {}).get(iri)
        attrs[iri] = expand_instance(
            name,
            raw,
            active,
            iri=iri,
            stamp=stamp,
            previous=before if isinstance(before, dict) else None,
            partial=partial,
        )
    return attrs


# --- rendering --------------------------------------------------------------------------------


@dataclass
class EntityView:
    """What rendering needs of a stored entity."""

    entity_id: str
    types: list[str]
    attrs: dict[str, Any]
    scope: list[str] | None = None
    created_at: str | None = None
    modified_at: str | None = None
    expires_at: str | None = None


def unexpired(attrs: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The attributes without the instances whose expiresAt (4.22) has passed."""

    def live(instance: Any) -> bool:
        expires = instance.get("expiresAt") if isinstance(instance, dict) else None
        return expires is None or parse_time(expires, "expiresAt") > now

    out: dict[str, Any] = {}
    for iri, attribute in attrs.items():
        if isinstance(attribute, list):
            kept = [instance for instance in attribute if live(instance)]
            if kept:
                # The one instance left of several is an object, as a single instance is.
                out[iri] = kept[0] if len(kept) == 1 < len(attribute) else kept
        elif live(attribute):
            out[iri] = attribute
    return out


def key_value(instance: Any) -> Any:
    """The simplified (keyValues) form of an attribute: its values only."""
    if isinstance(instance, list):
        return [key_value(item) for item in instance]
    if not isinstance(instance, dict):
        return instance
    member = CONTENT_MEMBER.get(str(instance.get("type")), "value")
    return instance.get(member)


def _render_instance(
    instance: dict[str, Any], active: ActiveContext, sys_attrs: bool, concise: bool
) -> Any:
    out: dict[str, Any] = {}
    for key, item in instance.items():
        if key in ("createdAt", "modifiedAt", "expiresAt"):
            if sys_attrs:
                out[key] = item
        elif key == "type" or key in CONTENT_MEMBER.values() or key in INSTANCE_MEMBERS:
            out[key] = item
        else:
            out[active.compact(key)] = render_attribute(item, active, sys_attrs, concise)
    if concise:
        kind = out.pop("type", None)
        if kind == "GeoProperty" and len(out) == 1:
            return out["value"]
        if kind == "Property" and len(out) == 1 and not isinstance(out.get("value"), dict):
            return out["value"]
        if kind not in ("Property", "Relationship", "GeoProperty", None):
            out["type"] = kind
    return out


def render_attribute(
    attribute: Any, active: ActiveContext, sys_attrs: bool = False, concise: bool = False
) -> Any:
    """A stored attribute as the client sees it: names compacted, normalized or concise."""
    if isinstance(attribute, list):
        return [_render_instance(i, active, sys_attrs, concise) for i in attribute]
    if isinstance(attribute, dict):
        return _render_instance(attribute, active, sys_attrs, concise)
    return attribute


def render_entity(
    entity: EntityView,
    active: ActiveContext,
    *,
    key_values: bool = False,
    concise: bool = False,
    attrs: set[str] | None = None,
    sys_attrs: bool = False,
) -> dict[str, Any]:
    """An entity as a client under ``active`` sees it. ``attrs`` (expanded names) projects."""
    types = [active.compact(t) for t in entity.types]
    out: dict[str, Any] = {"id": entity.entity_id, "type": types[0] if len(types) == 1 else types}
    if entity.scope:
        out["scope"] = entity.scope if len(entity.scope) > 1 else entity.scope[0]
    if sys_attrs and not key_values:
        if entity.created_at:
            out["createdAt"] = entity.created_at
        if entity.modified_at:
            out["modifiedAt"] = entity.modified_at
        if entity.expires_at:
            out["expiresAt"] = entity.expires_at
    for iri, attribute in entity.attrs.items():
        if attrs is not None and iri not in attrs:
            continue
        name = active.compact(iri)
        if key_values:
            out[name] = key_value(attribute)
        else:
            out[name] = render_attribute(attribute, active, sys_attrs, concise)
    return out
