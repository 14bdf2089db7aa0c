"""NGSI-LD notifications: the outbox consumer that matches ``ngsild.entity.changed`` events
against subscriptions (entities, watchedAttributes, notificationTrigger, q, geoQ, scopeQ) and
queues HTTP notifications on the webhook queue (:mod:`cityloop.platforms.application.webhooks`),
whose dispatcher sends them through the outbound client and its address policy, or publishes
them to an MQTT broker (:mod:`.mqtt_notifier`). Periodic subscriptions (``timeInterval``) are
sent by :mod:`.subscription_periodic` instead.

Matching runs on every device reading, so each tenant's subscriptions are kept pre-parsed
(selectors, q tree, geo-query, resolved @context) in a per-process cache. A write in this
process drops the tenant's entry after it commits; other processes see a change within
``cache_seconds``. Only a subscription that already matched in memory is read back from the
database, for the authoritative active/expiry/throttling check.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.commit_hooks import after_this_commit
from cityloop.base.db import Database, utcnow
from cityloop.base.outbound import Outbound
from cityloop.base.outbox import ConsumerRegistry, DeliveredEvent
from cityloop.platforms.application.webhooks import store as webhooks
from cityloop.platforms.application.webhooks.rules import WebhookInputError
from cityloop.platforms.data.perception.events import EntitiesChanged, EntityChange
from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild import rows
from cityloop.platforms.data.perception.ngsild.attributes import instances as attribute_instances
from cityloop.platforms.data.perception.ngsild.entities import LOCATION, EntityView
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data
from cityloop.platforms.data.perception.ngsild.geo import GeoQuery, evaluate_georel, parse_geoquery
from cityloop.platforms.data.perception.ngsild.models import NgsiSubscription
from cityloop.platforms.data.perception.ngsild.mqtt_notifier import (
    MqttMessage,
    mqtt_payload,
    options,
    publish_after_commit,
)
from cityloop.platforms.data.perception.ngsild.patterns import (
    CallLimit,
    ClientPattern,
    PatternTimedOut,
    safe_regex,
)
from cityloop.platforms.data.perception.ngsild.query import LinkedLoader, Node, evaluate_q, parse_q
from cityloop.platforms.data.perception.ngsild.reads import linked_loader
from cityloop.platforms.data.perception.ngsild.scopes import (
    ScopeNode,
    evaluate_scope_q,
    parse_scope_q,
)
from cityloop.platforms.data.perception.ngsild.subscription_notification import is_mqtt
from cityloop.platforms.data.perception.ngsild.subscription_payload import (
    Notified,
    notification_body,
    render_notified,
)
from cityloop.platforms.data.perception.ngsild.texts import text

log = logging.getLogger(__name__)

SOURCE = "ngsild.subscription"  # the webhook queue's source name; source_id is the row id
CONSUMER = "ngsild.subscriptions"
# Table 5.2.12-1: without notificationTrigger, attribute creations and updates notify.
DEFAULT_TRIGGERS = frozenset({"attributeCreated", "attributeUpdated"})


def geo_parts(value: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """A subscription's geoQ as (georel, geometry, coordinates text), for parse_geoquery."""
    coordinates = value.get("coordinates")
    if isinstance(coordinates, list):
        coordinates = json.dumps(coordinates)
    elif coordinates is not None and not isinstance(coordinates, str):
        raise bad_data(text("subscription_geo_q_coordinates"))
    georel, geometry = value.get("georel"), value.get("geometry")
    if not isinstance(georel, str | None) or not isinstance(geometry, str | None):
        raise bad_data(text("subscription_geo_q_strings"))
    return georel, geometry, coordinates


def state_of(row: NgsiSubscription, now: datetime | None = None) -> str:
    """The subscription's ``status``: expired wins over paused."""
    now = now or utcnow()
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active" if row.is_active else "paused"


def selector_types(selector: dict[str, Any]) -> list[str]:
    """The types an entities item selects: one, or the alternatives of a type selection."""
    kind = selector["type"]
    return list(kind) if isinstance(kind, list) else [kind]


def fired_triggers(change: EntityChange, names: set[str], *, deleted: bool) -> set[str]:
    """The notification triggers a change fires for the attributes ``names`` it touched."""
    if deleted:
        return {"entityDeleted"} | ({"attributeDeleted"} if names else set())
    if change.created:
        return {"entityCreated"} | ({"attributeCreated"} if names else set())
    fired = {"entityUpdated"}
    for name in names:
        if name in change.removed or name in change.removed_datasets:
            # 5.8.6: deleting one instance (by datasetId) deletes that attribute instance.
            fired.add("attributeDeleted")
        elif change.previous is None or name in change.previous:
            fired.add("attributeUpdated")  # device readings do not say what was there
        else:
            fired.add("attributeCreated")
    return fired


# --- the matching cache -----------------------------------------------------------------------


@dataclass
class Compiled:
    """One subscription, pre-parsed for matching."""

    row_id: int
    subscription_id: str
    selectors: list[tuple[frozenset[str], str | None, ClientPattern | None]]
    watched: frozenset[str] | None
    triggers: frozenset[str]
    q: Node | None
    q_expand: Callable[[str], str]
    geo: GeoQuery | None
    geoproperty: str
    scope: ScopeNode | None
    periodic: bool
    is_active: bool
    expires_at: datetime | None
    created_at: datetime

    def selects(self, type_iri: str, entity_id: str) -> bool:
        if not self.selectors:
            return True  # watchedAttributes alone: any entity
        for selector_types, selector_id, pattern in self.selectors:
            if type_iri not in selector_types:
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

    def fires(self, change: EntityChange, deleted: bool) -> bool:
        """Whether the change touches a watched attribute in a way a trigger asks for."""
        changed = set(change.attributes)
        names = changed if self.watched is None else changed & self.watched
        if self.watched is not None and not names:
            return False
        return not self.triggers.isdisjoint(fired_triggers(change, names, deleted=deleted))

    def live(self, now: datetime) -> bool:
        return self.is_active and (self.expires_at is None or self.expires_at > now)

    def filters(
        self, attrs: dict[str, Any], scopes: list[str] | None, load: LinkedLoader | None = None
    ) -> bool:
        if self.scope is not None and not evaluate_scope_q(self.scope, scopes):
            return False
        if self.geo is not None and not evaluate_georel(self.geo, attrs, self.geoproperty):
            return False
        try:
            return self.q is None or evaluate_q(self.q, attrs, self.q_expand, load)
        except PatternTimedOut:
            return False  # too costly to decide, even for a negated clause: no notification


_cache: dict[tuple[str, str], tuple[float, list[Compiled]]] = {}
_cache_lock = threading.Lock()


def _cache_key(session: Session, tenant: str) -> tuple[str, str]:
    return (str(session.get_bind().url), tenant)


def invalidate(session: Session, *, tenant: str) -> None:
    """Drop the tenant's cached subscriptions now and again after this transaction commits."""
    # Twice, so a matcher that reloads in between cannot keep the old list.
    key = _cache_key(session, tenant)
    with _cache_lock:
        _cache.pop(key, None)

    def forget() -> None:
        with _cache_lock:
            _cache.pop(key, None)

    after_this_commit(session, forget)


def compile_subscription(row: NgsiSubscription, session: Session | None) -> Compiled:
    """Pre-parse a subscription for matching."""
    # It runs inside the relay's transaction, so its q context comes from what is cached (or kept on
    # the row), never from the network.
    spec = row.spec
    # Patterns are kept across events: each match has its own time limit, not a budget.
    limit = CallLimit()
    selectors = [
        (
            frozenset(selector_types(selector)),
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
        contexts.resolve_cached(
            session, user=spec.get("qContext"), documents=spec.get("contextDocuments")
        ).expand
        if q is not None
        else str
    )
    geo = None
    geoproperty = LOCATION
    if spec.get("geoQ"):
        georel, geometry, coordinates = geo_parts(spec["geoQ"])
        geo = parse_geoquery(georel, geometry, coordinates, None)
        geoproperty = spec["geoQ"].get("geoproperty", LOCATION)
    return Compiled(
        row_id=row.id,
        subscription_id=row.subscription_id,
        selectors=selectors,
        watched=frozenset(watched) if watched else None,
        triggers=frozenset(spec.get("notificationTrigger") or DEFAULT_TRIGGERS),
        q=q,
        q_expand=q_expand,
        geo=geo,
        geoproperty=geoproperty,
        scope=parse_scope_q(spec["scopeQ"]) if spec.get("scopeQ") else None,
        periodic=row.time_interval is not None,
        is_active=row.is_active,
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


def tenant_subscriptions(
    session: Session, *, tenant: str, db: Database | None, cache_seconds: float
) -> list[Compiled]:
    """The tenant's subscriptions, compiled for matching, from the cache when fresh."""
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


@dataclass
class Delivery:
    """Where notifications leave from: MQTT needs the outbound policy and its own session."""

    db: Database | None
    outbound: Outbound | None


def on_entity_changed(
    session: Session,
    *,
    event: DeliveredEvent,
    db: Database | None,
    cache_seconds: float,
    outbound: Outbound | None = None,
) -> int:
    """Queue a notification for each subscription a change matches; returns how many."""
    change = event.event
    assert isinstance(change, EntitiesChanged)
    tenant = change.tenant
    subscriptions = tenant_subscriptions(session, tenant=tenant, db=db, cache_seconds=cache_seconds)
    if not subscriptions:
        return 0
    now = utcnow()
    sent = 0
    for entity in change.changes:
        candidates = [
            s
            for s in subscriptions
            # A change made before the subscription existed is not its business, however
            # late the relay delivers it.
            if not s.periodic
            and s.live(now)
            and s.created_at <= event.created_at
            and s.selects(entity.type, entity.entity_id)
            and s.fires(entity, change.deleted)
        ]
        if candidates:
            delivery = Delivery(db, outbound)
            sent += _notify(session, delivery, tenant, entity, change.deleted, candidates, now)
    return sent


def _notified(
    session: Session, tenant: str, change: EntityChange, deleted: bool
) -> Notified | None:
    """What the notifications of one entity's change are about; None when it is gone since."""
    previous = change.previous or {}
    if deleted:
        view = EntityView(
            entity_id=change.entity_id,
            types=[change.type],
            attrs=previous,
            created_at=change.created_at,
            modified_at=change.modified_at,
        )
        return Notified(view, deleted_entity=True, previous=previous)
    entity = rows.find(session, tenant=tenant, entity_id=change.entity_id)
    if entity is None:
        return None  # deleted since the event was written
    deleted = {name: previous[name] for name in change.removed if name in previous}
    instances = {
        name: [
            i
            for i in attribute_instances(previous.get(name))
            if isinstance(i, dict) and i.get("datasetId") in gone
        ]
        for name, gone in change.removed_datasets.items()
    }
    return Notified(
        rows.view_of(entity), deleted_attrs=deleted, previous=previous, deleted_instances=instances
    )


def _notify(
    session: Session,
    delivery: Delivery,
    tenant: str,
    change: EntityChange,
    deleted: bool,
    candidates: list[Compiled],
    now: datetime,
) -> int:
    notified = _notified(session, tenant, change, deleted)
    if notified is None:
        return 0
    sent = 0
    load = linked_loader(session, tenant=tenant)
    for candidate in candidates:
        try:
            # Each in a savepoint: one broken subscription must not fail the event (and with
            # it the other subscriptions' notifications) or hold back the relay.
            with session.begin_nested():
                sent += _notify_one(session, delivery, candidate, change, notified, now, load)
        except (NgsiError, WebhookInputError) as exc:
            log.warning("subscription %s: no notification: %s", candidate.subscription_id, exc)
        except Exception:
            log.exception("subscription %s: no notification", candidate.subscription_id)
    return sent


def _notify_one(
    session: Session,
    delivery: Delivery,
    candidate: Compiled,
    change: EntityChange,
    notified: Notified,
    now: datetime,
    load: LinkedLoader,
) -> int:
    if not candidate.filters(notified.view.attrs, notified.view.scope, load):
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
    if notified.deleted_entity:
        names = set(change.attributes) & (candidate.watched or set(change.attributes))
        shown = notified.previous if row.spec["notification"].get("showChanges") else {}
        if "attributeDeleted" in candidate.triggers:
            shown = {**{n: notified.previous[n] for n in names if n in notified.previous}, **shown}
        notified = Notified(notified.view, deleted_entity=True, deleted_attrs=shown)
    elif notified.deleted_instances and "attributeDeleted" not in candidate.triggers:
        # Only a subscriber to attributeDeleted is told of deleted instances.
        notified = Notified(notified.view, notified.deleted_attrs, notified.previous)
    send(session, delivery=delivery, row=row, entities=[notified])
    return 1


def send(
    session: Session, *, delivery: Delivery, row: NgsiSubscription, entities: list[Notified]
) -> None:
    """Render one notification about ``entities`` and queue it (HTTP) or publish it after
    commit (MQTT)."""
    # Inside the relay's transaction: the context comes from memory, the documents kept on
    # the row or the context table, never the network (LdContextNotAvailable skips it).
    active = contexts.resolve_cached(
        session,
        user=row.spec.get("jsonldContext") or row.context,
        documents=row.spec.get("contextDocuments"),
    )

    def load(entity_id: str) -> EntityView | None:
        found = rows.find(session, tenant=row.tenant, entity_id=entity_id)
        return rows.view_of(found) if found is not None else None

    data = [
        rendered
        for notified in entities
        for rendered in render_notified(notified, row.spec, active, load=load)
    ]
    endpoint = row.spec["notification"]["endpoint"]
    body, content_type, headers = notification_body(
        subscription_id=row.subscription_id,
        tenant=row.tenant,
        data=data,
        endpoint=endpoint,
        active=active,
    )
    if is_mqtt(endpoint["uri"]):
        qos, version = options(endpoint.get("notifierInfo", []))
        message = MqttMessage(
            uri=endpoint["uri"],
            payload=mqtt_payload(body, content_type, headers),
            qos=qos,
            version=version,
            source=SOURCE,
            source_id=str(row.id),
        )
        publish_after_commit(session, message=message, outbound=delivery.outbound, db=delivery.db)
    else:
        webhooks.enqueue(
            session,
            endpoint=endpoint["uri"],
            body=body,
            content_type=content_type,
            headers=headers,
            source=SOURCE,
            source_id=str(row.id),
        )
    row.last_notified_at = utcnow()


def subscribe(
    consumers: ConsumerRegistry,
    db: Database,
    cache_seconds: float = 5.0,
    outbound: Outbound | None = None,
) -> None:
    """Register the matcher on the outbox."""
    # ``cache_seconds``: how stale another process's subscription changes may look here.

    def handle(session: Session, event: DeliveredEvent) -> None:
        on_entity_changed(
            session, event=event, db=db, cache_seconds=cache_seconds, outbound=outbound
        )

    consumers.subscribe(CONSUMER, [EntitiesChanged], handle)
