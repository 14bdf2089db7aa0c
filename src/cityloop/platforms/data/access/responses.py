"""What a citizen reads of the access log: every code with its English and Chinese name."""

from __future__ import annotations

from cityloop.base.contracts import Answer, Named, Timestamp
from cityloop.base.db import iso
from cityloop.platforms.application.identity.models import Department
from cityloop.platforms.data.access import catalogue
from cityloop.platforms.data.access.models import DataAccess


def _named(table: dict[str, tuple[str, str]], code: str) -> Named:
    english, chinese = catalogue.names(table, code)
    return Named(code=code, name=english, name_zh=chinese)


class DataAccessOut(Answer):
    id: int
    at: Timestamp
    actor: str
    role: Named
    department: Named | None
    fields: list[Named]
    purpose: Named
    reference: str
    legal_basis: Named
    consent_id: str | None
    consent_at: Timestamp | None


class DataAccessPage(Answer):
    total: int
    limit: int
    offset: int
    items: list[DataAccessOut]


def access_out(entry: DataAccess, departments: dict[str, Department]) -> DataAccessOut:
    department = departments.get(entry.actor_department or "")
    return DataAccessOut(
        id=entry.id,
        at=iso(entry.at) or "",
        actor=entry.actor,
        role=_named(catalogue.ROLES, entry.actor_role),
        department=Named(code=department.code, name=department.name, name_zh=department.name_zh)
        if department
        else None,
        fields=[_named(catalogue.FIELDS, code) for code in entry.fields],
        purpose=_named(catalogue.PURPOSES, entry.purpose),
        reference=entry.reference,
        legal_basis=_named(catalogue.LEGAL_BASES, entry.legal_basis),
        consent_id=entry.consent_id,
        consent_at=iso(entry.consent_at),
    )
