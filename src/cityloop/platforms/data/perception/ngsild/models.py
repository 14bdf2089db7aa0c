"""NGSI-LD storage: tenants, entities (attributes as expanded JSON) and the @context cache.

Each entity keeps its first type and the bounding box of its ``location`` in indexed columns,
so a query narrows candidates in SQL before the q language and exact geometry run in Python.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.db import Base, utcnow


class NgsiTenant(Base):
    """A tenant named by the NGSILD-Tenant header; created by its first write."""

    __tablename__ = "ngsild_tenants"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NgsiEntity(Base):
    __tablename__ = "ngsild_entities"
    __table_args__ = (
        UniqueConstraint("tenant", "entity_id"),
        Index("ix_ngsild_entities_type_lat", "tenant", "type", "min_lat"),
        Index("ix_ngsild_entities_lat", "tenant", "min_lat"),
        Index("ix_ngsild_entities_span", "tenant", "lat_span"),
        Index("ix_ngsild_entities_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(100), default="")
    entity_id: Mapped[str] = mapped_column(String(300))
    # The first type, expanded; all types (expanded) are in ``types``.
    type: Mapped[str] = mapped_column(String(300))
    types: Mapped[list[Any]] = mapped_column(default=list)
    scope: Mapped[list[Any] | None] = mapped_column(default=None)
    # Expanded attribute name -> attribute instance (or a list of instances with datasetIds).
    attrs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The ``location`` GeoProperty: its centroid and bounding box, in degrees.
    lat: Mapped[float | None] = mapped_column(default=None)
    lon: Mapped[float | None] = mapped_column(default=None)
    min_lat: Mapped[float | None] = mapped_column(default=None)
    min_lon: Mapped[float | None] = mapped_column(default=None)
    max_lat: Mapped[float | None] = mapped_column(default=None)
    max_lon: Mapped[float | None] = mapped_column(default=None)
    # max_lat - min_lat: its maximum bounds how far south of a query box a candidate may start.
    lat_span: Mapped[float | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The entity's expiresAt: past it the entity is hidden at once and swept soon after.
    expires_at: Mapped[datetime | None] = mapped_column(default=None)


class NgsiContext(Base):
    """A JSON-LD @context: fetched from a URL (Cached), posted to us (Hosted) or made from a
    request's inline @context (ImplicitlyCreated). Hosted and implicit ones belong to
    ``tenant``; Cached ones are copies of public documents, shared by every tenant."""

    __tablename__ = "ngsild_contexts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(100), default="", server_default="")
    url: Mapped[str | None] = mapped_column(String(2000), unique=True, default=None)
    kind: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    access_count: Mapped[int] = mapped_column(default=0)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)


class NgsiSubscription(Base):
    """An NGSI-LD subscription. ``spec`` holds its terms expanded (types, attributes) plus
    the raw q/geoQ text; ``context`` is the subscriber's own @context, so notifications
    compact entities back into the subscriber's names."""

    __tablename__ = "ngsild_subscriptions"
    __table_args__ = (
        UniqueConstraint("tenant", "subscription_id"),
        Index("ix_ngsild_subscriptions_periodic", "time_interval"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(100), default="")
    subscription_id: Mapped[str] = mapped_column(String(300))
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    context: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    is_active: Mapped[bool] = mapped_column(default=True)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    throttling: Mapped[float | None] = mapped_column(default=None)
    # timeInterval: a periodic subscription is notified every so many seconds, not on changes.
    time_interval: Mapped[float | None] = mapped_column(default=None)
    # When the last notification was queued: the throttling and the timeInterval clock.
    last_notified_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)
