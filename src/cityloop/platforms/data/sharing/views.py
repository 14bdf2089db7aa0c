"""Sharing between departments over HTTP: grants (request, decide, revoke, list), reads of
shared datasets and live lookups under them. Staff only; every refusal is a 403 with its
reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext, get_context
from cityloop.base.db import utcnow
from cityloop.base.problems import bad_request
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.deps import staff_actor
from cityloop.platforms.application.identity.models import Department
from cityloop.platforms.application.identity.service import Actor
from cityloop.platforms.data.catalogue.models import Dataset
from cityloop.platforms.data.sharing import lookups, reads, service, targets
from cityloop.platforms.data.sharing.messages import Message
from cityloop.platforms.data.sharing.responses import (
    FieldChoice,
    GrantApproveIn,
    GrantOut,
    GrantPage,
    GrantReasonIn,
    GrantRequestIn,
    LookupAnswerOut,
    LookupIn,
    LookupOut,
    SharedDatasetOut,
    SharedRowsOut,
    grant_out,
    lookup_out,
    named,
)
from cityloop.platforms.data.sharing.targets import Target

router = APIRouter(prefix="/api/v1/data", tags=["data sharing"])
# The grant statuses, inline: an enum would add a schema to the OpenAPI document.
StatusFilter = Literal["requested", "approved", "refused", "revoked", "expired"]
Ctx = Annotated[AppContext, Depends(get_context)]
Staff = Annotated[Actor, Depends(staff_actor)]
GrantId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Name = Annotated[str, Path(min_length=1, max_length=100)]


def _departments(session: Session) -> dict[str, Department]:
    return {d.code: d for d in identity.list_departments(session)}


def _out(session: Session, grant: Any, actor: Actor) -> GrantOut:
    return grant_out(session, grant, caller=actor, departments=_departments(session), now=utcnow())


def _access(session: Session, actor: Actor, target: Target) -> tuple[str, int | None]:
    if target.is_open:
        return "open", None
    if actor.department_code == target.owner:
        return "own", None
    try:
        grant = reads.authorise(session, department=actor.department_code, target=target)
    except reads.Refusal:
        return "none", None
    return ("granted", grant.id) if grant else ("none", None)


@router.get("/grants", response_model=GrantPage)
def list_grants(
    ctx: Ctx,
    actor: Staff,
    view: Literal["requests", "decisions", "all"] = "all",
    status: Annotated[StatusFilter | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> GrantPage:
    """My department's requests (``view=requests``), the grants on its data (``decisions``),
    or both; newest first. An administrator sees every department's."""
    with ctx.reading() as session:
        grants, total = service.list_grants(
            session, actor=actor, view=view, status=status, limit=limit, offset=offset
        )
        return GrantPage(
            total=total,
            limit=limit,
            offset=offset,
            items=[_out(session, g, actor) for g in grants],
        )


@router.post("/grants", response_model=GrantOut, status_code=201)
def request_grant(ctx: Ctx, actor: Staff, body: GrantRequestIn) -> GrantOut:
    """Ask another department for a grant on its dataset or lookup (purpose and legal basis)."""

    def write(session: Session) -> GrantOut:
        grant = service.request_grant(
            session, actor=actor, kind=body.kind, name=body.name, purpose=body.purpose,
            legal_basis=body.legal_basis, fields=body.fields, department=body.department,
        )  # fmt: skip
        return _out(session, grant, actor)

    return ctx.write_grouped(write)


@router.get("/grants/{grant_id}", response_model=GrantOut)
def show_grant(ctx: Ctx, actor: Staff, grant_id: GrantId) -> GrantOut:
    """One grant with its history (its requester's and owner's staff, and administrators)."""
    with ctx.reading() as session:
        return _out(session, service.get_grant(session, grant_id=grant_id, actor=actor), actor)


@router.post("/grants/{grant_id}/approve", response_model=GrantOut)
def approve_grant(ctx: Ctx, actor: Staff, grant_id: GrantId, body: GrantApproveIn) -> GrantOut:
    """Approve a request: the fields it allows, a row filter and an expiry (the owner)."""

    def write(session: Session) -> GrantOut:
        grant = service.approve_grant(
            session, grant_id=grant_id, actor=actor, fields=body.fields,
            row_filter=body.row_filter, expires_at=body.expires_at, note=body.note,
        )  # fmt: skip
        return _out(session, grant, actor)

    return ctx.write_grouped(write)


@router.post("/grants/{grant_id}/refuse", response_model=GrantOut)
def refuse_grant(ctx: Ctx, actor: Staff, grant_id: GrantId, body: GrantReasonIn) -> GrantOut:
    """Refuse a request with a reason (the owner)."""

    def write(session: Session) -> GrantOut:
        grant = service.refuse_grant(session, grant_id=grant_id, actor=actor, reason=body.reason)
        return _out(session, grant, actor)

    return ctx.write_grouped(write)


@router.post("/grants/{grant_id}/revoke", response_model=GrantOut)
def revoke_grant(ctx: Ctx, actor: Staff, grant_id: GrantId, body: GrantReasonIn) -> GrantOut:
    """End an approved grant now, with a reason (the owner)."""

    def write(session: Session) -> GrantOut:
        grant = service.revoke_grant(session, grant_id=grant_id, actor=actor, reason=body.reason)
        return _out(session, grant, actor)

    return ctx.write_grouped(write)


@router.get("/shared", response_model=list[SharedDatasetOut])
def shared_datasets(ctx: Ctx, actor: Staff) -> list[SharedDatasetOut]:
    """The datasets shared between departments (not open ones), and what my department holds
    of each: its own, a grant, or nothing yet."""
    with ctx.reading() as session:
        departments = _departments(session)
        query = (
            select(Dataset)
            .where(Dataset.active, Dataset.sensitivity.in_(["shared", "personal"]))
            .order_by(Dataset.name)
        )
        answer = []
        for dataset in session.scalars(query):
            target = targets.of_dataset(dataset)
            access, grant_id = _access(session, actor, target)
            answer.append(
                SharedDatasetOut(
                    name=dataset.name,
                    title=dataset.title,
                    title_zh=dataset.title_zh,
                    owner=named(departments, dataset.owner_department),
                    sensitivity=dataset.sensitivity,
                    fields=[FieldChoice(name=n, type=t) for n, t in target.fields.items()],
                    access=access,
                    grant_id=grant_id,  # type: ignore[arg-type]
                )
            )
        return answer


def _filters(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError as error:
        raise bad_request(
            Message("sharing.filters_json", {"error": str(error)}), "filters"
        ) from error
    if not isinstance(parsed, dict):
        raise bad_request(Message("sharing.filters_json_object_field"), "filters")
    return parsed


def _sort(raw: str | None) -> list[tuple[str, bool]]:
    order = []
    for part in (raw or "").split(","):
        words = part.split()
        if not words:
            continue
        if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise bad_request(
                Message("sharing.sort_field_field_desc", {"part": repr(part.strip())}), "sort"
            )
        order.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
    return order


@contextmanager
def _refusals_audited(ctx: AppContext, actor: Actor, target: str) -> Iterator[None]:
    # A refused read's unit of work is rolled back; the attempt is still a staff action the
    # audit trail keeps, so it is written in a unit of its own.
    try:
        yield
    except reads.Refusal as refusal:
        ctx.write_grouped(
            partial(
                identity.audit, actor=actor, action="sharing.read.refused", target=target,
                detail={"reason": refusal.reason, "grant": refusal.extra.get("grant_id")},
            )
        )  # fmt: skip
        raise


@router.get("/shared/{dataset}/rows", response_model=SharedRowsOut)
def shared_rows(
    ctx: Ctx,
    actor: Staff,
    dataset: Name,
    filters: Annotated[str | None, Query(max_length=4000, description="JSON object")] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    fields: Annotated[str | None, Query(max_length=2000, description="a,b,c")] = None,
    sort: Annotated[str | None, Query(max_length=400, description="a desc,b")] = None,
    limit: Annotated[int, Query(ge=1, le=reads.MAX_ROWS)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SharedRowsOut:
    """Rows of a dataset for my department: its own, open, or under its grant (only the
    granted fields and rows). 403 with the reason otherwise: no-grant, grant-pending,
    grant-refused, grant-revoked, grant-expired, field-not-granted."""
    chosen = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
    parsed, order = _filters(filters), _sort(sort)

    def write(session: Session) -> SharedRowsOut:
        # The read and the access-log entry of each person in it are one unit of work.
        rows = reads.read_rows(
            session, actor=actor, name=dataset, filters=parsed, q=q, fields=chosen,
            sort=order, limit=limit, offset=offset,
        )  # fmt: skip
        return SharedRowsOut(
            dataset=dataset, grant_id=rows.grant.id if rows.grant else None, fields=rows.fields,
            records=rows.records, total=rows.total, limit=limit, offset=offset,
        )  # fmt: skip

    with _refusals_audited(ctx, actor, f"dataset:{dataset}"):
        return ctx.write_grouped(write)


@router.get("/lookups", response_model=list[LookupOut])
def list_lookups(ctx: Ctx, actor: Staff) -> list[LookupOut]:
    """The live lookups, their owners, and whether my department may ask each."""
    with ctx.reading() as session:
        departments = _departments(session)
        answer = []
        for found in sorted(lookups.registered().values(), key=lambda x: x.name):
            access, grant_id = _access(session, actor, targets.of_lookup(found))
            answer.append(
                lookup_out(
                    found,
                    departments=departments,
                    access=access,  # type: ignore[arg-type]
                    grant_id=grant_id,
                )
            )
        return answer


@router.post("/lookups/{name}", response_model=LookupAnswerOut)
def ask_lookup(ctx: Ctx, actor: Staff, name: Name, body: LookupIn) -> LookupAnswerOut:
    """Ask a live lookup under my department's grant (403 with the reason otherwise)."""

    def write(session: Session) -> LookupAnswerOut:
        # The answer and its access-log entry are one unit of work.
        result = reads.lookup(
            session, name=name, params=body.params, actor=actor, fields=body.fields,
            reference=body.reference,
        )  # fmt: skip
        return LookupAnswerOut(
            lookup=name, grant_id=result.grant.id if result.grant else None, answer=result.answer
        )

    with _refusals_audited(ctx, actor, f"lookup:{name}"):
        return ctx.write_grouped(write)
