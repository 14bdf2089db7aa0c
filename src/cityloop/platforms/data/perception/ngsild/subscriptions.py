"""NGSI-LD subscriptions: storing, reading and deleting them, and how a client reads one.
Validating a body is :mod:`.subscription_validation`'s work; matching changes and queueing
their notifications is :mod:`.notifier`'s."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.platforms.application.webhooks import store as webhooks
from cityloop.platforms.application.webhooks.store import SourceStatus
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import iso
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data, not_found
from cityloop.platforms.data.perception.ngsild.models import NgsiSubscription
from cityloop.platforms.data.perception.ngsild.notifier import (
    SOURCE,
    invalidate,
    selector_types,
    state_of,
)
from cityloop.platforms.data.perception.ngsild.subscription_notification import is_mqtt
from cityloop.platforms.data.perception.ngsild.subscription_validation import (
    COLUMN_MEMBERS,
    parse_subscription,
)
from cityloop.platforms.data.perception.ngsild.tenants import ensure_tenant, require_tenant
from cityloop.platforms.data.perception.ngsild.texts import text

__all__ = ["SOURCE", "state_of"]


def _find(session: Session, tenant: str, subscription_id: str) -> NgsiSubscription | None:
    return session.scalar(
        select(NgsiSubscription).where(
            NgsiSubscription.tenant == tenant, NgsiSubscription.subscription_id == subscription_id
        )
    )


def get_subscription(session: Session, *, tenant: str, subscription_id: str) -> NgsiSubscription:
    """The subscription; 404 when the tenant or the subscription does not exist."""
    require_tenant(session, tenant=tenant)
    row = _find(session, tenant, subscription_id)
    if row is None:
        raise not_found(text("subscription_not_found", subscription=subscription_id))
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
    *,
    tenant: str,
    body: Any,
    active: ActiveContext,
    notify_context: ActiveContext | None = None,
) -> NgsiSubscription:
    """Store a subscription (POST /subscriptions)."""
    # ``active`` is the request's context, which it keeps for its notifications (unless it names
    # ``jsonldContext``, resolved as ``notify_context``).
    parsed = parse_subscription(body, active)
    _keep_documents(parsed.spec, active, notify_context)
    subscription_id = parsed.subscription_id or f"urn:ngsi-ld:Subscription:{uuid.uuid4()}"
    ensure_tenant(session, tenant=tenant)
    if _find(session, tenant, subscription_id) is not None:
        raise NgsiError("AlreadyExists", text("subscription_exists", subscription=subscription_id))
    now = utcnow()
    row = NgsiSubscription(
        tenant=tenant,
        subscription_id=subscription_id,
        spec=parsed.spec,
        context=active.user,
        is_active=parsed.columns.get("is_active", True),
        expires_at=parsed.columns.get("expires_at"),
        throttling=parsed.columns.get("throttling"),
        time_interval=parsed.columns.get("time_interval"),
        created_at=now,
        modified_at=now,
    )
    session.add(row)
    session.flush()
    invalidate(session, tenant=tenant)
    return row


def update_subscription(
    session: Session,
    *,
    tenant: str,
    subscription_id: str,
    body: Any,
    active: ActiveContext,
    notify_context: ActiveContext | None = None,
) -> NgsiSubscription:
    """PATCH: the members given replace the stored ones (notification member by member)."""
    row = get_subscription(session, tenant=tenant, subscription_id=subscription_id)
    if isinstance(body, dict) and body.get("id", subscription_id) != subscription_id:
        raise bad_data(text("subscription_id_differs"))
    columns = {name: getattr(row, name) for name in COLUMN_MEMBERS.values()}
    parsed = parse_subscription(body, active, previous=dict(row.spec), previous_columns=columns)
    spec = {k: v for k, v in {**row.spec, **parsed.spec}.items() if k not in parsed.removed}
    if "q" in parsed.removed:
        spec.pop("qContext", None)
    _keep_documents(spec, active, notify_context)
    row.spec = spec
    for name, value in parsed.columns.items():
        setattr(row, name, value)
    for name in parsed.removed & COLUMN_MEMBERS.keys():
        setattr(row, COLUMN_MEMBERS[name], None)
    row.modified_at = utcnow()
    session.flush()
    invalidate(session, tenant=tenant)
    return row


def delete_subscription(session: Session, *, tenant: str, subscription_id: str) -> None:
    """Delete a subscription with its queued notifications and delivery stats."""
    row = get_subscription(session, tenant=tenant, subscription_id=subscription_id)
    webhooks.forget_source(session, source=SOURCE, source_id=str(row.id))
    session.delete(row)
    session.flush()
    invalidate(session, tenant=tenant)


def list_subscriptions(
    session: Session, *, tenant: str, limit: int, offset: int, count: bool
) -> tuple[list[NgsiSubscription], int | None]:
    """One page of the tenant's subscriptions and, when ``count``, how many there are."""
    require_tenant(session, tenant=tenant)
    statement = select(NgsiSubscription).where(NgsiSubscription.tenant == tenant)
    total = None
    if count:
        total = session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = list(
        session.scalars(statement.order_by(NgsiSubscription.id).offset(offset).limit(limit))
    )
    return rows, total


def statuses(session: Session, *, subscriptions: list[NgsiSubscription]) -> dict[str, SourceStatus]:
    """Delivery status per subscription row id (as a string), for those that have one."""
    return webhooks.source_statuses(
        session, source=SOURCE, source_ids=[str(row.id) for row in subscriptions]
    )


def render_subscription(
    row: NgsiSubscription,
    active: ActiveContext,
    status: SourceStatus | None,
    *,
    sys_attrs: bool = False,
) -> dict[str, Any]:
    """A subscription as a client under ``active`` reads it, with its delivery status
    (``sys_attrs``: with createdAt and modifiedAt, as ``options=sysAttrs`` asks)."""
    spec = row.spec
    out: dict[str, Any] = {"id": row.subscription_id, "type": "Subscription"}
    for name in ("subscriptionName", "description"):
        if name in spec:
            out[name] = spec[name]
    if spec.get("entities"):
        out["entities"] = [
            {**selector, "type": "|".join(active.compact(t) for t in selector_types(selector))}
            for selector in spec["entities"]
        ]
    if spec.get("watchedAttributes"):
        out["watchedAttributes"] = [active.compact(i) for i in spec["watchedAttributes"]]
    for name in ("notificationTrigger", "q", "scopeQ", "lang", "datasetId"):
        if name in spec:
            out[name] = spec[name]
    if "geoQ" in spec:
        geo_q = dict(spec["geoQ"])
        geo_q["geoproperty"] = active.compact(geo_q["geoproperty"])
        out["geoQ"] = geo_q
    out["notification"] = _render_notification(spec["notification"], active, status)
    if "jsonldContext" in spec:
        out["jsonldContext"] = spec["jsonldContext"]
    if not row.is_active:
        out["isActive"] = False  # absent means the default, true (Table 5.2.12-1)
    if row.expires_at is not None:
        out["expiresAt"] = iso(row.expires_at)
    if row.throttling is not None:
        out["throttling"] = _number(row.throttling)
    if row.time_interval is not None:
        out["timeInterval"] = _number(row.time_interval)
    out["status"] = state_of(row)
    if sys_attrs:
        out["createdAt"] = iso(row.created_at)
        out["modifiedAt"] = iso(row.modified_at)
    return out


def _without_password(uri: str) -> str:
    """An MQTT endpoint's password is never shown (reads may be public): it reads as ****."""
    parts = urlsplit(uri)
    if not is_mqtt(uri) or parts.password is None:
        return uri
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:****@{host}"))


def _number(seconds: float) -> int | float:
    """Seconds as the client sent them: 5, not 5.0."""
    return int(seconds) if seconds.is_integer() else seconds


def _render_notification(
    stored: dict[str, Any], active: ActiveContext, status: SourceStatus | None
) -> dict[str, Any]:
    """The notification member with its names compacted and the delivery status (5.2.14)."""
    notification = dict(stored)
    notification["endpoint"] = {
        **stored["endpoint"],
        "uri": _without_password(stored["endpoint"]["uri"]),
    }
    if "attributes" in notification:
        notification["attributes"] = [active.compact(i) for i in notification["attributes"]]
    for name in ("pick", "omit"):
        if name in notification:
            notification[name] = [
                active.compact(m) if "://" in m else m for m in notification[name]
            ]
    if status is not None and status.times_sent:
        # The outcome of the last attempt (Table 5.2.14.1-1): absent before the first one.
        notification["status"] = status.status
    notification["timesSent"] = status.times_sent if status is not None else 0
    # Notifications given up after every retry (kept until the queue prunes them).
    notification["timesFailed"] = status.failed if status is not None else 0
    if status is not None:
        for member, moment in (
            ("lastNotification", status.last_notification_at),
            ("lastSuccess", status.last_success_at),
            ("lastFailure", status.last_failure_at),
        ):
            if moment is not None:
                notification[member] = iso(moment)
    return notification
