"""NGSI-LD subscriptions: validation, CRUD as plain functions over a session, and the outbox
consumer that matches ``ngsild.entity.changed`` events and queues HTTP notifications through
:mod:`cityloop.platforms.application.notify.webhooks`.

Matching runs on every device reading, so each tenant's subscriptions are kept pre-parsed
(selectors, q tree, geo-query, resolved @context) in a per-process cache. A write in this
process drops the tenant's entry after it commits; other processes see a change within
``cache_seconds``. Only a subscription that already matched in memory is read back from the
database, for the authoritative active/expiry/throttling check.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.base.db import Database, utcnow
from cityloop.base.outbox import ConsumerRegistry, DeliveredEvent
from cityloop.platforms.application.notify import webhooks
from cityloop.platforms.application.notify.webhooks import SourceStatus, WebhookInputError
from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild import service
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import (
    LOCATION,
    check_name,
    is_uri,
    iso,
    now_iso,
    parse_time,
    render_entity,
)
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data, not_found
from cityloop.platforms.data.perception.ngsild.geo import GeoQuery, evaluate_georel, parse_geoquery
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity, NgsiSubscription
from cityloop.platforms.data.perception.ngsild.query import (
    CallLimit,
    ClientPattern,
    Node,
    PatternTimedOut,
    evaluate_q,
    parse_q,
    safe_regex,
)

log = logging.getLogger(__name__)

SOURCE = "ngsild.subscription"  # the webhook queue's source name; source_id is the row id
CONSUMER = "ngsild.subscriptions"
JSON = "application/json"
LD_JSON = "application/ld+json"
FORMATS = ("normalized", "keyValues", "concise")
ACCEPTS = (JSON, LD_JSON)
MAX_TEXT = 2000
MAX_LIST = 100
# Members a client may send back from a GET; they are computed, so a create or patch ignores them.
READ_ONLY = frozenset({"status", "createdAt", "modifiedAt", "@context"})
NOTIFICATION_READ_ONLY = frozenset(
    {"status", "timesSent", "lastNotification", "lastSuccess", "lastFailure"}
)
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
# Longer than this, a subscription would in effect never notify again; and timedelta overflows.
MAX_THROTTLING_SECONDS = 30 * 24 * 3600
SENDER_HEADERS = frozenset(
    {"host", "content-length", "content-type", "transfer-encoding", "connection", "upgrade"}
)


# --- validation -------------------------------------------------------------------------------


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise bad_data(f"{what} must be a string of at most {MAX_TEXT} characters")
    return value


def _names(value: Any, what: str, active: ActiveContext) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > MAX_LIST:
        raise bad_data(f"{what} must be a non-empty list of at most {MAX_LIST} names")
    out: list[str] = []
    for name in value:
        check_name(name, "attribute name")
        iri = active.expand(name)
        if iri not in out:
            out.append(iri)
    return out


def _entities(value: Any, active: ActiveContext) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value or len(value) > MAX_LIST:
        raise bad_data(f"entities must be a non-empty list of at most {MAX_LIST} selectors")
    out: list[dict[str, str]] = []
    for item in value:
        if not isinstance(item, dict):
            raise bad_data("each entities item must be an object with a type")
        unknown = set(item) - {"type", "id", "idPattern"}
        if unknown:
            raise bad_data(f"entities items take type, id and idPattern, not {sorted(unknown)}")
        if "type" not in item:
            raise bad_data("each entities item needs a type")
        check_name(item["type"], "entity type")
        selector = {"type": active.expand(item["type"])}
        if "id" in item and "idPattern" in item:
            raise bad_data("an entities item takes id or idPattern, not both")
        if "id" in item:
            if not is_uri(item["id"]):
                raise bad_data(f"entities id {str(item['id'])[:100]!r} is not a URI")
            selector["id"] = item["id"]
        if "idPattern" in item:
            if not isinstance(item["idPattern"], str) or not item["idPattern"]:
                raise bad_data("idPattern must be a non-empty string")
            safe_regex(item["idPattern"], "idPattern")
            selector["idPattern"] = item["idPattern"]
        out.append(selector)
    return out


def _q(value: Any) -> str:
    if not isinstance(value, str):
        raise bad_data("q must be a string")
    parse_q(value)
    return value


def _geo_parts(value: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    coordinates = value.get("coordinates")
    if isinstance(coordinates, list):
        coordinates = json.dumps(coordinates)
    elif coordinates is not None and not isinstance(coordinates, str):
        raise bad_data("geoQ coordinates must be a JSON array (or its text)")
    georel, geometry = value.get("georel"), value.get("geometry")
    if not isinstance(georel, str | None) or not isinstance(geometry, str | None):
        raise bad_data("geoQ georel and geometry must be strings")
    return georel, geometry, coordinates


def _geo_q(value: Any, active: ActiveContext) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_data("geoQ must be an object with georel, geometry and coordinates")
    unknown = set(value) - {"georel", "geometry", "coordinates", "geoproperty"}
    if unknown:
        raise bad_data(f"geoQ takes georel, geometry, coordinates and geoproperty, not {unknown}")
    georel, geometry, coordinates = _geo_parts(value)
    if not (georel and geometry and coordinates):
        raise bad_data("geoQ needs georel, geometry and coordinates")
    parse_geoquery(georel, geometry, coordinates, None)
    stored: dict[str, Any] = {
        "georel": georel,
        "geometry": geometry,
        "coordinates": value["coordinates"],
        "geoproperty": LOCATION,
    }
    if value.get("geoproperty") is not None:
        check_name(value["geoproperty"], "geoproperty")
        stored["geoproperty"] = active.expand(value["geoproperty"])
    return stored


def _receiver_info(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or len(value) > 50:
        raise bad_data("receiverInfo must be a list of at most 50 {key, value} objects")
    out = []
    for item in value:
        if (
            not isinstance(item, dict)
            or set(item) != {"key", "value"}
            or not isinstance(item["key"], str)
            or not isinstance(item["value"], str)
        ):
            raise bad_data("each receiverInfo item must be {key, value} with string members")
        if not HEADER_NAME.match(item["key"]):
            raise bad_data(f"receiverInfo key {item['key'][:60]!r} is not a valid header name")
        if item["key"].lower() in SENDER_HEADERS:
            raise bad_data(f"receiverInfo may not set {item['key']}; the sender sets it")
        if any(c in "\r\n\0" for c in item["value"]) or len(item["value"]) > MAX_TEXT:
            raise bad_data(f"receiverInfo {item['key']} has a line break or is too long")
        out.append({"key": item["key"], "value": item["value"]})
    return out


def _endpoint(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_data("notification.endpoint must be an object with a uri")
    unknown = set(value) - {"uri", "accept", "receiverInfo"}
    if unknown:
        raise bad_data(f"notification.endpoint takes uri, accept and receiverInfo, not {unknown}")
    uri = value.get("uri")
    if not isinstance(uri, str) or not uri:
        raise bad_data("notification.endpoint.uri must be a URI")
    try:
        webhooks.endpoint_origin(uri)
    except WebhookInputError as exc:
        raise bad_data(f"notification.endpoint.uri: {exc.detail}") from exc
    accept = value.get("accept", JSON)
    if accept not in ACCEPTS:
        raise bad_data(f"notification.endpoint.accept must be one of {', '.join(ACCEPTS)}")
    out: dict[str, Any] = {"uri": uri, "accept": accept}
    if "receiverInfo" in value:
        out["receiverInfo"] = _receiver_info(value["receiverInfo"])
    return out


def _notification(
    value: Any, active: ActiveContext, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """A notification object; in a PATCH (``previous`` given) the members sent replace theirs."""
    if not isinstance(value, dict):
        raise bad_data("notification must be an object")
    unknown = set(value) - {"attributes", "format", "endpoint"} - NOTIFICATION_READ_ONLY
    if unknown:
        raise bad_data(f"notification takes attributes, format and endpoint, not {sorted(unknown)}")
    out = dict(previous or {})
    if "endpoint" in value:
        out["endpoint"] = _endpoint(value["endpoint"])
    elif "endpoint" not in out:
        raise bad_data("notification needs an endpoint")
    if "attributes" in value:
        out["attributes"] = _names(value["attributes"], "notification.attributes", active)
    if "format" in value:
        if value["format"] not in FORMATS:
            raise bad_data(f"notification.format must be one of {', '.join(FORMATS)}")
        out["format"] = value["format"]
    out.setdefault("format", "normalized")
    return out


def _throttling(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_data("throttling must be a number of seconds")
    if not math.isfinite(value) or value < 0:
        raise bad_data("throttling must be a non-negative number of seconds")
    if value > MAX_THROTTLING_SECONDS:
        raise bad_data(f"throttling may be at most {MAX_THROTTLING_SECONDS} seconds (30 days)")
    return float(value)


def _expires(value: Any, now: datetime) -> datetime:
    moment = parse_time(value, "expiresAt")
    if moment <= now:
        raise bad_data("expiresAt must lie in the future")
    return moment


def _is_active(value: Any) -> bool:
    if not isinstance(value, bool):
        raise bad_data("isActive must be true or false")
    return value


@dataclass
class Parsed:
    """A validated subscription body: spec members and column values that were given."""

    spec: dict[str, Any]
    columns: dict[str, Any]
    subscription_id: str | None = None


KNOWN = frozenset(
    {
        "id",
        "type",
        "entities",
        "watchedAttributes",
        "q",
        "geoQ",
        "notification",
        "isActive",
        "expiresAt",
        "throttling",
        "description",
        "subscriptionName",
        "jsonldContext",
    }
)


def parse_subscription(
    body: Any,
    active: ActiveContext,
    *,
    previous: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Parsed:
    """Validate a subscription (create) or a fragment of one (``previous`` given: PATCH).
    Every problem is a 400 BadRequestData naming the member."""
    now = now or utcnow()
    if not isinstance(body, dict):
        raise bad_data("the body must be a JSON object")
    unknown = set(body) - KNOWN - READ_ONLY
    if unknown:
        raise bad_data(f"unsupported subscription members: {sorted(unknown)}")
    patch = previous is not None
    if not patch and body.get("type") != "Subscription":
        raise bad_data('type must be "Subscription"')
    if patch and "type" in body and body["type"] != "Subscription":
        raise bad_data('type must be "Subscription"')
    spec: dict[str, Any] = {}
    columns: dict[str, Any] = {}
    subscription_id = None
    if "id" in body:
        if not is_uri(body["id"]):
            raise bad_data(f"the subscription id {str(body['id'])[:100]!r} is not a URI")
        subscription_id = body["id"]
    if "entities" in body:
        spec["entities"] = _entities(body["entities"], active)
    if "watchedAttributes" in body:
        spec["watchedAttributes"] = _names(body["watchedAttributes"], "watchedAttributes", active)
    if "q" in body:
        spec["q"] = _q(body["q"])
        spec["qContext"] = active.user
    if "geoQ" in body:
        spec["geoQ"] = _geo_q(body["geoQ"], active)
    if "notification" in body:
        spec["notification"] = _notification(
            body["notification"], active, (previous or {}).get("notification")
        )
    elif not patch:
        raise bad_data("a subscription needs a notification")
    for name in ("description", "subscriptionName"):
        if name in body:
            spec[name] = _text(body[name], name)
    if "jsonldContext" in body:
        value = body["jsonldContext"]
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise bad_data("jsonldContext must be an http(s) URL of an @context")
        spec["jsonldContext"] = value
    if "isActive" in body:
        columns["is_active"] = _is_active(body["isActive"])
    if "expiresAt" in body:
        columns["expires_at"] = _expires(body["expiresAt"], now)
    if "throttling" in body:
        columns["throttling"] = _throttling(body["throttling"])
    merged = {**(previous or {}), **spec}
    if not merged.get("entities") and not merged.get("watchedAttributes"):
        raise bad_data("a subscription needs entities or watchedAttributes (or both)")
    if patch and not spec and not columns:
        raise bad_data("the patch changes nothing")
    return Parsed(spec, columns, subscription_id)


# --- CRUD -------------------------------------------------------------------------------------


def _find(session: Session, tenant: str, subscription_id: str) -> NgsiSubscription | None:
    return session.scalar(
        select(NgsiSubscription).where(
            NgsiSubscription.tenant == tenant, NgsiSubscription.subscription_id == subscription_id
        )
    )


def get_subscription(session: Session, tenant: str, subscription_id: str) -> NgsiSubscription:
    service.require_tenant(session, tenant)
    row = _find(session, tenant, subscription_id)
    if row is None:
        raise not_found(f"subscription {subscription_id} does not exist")
    return row


def _keep_documents(
    spec: dict[str, Any], active: ActiveContext, notify_context: ActiveContext | None
) -> None:
    """Keep the remote context documents the subscription uses in its spec, so the matcher
    can process them even after they leave the context cache, without fetching."""
    documents = {
        **spec.get("contextDocuments", {}),
        **active.documents,
        **(notify_context.documents if notify_context is not None else {}),
    }
    if documents:
        spec["contextDocuments"] = documents


def create_subscription(
    session: Session,
    tenant: str,
    body: Any,
    active: ActiveContext,
    notify_context: ActiveContext | None = None,
) -> NgsiSubscription:
    """Store a subscription; ``active`` is the request's context, which it keeps for its
    notifications (unless it names ``jsonldContext``, resolved as ``notify_context``)."""
    parsed = parse_subscription(body, active)
    _keep_documents(parsed.spec, active, notify_context)
    subscription_id = parsed.subscription_id or f"urn:ngsi-ld:Subscription:{uuid.uuid4()}"
    service.ensure_tenant(session, tenant)
    if _find(session, tenant, subscription_id) is not None:
        raise NgsiError("AlreadyExists", f"subscription {subscription_id} already exists")
    now = utcnow()
    row = NgsiSubscription(
        tenant=tenant,
        subscription_id=subscription_id,
        spec=parsed.spec,
        context=active.user,
        is_active=parsed.columns.get("is_active", True),
        expires_at=parsed.columns.get("expires_at"),
        throttling=parsed.columns.get("throttling"),
        created_at=now,
        modified_at=now,
    )
    session.add(row)
    session.flush()
    invalidate(session, tenant)
    return row


def update_subscription(
    session: Session,
    tenant: str,
    subscription_id: str,
    body: Any,
    active: ActiveContext,
    notify_context: ActiveContext | None = None,
) -> NgsiSubscription:
    """PATCH: the members given replace the stored ones (notification member by member)."""
    row = get_subscription(session, tenant, subscription_id)
    if isinstance(body, dict) and body.get("id", subscription_id) != subscription_id:
        raise bad_data("the id in the body differs from the id in the URL")
    parsed = parse_subscription(body, active, previous=dict(row.spec))
    spec = {**row.spec, **parsed.spec}
    _keep_documents(spec, active, notify_context)
    row.spec = spec
    for name, value in parsed.columns.items():
        setattr(row, name, value)
    row.modified_at = utcnow()
    session.flush()
    invalidate(session, tenant)
    return row


def delete_subscription(session: Session, tenant: str, subscription_id: str) -> None:
    """Delete it, and drop its queued notifications and delivery stats."""
    row = get_subscription(session, tenant, subscription_id)
    webhooks.forget_source(session, SOURCE, str(row.id))
    session.delete(row)
    session.flush()
    invalidate(session, tenant)


def list_subscriptions(
    session: Session, tenant: str, *, limit: int, offset: int, count: bool
) -> tuple[list[NgsiSubscription], int | None]:
    service.require_tenant(session, tenant)
    statement = select(NgsiSubscription).where(NgsiSubscription.tenant == tenant)
    total = None
    if count:
        total = session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = list(
        session.scalars(statement.order_by(NgsiSubscription.id).offset(offset).limit(limit))
    )
    return rows, total


def statuses(session: Session, rows: list[NgsiSubscription]) -> dict[str, SourceStatus]:
    return webhooks.source_statuses(session, SOURCE, [str(row.id) for row in rows])


def state_of(row: NgsiSubscription, now: datetime | None = None) -> str:
    """The subscription's ``status``: expired wins over paused."""
    now = now or utcnow()
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active" if row.is_active else "paused"


def _when(moment: datetime | None) -> str | None:
    return iso(moment) if moment is not None else None


def render_subscription(
    row: NgsiSubscription, active: ActiveContext, status: SourceStatus | None
) -> dict[str, Any]:
    """A subscription as a client under ``active`` reads it, with its delivery status."""
    spec = row.spec
    out: dict[str, Any] = {"id": row.subscription_id, "type": "Subscription"}
    for name in ("subscriptionName", "description"):
        if name in spec:
            out[name] = spec[name]
    if spec.get("entities"):
        out["entities"] = [
            {**selector, "type": active.compact(selector["type"])} for selector in spec["entities"]
        ]
    if spec.get("watchedAttributes"):
        out["watchedAttributes"] = [active.compact(i) for i in spec["watchedAttributes"]]
    if "q" in spec:
        out["q"] = spec["q"]
    if "geoQ" in spec:
        geo_q = dict(spec["geoQ"])
        geo_q["geoproperty"] = active.compact(geo_q["geoproperty"])
        out["geoQ"] = geo_q
    notification = dict(spec["notification"])
    if "attributes" in notification:
        notification["attributes"] = [active.compact(i) for i in notification["attributes"]]
    notification["status"] = status.status if status is not None else "ok"
    notification["timesSent"] = status.times_sent if status is not None else 0
    if status is not None:
        for member, moment in (
            ("lastNotification", status.last_notification_at),
            ("lastSuccess", status.last_success_at),
            ("lastFailure", status.last_failure_at),
        ):
            if moment is not None:
                notification[member] = iso(moment)
    out["notification"] = notification
    if "jsonldContext" in spec:
        out["jsonldContext"] = spec["jsonldContext"]
    out["isActive"] = row.is_active
    if row.expires_at is not None:
        out["expiresAt"] = iso(row.expires_at)
    if row.throttling is not None:
        out["throttling"] = row.throttling
    out["status"] = state_of(row)
    out["createdAt"] = iso(row.created_at)
    out["modifiedAt"] = iso(row.modified_at)
    return out


# --- the matching cache -----------------------------------------------------------------------


@dataclass
class Compiled:
    """One subscription, pre-parsed for matching."""

    row_id: int
    subscription_id: str
    selectors: list[tuple[str, str | None, ClientPattern | None]]
    watched: frozenset[str] | None
    q: Node | None
    q_expand: Callable[[str], str]
    geo: GeoQuery | None
    geoproperty: str
    is_active: bool
    expires_at: datetime | None
    created_at: datetime

    def selects(self, type_iri: str, entity_id: str) -> bool:
        if not self.selectors:
            return True  # watchedAttributes alone: any entity
        for selector_type, selector_id, pattern in self.selectors:
            if selector_type != type_iri:
                continue
            if selector_id is not None and selector_id != entity_id:
                continue
            try:
                if pattern is not None and not pattern.search(entity_id):
                    continue
            except PatternTimedOut:
                continue  # too costly to decide: not selected (and logged)
            return True
        return False

    def watches(self, changed: set[str]) -> bool:
        return self.watched is None or not self.watched.isdisjoint(changed)

    def live(self, now: datetime) -> bool:
        return self.is_active and (self.expires_at is None or self.expires_at > now)

    def filters(self, attrs: dict[str, Any]) -> bool:
        if self.geo is not None and not evaluate_georel(self.geo, attrs, self.geoproperty):
            return False
        try:
            return self.q is None or evaluate_q(self.q, attrs, self.q_expand)
        except PatternTimedOut:
            return False  # too costly to decide, even for a negated clause: no notification


_cache: dict[tuple[str, str], tuple[float, list[Compiled]]] = {}
_cache_lock = threading.Lock()


def _cache_key(session: Session, tenant: str) -> tuple[str, str]:
    return (str(session.get_bind().url), tenant)


def invalidate(session: Session, tenant: str) -> None:
    """Drop the tenant's cached subscriptions now and again after this transaction commits,
    so a matcher that reloads in between cannot keep the old list."""
    key = _cache_key(session, tenant)
    with _cache_lock:
        _cache.pop(key, None)

    def after_commit(_session: Session) -> None:
        with _cache_lock:
            _cache.pop(key, None)

    sa_event.listen(session, "after_commit", after_commit, once=True)


def compile_subscription(row: NgsiSubscription, session: Session | None) -> Compiled:
    """Pre-parse a subscription for matching. It runs inside the relay's transaction, so its
    q context comes from what is cached (or kept on the row), never from the network."""
    spec = row.spec
    # Patterns are kept across events: each match has its own time limit, not a budget.
    limit = CallLimit()
    selectors = [
        (
            selector["type"],
            selector.get("id"),
            safe_regex(selector["idPattern"], "idPattern", limit)
            if "idPattern" in selector
            else None,
        )
        for selector in spec.get("entities") or []
    ]
    watched = spec.get("watchedAttributes")
    q = parse_q(spec["q"], limit) if spec.get("q") else None
    q_expand = (
        contexts.resolve_cached(session, spec.get("qContext"), spec.get("contextDocuments")).expand
        if q is not None
        else str
    )
    geo = None
    geoproperty = LOCATION
    if spec.get("geoQ"):
        georel, geometry, coordinates = _geo_parts(spec["geoQ"])
        geo = parse_geoquery(georel, geometry, coordinates, None)
        geoproperty = spec["geoQ"].get("geoproperty", LOCATION)
    return Compiled(
        row_id=row.id,
        subscription_id=row.subscription_id,
        selectors=selectors,
        watched=frozenset(watched) if watched else None,
        q=q,
        q_expand=q_expand,
        geo=geo,
        geoproperty=geoproperty,
        is_active=row.is_active,
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


def tenant_subscriptions(
    session: Session, tenant: str, db: Database | None, cache_seconds: float
) -> list[Compiled]:
    key = _cache_key(session, tenant)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and time.monotonic() - cached[0] < cache_seconds:
        return cached[1]
    compiled: list[Compiled] = []
    for row in session.scalars(select(NgsiSubscription).where(NgsiSubscription.tenant == tenant)):
        try:
            compiled.append(compile_subscription(row, session))
        except NgsiError as exc:  # e.g. its q @context can no longer be fetched
            log.warning("subscription %s cannot be matched: %s", row.subscription_id, exc.detail)
    with _cache_lock:
        _cache[key] = (time.monotonic(), compiled)
    return compiled


# --- notifications ----------------------------------------------------------------------------


def notification_body(
    row: NgsiSubscription, entity: NgsiEntity, active: ActiveContext
) -> tuple[bytes, str, dict[str, str]]:
    """The notification for one entity: body, content type and headers."""
    notification = row.spec["notification"]
    fmt = notification.get("format", "normalized")
    attrs = notification.get("attributes")
    rendered = render_entity(
        service.view_of(entity),
        active,
        key_values=fmt == "keyValues",
        concise=fmt == "concise",
        attrs=set(attrs) if attrs else None,
    )
    body: dict[str, Any] = {
        "id": f"urn:ngsi-ld:Notification:{uuid.uuid4()}",
        "type": "Notification",
        "subscriptionId": row.subscription_id,
        "notifiedAt": now_iso(),
        "data": [rendered],
    }
    endpoint = notification["endpoint"]
    headers = {item["key"]: item["value"] for item in endpoint.get("receiverInfo", [])}
    if row.tenant:
        headers["NGSILD-Tenant"] = row.tenant
    accept = endpoint.get("accept", JSON)
    if accept == LD_JSON:
        body["@context"] = active.body_context
    elif _linkable(active.user):
        # An inline @context object has no URL to name; the entity is still compacted with it.
        headers["Link"] = contexts.link_header(active.link_url)
    return json.dumps(body).encode(), accept, headers


def _linkable(user: Any) -> bool:
    single = isinstance(user, list) and len(user) == 1 and isinstance(user[0], str)
    return user is None or isinstance(user, str) or single


def _changes(payload: dict[str, Any]) -> list[tuple[str, str, set[str]]]:
    """(type, entity id, changed attributes) per entity: one for an API write, many for a
    batch of device readings, which emits one event for all the entities it touched."""
    if "changes" in payload:
        return [
            (str(c["type"]), str(c["entity_id"]), set(c.get("attributes") or []))
            for c in payload["changes"]
        ]
    return [(str(payload["type"]), str(payload["entity_id"]), set(payload.get("attributes") or []))]


def on_entity_changed(
    session: Session, event: DeliveredEvent, db: Database | None, cache_seconds: float
) -> int:
    """Queue a notification for each subscription a change matches; returns how many."""
    payload = event.payload
    if payload.get("deleted"):
        return 0  # deletion notifications are not offered
    tenant = str(payload.get("tenant", ""))
    subscriptions = tenant_subscriptions(session, tenant, db, cache_seconds)
    if not subscriptions:
        return 0
    now = utcnow()
    sent = 0
    for type_iri, entity_id, changed in _changes(payload):
        candidates = [
            s
            for s in subscriptions
            # A change made before the subscription existed is not its business, however
            # late the relay delivers it.
            if s.live(now)
            and s.created_at <= event.created_at
            and s.selects(type_iri, entity_id)
            and s.watches(changed)
        ]
        if candidates:
            sent += _notify(session, db, tenant, entity_id, candidates, now)
    return sent


def _notify(
    session: Session,
    db: Database | None,
    tenant: str,
    entity_id: str,
    candidates: list[Any],
    now: datetime,
) -> int:
    entity = service.find(session, tenant, entity_id)
    if entity is None:
        return 0  # deleted since the event was written
    sent = 0
    for candidate in candidates:
        try:
            # Each in a savepoint: one broken subscription must not fail the event (and with
            # it the other subscriptions' notifications) or hold back the relay.
            with session.begin_nested():
                sent += _notify_one(session, candidate, entity, now)
        except (NgsiError, WebhookInputError) as exc:
            log.warning("subscription %s: no notification: %s", candidate.subscription_id, exc)
        except Exception:
            log.exception("subscription %s: no notification", candidate.subscription_id)
    return sent


def _notify_one(session: Session, candidate: Compiled, entity: NgsiEntity, now: datetime) -> int:
    if not candidate.filters(entity.attrs or {}):
        return 0
    row = session.get(NgsiSubscription, candidate.row_id)
    if row is None or state_of(row, now) != "active":
        return 0  # deleted or paused in another process since the cache was filled
    if (
        row.throttling
        and row.last_notified_at is not None
        # Seconds, not a timedelta: a huge stored value must not overflow.
        and (now - row.last_notified_at).total_seconds() < row.throttling
    ):
        return 0
    # Inside the relay's transaction: the context comes from memory, the documents kept on
    # the row or the context table, never the network (LdContextNotAvailable skips it).
    active = contexts.resolve_cached(
        session,
        row.spec.get("jsonldContext") or row.context,
        row.spec.get("contextDocuments"),
    )
    body, content_type, headers = notification_body(row, entity, active)
    webhooks.enqueue(
        session,
        endpoint=row.spec["notification"]["endpoint"]["uri"],
        body=body,
        content_type=content_type,
        headers=headers,
        source=SOURCE,
        source_id=str(row.id),
    )
    row.last_notified_at = now
    return 1


def subscribe(consumers: ConsumerRegistry, db: Database, cache_seconds: float = 5.0) -> None:
    """Register the matcher on the outbox (``cache_seconds``: how stale another process's
    subscription changes may look here)."""

    def handle(session: Session, event: DeliveredEvent) -> None:
        on_entity_changed(session, event, db, cache_seconds)

    consumers.subscribe(CONSUMER, {service.EVENT}, handle)
