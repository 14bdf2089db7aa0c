"""What the catalogue's HTTP API answers: datasets, distributions, uploads and vocabularies."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cityloop.base.contracts import Answer, JsonObject, Named, Timestamp
from cityloop.base.db import iso
from cityloop.platforms.application.identity.models import Department
from cityloop.platforms.data.catalogue.models import Dataset, DatasetUpload, Distribution
from cityloop.platforms.data.catalogue.vocabularies import (
    FREQUENCIES,
    LICENCES,
    SENSITIVITY_NAMES,
    THEMES,
)


def _named(code: str, names: tuple[str, ...]) -> Named:
    return Named(code=code, name=names[0] if names else code, name_zh=names[1] if names else code)


class DistributionOut(Answer):
    id: str
    format: str
    media_type: str
    url: str
    byte_size: int
    sha256: str
    row_count: int
    generated_at: Timestamp | None


class DatasetSummary(Answer):
    name: str
    title: str
    title_zh: str
    description: str
    description_zh: str
    owner: Named
    theme: Named
    frequency: Named
    sensitivity: Named
    licence: Named
    keywords: list[str]
    source: str
    row_count: int
    modified_at: Timestamp
    refreshed_at: Timestamp | None
    stale: bool
    # The share of filled cells at the last build (the console lists it); None before one.
    completeness: float | None


class DatasetOut(DatasetSummary):
    spatial: str
    temporal_start: Timestamp | None
    temporal_end: Timestamp | None
    table_schema: JsonObject
    view_query: JsonObject | None
    quality: JsonObject
    distributions: list[DistributionOut]
    may_manage: bool


class DatasetPage(Answer):
    total: int
    limit: int
    offset: int
    items: list[DatasetSummary]


class PreviewOut(Answer):
    fields: list[JsonObject]
    records: list[JsonObject]
    total: int


class UploadOut(Answer):
    id: int
    at: Timestamp
    uploaded_by: str
    filename: str
    format: str
    byte_size: int
    rows: int
    status: Literal["accepted", "rejected"]
    error_count: int
    errors: list[JsonObject]


class Vocabularies(Answer):
    themes: list[Named]
    frequencies: list[Named]
    licences: list[Named]
    sensitivities: list[Named]


class DatasetIn(BaseModel):
    """A new dataset of a department: a table it uploads, or a view over another dataset."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=100)
    title: str = Field(min_length=1, max_length=200)
    title_zh: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    description_zh: str = Field(default="", max_length=10_000)
    keywords: list[str] = Field(default_factory=list, max_length=30)
    theme: str
    frequency: str
    licence: str | None = None
    sensitivity: Literal["open", "shared", "personal"]
    spatial: str = Field(default="", max_length=100)
    # Required for an upload dataset; a view's columns follow from its query.
    table_schema: dict[str, Any] | None = None
    view_query: dict[str, Any] | None = None
    # Admins only: the department that will own it (staff create for their own).
    owner_department: str | None = None


class DatasetChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=200)
    title_zh: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    description_zh: str | None = Field(default=None, max_length=10_000)
    keywords: list[str] | None = Field(default=None, max_length=30)
    theme: str | None = None
    frequency: str | None = None
    licence: str | None = None
    spatial: str | None = Field(default=None, max_length=100)


def distribution_out(base_url: str, dataset: Dataset, row: Distribution) -> DistributionOut:
    return DistributionOut(
        id=row.id,
        format=row.format,
        media_type=row.media_type,
        url=f"{base_url.rstrip('/')}/api/v1/data/datasets/{dataset.name}/distributions/{row.id}",
        byte_size=row.byte_size,
        sha256=row.sha256,
        row_count=row.row_count,
        generated_at=iso(row.generated_at),
    )


def _summary_fields(dataset: Dataset, departments: dict[str, Department]) -> dict[str, Any]:
    owner = departments.get(dataset.owner_department)
    return {
        "name": dataset.name,
        "title": dataset.title,
        "title_zh": dataset.title_zh,
        "description": dataset.description,
        "description_zh": dataset.description_zh,
        "owner": Named(code=owner.code, name=owner.name, name_zh=owner.name_zh)
        if owner
        else _named(dataset.owner_department, ()),
        "theme": _named(dataset.theme, THEMES.get(dataset.theme, ())),
        "frequency": _named(dataset.frequency, FREQUENCIES.get(dataset.frequency, ())[:2]),
        "sensitivity": _named(dataset.sensitivity, SENSITIVITY_NAMES.get(dataset.sensitivity, ())),
        "licence": _named(dataset.licence, LICENCES.get(dataset.licence, ())[:2]),
        "keywords": list(dataset.keywords),
        "source": dataset.source,
        "row_count": dataset.row_count,
        "modified_at": iso(dataset.modified_at) or "",
        "refreshed_at": iso(dataset.refreshed_at),
        "stale": dataset.stale,
        "completeness": (dataset.quality or {}).get("completeness"),
    }


def dataset_summary(dataset: Dataset, departments: dict[str, Department]) -> DatasetSummary:
    return DatasetSummary(**_summary_fields(dataset, departments))


def dataset_out(
    dataset: Dataset,
    departments: dict[str, Department],
    distributions: list[DistributionOut],
    *,
    may_manage: bool,
) -> DatasetOut:
    return DatasetOut(
        **_summary_fields(dataset, departments),
        spatial=dataset.spatial,
        temporal_start=iso(dataset.temporal_start),
        temporal_end=iso(dataset.temporal_end),
        table_schema=dataset.table_schema,
        view_query=dataset.view_query,
        quality=dataset.quality,
        distributions=distributions,
        may_manage=may_manage,
    )


def upload_out(upload: DatasetUpload) -> UploadOut:
    return UploadOut(
        id=upload.id,
        at=iso(upload.at) or "",
        uploaded_by=upload.uploaded_by,
        filename=upload.filename,
        format=upload.format,
        byte_size=upload.byte_size,
        rows=upload.rows,
        status=upload.status,  # type: ignore[arg-type]
        error_count=upload.error_count,
        errors=upload.errors,
    )


def vocabularies() -> Vocabularies:
    return Vocabularies(
        themes=[_named(c, n) for c, n in THEMES.items()],
        frequencies=[_named(c, n[:2]) for c, n in FREQUENCIES.items()],
        licences=[_named(c, n[:2]) for c, n in LICENCES.items()],
        sensitivities=[_named(c, n) for c, n in SENSITIVITY_NAMES.items()],
    )
