"""Pure functions on NGSI-LD entities: validate and expand what a client sends, and render a
stored entity under a client's @context (normalized, concise or keyValues). Nothing here
touches the database, so subscriptions and notifications reuse it as is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cityloop.platforms.data.perception.ngsild.attributes import (
    CONTENT_MEMBER,
    ENTITY_MEMBERS,
    INSTANCE_MEMBERS,
    LOCATION,
    expand_attributes,
    keep_created,
)
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.errors import bad_data
from cityloop.platforms.data.perception.ngsild.identifiers import (
    MAX_ID_LENGTH,
    check_entity_id,
    check_name,
    check_scope,
    check_term,
    is_uri,
    iso,
    now_iso,
    parse_time,
)
from cityloop.platforms.data.perception.ngsild.texts import text

# Re-exported: the modules that read and write entities take these from here.
__all__ = ["LOCATION", "check_entity_id", "check_name", "is_uri", "iso", "now_iso", "parse_time"]


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
        raise bad_data(text("entity_not_object"))
    entity_id = body.get("id")
    if need_id or entity_id is not None:
        entity_id = check_entity_id(entity_id)
    raw_type = body.get("type")
    types: list[str] = []
    if raw_type is None:
        if need_type:
            raise bad_data(text("entity_needs_type"))
    else:
        names = raw_type if isinstance(raw_type, list) else [raw_type]
        if not names:
            raise bad_data(text("entity_types_empty"))
        for name in names:
            check_term(name, "entity type")
            iri = active.expand(name)
            if not is_uri(iri):
                raise bad_data(text("type_not_iri", name=name))
            if len(iri) > MAX_ID_LENGTH:
                raise bad_data(text("type_iri_too_long", name=name, limit=MAX_ID_LENGTH))
            types.append(iri)
    scope = body.get("scope")
    if scope is not None:
        scope = check_scope(scope)
    attrs = expand_attributes(
        {k: v for k, v in body.items() if k not in ENTITY_MEMBERS}, active, stamp=stamp
    )
    if previous:
        attrs = {iri: keep_created(item, previous.get(iri)) for iri, item in attrs.items()}
    expires_at = parse_time(body["expiresAt"], "expiresAt") if "expiresAt" in body else None
    return Incoming(entity_id, types, scope, attrs, expires_at)


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


def content_value(instance: dict[str, Any], active: ActiveContext) -> tuple[str, Any]:
    """The instance's content member and its value as a client reads it (vocab compacted)."""
    kind = str(instance.get("type", "Property"))
    member = CONTENT_MEMBER.get(kind, "value")
    value = instance.get(member)
    if member == "vocab":
        value = (
            [active.compact(v) for v in value]
            if isinstance(value, list)
            else (active.compact(value) if isinstance(value, str) else value)
        )
    return member, value


def key_value(attribute: Any, active: ActiveContext) -> Any:
    """The simplified (keyValues) form of an attribute (clause 4.5.4): values bare, language
    maps, vocab and JSON wrapped in their member, several instances as a ``dataset`` map."""
    if isinstance(attribute, list):
        return {
            "dataset": {
                item.get("datasetId", "@none"): key_value(item, active)
                for item in attribute
                if isinstance(item, dict)
            }
        }
    if not isinstance(attribute, dict):
        return attribute
    member, value = content_value(attribute, active)
    if member == "objectList" and isinstance(value, list):
        return [o.get("object") if isinstance(o, dict) else o for o in value]
    if member in ("languageMap", "vocab", "json"):
        return {member: value}
    return value


def _render_instance(
    instance: dict[str, Any], active: ActiveContext, sys_attrs: bool, concise: bool
) -> Any:
    out: dict[str, Any] = {}
    for key, item in instance.items():
        if key in ("createdAt", "modifiedAt", "expiresAt"):
            if sys_attrs:
                out[key] = item
        elif key == "vocab":
            out[key] = content_value(instance, active)[1]
        elif key == "type" or key in CONTENT_MEMBER.values() or key in INSTANCE_MEMBERS:
            out[key] = item
        else:
            out[active.compact(key)] = render_attribute(item, active, sys_attrs, concise)
    if concise:
        # Concise (clause 4.5.x): the type goes, as the content member implies it.
        kind = out.pop("type", None)
        bare = kind == "GeoProperty" or not isinstance(out.get("value"), dict)
        if kind in ("Property", "GeoProperty") and len(out) == 1 and "value" in out and bare:
            return out["value"]
    return out


def render_attribute(
    attribute: Any, active: ActiveContext, sys_attrs: bool = False, concise: bool = False
) -> Any:
    """A stored attribute as the client sees it: names compacted, normalized or concise."""
    if isinstance(attribute, list):
        rendered = [_render_instance(i, active, sys_attrs, concise) for i in attribute]
        # A concise instance in a list stays an object: a list of bare values is one value.
        return [r if isinstance(r, dict) else {"value": r} for r in rendered]
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
            out[name] = key_value(attribute, active)
        else:
            out[name] = render_attribute(attribute, active, sys_attrs, concise)
    return out


def relationship_objects(instance: Any) -> list[str]:
    """The entity ids a Relationship or ListRelationship instance points at."""
    if not isinstance(instance, dict):
        return []
    if instance.get("type") == "Relationship":
        found = instance.get("object")
        return [o for o in (found if isinstance(found, list) else [found]) if isinstance(o, str)]
    if instance.get("type") == "ListRelationship":
        items = instance.get("objectList") or []
        ids = [i.get("object") if isinstance(i, dict) else i for i in items]
        return [i for i in ids if isinstance(i, str)]
    return []
