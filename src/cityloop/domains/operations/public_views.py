"""Public transparency routes: no sign-in, cacheable (ETag, Cache-Control) and rate limited
per client. Thin: the rules, what is public and the small-count protection included, are in
``public`` and ``report``."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from cityloop.base.context import AppContext, get_context
from cityloop.base.locale import ReaderLocale, normalise
from cityloop.base.problems import bad_request
from cityloop.base.ratelimit import RateLimiter, client_key
from cityloop.domains.operations import public, report, report_files, report_pdf
from cityloop.domains.operations import responses as out
from cityloop.domains.operations.messages import Message

router = APIRouter(prefix="/api/v1/public", tags=["transparency"])
Ctx = Annotated[AppContext, Depends(get_context)]
Month = Annotated[str | None, Query(max_length=7, description="YYYY-MM (UTC)")]
LIMITER = "operations.transparency_limiter"
# Figures of a closed month change only when a late event or the nightly reconcile corrects a
# fact, so five minutes of caching is honest; the ETag makes a revalidation cheap.
MAX_AGE = 300
FORMATS = {
    "pdf": ("application/pdf", "inline"),
    "csv": ("text/csv; charset=utf-8", "attachment"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "attachment"),
}


def _limited(ctx: AppContext, request: Request) -> None:
    limiter = ctx.extras.get(LIMITER)
    if limiter is None:
        limiter = ctx.extras.setdefault(
            LIMITER,
            RateLimiter(ctx.settings.transparency_rate_limit, what="requests", what_zh="请求"),
        )
    limiter.check("transparency:" + client_key(request))


def _etag(content: bytes) -> str:
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


def _held(request: Request, etag: str) -> bool:
    held = request.headers.get("if-none-match", "")
    return etag in [tag.strip().removeprefix("W/") for tag in held.split(",")]


def _cacheable(
    request: Request,
    body: bytes,
    media_type: str,
    headers: dict[str, str] | None = None,
    etag: str | None = None,
) -> Response:
    """A public answer with an ETag (of the body unless given); 304 when the client already
    holds it."""
    tag = etag or _etag(body)
    sent = {"ETag": tag, "Cache-Control": f"public, max-age={MAX_AGE}", **(headers or {})}
    if _held(request, tag):
        return Response(status_code=304, headers=sent)
    return Response(body, media_type=media_type, headers=sent)


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/kpis", response_model=out.PublicKpis)
def public_kpis(ctx: Ctx, request: Request, period: Month = None) -> Response:
    """The city's figures of a month (the last complete one by default) beside the previous
    month's, and per district; small counts withheld or merged, no personal data."""
    _limited(ctx, request)
    with ctx.reading() as session:
        found = public.public_kpis(session, month=period, now=_now())
    body = out.PublicKpis.model_validate(found).model_dump_json().encode()
    return _cacheable(request, body, "application/json")


@router.get("/trends", response_model=out.PublicTrends)
def public_trends(
    ctx: Ctx,
    request: Request,
    months: Annotated[int, Query(ge=1, le=public.MAX_TREND_MONTHS)] = 12,
    end: Month = None,
) -> Response:
    """The city's figures month by month (12 by default, at most 24), oldest first."""
    _limited(ctx, request)
    with ctx.reading() as session:
        found = public.public_trends(session, months=months, end=end, now=_now())
    body = out.PublicTrends.model_validate(found).model_dump_json().encode()
    return _cacheable(request, body, "application/json")


@router.get("/closed-cases", response_model=out.ClosedCases)
def public_closed_cases(ctx: Ctx, request: Request, month: Month = None) -> Response:
    """The month's closed cases as map points: category, district, day and a position rounded
    to about 100 m; no id, time, description or reporter."""
    _limited(ctx, request)
    with ctx.reading() as session:
        found = public.closed_cases(session, month=month, now=_now())
    body = out.ClosedCases.model_validate(found).model_dump_json().encode()
    return _cacheable(request, body, "application/json")


REPORT_ANSWER: dict[str, Any] = {
    "content": {media: {} for media, _ in FORMATS.values()},
    "description": "the month's report as PDF, CSV (UTF-8 with BOM) or XLSX",
}


@router.get("/reports/{month}.{extension}", responses={200: REPORT_ANSWER})
def public_report(
    ctx: Ctx,
    request: Request,
    reader: ReaderLocale,
    month: Annotated[str, Path(max_length=10)],
    extension: Annotated[str, Path(max_length=10)],
    lang: Annotated[str | None, Query(max_length=10, description="en or zh-CN")] = None,
) -> Response:
    """The month's transparency report in the reader's language (``lang``, else the account's
    or Accept-Language's): the KPI table, districts, the league of departments, a day-by-day
    chart and the hotspots."""
    _limited(ctx, request)
    locale = report_locale(extension, lang, reader)
    with ctx.reading() as session:
        content = report.monthly_report(session, month=month, now=_now())
    # The tag is the report's content (a PDF's bytes carry its creation time): a client that
    # holds the same figures gets a 304 before anything is printed.
    figures = {key: value for key, value in content.items() if key != "generated_at"}
    etag = _etag(json.dumps([figures, locale, extension], sort_keys=True).encode())
    media, headers = report_headers(month, extension, locale, "cityloop-report")
    if _held(request, etag):
        return _cacheable(request, b"", media, headers, etag)
    return _cacheable(request, report_bytes(content, extension, locale), media, headers, etag)


def report_locale(extension: str, lang: str | None, reader: str) -> str:
    """The report's language (``lang``, else the reader's), once its format is a known one."""
    if extension not in FORMATS:
        raise bad_request(Message("operations.report_format"), field="extension")
    locale = normalise(lang) if lang else reader
    if locale is None:
        raise bad_request(Message("operations.report_language"), field="lang")
    return locale


def report_headers(
    month: str, extension: str, locale: str, prefix: str
) -> tuple[str, dict[str, str]]:
    """A report's media type and headers: its file name, language and what it varies with."""
    media, disposition = FORMATS[extension]
    name = f"{prefix}-{month}-{locale}.{extension}"
    return media, {
        "Content-Disposition": f'{disposition}; filename="{name}"',
        "Content-Language": locale,
        "Vary": "Accept-Language",
    }


def report_bytes(content: dict[str, Any], extension: str, locale: str) -> bytes:
    """The report drawn in one of the formats."""
    draw = {
        "pdf": report_pdf.pdf_bytes,
        "csv": report_files.csv_bytes,
        "xlsx": report_files.xlsx_bytes,
    }[extension]
    return draw(content, locale)
