"""Tables a department uploads (CSV or XLSX), checked with Frictionless against the dataset's
schema. An upload with any bad row changes nothing, and its report names every bad cell."""

from __future__ import annotations

import tempfile
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from frictionless import FrictionlessException, Resource, Schema, system
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.problems import Problem, unprocessable
from cityloop.base.storage import Storage
from cityloop.platforms.application.identity.service import Actor, audit
from cityloop.platforms.data.catalogue import service
from cityloop.platforms.data.catalogue.messages import Message
from cityloop.platforms.data.catalogue.models import Dataset, DatasetUpload
from cityloop.platforms.data.catalogue.permissions import require_owner

FORMATS = {".csv": "csv", ".xlsx": "xlsx"}
# The report keeps this many errors; the count says how many there were.
MAX_REPORTED = 500
MAX_ROWS = 1_000_000


def _plain(value: Any) -> Any:
    # The DataStore keeps dates and times as ISO 8601 text; Frictionless reads a "number" cell
    # as a Decimal, which the published JSON and the DataStore take as a float.
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _error(error: Any) -> dict[str, Any]:
    return {
        "row": getattr(error, "row_number", None),
        "field": getattr(error, "field_name", None) or getattr(error, "label", None),
        "code": error.type,
        "message": error.message,
    }


def check_table(
    path: Path, *, fmt: str, schema: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """Rows of the file typed by the schema, the errors found and how many there were."""
    table_schema = Schema.from_descriptor(schema)
    # Untrusted: Frictionless reads only this file, never a path or URL named inside it.
    with system.use_context(trusted=False):
        report = Resource(path=path.name, basepath=str(path.parent), format=fmt,
                          schema=table_schema).validate(limit_errors=MAX_REPORTED)  # fmt: skip
        errors = [_error(e) for task in report.tasks for e in task.errors]
        if errors:
            return [], errors, report.stats.get("errors", len(errors))
        resource = Resource(path=path.name, basepath=str(path.parent), format=fmt,
                            schema=table_schema)  # fmt: skip
        rows = []
        with resource:
            for row in resource.row_stream:
                if len(rows) >= MAX_ROWS:
                    limit = {"row": None, "field": None, "code": "too-many-rows",
                             "message": f"a table may have at most {MAX_ROWS} rows"}  # fmt: skip
                    return [], [limit], 1
                rows.append({key: _plain(value) for key, value in row.to_dict().items()})
    return rows, [], 0


def upload_table(
    session: Session,
    storage: Storage,
    *,
    dataset: Dataset,
    actor: Actor,
    filename: str,
    data: bytes,
) -> DatasetUpload:
    """Check an uploaded table; if every row is sound, it replaces the dataset's rows. The
    upload and its report are kept either way."""
    require_owner(dataset, actor)
    if dataset.source != "upload":
        raise Problem(
            409,
            "dataset-not-uploadable",
            Message(
                "catalogue.rows_dataset_are_built",
                {
                    "dataset_name": repr(dataset.name),
                    "source": str(dataset.source),
                },
            ),
        )
    suffix = Path(filename).suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        raise unprocessable(
            Message(
                "catalogue.upload_csv_xlsx_file",
                {
                    "value": repr(suffix or "a file without an extension"),
                },
            ),
            field="file",
            type_="unsupported-table-format",
        )
    if not data:
        raise unprocessable(Message("catalogue.file_empty"), field="file")
    with tempfile.TemporaryDirectory(prefix="cityloop-upload-") as folder:
        path = Path(folder) / f"table{suffix}"
        path.write_bytes(data)
        try:
            rows, errors, error_count = check_table(path, fmt=fmt, schema=dataset.table_schema)
        except FrictionlessException as error:
            rows, error_count = [], 1
            errors = [{"row": None, "field": None, "code": "unreadable-table",
                       "message": error.error.message}]  # fmt: skip
    upload = DatasetUpload(
        dataset_id=dataset.id,
        uploaded_by=actor.username,
        filename=filename[:200],
        format=fmt,
        byte_size=len(data),
        rows=len(rows),
        status="rejected" if errors else "accepted",
        errors=errors,
        error_count=error_count,
    )
    session.add(upload)
    if not errors:
        service.store_rows(session, storage, dataset=dataset, rows=rows)
    session.flush()
    audit(session, actor=actor, action=f"dataset.upload.{upload.status}",
          target=f"dataset:{dataset.name}",
          detail={"upload": upload.id, "rows": len(rows), "errors": error_count})  # fmt: skip
    return upload


def uploads_of(session: Session, *, dataset_id: int, limit: int = 20) -> list[DatasetUpload]:
    """A dataset's uploads, newest first."""
    query = (
        select(DatasetUpload)
        .where(DatasetUpload.dataset_id == dataset_id)
        .order_by(DatasetUpload.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
