"""Every read of another department's data goes through here: the grant is checked (403 with
the reason otherwise), the answer holds only the granted fields and rows, and each person (or
enterprise) whose data is in the answer gets an access-log entry naming the grant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cityloop.base.db import iso, utcnow
from cityloop.base.messages import Message
from cityloop.base.problems import Problem, unprocessable
from cityloop.platforms.application.identity.models import Department, Enterprise, User
from cityloop.platforms.application.identity.service import Actor, audit
from cityloop.platforms.data.access.service import record_access
from cityloop.platforms.data.catalogue import datastore
from cityloop.platforms.data.sharing import lookups, messages, service, targets
from cityloop.platforms.data.sharing.models import DataGrant
from cityloop.platforms.data.sharing.targets import Target
from cityloop.platforms.data.sharing.workflow import GrantStatus

MAX_ROWS = 200


class Refusal(Problem):
    """A read the grants do not allow: 403, its reason as a code and in both languages."""

    def __init__(self, reason: str, message: Message, grant: DataGrant | None = None) -> None:
        extra: dict[str, Any] = {
            "reason": reason,
            "message_code": message.code,
            "detail_zh": message.render("zh-CN"),
        }
        if grant is not None:
            extra["grant_id"] = grant.id
        super().__init__(403, reason, message, extra=extra)
        self.reason = reason
        self.message = message
        self.grant = grant


def _names(session: Session, code: str | None) -> tuple[str, str]:
    found = session.get(Department, code) if code else None
    return (found.name, found.name_zh or found.name) if found else (str(code), str(code))


def _params(
    session: Session, target: Target, department: str, grant: DataGrant | None
) -> dict[str, str]:
    """What a refusal's message names: the department, the data, its owner, the grant."""
    name, name_zh = _names(session, department)
    owner, owner_zh = _names(session, target.owner)
    params: dict[str, str] = {
        "department": f"{department} ({name})", "department_zh": name_zh,
        "target": f"{target.kind} {target.name} ({target.title})",
        "target_zh": f"“{target.title_zh}”（{target.name}）", "owner": owner, "owner_zh": owner_zh,
    }  # fmt: skip
    if grant is not None:
        params["grant"] = str(grant.id)
        params["at"] = iso(grant.revoked_at or grant.expires_at) or ""
        params["reason"] = grant.revoked_reason or grant.decision_note
    return params


def _refusal(
    session: Session,
    reason: str,
    target: Target,
    department: str,
    grant: DataGrant | None,
    **more: str,
) -> Refusal:
    params = {**_params(session, target, department, grant), **more}
    return Refusal(reason, messages.coded(f"sharing.{reason}", **params), grant)


def authorise(
    session: Session, *, department: str | None, target: Target, now: datetime | None = None
) -> DataGrant | None:
    """The grant a department reads the dataset or asks the lookup under, or None when it needs
    none (the data is open or its own); a :class:`Refusal` saying why otherwise."""
    if target.is_open:
        return None
    if not department:
        message = messages.coded("sharing.no-department")
        raise Refusal("no-department", message)
    if department == target.owner:
        return None
    now = now or utcnow()
    grants = service.grants_for(session, department=department, target=target)
    live = [
        g
        for g in grants
        if g.status == GrantStatus.APPROVED and g.expires_at and g.expires_at > now
    ]
    if live:
        return max(live, key=lambda g: (g.expires_at, g.id))
    if not grants:
        raise _refusal(session, "no-grant", target, department, None)
    latest = grants[0]
    reason = {
        GrantStatus.REQUESTED: "grant-pending",
        GrantStatus.REFUSED: "grant-refused",
        GrantStatus.REVOKED: "grant-revoked",
    }.get(GrantStatus(latest.status), "grant-expired")  # expired, or approved and past its time
    raise _refusal(session, reason, target, department, latest)


def _not_granted(
    session: Session, target: Target, department: str, grant: DataGrant, asked: Sequence[str]
) -> Refusal:
    return _refusal(
        session, "field-not-granted", target, department, grant,
        fields=", ".join(asked), granted=", ".join(grant.fields),
    )  # fmt: skip


# ------------------------------------------------------------------ datasets


@dataclass(frozen=True)
class SharedRows:
    """A page of a dataset's rows as the grant allows them."""

    target: Target
    grant: DataGrant | None
    fields: list[dict[str, Any]]
    records: list[dict[str, Any]]
    total: int


def _row_filter(table: Any, row_filter: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    return [datastore.condition(table, name, value) for name, value in row_filter.items()]


def _text_search(table: Any, target: Target, allowed: Sequence[str], q: str) -> Any:
    # Only the allowed text columns: a match on a column the grant leaves out would tell the
    # reader what it holds.
    texts = [table.c[n] for n in allowed if target.fields.get(n) == "string"]
    pattern = f"%{q.replace('%', '').replace('_', '')}%"
    return or_(*(c.ilike(pattern) for c in texts)) if texts else False


def read_rows(
    session: Session,
    *,
    actor: Actor,
    name: str,
    filters: Mapping[str, Any] | None = None,
    q: str | None = None,
    fields: Sequence[str] | None = None,
    sort: Sequence[tuple[str, bool]] = (),
    limit: int = 100,
    offset: int = 0,
    now: datetime | None = None,
) -> SharedRows:
    """A page of a dataset's rows for a department's staff: its own, open, or under its grant
    (the grant's fields, the grant's rows); every person in the answer gets a log entry."""
    target = targets.dataset_target(session, name=name)
    assert target.dataset is not None
    department = actor.department_code
    grant = authorise(session, department=department, target=target, now=now)
    allowed = list(grant.fields) if grant else list(target.fields)
    asked = list(dict.fromkeys(fields or allowed))
    used = [*asked, *(filters or {}), *(n for n, _ in sort)]
    outside = [n for n in dict.fromkeys(used) if n != datastore.ROW_ID and n not in allowed]
    if outside and grant is not None:
        raise _not_granted(session, target, str(department), grant, outside)
    schema = target.dataset.table_schema
    subject = targets.subject_column(schema) if target.dataset.sensitivity == "personal" else None
    if target.dataset.sensitivity == "personal" and subject is None:
        raise Problem(
            409, "unmarked-personal-dataset",
            Message("sharing.dataset_marks_subject_column", {"name": str(name)}),
        )  # fmt: skip
    hidden = [subject[0]] if subject and subject[0] not in asked else []
    table = datastore.table_for(target.dataset.id, schema)
    conditions = _row_filter(table, grant.row_filter) if grant else []
    if q:
        conditions.append(_text_search(table, target, allowed, q))
    try:
        result = datastore.search(
            session, dataset_id=target.dataset.id, schema=schema, filters=filters,
            fields=[datastore.ROW_ID, *[n for n in asked if n != datastore.ROW_ID], *hidden],
            sort=sort, limit=min(limit, MAX_ROWS), offset=offset,
            where=and_(True, *conditions),
        )  # fmt: skip
    except datastore.DatastoreQueryError as error:
        raise unprocessable(str(error), field=error.field, type_="invalid-query") from error
    records = result.records
    if subject is not None:
        _log_rows(session, actor=actor, target=target, grant=grant, subject=subject,
                  records=records, asked=asked)  # fmt: skip
    if hidden:
        records = [{k: v for k, v in r.items() if k not in hidden} for r in records]
    described = [f for f in result.fields if f["id"] not in hidden]
    if actor.user_id is not None:
        audit(
            session, actor=actor, action="sharing.read", target=f"dataset:{name}",
            detail={"grant": grant.id if grant else None, "rows": len(records)},
        )  # fmt: skip
    return SharedRows(target, grant, described, records, result.total)


def _known_subjects(session: Session, kind: str, values: list[Any]) -> list[Any]:
    """The subjects of the answer that exist (each once, in answer order)."""
    if kind == "user":
        ids = []
        for value in values:
            try:
                ids.append(int(value))
            except (TypeError, ValueError):
                continue
        known = set(session.scalars(select(User.id).where(User.id.in_(ids)))) if ids else set()
        return [i for i in dict.fromkeys(ids) if i in known]
    codes = [str(v) for v in values if v]
    known_codes = set(session.scalars(select(Enterprise.uscc).where(Enterprise.uscc.in_(codes))))
    return [c for c in dict.fromkeys(codes) if c in known_codes]


def _log_rows(
    session: Session,
    *,
    actor: Actor,
    target: Target,
    grant: DataGrant | None,
    subject: tuple[str, str],
    records: list[dict[str, Any]],
    asked: Sequence[str],
) -> None:
    assert target.dataset is not None
    column, kind = subject
    codes = targets.access_codes_of(target.dataset.table_schema)
    read = list(dict.fromkeys(codes[n] for n in asked if n in codes)) or ["shared_record"]
    reference = f"grant:{grant.id}" if grant else f"dataset:{target.name}"
    for who in _known_subjects(session, kind, [r.get(column) for r in records]):
        record_access(
            session,
            user_id=who if kind == "user" else None,
            enterprise_uscc=who if kind == "enterprise" else None,
            actor=actor, fields=read, purpose="shared_read", reference=reference,
            legal_basis="statutory", grant_id=grant.id if grant else None,
        )  # fmt: skip


# ------------------------------------------------------------------ lookups


@dataclass(frozen=True)
class LookupResult:
    """A lookup's answer as the grant allows it, and the fields asked for but not granted."""

    target: Target
    grant: DataGrant | None
    answer: dict[str, Any]
    withheld: list[str] = field(default_factory=list)
    # Why the withheld fields were left out (``drop_ungranted``), to show the caller's user.
    withheld_because: Refusal | None = None


def _within(
    session: Session, target: Target, department: str, grant: DataGrant, params: Any
) -> None:
    """Refuse parameters outside the grant's row filter (a district it does not cover)."""
    for name, allowed in grant.row_filter.items():
        value = getattr(params, name, None)
        if value not in (allowed if isinstance(allowed, list) else [allowed]):
            scope = ", ".join(f"{k} = {v}" for k, v in grant.row_filter.items())
            raise _refusal(session, "outside-grant", target, department, grant, scope=scope)


def lookup(
    session: Session,
    *,
    name: str,
    params: Mapping[str, Any],
    actor: Actor,
    department: str | None = None,
    fields: Sequence[str] | None = None,
    drop_ungranted: bool = False,
    purpose: str = "shared_lookup",
    reference: str = "",
    legal_basis: str = "statutory",
    consent_id: str | None = None,
    consent_at: datetime | None = None,
    now: datetime | None = None,
) -> LookupResult:
    """Ask a lookup for ``department`` (the actor's by default) under its grant; the answer
    has the asked fields (every granted one by default). ``drop_ungranted`` leaves out asked
    fields the grant does not cover instead of refusing. The read is access-logged."""
    target = targets.lookup_target(name)
    found_lookup = target.lookup
    assert found_lookup is not None
    department = department or actor.department_code
    grant = authorise(session, department=department, target=target, now=now)
    allowed = list(grant.fields) if grant else found_lookup.grantable
    asked = list(dict.fromkeys(fields)) if fields else list(allowed)
    unknown = [f for f in asked if f not in found_lookup.fields]
    if unknown:
        raise unprocessable(
            Message(
                "sharing.lookup_answers_answers",
                {
                    "name": str(name),
                    "unknown": str(unknown),
                    "list": str(list(found_lookup.fields)),
                },
            ),
            field="fields",
        )
    withheld = [f for f in asked if f not in allowed and f not in found_lookup.always]
    because = None
    if withheld and grant is not None:
        because = _not_granted(session, target, str(department), grant, withheld)
        if not drop_ungranted:
            raise because
    asked = [f for f in asked if f not in withheld]
    try:
        checked = lookups.as_params(found_lookup, params)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "params"
        raise unprocessable(
            f"params.{where}: {first.get('msg')}".replace("params.params", "params"),
            field=f"params.{where}" if first.get("loc") else "params",
        ) from error
    if grant is not None:
        _within(session, target, str(department), grant, checked)
    found = found_lookup.answer(session, checked)
    codes = lookups.codes_read(found_lookup, asked)
    whose = found.user_id if found_lookup.subject == "user" else found.enterprise_uscc
    if whose is not None and codes:
        record_access(
            session,
            user_id=found.user_id if found_lookup.subject == "user" else None,
            enterprise_uscc=found.enterprise_uscc if found_lookup.subject == "enterprise" else None,
            actor=Actor(actor.user_id, actor.username, actor.role, department),
            fields=codes, purpose=purpose,
            reference=reference or (f"grant:{grant.id}" if grant else f"lookup:{name}"),
            legal_basis=legal_basis, consent_id=consent_id, consent_at=consent_at,
            grant_id=grant.id if grant else None,
        )  # fmt: skip
    if actor.user_id is not None:
        audit(
            session, actor=actor, action="sharing.lookup", target=f"lookup:{name}",
            detail={"grant": grant.id if grant else None, "fields": asked},
        )  # fmt: skip
    answer = lookups.restricted(found_lookup, found, asked)
    return LookupResult(target, grant, answer, withheld, because)
