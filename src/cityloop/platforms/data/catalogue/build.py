"""Building built-in datasets from their producers: on change (a trigger event marks a dataset
out of date and the refresh job rebuilds it) and on schedule (every dataset due by its update
frequency)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext
from cityloop.base.db import utcnow
from cityloop.platforms.application.identity.models import Department
from cityloop.platforms.data.catalogue import deidentify, derived, service
from cityloop.platforms.data.catalogue.models import Dataset
from cityloop.platforms.data.catalogue.producers import DatasetSpec, Producer, registered
from cityloop.platforms.data.catalogue.vocabularies import FREQUENCIES
from cityloop.settings import Settings

log = logging.getLogger(__name__)

# The columns of de-identified shapes are the platform's, whatever the producer declared.
_FIXED_SCHEMAS = {"points": deidentify.POINTS_SCHEMA, "cells": deidentify.CELLS_SCHEMA}


def effective_spec(spec: DatasetSpec) -> DatasetSpec:
    """The declaration as published: de-identified shapes get the platform's fixed columns."""
    fixed = _FIXED_SCHEMAS.get(spec.shape)
    return replace(spec, table_schema=fixed) if fixed is not None else spec


def _entry(spec: DatasetSpec) -> dict[str, Any]:
    return {
        "name": spec.name, "owner_department": spec.owner_department, "title": spec.title,
        "title_zh": spec.title_zh, "description": spec.description,
        "description_zh": spec.description_zh, "keywords": list(spec.keywords),
        "theme": spec.theme, "frequency": spec.frequency, "licence": spec.licence,
        "sensitivity": spec.sensitivity, "spatial": spec.spatial,
        "table_schema": spec.table_schema,
    }  # fmt: skip


def _owner(session: Session, declared: str) -> str:
    # A city loaded from its own folder may name its departments otherwise than the demo city
    # the producers were written for: its supervision centre then owns the dataset.
    if session.get(Department, declared) is not None:
        return declared
    centre = session.scalar(
        select(Department.code).where(Department.kind == "centre").order_by(Department.code)
    )
    return centre or declared


def sync_builtin(session: Session, *, producers: Mapping[str, Producer]) -> list[Dataset]:
    """Make sure every producer's dataset is in the catalogue, with the schema and sensitivity
    it declares now (a department's edits to titles and descriptions are kept)."""
    datasets = []
    for name, producer in producers.items():
        spec = effective_spec(producer.spec)
        dataset = session.scalar(select(Dataset).where(Dataset.name == name))
        if dataset is None:
            entry = {**_entry(spec), "owner_department": _owner(session, spec.owner_department)}
            dataset = service.create_dataset(session, entry=entry, source="producer", producer=name)
        elif dataset.table_schema != spec.table_schema or dataset.sensitivity != spec.sensitivity:
            dataset.table_schema, dataset.sensitivity = spec.table_schema, spec.sensitivity
            dataset.dirty = True
        datasets.append(dataset)
    return datasets


def rows_of(producer: Producer, session: Session, *, settings: Settings) -> list[dict[str, Any]]:
    """The rows a producer's dataset publishes now, de-identified where its shape says so."""
    produced = producer.rows(session, settings=settings)
    shape = producer.spec.shape
    if shape == "rows":
        return [dict(row) for row in produced]
    records = list(produced)
    if not all(isinstance(r, deidentify.PointRecord) for r in records):
        raise TypeError(f"producer {producer.spec.name!r} of shape {shape!r} yields PointRecords")
    k, metres = settings.open_data_min_cell_count, settings.open_data_grid_metres
    if shape == "points":
        return deidentify.points_to_cases(records, k=k, metres=metres)
    return deidentify.points_to_cells(records, k=k, metres=metres)


def build(ctx: AppContext, *, name: str) -> int:
    """Rebuild one built-in dataset now: its rows, its distributions, its quality."""
    producer = registered(ctx).get(name)
    if producer is None:
        raise KeyError(f"no producer declares the dataset {name!r}")
    with ctx.writing() as session:
        (dataset,) = sync_builtin(session, producers={name: producer})
        rows = rows_of(producer, session, settings=ctx.settings)
        return service.store_rows(session, ctx.storage, dataset=dataset, rows=rows)


def _due(dataset: Dataset) -> bool:
    if dataset.dirty or dataset.refreshed_at is None:
        return True
    limit = FREQUENCIES.get(dataset.frequency, ("", "", None))[2]
    # Rebuilt at about half its staleness limit, so a working scheduler never lets it go stale.
    return limit is not None and utcnow() - dataset.refreshed_at.astimezone(UTC) > limit / 2


def refresh(ctx: AppContext, *, everything: bool = False) -> list[str]:
    """Rebuild the built-in datasets that are out of date or due (all of them with
    ``everything``); the names rebuilt. One failing producer does not stop the others."""
    producers = registered(ctx)
    with ctx.writing() as session:
        datasets = sync_builtin(session, producers=producers)
        wanted = [d.name for d in datasets if everything or _due(d)]
    built = []
    for name in wanted:
        try:
            build(ctx, name=name)
        except Exception:
            log.exception("building dataset %s failed", name)
            continue
        built.append(name)
    return built + refresh_views(ctx)


def refresh_views(ctx: AppContext) -> list[str]:
    """Rebuild the derived views that are out of date or whose source was rebuilt since."""
    built = []
    with ctx.writing() as session:
        views = session.scalars(select(Dataset).where(Dataset.source == "view", Dataset.active))
        sources = {d.name: d for d in session.scalars(select(Dataset).where(Dataset.active))}
        for view in views:
            source = sources.get((view.view_query or {}).get("source", ""))
            if source is None:
                continue
            behind = view.refreshed_at is None or (
                source.refreshed_at is not None and source.refreshed_at > view.refreshed_at
            )
            if view.dirty or behind:
                derived.build_view(session, ctx.storage, view=view)
                built.append(view.name)
    return built
