from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.db import Base, utcnow


class Jurisdiction(Base):
    """A district (区), street (街道) or grid cell (网格) with its polygon as GeoJSON."""

    __tablename__ = "jurisdictions"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    level: Mapped[str] = mapped_column(String(10), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("jurisdictions.code"))
    geometry: Mapped[dict[str, Any]]
    label_lon: Mapped[float] = mapped_column(Float)
    label_lat: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MapFeature(Base):
    """A feature of the city's own base map, named in both languages: a road or a river (a
    GeoJSON LineString or MultiLineString) or a landmark (a Point). Drawn under the case maps
    and used to say where a point is ("Temple Road, near City Hall")."""

    __tablename__ = "map_features"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # road | river | landmark
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    # 1 for main roads (drawn wider and labelled first), 2 for the others.
    rank: Mapped[int] = mapped_column(default=2)
    geometry: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
