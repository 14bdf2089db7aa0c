"""What a notification carries (clauses 5.3.1 and 5.8.6): each notified entity rendered with the
subscription's NotificationParams (attributes, format, sysAttrs, pick and omit, join), its
``lang`` and ``datasetId``; deleted attributes and entities marked with ``urn:ngsi-ld:null``
and, with ``showChanges``, the previous values; then the notification body and headers.

Rendering itself is :func:`.entities.render_entity`'s; this module only selects what goes in and
adds what a change notification adds."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import (
    CONTENT_MEMBER,
    EntityView,
    content_value,
    now_iso,
    render_entity,
)
from cityloop.platforms.data.perception.ngsild.joins import join_views
from cityloop.platforms.data.perception.ngsild.projection import (
    filter_datasets,
    parse_languages,
    pick_language,
    project,
)
from cityloop.platforms.data.perception.ngsild.subscription_notification import JSON, LD_JSON

NULL = "urn:ngsi-ld:null"  # clause 4.5.0: the value of a deleted attribute
Loader = Callable[[str], EntityView | None]


@dataclass
class Notified:
    """One entity a notification is about: its state (for a deleted entity, its last one), the
    attributes the change deleted and, for showChanges, the former instances of those it wrote."""

    view: EntityView
    deleted_entity: bool = False
    deleted_attrs: dict[str, Any] = field(default_factory=dict)
    previous: dict[str, Any] = field(default_factory=dict)
    # Instances deleted (by datasetId) from attributes the entity keeps, by attribute IRI.
    deleted_instances: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _member(instance: Any) -> str:
    kind = instance.get("type") if isinstance(instance, dict) else None
    return CONTENT_MEMBER.get(str(kind), "value")


def _previous_name(member: str) -> str:
    return "previous" + member[0].upper() + member[1:]


def _first(attribute: Any) -> Any:
    if isinstance(attribute, list):
        return attribute[0] if attribute else {}
    return attribute


def _deleted_marker(
    previous: Any, params: dict[str, Any], deleted_at: str, active: ActiveContext
) -> dict[str, Any]:
    instance = _first(previous) if isinstance(_first(previous), dict) else {}
    member = _member(instance)
    marker: dict[str, Any] = {"type": instance.get("type", "Property")}
    marker[member] = {"@none": NULL} if member == "languageMap" else NULL
    if params.get("showChanges") and member in instance:
        marker[_previous_name(member)] = content_value(instance, active)[1]
    if params.get("sysAttrs"):
        for stamp in ("createdAt", "modifiedAt"):
            if stamp in instance:
                marker[stamp] = instance[stamp]
        marker["deletedAt"] = deleted_at
    return marker


def _with_previous(rendered: Any, previous: Any, active: ActiveContext) -> Any:
    """The rendered attribute with its former content (showChanges)."""
    instance = _first(previous)
    if not isinstance(instance, dict) or isinstance(rendered, list):
        return rendered
    member = _member(instance)
    if member not in instance:
        return rendered
    out = dict(rendered) if isinstance(rendered, dict) else {member: rendered}
    out[_previous_name(member)] = content_value(instance, active)[1]
    return out


def _picked(out: dict[str, Any], params: dict[str, Any], active: ActiveContext) -> dict[str, Any]:
    """pick and omit (clause 4.21) on the notified entity, names as the subscriber wrote them."""

    def tree(members: list[str] | None) -> dict[str, Any] | None:
        if members is None:
            return None
        return {(m if "://" not in m else active.compact(m)): None for m in members}

    return project(out, tree(params.get("pick")), tree(params.get("omit")))


def _render(
    view: EntityView, spec: dict[str, Any], active: ActiveContext, *, deleted: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The entity rendered with the NotificationParams, and the attributes it was rendered from."""
    params = spec["notification"]
    fmt = params.get("format", "normalized")
    attrs = {} if deleted else dict(view.attrs)
    if spec.get("datasetId"):
        attrs = filter_datasets(attrs, set(spec["datasetId"]))
    if spec.get("lang"):
        languages = parse_languages(spec["lang"])
        attrs = {iri: pick_language(attribute, languages) for iri, attribute in attrs.items()}
    shown = EntityView(
        entity_id=view.entity_id,
        types=view.types,
        attrs=attrs,
        scope=view.scope,
        created_at=view.created_at,
        modified_at=view.modified_at,
    )
    out = render_entity(
        shown,
        active,
        key_values=fmt == "keyValues",
        concise=fmt == "concise",
        attrs=set(params["attributes"]) if params.get("attributes") else None,
        sys_attrs=bool(params.get("sysAttrs")),
    )
    return out, attrs


def render_notified(
    notified: Notified,
    spec: dict[str, Any],
    active: ActiveContext,
    *,
    load: Loader,
    deleted_at: str | None = None,
) -> list[dict[str, Any]]:
    """The entity as the subscription notifies it, followed by linked entities (``join=flat``)."""
    params = spec["notification"]
    deleted_at = deleted_at or now_iso()
    key_values = params.get("format") == "keyValues"
    wanted = set(params["attributes"]) if params.get("attributes") else None
    out, attrs = _render(notified.view, spec, active, deleted=notified.deleted_entity)
    if params.get("sysAttrs") and params.get("format") == "keyValues":
        # render_entity leaves the entity's stamps out of keyValues; a notification keeps them.
        out.update(
            (name, stamp)
            for name, stamp in (
                ("createdAt", notified.view.created_at),
                ("modifiedAt", notified.view.modified_at),
            )
            if stamp
        )
    if notified.deleted_entity:
        out["deletedAt"] = deleted_at
    for iri, previous in notified.deleted_attrs.items():
        if wanted is None or iri in wanted:
            marker = _deleted_marker(previous, params, deleted_at, active)
            out[active.compact(iri)] = NULL if key_values else marker
    for iri, gone in notified.deleted_instances.items():
        name = active.compact(iri)
        if name not in out or (wanted is not None and iri not in wanted):
            continue
        if key_values:
            # 4.5.4: instances in keyValues are a dataset map, the default one under @none.
            shown = out[name]
            if not (isinstance(shown, dict) and isinstance(shown.get("dataset"), dict)):
                shown = {"dataset": {"@none": shown}}
            nulls = {i.get("datasetId") or "@none": NULL for i in gone}
            out[name] = {"dataset": {**shown["dataset"], **nulls}}
            continue
        kept = out[name] if isinstance(out[name], list) else [out[name]]
        markers = [_deleted_marker(instance, params, deleted_at, active) for instance in gone]
        for marker, instance in zip(markers, gone, strict=True):
            if instance.get("datasetId"):
                marker["datasetId"] = instance["datasetId"]
        out[name] = [*kept, *markers]
    if params.get("showChanges") and not key_values:
        for iri, previous in notified.previous.items():
            name = active.compact(iri)
            if name in out and iri not in notified.deleted_attrs:
                out[name] = _with_previous(out[name], previous, active)
    linked = join_views(
        out,
        attrs,
        join=params.get("join"),
        levels=params.get("joinLevel", 1),
        active=active,
        load=load,
        render=lambda view: _render(view, spec, active),
        key_values=key_values,
    )
    return [_picked(out, params, active), *linked]


def notification_body(
    *,
    subscription_id: str,
    tenant: str,
    data: list[dict[str, Any]],
    endpoint: dict[str, Any],
    active: ActiveContext,
) -> tuple[bytes, str, dict[str, str]]:
    """The Notification (clause 5.3.1): body, content type and headers."""
    body: dict[str, Any] = {
        "id": f"urn:ngsi-ld:Notification:{uuid.uuid4()}",
        "type": "Notification",
        "subscriptionId": subscription_id,
        "notifiedAt": now_iso(),
        "data": data,
    }
    headers = {item["key"]: item["value"] for item in endpoint.get("receiverInfo", [])}
    if tenant:
        headers["NGSILD-Tenant"] = tenant
    accept = endpoint.get("accept", JSON)
    if accept == LD_JSON:
        # Each entity is a JSON-LD document of its own, as in a query's answer.
        body["data"] = [{**entity, "@context": active.body_context} for entity in data]
        body["@context"] = active.body_context
    elif _linkable(active.user):
        # An inline @context object has no URL to name; the entity is still compacted with it.
        headers["Link"] = contexts.link_header(active.link_url)
    return json.dumps(body).encode(), accept, headers


def _linkable(user: Any) -> bool:
    single = isinstance(user, list) and len(user) == 1 and isinstance(user[0], str)
    return user is None or isinstance(user, str) or single
