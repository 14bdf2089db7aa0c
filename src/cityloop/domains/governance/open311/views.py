"""Open311 GeoReport v2 at /open311/v2: thin routes over the adapter's modules and governance.

Every route serves ``.json`` and ``.xml``; errors are the spec's ``[{code, description}]`` list in
the same format, rendered by the formatter that base/problems.py calls for this prefix.

``POST requests`` checks the api_key before it reads what costs: a key in the query string before
a byte of the body is read; a key among the form fields as soon as the first photo part begins
(forms.py), so a bad key is refused without the rest of the upload. A key that comes after the
photos is checked once the body is in (the body limit bounds it), still before any decoding.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from sqlalchemy.orm import Session, object_session
from starlette.concurrency import run_in_threadpool

from cityloop.base.context import AppContext, get_context
from cityloop.base.db import utcnow
from cityloop.base.problems import Problem, bad_request, not_found
from cityloop.base.ratelimit import client_key
from cityloop.domains.governance.catalogue import active_category
from cityloop.domains.governance.intake import IntakeResult
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.open311 import (
    catalogue,
    formats,
    forms,
    queries,
    records,
    submissions,
)
from cityloop.domains.governance.public_views import run_intake
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.roles import Caller
from cityloop.platforms.application.identity.service import Actor
from cityloop.platforms.application.media import service as media
from cityloop.platforms.application.media.imaging import ProcessedImage
from cityloop.platforms.application.media.views import decode_photo

PREFIX = "/open311/v2"
ERROR_PREFIX = "/open311/"
MAX_MEDIA_FILES = 5
# The text fields of one request: a 4,000-character description percent-encoded as UTF-8 is
# at most 36 KB. The photos come on top of this, in multipart only.
FIELDS_MAX_BYTES = 64 * 1024
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

router = APIRouter(prefix=PREFIX, tags=["open311"])
Ctx = Annotated[AppContext, Depends(get_context)]
Jurisdiction = Annotated[str | None, Query(max_length=200)]
Page = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int | None, Query(ge=1)]


def _check_jurisdiction(ctx: AppContext, jurisdiction_id: str | None) -> None:
    # One endpoint, one city: the parameter is optional, but a wrong one names nothing we serve.
    if jurisdiction_id and jurisdiction_id.strip() != ctx.settings.city_domain:
        raise not_found("jurisdiction_id", repr(jurisdiction_id))


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


# ---------------------------------------------------------------- services


@router.get("/services.{fmt}")
def services(
    ctx: Ctx, fmt: str, locale: str | None = None, jurisdiction_id: Jurisdiction = None
) -> Response:
    """Open311 GET Service List: the city's reportable services; for anyone."""
    formats.require_format(fmt)
    _check_jurisdiction(ctx, jurisdiction_id)
    with ctx.reading() as session:
        records = catalogue.service_records(session, locale=locale)
    return formats.render(fmt, records, formats.SERVICES)


@router.get("/services/{service_code}.{fmt}")
def service_definition(
    ctx: Ctx,
    service_code: str,
    fmt: str,
    locale: str | None = None,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """Open311 GET Service Definition: a service's extra attributes, in the language of
    ``locale`` (zh… for Chinese); for anyone."""
    formats.require_format(fmt)
    _check_jurisdiction(ctx, jurisdiction_id)
    with ctx.reading() as session:
        definition = catalogue.service_definition(session, code=service_code, locale=locale)
    if definition is None:
        raise not_found("service_code", repr(service_code))
    return formats.render(fmt, definition, ("service_definition", None))


# ---------------------------------------------------------------- POST requests


def _media_id(ctx: AppContext, image: ProcessedImage, uploaded_by: str) -> str:
    """Store one decoded photo; the same image from the same client is stored once, so a
    retried POST (Idempotency-Key) names the same media and replays the first answer."""
    with ctx.writing() as session:
        return media.store_image_once(
            session, storage=ctx.storage, image=image, uploaded_by=uploaded_by
        )


def _client(ctx: AppContext, api_key: str | None) -> tuple[str, int]:
    """The Open311 client this api_key names (its name and key id); 403 if none does."""
    with ctx.reading() as session:
        key = identity.check_api_key(session, key=api_key)
        if key is None:
            raise Problem(403, "forbidden", Message("governance.api_key_missing_valid"))
        if not identity.has_scope(key, "open311"):
            raise Problem(403, "forbidden", Message("governance.api_key_open_api"))
        return key.name, key.id


def _admit(ctx: AppContext, sub: submissions.Submission) -> tuple[str, int]:
    """Who is sending, and is it for a service we have: checked before any photo is decoded."""
    client = _client(ctx, sub.api_key)
    with ctx.reading() as session:
        _check_jurisdiction(ctx, sub.jurisdiction_id)
        if not sub.service_code:
            raise bad_request(Message("governance.service_code_required"), field="service_code")
        category = active_category(session, code=sub.service_code)
        if category is None:
            raise bad_request(
                Message(
                    "governance.service_code_service_city", {"service_code": repr(sub.service_code)}
                ),
                field="service_code",
            )
    return client


def _submit(
    ctx: AppContext,
    request: Request,
    sub: submissions.Submission,
    client: tuple[str, int],
    images: list[ProcessedImage],
    idempotency_key: str | None,
) -> tuple[int, dict[str, Any]]:
    client_name, key_id = client
    # An Open311 client is not a staff user: channel "open311", no account, contact kept
    # private on the report.
    actor = Actor(None, f"open311:{client_name}"[:80], Caller.OPEN311)
    media_ids = [_media_id(ctx, image, actor.username) for image in images]

    def answer(result: IntakeResult) -> dict[str, Any]:
        session = _session_of(result)
        return {
            "service_request_id": str(result.case.id),
            "token": result.report.tracking_token,
            "service_notice": submissions.service_notice(session, result=result),
            "account_id": sub.account_id,
        }

    return run_intake(
        ctx,
        request,
        actor=actor,
        data=sub.report_input(client_name, media_ids),
        reporter_user_id=None,
        idempotency_key=idempotency_key,
        scope=f"open311:{key_id}",
        respond=answer,
    )


def _session_of(result: IntakeResult) -> Session:
    session = object_session(result.case)
    assert session is not None  # respond runs inside run_intake's unit of work
    return session


@router.post("/requests.{fmt}", status_code=201)
async def post_request(
    ctx: Ctx,
    request: Request,
    fmt: str,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    """Open311 POST Service Request, optionally with photos; for clients with an Open311 api_key."""
    formats.require_format(fmt)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in FORM_TYPES:
        raise Problem(
            415,
            "unsupported-media-type",
            Message("governance.send_application_x_www"),
        )
    # The credential first, before the body: from the query string before a byte is read, from
    # the form before its first photo is (see forms.py and the module docstring).
    query_key = request.query_params.get("api_key")
    if query_key is not None:
        await run_in_threadpool(_client, ctx, query_key)

    async def check_before_photos(fields: forms.Fields) -> None:
        key = next((value for name, value in fields if name == "api_key"), None)
        if key is not None and key != query_key:
            await run_in_threadpool(_client, ctx, key)

    form = await forms.read_form(
        request,
        before_files=check_before_photos,
        file_field="media",
        max_files=MAX_MEDIA_FILES,
        max_file_bytes=ctx.settings.media_max_bytes,
        max_fields=500,
        max_field_bytes=FIELDS_MAX_BYTES,
    )
    texts, photos = form.fields, form.photos
    # api_key may come in the query string too, as many clients send it there.
    for name in ("api_key", "jurisdiction_id"):
        if name in request.query_params and not any(k == name for k, _ in texts):
            texts.append((name, request.query_params[name]))
    sub = submissions.parse_submission(texts)
    client = await run_in_threadpool(_admit, ctx, sub)
    if photos:
        ctx.extras["media_limiter"].check(client_key(request))
    images = [await decode_photo(ctx, raw) for raw in photos]
    status, item = await run_in_threadpool(
        _submit, ctx, request, sub, client, images, idempotency_key
    )
    return formats.render(fmt, [item], formats.REQUESTS, status)


# ---------------------------------------------------------------- GET requests


@router.get("/requests.{fmt}")
def list_requests(
    ctx: Ctx,
    fmt: str,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
    extensions: str | None = None,
    locale: str | None = None,
    page: Page = 1,
    page_size: PageSize = None,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """Open311 GET Service Requests: public cases filtered by id, service, dates and status; for
    anyone."""
    formats.require_format(fmt)
    _check_jurisdiction(ctx, jurisdiction_id)
    query = queries.parse_request_query(
        service_request_id=service_request_id,
        service_code=service_code,
        start_date=start_date,
        end_date=end_date,
        status=status,
        page=page,
        page_size=page_size,
        max_page_size=ctx.settings.open311_page_size_max,
        now=utcnow(),
    )
    with ctx.reading() as session:
        cases = queries.find_requests(session, query=query)
        found = records.request_records(
            session,
            cases=cases,
            base_url=ctx.settings.public_base_url,
            extensions=_flag(extensions),
            locale=locale,
        )
    return formats.render(fmt, found, formats.REQUESTS)


@router.get("/requests/{request_id}.{fmt}")
def get_request(
    ctx: Ctx,
    request_id: str,
    fmt: str,
    extensions: str | None = None,
    locale: str | None = None,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """Open311 GET Service Request: one public case; for anyone."""
    formats.require_format(fmt)
    _check_jurisdiction(ctx, jurisdiction_id)
    with ctx.reading() as session:
        loaded = queries.find_request(session, request_id=request_id)
        if loaded is None:
            raise not_found("service request", repr(request_id))
        case, report_photos = loaded
        found = records.request_records(
            session,
            cases=[case],
            base_url=ctx.settings.public_base_url,
            extensions=_flag(extensions),
            locale=locale,
            report_photos=report_photos,
        )
    return formats.render(fmt, found, formats.REQUESTS)


@router.get("/tokens/{token}.{fmt}")
def token(ctx: Ctx, token: str, fmt: str, jurisdiction_id: Jurisdiction = None) -> Response:
    """Open311 GET request id from a token: the case a submission became; for whoever holds the
    token."""
    formats.require_format(fmt)
    _check_jurisdiction(ctx, jurisdiction_id)
    with ctx.reading() as session:
        record = queries.token_record(session, token=token)
    if record is None:
        raise Problem(404, "not-found", Message("governance.request_token"))  # never echo a token
    return formats.render(fmt, [record], formats.REQUESTS)


@router.get("/servicerequestupdates.{fmt}")
def request_updates(
    ctx: Ctx,
    fmt: str,
    start_date: str | None = None,
    end_date: str | None = None,
    service_request_id: str | None = None,
    page: Page = 1,
    page_size: PageSize = None,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """mySociety's extension: public updates to any request in a window (default: 24 h)."""
    formats.require_format(fmt)
    _check_jurisdiction(ctx, jurisdiction_id)
    query = queries.parse_update_query(
        start_date=start_date,
        end_date=end_date,
        service_request_id=service_request_id,
        page=page,
        page_size=page_size,
        max_page_size=ctx.settings.open311_page_size_max,
        now=utcnow(),
    )
    with ctx.reading() as session:
        updates = records.request_updates(
            session, query=query, base_url=ctx.settings.public_base_url
        )
    return formats.render(fmt, updates, formats.UPDATES)


def install_open311(app: FastAPI) -> None:
    """Mount the routes and make every error under /open311/ an Open311 error list."""
    app.include_router(router)
    app.state.error_formatters[ERROR_PREFIX] = formats.error_response
