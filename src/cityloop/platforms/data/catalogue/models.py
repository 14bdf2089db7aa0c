"""The dataset catalogue (数据目录): datasets, their distributions and uploads.

A dataset's rows live in a DataStore table of its own (``datastore.py``), as CKAN's DataStore
keeps them; its distributions are files generated from those rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.base.db import Base, utcnow


class Dataset(Base):
    """One dataset: what it is, who owns it, how sensitive it is, its schema and its state."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # The dataset's name in URLs and in CKAN (lower case, digits, '-' and '_').
    name: Mapped[str] = mapped_column(String(100), unique=True)
    owner_department: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    title_zh: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    description_zh: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    # A data theme code of the EU vocabulary DCAT-AP uses (TRAN, ENVI, GOVE, ...).
    theme: Mapped[str] = mapped_column(String(10))
    # What the data covers: a place (a district code or the city) and a period.
    spatial: Mapped[str] = mapped_column(String(100), default="")
    temporal_start: Mapped[datetime | None] = mapped_column(default=None)
    temporal_end: Mapped[datetime | None] = mapped_column(default=None)
    # How often it changes: a code of the EU frequency vocabulary (DAILY, WEEKLY, CONT, ...).
    frequency: Mapped[str] = mapped_column(String(20))
    licence: Mapped[str] = mapped_column(String(40))
    # open (anyone) | shared (between departments, under a grant) | personal (people's data)
    sensitivity: Mapped[str] = mapped_column(String(10), index=True)
    # producer (built in) | upload (a department's table) | view (a query over other datasets)
    source: Mapped[str] = mapped_column(String(10))
    producer: Mapped[str | None] = mapped_column(String(60), default=None)
    view_query: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # A Frictionless Table Schema: {"fields": [{"name", "type", ...}], "primaryKey": ...}
    table_schema: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When its metadata or rows last changed, and when its rows were last built.
    modified_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    refreshed_at: Mapped[datetime | None] = mapped_column(default=None)
    # A change event arrived since the last build: the next sweep rebuilds it.
    dirty: Mapped[bool] = mapped_column(default=True)
    row_count: Mapped[int] = mapped_column(default=0)
    # The last quality check: completeness, schema problems, freshness (quality.py).
    quality: Mapped[dict[str, Any]] = mapped_column(default=dict)
    stale: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        Index("ix_datasets_sensitivity_modified", "sensitivity", "modified_at"),
        # Covers the open catalogue's stamp, which the CKAN API reads on every search to know
        # whether its index is current (an aggregate over this index alone, no table rows).
        Index("ix_datasets_open_stamp", "sensitivity", "active", "modified_at"),
    )


class Distribution(Base):
    """One file of a dataset's rows in one format, with its checksum and size."""

    __tablename__ = "dataset_distributions"

    # A UUID: CKAN clients address resources by id.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    format: Mapped[str] = mapped_column(String(10))  # CSV | JSON | GeoJSON | Parquet
    media_type: Mapped[str] = mapped_column(String(60))
    storage_key: Mapped[str | None] = mapped_column(String(200), default=None)
    byte_size: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    row_count: Mapped[int] = mapped_column(default=0)
    generated_at: Mapped[datetime | None] = mapped_column(default=None)


class DatasetUpload(Base):
    """A table a department uploaded to its dataset, and what the schema check found."""

    __tablename__ = "dataset_uploads"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by: Mapped[str] = mapped_column(String(80))
    filename: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(10))  # csv | xlsx
    byte_size: Mapped[int] = mapped_column(default=0)
    rows: Mapped[int] = mapped_column(default=0)
    # accepted (the rows replaced the dataset's) | rejected (nothing changed; see errors)
    status: Mapped[str] = mapped_column(String(10))
    # [{"row": 3, "field": "count", "code": "type-error", "message": "..."}], bounded.
    errors: Mapped[list[Any]] = mapped_column(default=list)
    error_count: Mapped[int] = mapped_column(default=0)
