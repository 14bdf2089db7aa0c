"""The catalogue's rules: what a dataset entry must say, and storing a dataset's rows."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from frictionless import FrictionlessException, Schema
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.problems import Problem, not_found, unprocessable
from cityloop.base.storage import Storage
from cityloop.platforms.application.identity.models import Department
from cityloop.platforms.data.catalogue import datastore, deidentify, distributions, quality
from cityloop.platforms.data.catalogue.messages import Message
from cityloop.platforms.data.catalogue.models import Dataset, Distribution
from cityloop.platforms.data.catalogue.producers import SENSITIVITIES
from cityloop.platforms.data.catalogue.subjects import personal_schema_problems
from cityloop.platforms.data.catalogue.vocabularies import FORMATS, FREQUENCIES, LICENCES, THEMES

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,99}$")
MAX_FIELDS = 100
MAX_PAGE = 200
# Metadata a department may change on its dataset after creating it.
EDITABLE = (
    "title", "title_zh", "description", "description_zh", "keywords", "theme", "spatial",
    "frequency", "licence", "temporal_start", "temporal_end",
)  # fmt: skip


def check_schema(schema: Any) -> list[str]:
    """The problems of a Table Schema, as sentences; none when it is sound."""
    if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list):
        return ["table_schema must be an object with a list of fields"]
    if not schema["fields"]:
        return ["table_schema must have at least one field"]
    if len(schema["fields"]) > MAX_FIELDS:
        return [f"table_schema may have at most {MAX_FIELDS} fields"]
    problems = []
    try:
        Schema.from_descriptor(schema)
    except FrictionlessException as error:
        problems.append(f"table_schema: {error.error.message}")
    names = [str(f.get("name", "")) for f in schema["fields"] if isinstance(f, dict)]
    for name in names:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,62}", name) or name == datastore.ROW_ID:
            problems.append(
                f"field name {name!r}: use letters, digits and '_', starting with a letter"
            )
    if len(set(names)) != len(names):
        problems.append("table_schema: field names must be unique")
    return problems


def check_entry(session: Session, entry: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every problem of a dataset entry's metadata, as (field, sentence)."""
    problems: list[tuple[str, str]] = []
    if "name" in entry and not NAME.fullmatch(str(entry["name"])):
        problems.append(
            ("name", "name: 2 to 100 of a-z, 0-9, '-' and '_', starting with a letter or digit")
        )
    for field in ("title", "title_zh"):
        if field in entry and not str(entry[field] or "").strip():
            problems.append((field, f"{field} must not be empty: give it in English and Chinese"))
    if "theme" in entry and entry["theme"] not in THEMES:
        problems.append(("theme", f"theme must be one of {sorted(THEMES)}"))
    if "frequency" in entry and entry["frequency"] not in FREQUENCIES:
        problems.append(("frequency", f"frequency must be one of {sorted(FREQUENCIES)}"))
    if "licence" in entry and entry["licence"] not in LICENCES:
        problems.append(("licence", f"licence must be one of {sorted(LICENCES)}"))
    if "sensitivity" in entry and entry["sensitivity"] not in SENSITIVITIES:
        problems.append(("sensitivity", f"sensitivity must be one of {list(SENSITIVITIES)}"))
    if entry.get("sensitivity") == "open" and entry.get("licence") == "internal":
        problems.append(("licence", "an open dataset needs an open licence, not 'internal'"))
    if "keywords" in entry:
        words = entry["keywords"]
        if not isinstance(words, list) or not all(
            isinstance(w, str) and 0 < len(w) <= 60 for w in words
        ):
            problems.append(("keywords", "keywords must be a list of words of 1 to 60 characters"))
    start, end = entry.get("temporal_start"), entry.get("temporal_end")
    if isinstance(start, datetime) and isinstance(end, datetime) and end < start:
        problems.append(("temporal_end", "temporal_end is before temporal_start"))
    if "owner_department" in entry and session.get(Department, entry["owner_department"]) is None:
        problems.append(("owner_department", f"no department {entry['owner_department']!r}"))
    if "table_schema" in entry:
        problems += [("table_schema", p) for p in check_schema(entry["table_schema"])]
        if entry.get("sensitivity") == "personal" and not check_schema(entry["table_schema"]):
            problems += [
                ("table_schema", p) for p in personal_schema_problems(entry["table_schema"])
            ]
        if entry.get("sensitivity") == "open" and isinstance(entry["table_schema"], dict):
            personal = deidentify.personal_field_names(entry["table_schema"])
            if personal:
                problems.append(
                    ("table_schema", f"an open dataset may not carry personal fields: {personal}")
                )
    return problems


def _refuse(problems: list[tuple[str, str]]) -> None:
    if problems:
        raise unprocessable(
            "; ".join(p for _, p in problems), field=problems[0][0], type_="invalid-dataset"
        )


def create_dataset(
    session: Session, *, entry: Mapping[str, Any], source: str, producer: str | None = None
) -> Dataset:
    """Add a dataset to the catalogue (422 naming every problem of its entry)."""
    required = ("name", "owner_department", "title", "title_zh", "theme", "frequency",
                "sensitivity", "table_schema")  # fmt: skip
    problems = [(f, f"{f} is required") for f in required if f not in entry]
    problems += check_entry(session, entry)
    _refuse(problems)
    if session.scalar(select(Dataset.id).where(Dataset.name == entry["name"])) is not None:
        raise Problem(
            409,
            "dataset-exists",
            Message("catalogue.dataset_named_exists_already", {"entry": repr(entry["name"])}),
        )
    dataset = Dataset(
        source=source,
        producer=producer,
        licence=entry.get("licence")
        or ("internal" if entry["sensitivity"] != "open" else "CC-BY-4.0"),
        **{
            k: v
            for k, v in entry.items()
            if k in {*required, *EDITABLE, "view_query"} and k != "licence"
        },
    )
    session.add(dataset)
    session.flush()
    return dataset


def update_dataset(session: Session, *, dataset: Dataset, changes: Mapping[str, Any]) -> Dataset:
    """Change a dataset's descriptive metadata (not its name, owner, sensitivity or schema)."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise unprocessable(
            Message("catalogue.these_changed_here", {"unknown": str(unknown)}), field=unknown[0]
        )
    _refuse(check_entry(session, {"sensitivity": dataset.sensitivity, **changes}))
    for key, value in changes.items():
        setattr(dataset, key, value)
    dataset.modified_at = utcnow()
    return dataset


def get_dataset(session: Session, *, name: str) -> Dataset:
    """The active dataset of this name (404 otherwise)."""
    dataset = session.scalar(select(Dataset).where(Dataset.name == name, Dataset.active))
    if dataset is None:
        raise not_found("dataset", name)
    return dataset


def list_datasets(
    session: Session,
    *,
    sensitivities: Iterable[str] | None = None,
    owner: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Dataset], int]:
    """A page of active datasets, newest change first, and how many match."""
    query = select(Dataset).where(Dataset.active)
    if sensitivities is not None:
        query = query.where(Dataset.sensitivity.in_(list(sensitivities)))
    if owner:
        query = query.where(Dataset.owner_department == owner)
    if q:
        pattern = f"%{q.replace('%', '').replace('_', '')}%"
        query = query.where(
            or_(
                Dataset.title.ilike(pattern),
                Dataset.title_zh.ilike(pattern),
                Dataset.description.ilike(pattern),
                Dataset.description_zh.ilike(pattern),
                Dataset.name.ilike(pattern),
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(
        query.order_by(Dataset.modified_at.desc(), Dataset.id.desc())
        .limit(min(limit, MAX_PAGE))
        .offset(offset)
    )
    return list(page), int(total)


def open_catalogue(session: Session) -> tuple[list[Dataset], dict[int, list[Distribution]]]:
    """Every open, active dataset and its distributions, in two queries (for harvesting)."""
    datasets = list(
        session.scalars(
            select(Dataset)
            .where(Dataset.active, Dataset.sensitivity == "open")
            .order_by(Dataset.modified_at.desc(), Dataset.id.desc())
        )
    )
    files: dict[int, list[Distribution]] = {d.id: [] for d in datasets}
    if datasets:
        query = select(Distribution).where(Distribution.dataset_id.in_(list(files)))
        for row in session.scalars(query):
            files[row.dataset_id].append(row)
    for rows in files.values():
        rows.sort(key=lambda d: list(FORMATS).index(d.format))
    return datasets, files


def distributions_of(session: Session, *, dataset_id: int) -> list[Distribution]:
    """A dataset's distributions in a stable order."""
    query = select(Distribution).where(Distribution.dataset_id == dataset_id)
    return sorted(session.scalars(query), key=lambda d: list(FORMATS).index(d.format))


def store_rows(
    session: Session,
    storage: Storage,
    *,
    dataset: Dataset,
    rows: Iterable[Mapping[str, Any]],
    at: datetime | None = None,
) -> int:
    """Replace the dataset's rows, publish every format and check its quality; the row count."""
    at = at or utcnow()
    kept = [dict(row) for row in rows]
    blanked = 0
    if dataset.sensitivity == "open":
        # The last line of defence: an open dataset never publishes contact or identity data.
        blanked = sum(deidentify.screen_row(row) for row in kept)
    count = datastore.replace_rows(
        session, dataset_id=dataset.id, schema=dataset.table_schema, rows=kept
    )
    distributions.publish(session, storage, dataset=dataset, rows=kept, at=at)
    dataset.row_count = count
    dataset.refreshed_at = at
    dataset.modified_at = at
    dataset.dirty = False
    dataset.quality = quality.measure(dataset=dataset, rows=kept, blanked=blanked, now=at)
    dataset.stale = bool(dataset.quality.get("stale"))
    session.flush()
    return count
