"""What readers see of the access log: every code with its English and Chinese name. A person
or an enterprise sees its own entries; staff of the console also see whose data each was and
the entry's place in the hash chain."""

from __future__ import annotations

from typing import Literal

from cityloop.base.contracts import Answer, Named, Timestamp
from cityloop.base.db import iso
from cityloop.platforms.application.identity.models import Department
from cityloop.platforms.data.access import catalogue, chain
from cityloop.platforms.data.access.models import ChainCheckpoint, DataAccess


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
    # The sharing grant the read went through, if it went through one.
    grant_id: int | None


class AccessCodes(Answer):
    """Every code an entry may carry, with its names: the filters' choices."""

    purposes: list[Named]
    fields: list[Named]
    legal_bases: list[Named]
    roles: list[Named]


def access_codes() -> AccessCodes:
    """The catalogue's codes and names, in the catalogue's order."""
    return AccessCodes(
        purposes=[_named(catalogue.PURPOSES, code) for code in catalogue.PURPOSES],
        fields=[_named(catalogue.FIELDS, code) for code in catalogue.FIELDS],
        legal_bases=[_named(catalogue.LEGAL_BASES, code) for code in catalogue.LEGAL_BASES],
        roles=[_named(catalogue.ROLES, code) for code in catalogue.ROLES],
    )


class DataAccessPage(Answer):
    total: int
    limit: int
    offset: int
    items: list[DataAccessOut]


class DataAccessExport(Answer):
    """The log of one data subject as a JSON download."""

    subject: str
    exported_at: Timestamp
    filters: dict[str, str | int]
    total: int
    items: list[DataAccessOut]


class StaffAccessOut(DataAccessOut):
    """An entry as the console shows it: whose data, and its link in the chain."""

    user_id: int | None
    username: str | None
    enterprise_uscc: str | None
    entry_hash: str


class StaffAccessPage(Answer):
    total: int
    limit: int
    offset: int
    items: list[StaffAccessOut]


class CheckpointOut(Answer):
    upto_id: int
    upto_hash: str
    at: Timestamp
    kid: str


class ChainStatus(Answer):
    """What a walk of the whole chain found, and the newest signed checkpoint."""

    intact: bool
    entries: int
    checkpoints: int
    broken_at: int | None
    reason: str
    # What broke, for a screen to name (empty while the chain holds).
    kind: chain.BreakKind | Literal[""]
    latest_checkpoint: CheckpointOut | None


def department_named(departments: dict[str, Department], code: str | None) -> Named | None:
    department = departments.get(code or "")
    if department is None:
        return None
    return Named(code=department.code, name=department.name, name_zh=department.name_zh)


def access_out(entry: DataAccess, departments: dict[str, Department]) -> DataAccessOut:
    return DataAccessOut(
        id=entry.id,
        at=iso(entry.at) or "",
        actor=entry.actor,
        role=_named(catalogue.ROLES, entry.actor_role),
        department=department_named(departments, entry.actor_department),
        fields=[_named(catalogue.FIELDS, code) for code in entry.fields],
        purpose=_named(catalogue.PURPOSES, entry.purpose),
        reference=entry.reference,
        legal_basis=_named(catalogue.LEGAL_BASES, entry.legal_basis),
        consent_id=entry.consent_id,
        consent_at=iso(entry.consent_at),
        grant_id=entry.grant_id,
    )


def staff_access_out(
    entry: DataAccess, departments: dict[str, Department], usernames: dict[int, str]
) -> StaffAccessOut:
    return StaffAccessOut(
        **dict(access_out(entry, departments)),
        user_id=entry.user_id,
        username=usernames.get(entry.user_id) if entry.user_id is not None else None,
        enterprise_uscc=entry.enterprise_uscc,
        entry_hash=entry.entry_hash,
    )


def chain_status(report: chain.ChainReport, latest: ChainCheckpoint | None) -> ChainStatus:
    return ChainStatus(
        intact=report.intact,
        entries=report.entries,
        checkpoints=report.checkpoints,
        broken_at=report.broken_at,
        reason=report.reason,
        kind=report.kind,
        latest_checkpoint=CheckpointOut(
            upto_id=latest.upto_id, upto_hash=latest.upto_hash, at=iso(latest.at) or "",
            kid=latest.kid,
        )
        if latest is not None
        else None,
    )  # fmt: skip
