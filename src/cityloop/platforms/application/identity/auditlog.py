"""The audit log searched: by actor, action, target and time, newest first, a page at a time
(keyset paging on the entry id, so a page stays right while new entries arrive), and as CSV.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext
from cityloop.base.db import iso
from cityloop.base.problems import bad_request
from cityloop.platforms.application.identity.messages import Message
from cityloop.platforms.application.identity.models import AuditEntry

EXPORT_BATCH = 1000
CSV_COLUMNS = ("id", "at", "actor", "actor_role", "action", "target", "detail")


@dataclass(frozen=True)
class AuditFilter:
    """What to look for. ``action`` and ``target`` match exactly, or as a prefix when they end
    in ``*`` (``user.*``, ``case:*``); ``since`` is inclusive, ``until`` exclusive."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[Any]:
        """The SQL conditions of this filter; 400 naming the field for a bad value."""
        for name, moment in (("from", self.since), ("to", self.until)):
            if moment is not None and moment.tzinfo is None:
                raise bad_request(Message("identity.audit_needs_time_zone"), field=name)
        if self.since and self.until and self.until <= self.since:
            raise bad_request(Message("identity.audit_to_before_from"), field="to")
        found: list[Any] = []
        if self.actor:
            found.append(AuditEntry.actor == self.actor.strip().lower())
        for column, value in ((AuditEntry.action, self.action), (AuditEntry.target, self.target)):
            if not value:
                continue
            if value.endswith("*"):
                prefix = value[:-1]
                escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                found.append(column.like(escaped + "%", escape="\\"))
            else:
                found.append(column == value)
        if self.since is not None:
            found.append(AuditEntry.at >= self.since)
        if self.until is not None:
            found.append(AuditEntry.at < self.until)
        return found


def search(
    session: Session, *, where: AuditFilter, before_id: int | None = None, limit: int = 100
) -> list[AuditEntry]:
    """The newest ``limit`` entries matching the filter, older than ``before_id`` when given."""
    conditions = where.conditions()
    if before_id is not None:
        conditions.append(AuditEntry.id < before_id)
    query = select(AuditEntry).where(*conditions).order_by(AuditEntry.id.desc()).limit(limit)
    return list(session.scalars(query))


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A cell a spreadsheet would read as a formula is written as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _line(values: tuple[object, ...]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([_cell(v) for v in values])
    return buffer.getvalue()


def csv_lines(ctx: AppContext, *, where: AuditFilter) -> Iterator[str]:
    """Every matching entry as CSV, newest first, read a batch per short transaction. Check
    the filter (``where.conditions()``) before the answer starts: a 400 cannot follow a 200."""
    yield _line(CSV_COLUMNS)
    before: int | None = None
    while True:
        with ctx.reading() as session:
            batch = search(session, where=where, before_id=before, limit=EXPORT_BATCH)
            rows = [
                (e.id, iso(e.at), e.actor, e.actor_role, e.action, e.target, _json(e.detail))
                for e in batch
            ]
        yield from (_line(row) for row in rows)
        if len(batch) < EXPORT_BATCH:
            return
        before = batch[-1].id


def _json(detail: dict[str, Any]) -> str:
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
