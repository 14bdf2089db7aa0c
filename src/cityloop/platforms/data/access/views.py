""" "Who read my data" (谁看了我的数据) over HTTP: a person's own log, and an enterprise's for its
legal representative and active agents; filtered, paged, or downloaded as CSV or JSON."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext, get_context
from cityloop.platforms.application.identity import enterprises
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.deps import current_staff
from cityloop.platforms.application.identity.models import Department, User
from cityloop.platforms.data.access import export, service
from cityloop.platforms.data.access.filters import AccessFilter, access_filter
from cityloop.platforms.data.access.responses import (
    AccessCodes,
    DataAccessExport,
    DataAccessPage,
    access_codes,
    access_out,
)

router = APIRouter(prefix="/api/v1", tags=["access log"])
Ctx = Annotated[AppContext, Depends(get_context)]
Person = Annotated[User, Depends(current_staff(allow_citizen=True))]
UsccPath = Annotated[str, Path(min_length=1, max_length=40)]
Limit = Annotated[int, Query(ge=1, le=service.MAX_PAGE)]
Offset = Annotated[int, Query(ge=0)]
Code = Annotated[str | None, Query(max_length=40)]
When = Annotated[
    str | None, Query(max_length=40, description="an ISO date (the whole day) or date-time")
]
Format = Annotated[export.Format, Query(alias="format", description="csv or json")]
Lang = Annotated[export.Lang, Query(description="the language of the CSV's header and names")]
# The JSON download is described by the response model; the CSV one here.
DOWNLOAD: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}


class Filters:
    """The log's filters from the query, shared by every route of the log."""

    def __init__(
        self,
        purpose: Code = None,
        department: Code = None,
        field: Code = None,
        since: When = None,
        until: When = None,
    ) -> None:
        self.values = {
            "purpose": purpose, "department": department, "field": field,
            "since": since, "until": until,
        }  # fmt: skip

    def checked(self, session: Session, ctx: AppContext) -> AccessFilter:
        """The filter; 422 naming the first value that is not valid."""
        return access_filter(session, zone=zone_of(ctx), **self.values)


Chosen = Annotated[Filters, Depends()]


def zone_of(ctx: AppContext) -> ZoneInfo:
    """The city's time zone: dates in queries and times in downloads are on its clock."""
    return ZoneInfo(ctx.settings.city_timezone)


def departments_of(session: Session) -> dict[str, Department]:
    """Every department by code, to name the readers."""
    return {d.code: d for d in identity.list_departments(session)}


def _page(session: Session, filters: AccessFilter, *, limit: int, offset: int) -> DataAccessPage:
    entries, total = service.search(session, filters=filters, limit=limit, offset=offset)
    departments = departments_of(session)
    return DataAccessPage(
        total=total,
        limit=limit,
        offset=offset,
        items=[access_out(entry, departments) for entry in entries],
    )


def _download(
    ctx: AppContext, session: Session, filters: AccessFilter, *, subject: str, kind: export.Format,
    lang: export.Lang, chosen: AccessFilter,
) -> Response:  # fmt: skip
    return export.download(
        service.every_access(session, filters=filters), subject=subject, filters=chosen,
        departments=departments_of(session), format=kind, lang=lang, zone=zone_of(ctx),
    )  # fmt: skip


CODES = access_codes()  # built once: the catalogue changes only with the code


@router.get("/data-access/codes", response_model=AccessCodes)
def data_access_codes() -> AccessCodes:
    """The purposes, fields, legal bases and roles an entry may name, in English and Chinese."""
    return CODES


@router.get("/me/data-access", response_model=DataAccessPage)
def my_data_access(
    ctx: Ctx, user: Person, filters: Chosen, limit: Limit = 50, offset: Offset = 0
) -> DataAccessPage:
    """Who read my data, when, which fields, why and through which grant; newest first, with
    the filters given. Only ever my own."""
    with ctx.reading() as session:
        chosen = filters.checked(session, ctx)
        return _page(session, replace(chosen, user_id=user.id), limit=limit, offset=offset)


@router.get("/me/data-access/export", response_model=DataAccessExport, responses=DOWNLOAD)
def export_my_data_access(
    ctx: Ctx, user: Person, filters: Chosen, kind: Format = "csv", lang: Lang = "en"
) -> Response:
    """My log with the filters given, as a CSV (in the language asked for) or JSON attachment."""
    with ctx.reading() as session:
        chosen = filters.checked(session, ctx)
        return _download(
            ctx, session, replace(chosen, user_id=user.id), subject=f"user:{user.username}",
            kind=kind, lang=lang, chosen=chosen,
        )  # fmt: skip


@router.get("/enterprises/{uscc}/data-access", response_model=DataAccessPage)
def enterprise_data_access(
    ctx: Ctx, user: Person, uscc: UsccPath, filters: Chosen, limit: Limit = 50, offset: Offset = 0
) -> DataAccessPage:
    """Who read the enterprise's data; for its legal representative and active agents only."""
    with ctx.reading() as session:
        found = enterprises.acting_for(session, user_id=user.id, uscc=uscc)
        chosen = filters.checked(session, ctx)
        return _page(
            session, replace(chosen, enterprise_uscc=found.uscc), limit=limit, offset=offset
        )


@router.get(
    "/enterprises/{uscc}/data-access/export", response_model=DataAccessExport, responses=DOWNLOAD
)
def export_enterprise_data_access(
    ctx: Ctx,
    user: Person,
    uscc: UsccPath,
    filters: Chosen,
    kind: Format = "csv",
    lang: Lang = "en",
) -> Response:
    """The enterprise's log as a CSV or JSON attachment (its representative and agents only)."""
    with ctx.reading() as session:
        found = enterprises.acting_for(session, user_id=user.id, uscc=uscc)
        chosen = filters.checked(session, ctx)
        return _download(
            ctx, session, replace(chosen, enterprise_uscc=found.uscc),
            subject=f"enterprise:{found.uscc}", kind=kind, lang=lang, chosen=chosen,
        )  # fmt: skip
