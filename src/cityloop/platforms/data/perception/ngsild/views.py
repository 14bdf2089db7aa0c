"""Routes under /ngsi-ld/v1. Each parses the request by hand (NGSI-LD clients expect ETSI
ProblemDetails, not FastAPI's validation errors), resolves the client's @context before any
unit of work opens, calls one service function, and shapes the answer for the Accept header."""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from cityloop.base.context import AppContext
from cityloop.base.problems import Problem
from cityloop.base.ratelimit import RateLimiter, client_key
from cityloop.platforms.application.identity.deps import bearer_token
from cityloop.platforms.data.perception.ngsild import (
    access,
    batch,
    jsonld_contexts,
    reads,
    rows,
    subscription_validation,
    subscriptions,
    temporal,
    tenants,
    writes,
)
from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild.context import ActiveContext, ContextLimits
from cityloop.platforms.data.perception.ngsild.context_loader import CORE_DOCUMENT, CORE_URL
from cityloop.platforms.data.perception.ngsild.entities import check_entity_id, check_name, is_uri
from cityloop.platforms.data.perception.ngsild.errors import (
    BY_STATUS,
    NgsiError,
    bad_data,
    invalid,
    not_found,
    problem_details,
)
from cityloop.platforms.data.perception.ngsild.geo import parse_geoquery
from cityloop.platforms.data.perception.ngsild.query import RequestBudget, parse_q, safe_regex

PREFIX = "/ngsi-ld/v1"
CONTEXT_FETCH_LIMITER = "ngsild_context_fetches"  # its key in ctx.extras
JSON = "application/json"
LD_JSON = "application/ld+json"
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,11}")


def _access(request: Request) -> None:
    """Every route's gate: writes need credentials, reads too unless ngsild_public_read.
    Who the caller is (None: anonymous) is kept on the request for the @context fetch limit."""
    ctx: AppContext = request.app.state.ctx
    bearer, api_key = bearer_token(request), request.headers.get("x-api-key")
    request.state.ngsild_principal = None
    if not access.needs_credentials(
        request.method, request.url.path, ctx.settings.ngsild_public_read
    ):
        if not (bearer or api_key):
            return
        # A public read with credentials: valid ones lift the anonymous limits, bad ones are
        # no worse than none.
        with contextlib.suppress(NgsiError), ctx.reading() as session:
            request.state.ngsild_principal = access.authenticate(
                session, ctx.settings.resolved_secret_key, bearer, api_key
            )
        return
    with ctx.reading() as session:
        request.state.ngsild_principal = access.authenticate(
            session, ctx.settings.resolved_secret_key, bearer, api_key
        )


router = APIRouter(prefix=PREFIX, tags=["ngsi-ld"], dependencies=[Depends(_access)])


def install_ngsild(app: FastAPI) -> None:
    """Mount the routes and answer every error under /ngsi-ld/ as ETSI ProblemDetails."""
    app.include_router(router)

    @app.exception_handler(NgsiError)
    async def _ngsi_error(request: Request, exc: NgsiError) -> JSONResponse:
        return JSONResponse(
            exc.problem(), status_code=exc.status, headers=exc.headers or None, media_type=JSON
        )

    def formatter(
        request: Request, status: int, detail: str, headers: dict[str, str]
    ) -> JSONResponse:
        kind = BY_STATUS.get(status, "InternalError" if status >= 500 else "BadRequestData")
        return JSONResponse(
            problem_details(kind, detail, status),
            status_code=status,
            headers=headers,
            media_type=JSON,
        )

    app.state.error_formatters["/ngsi-ld/"] = formatter


# --- request plumbing -------------------------------------------------------------------------


@dataclass
class Call:
    ctx: AppContext
    tenant: str
    ld: bool
    link: str | None
    base_url: str
    anonymous: bool = True
    client: str = "unknown"

    @property
    def limits(self) -> ContextLimits:
        settings = self.ctx.settings
        return ContextLimits(
            settings.ngsild_context_timeout_seconds,
            settings.ngsild_context_max_bytes,
            settings.ngsild_context_cache_max,
        )

    def resolve(self, user: Any) -> ActiveContext:
        return contexts.resolve(
            self.ctx.db,
            user,
            self.limits,
            outbound=self.ctx.outbound,
            gate=self._limit_fetches if self.anonymous else None,
        )

    def _limit_fetches(self) -> None:
        """Before an anonymous caller's @context is fetched: a few a minute per address."""
        limiter: RateLimiter | None = self.ctx.extras.get(CONTEXT_FETCH_LIMITER)
        if limiter is None:
            return
        try:
            limiter.check(self.client)
        except Problem as exc:
            error = NgsiError("TooManyRequests", exc.detail, status=429)
            error.headers = dict(exc.headers or {})
            raise error from None


def _wants_ld(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    if not accept.strip():
        return False
    kinds = [part.split(";")[0].strip() for part in accept.split(",")]
    if LD_JSON in kinds:
        return True
    if any(k in (JSON, "*/*", "application/*", "application/geo+json") for k in kinds):
        return False
    raise NgsiError("NotAcceptable", f"cannot answer in {accept!r}; ask for {JSON} or {LD_JSON}")


def _call(request: Request) -> Call:
    tenant = tenants.check_tenant_name(request.headers.get("ngsild-tenant"))
    return Call(
        ctx=request.app.state.ctx,
        tenant=tenant,
        ld=_wants_ld(request),
        link=contexts.parse_link_header(request.headers.get("link")),
        base_url=str(request.base_url).rstrip("/"),
        anonymous=getattr(request.state, "ngsild_principal", None) is None,
        client=client_key(request),
    )


def _no_nan(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("numbers must be finite")
    return number


async def _body(request: Request, call: Call) -> tuple[Any, str]:
    """The parsed body and its media type; anything but JSON is refused before parsing."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in (JSON, LD_JSON):
        raise NgsiError("UnsupportedMediaType", f"send {JSON} or {LD_JSON}, not {media!r}")
    limit = call.ctx.settings.ngsild_max_body_bytes
    declared = request.headers.get("content-length")
    if declared and _WHOLE_NUMBER.fullmatch(declared) and int(declared) > limit:
        raise NgsiError("PayloadTooLarge", f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise NgsiError("PayloadTooLarge", f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise invalid("the body is empty")
    try:
        parsed = json.loads(raw, parse_constant=_no_nan, parse_float=_finite)
    except (ValueError, RecursionError) as exc:
        raise invalid(f"the body is not valid JSON: {str(exc)[:120]}") from exc
    return parsed, media


def _user_context(call: Call, body: Any, media: str) -> Any:
    """Where the client's @context comes from: the body for ld+json, else the Link header."""
    if media == LD_JSON:
        if not isinstance(body, dict) or "@context" not in body:
            raise bad_data("an application/ld+json body must carry @context")
        return body["@context"]
    if isinstance(body, dict) and "@context" in body:
        raise bad_data("an application/json body may not carry @context; use a Link header")
    return call.link


def _respond(
    call: Call,
    active: ActiveContext,
    data: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    headers = dict(headers or {})
    if call.ld:
        if isinstance(data, dict):
            data = {**data, "@context": active.body_context}
        elif isinstance(data, list):
            data = [
                {**item, "@context": active.body_context} if isinstance(item, dict) else item
                for item in data
            ]
        return JSONResponse(data, status_code=status, headers=headers, media_type=LD_JSON)
    headers["Link"] = contexts.link_header(active.link_url)
    return JSONResponse(data, status_code=status, headers=headers, media_type=JSON)


def _options(request: Request) -> set[str]:
    options: set[str] = set()
    for name in ("options", "format"):
        for value in request.query_params.getlist(name):
            options.update(part.strip() for part in value.split(",") if part.strip())
    return options


def _int_param(request: Request, name: str, default: int, low: int = 0) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
    if not _WHOLE_NUMBER.fullmatch(value):
        raise bad_data(f"{name} must be a whole number")
    number = int(value)
    if number < low:
        raise bad_data(f"{name} must be at least {low}")
    return number


def _names(request: Request, name: str, active: ActiveContext, *, what: str) -> list[str]:
    out: list[str] = []
    for value in request.query_params.getlist(name):
        for part in value.replace("|", ",").split(","):
            part = part.strip().strip("()")
            if part:
                check_name(part, what)
                out.append(active.expand(part))
    return out


def _render_options(request: Request) -> dict[str, bool]:
    options = _options(request)
    return {
        "key_values": "keyValues" in options or "simplified" in options,
        "concise": "concise" in options,
        "sys_attrs": "sysAttrs" in options,
    }


async def _run(fn: Callable[..., Any], *args: Any) -> Any:
    return await run_in_threadpool(fn, *args)


# --- entities ---------------------------------------------------------------------------------


@router.post("/entities")
async def create_entity(request: Request) -> Response:
    call = _call(request)
    body, media = await _body(request, call)
    return await _run(_create_entity, call, body, media)


def _create_entity(call: Call, body: Any, media: str) -> Response:
    active = call.resolve(_user_context(call, body, media))
    with call.ctx.writing() as session:
        row = writes.create_entity(session, tenant=call.tenant, body=body, active=active)
        entity_id = row.entity_id
    return Response(status_code=201, headers={"Location": f"{PREFIX}/entities/{entity_id}"})


@router.get("/entities")
def query_entities(request: Request) -> Response:
    call = _call(request)
    active = call.resolve(call.link)
    params = request.query_params
    query = reads.EntityQuery()
    budget = RequestBudget()  # shared by idPattern and q's patterns over all rows
    query.types = _names(request, "type", active, what="entity type")
    for value in params.getlist("id"):
        query.ids.extend(check_entity_id(part.strip()) for part in value.split(",") if part)
    if params.get("idPattern"):
        query.id_pattern = safe_regex(params["idPattern"], "idPattern", budget)
    query.attrs = _names(request, "attrs", active, what="attribute name")
    if params.get("q"):
        query.q = parse_q(params["q"], budget)
    query.geo = parse_geoquery(
        params.get("georel"),
        params.get("geometry"),
        params.get("coordinates"),
        params.get("geoproperty"),
    )
    if query.geo is not None and params.get("geoproperty"):
        check_name(params["geoproperty"], "geoproperty")
        query.geoproperty = active.expand(params["geoproperty"])
    return _answer_query(request, call, active, query)


@router.post("/entityOperations/query")
async def query_entities_by_body(request: Request) -> Response:
    """The query as a body (`{"type": "Query", ...}`), for queries too long for a URL; paging,
    count and options stay in the URL as for GET /entities."""
    call = _call(request)
    body, media = await _body(request, call)
    return await _run(_query_by_body, request, call, body, media)


def _query_by_body(request: Request, call: Call, body: Any, media: str) -> Response:
    active = call.resolve(_user_context(call, body, media))
    if not isinstance(body, dict) or body.get("type") != "Query":
        raise bad_data('the body must be a Query object: {"type": "Query", ...}')
    query = reads.EntityQuery()
    budget = RequestBudget()
    selectors = body.get("entities", [])
    if not isinstance(selectors, list) or not all(isinstance(e, dict) for e in selectors):
        raise bad_data("entities must be a list of {type, id, idPattern} objects")
    if len(selectors) > 1 and any(set(e) - {"type"} for e in selectors):
        # Several selectors that each carry an id or pattern would need one query each.
        raise NgsiError(
            "OperationNotSupported",
            "several entity selectors may name only types; send one selector with id or idPattern",
        )
    for selector in selectors:
        type_name = selector.get("type")
        if not isinstance(type_name, str):
            raise bad_data("each entity selector needs a type")
        check_name(type_name, "entity type")
        query.types.append(active.expand(type_name))
        if "id" in selector:
            query.ids.append(check_entity_id(selector["id"]))
        if "idPattern" in selector:
            if not isinstance(selector["idPattern"], str):
                raise bad_data("idPattern must be a string")
            query.id_pattern = safe_regex(selector["idPattern"], "idPattern", budget)
    attrs = body.get("attrs", [])
    if not isinstance(attrs, list) or not all(isinstance(a, str) for a in attrs):
        raise bad_data("attrs must be a list of attribute names")
    for name in attrs:
        check_name(name, "attribute name")
        query.attrs.append(active.expand(name))
    if body.get("q") is not None:
        if not isinstance(body["q"], str):
            raise bad_data("q must be a string in the NGSI-LD query language")
        query.q = parse_q(body["q"], budget)
    geo = body.get("geoQ")
    if geo is not None:
        if not isinstance(geo, dict):
            raise bad_data("geoQ must be an object with georel, geometry and coordinates")
        for member in ("georel", "geometry"):
            if not isinstance(geo.get(member), str | None):
                raise bad_data(f"geoQ {member} must be a string")
        coordinates = geo.get("coordinates")
        if not isinstance(coordinates, str):
            coordinates = json.dumps(coordinates)
        geoproperty = geo.get("geoproperty")
        query.geo = parse_geoquery(geo.get("georel"), geo.get("geometry"), coordinates, geoproperty)
        if geoproperty:
            check_name(geoproperty, "geoproperty")
            query.geoproperty = active.expand(geoproperty)
    return _answer_query(request, call, active, query)


def _answer_query(
    request: Request, call: Call, active: ActiveContext, query: reads.EntityQuery
) -> Response:
    """Paging, count and rendering, shared by GET /entities and POST /entityOperations/query."""
    params = request.query_params
    settings = call.ctx.settings
    if not (query.types or query.ids or query.id_pattern or query.attrs or query.q or query.geo):
        raise bad_data("name at least one of type, id, idPattern, attrs, q or georel")
    query.count = params.get("count", "").lower() == "true"
    query.limit = _int_param(request, "limit", settings.ngsild_default_limit)
    query.offset = _int_param(request, "offset", 0)
    if query.limit > settings.ngsild_max_limit:
        raise NgsiError("TooManyResults", f"limit may be at most {settings.ngsild_max_limit}")
    if query.limit == 0 and not query.count:
        raise bad_data("limit=0 only makes sense with count=true")
    render = _render_options(request)
    projection = set(query.attrs) if query.attrs else None
    with call.ctx.reading() as session:
        rows, total = reads.query_entities(session, tenant=call.tenant, query=query, active=active)
        data = [service_render(row, active, projection, render) for row in rows]
    headers = {"NGSILD-Results-Count": str(total)} if total is not None else {}
    return _respond(call, active, data, headers=headers)


def service_render(
    row: Any, active: ActiveContext, projection: set[str] | None, render: dict[str, bool]
) -> dict[str, Any]:
    from cityloop.platforms.data.perception.ngsild.entities import render_entity

    return render_entity(rows.view_of(row), active, attrs=projection, **render)


@router.get("/entities/{entity_id}")
def get_entity(request: Request, entity_id: str) -> Response:
    call = _call(request)
    active = call.resolve(call.link)
    check_entity_id(entity_id)
    attrs = _names(request, "attrs", active, what="attribute name")
    with call.ctx.reading() as session:
        row = rows.get_entity(session, tenant=call.tenant, entity_id=entity_id)
        data = service_render(row, active, set(attrs) if attrs else None, _render_options(request))
    return _respond(call, active, data)


@router.put("/entities/{entity_id}")
async def replace_entity(request: Request, entity_id: str) -> Response:
    call = _call(request)
    body, media = await _body(request, call)
    return await _run(_write, call, body, media, writes.replace_entity, entity_id)


def _write(
    call: Call,
    body: Any,
    media: str,
    action: Callable[..., Any],
    entity_id: str,
    named: dict[str, Any] | None = None,
) -> Response:
    named = named or {}
    check_entity_id(entity_id)
    active = call.resolve(_user_context(call, body, media))
    with call.ctx.writing() as session:
        action(session, tenant=call.tenant, entity_id=entity_id, body=body, active=active, **named)
    return Response(status_code=204)


@router.delete("/entities/{entity_id}")
def delete_entity(request: Request, entity_id: str) -> Response:
    call = _call(request)
    check_entity_id(entity_id)
    with call.ctx.writing() as session:
        writes.delete_entity(session, tenant=call.tenant, entity_id=entity_id)
    return Response(status_code=204)


@router.patch("/entities/{entity_id}")
async def merge_entity(request: Request, entity_id: str) -> Response:
    """Merge: attributes given are added or replaced, the others kept (NGSI-LD mergeEntity)."""
    call = _call(request)
    body, media = await _body(request, call)
    return await _run(_merge, call, body, media, entity_id)


def _merge(call: Call, body: Any, media: str, entity_id: str) -> Response:
    active = call.resolve(_user_context(call, body, media))
    with call.ctx.writing() as session:
        writes.append_attributes(
            session, tenant=call.tenant, entity_id=entity_id, body=body, active=active
        )
    return Response(status_code=204)


@router.post("/entities/{entity_id}/attrs")
async def append_attributes(request: Request, entity_id: str) -> Response:
    call = _call(request)
    body, media = await _body(request, call)
    no_overwrite = "noOverwrite" in _options(request)
    return await _run(_attrs, call, body, media, entity_id, no_overwrite, True)


@router.patch("/entities/{entity_id}/attrs")
async def update_attributes(request: Request, entity_id: str) -> Response:
    call = _call(request)
    body, media = await _body(request, call)
    return await _run(_attrs, call, body, media, entity_id, False, False)


def _attrs(
    call: Call, body: Any, media: str, entity_id: str, no_overwrite: bool, append: bool
) -> Response:
    check_entity_id(entity_id)
    active = call.resolve(_user_context(call, body, media))
    with call.ctx.writing() as session:
        if append:
            result = writes.append_attributes(
                session,
                tenant=call.tenant,
                entity_id=entity_id,
                body=body,
                active=active,
                no_overwrite=no_overwrite,
            )
        else:
            result = writes.update_attributes(
                session, tenant=call.tenant, entity_id=entity_id, body=body, active=active
            )
    if result.not_updated:
        return JSONResponse(result.body(active), status_code=207, media_type=JSON)
    return Response(status_code=204)


@router.patch("/entities/{entity_id}/attrs/{attr}")
async def patch_attribute(request: Request, entity_id: str, attr: str) -> Response:
    call = _call(request)
    body, media = await _body(request, call)
    check_name(attr)
    return await _run(_write, call, body, media, writes.patch_attribute, entity_id, {"name": attr})


@router.put("/entities/{entity_id}/attrs/{attr}")
async def replace_attribute(request: Request, entity_id: str, attr: str) -> Response:
    call = _call(request)
    body, media = await _body(request, call)
    check_name(attr)
    return await _run(_replace_attribute, call, body, media, entity_id, attr)


def _replace_attribute(call: Call, body: Any, media: str, entity_id: str, attr: str) -> Response:
    check_entity_id(entity_id)
    active = call.resolve(_user_context(call, body, media))
    with call.ctx.writing() as session:
        writes.replace_attribute(
            session, tenant=call.tenant, entity_id=entity_id, name=attr, body=body, active=active
        )
    return Response(status_code=204)


@router.delete("/entities/{entity_id}/attrs/{attr}")
def delete_attribute(request: Request, entity_id: str, attr: str) -> Response:
    call = _call(request)
    check_entity_id(entity_id)
    check_name(attr)
    active = call.resolve(call.link)
    params = request.query_params
    with call.ctx.writing() as session:
        writes.delete_attribute(
            session,
            tenant=call.tenant,
            entity_id=entity_id,
            name=attr,
            active=active,
            dataset_id=params.get("datasetId"),
            delete_all=params.get("deleteAll", "").lower() == "true",
        )
    return Response(status_code=204)


# --- batch operations -------------------------------------------------------------------------


@router.post("/entityOperations/{operation}")
async def entity_operation(request: Request, operation: str) -> Response:
    if operation not in ("create", "upsert", "update", "delete"):
        raise not_found(f"entityOperations/{operation} is not offered")
    call = _call(request)
    body, media = await _body(request, call)
    options = _options(request)
    return await _run(_batch, call, body, media, operation, options)


def _batch(call: Call, body: Any, media: str, operation: str, options: set[str]) -> Response:
    if not isinstance(body, list) or not body:
        raise bad_data("the body must be a non-empty JSON array")
    maximum = call.ctx.settings.ngsild_batch_max
    if len(body) > maximum:
        raise bad_data(f"a batch holds at most {maximum} entities")
    core = call.resolve(call.link if media == JSON else None)
    if operation == "delete":
        with call.ctx.writing() as session:
            result = batch.batch_delete(session, tenant=call.tenant, ids=body)
        if result.errors:
            return JSONResponse(result.body(), status_code=207, media_type=JSON)
        return Response(status_code=204)
    items: list[tuple[Any, ActiveContext]] = []
    early = batch.BatchResult()
    for item in body:
        try:
            if media == LD_JSON:
                if not isinstance(item, dict) or "@context" not in item:
                    raise bad_data("each application/ld+json entity must carry @context")
                items.append((item, call.resolve(item["@context"])))
            else:
                if isinstance(item, dict) and "@context" in item:
                    raise bad_data("application/json entities may not carry @context")
                items.append((item, core))
        except NgsiError as exc:
            early.fail(item.get("id") if isinstance(item, dict) else None, exc)
    with call.ctx.writing() as session:
        if operation == "create":
            result = batch.batch_create(session, tenant=call.tenant, items=items)
        elif operation == "upsert":
            result = batch.batch_upsert(
                session, tenant=call.tenant, items=items, update_mode="update" in options
            )
        else:
            result = batch.batch_update(
                session, tenant=call.tenant, items=items, no_overwrite="noOverwrite" in options
            )
    result.errors = early.errors + result.errors
    if result.errors:
        return JSONResponse(result.body(), status_code=207, media_type=JSON)
    if operation == "create":
        return JSONResponse(result.success, status_code=201, media_type=JSON)
    if operation == "upsert" and result.created:
        return JSONResponse(result.created, status_code=201, media_type=JSON)
    return Response(status_code=204)


# --- types and attributes ---------------------------------------------------------------------


def _details(request: Request) -> bool:
    return request.query_params.get("details", "").lower() == "true"


@router.get("/types")
def list_types(request: Request) -> Response:
    call = _call(request)
    active = call.resolve(call.link)
    with call.ctx.reading() as session:
        if not _details(request):
            names = [active.compact(t) for t in reads.list_types(session, tenant=call.tenant)]
            data: Any = {
                "id": f"urn:ngsi-ld:EntityTypeList:{call.tenant or 'default'}",
                "type": "EntityTypeList",
                "typeList": names,
            }
        else:
            details = reads.type_details(session, tenant=call.tenant)
            data = [
                {
                    "id": iri,
                    "type": "EntityType",
                    "typeName": active.compact(iri),
                    "attributeNames": sorted(active.compact(a) for a in entry["attributes"]),
                }
                for iri, entry in sorted(details.items())
            ]
    return _respond(call, active, data)


@router.get("/types/{type_name}")
def type_info(request: Request, type_name: str) -> Response:
    call = _call(request)
    active = call.resolve(call.link)
    check_name(type_name, "entity type")
    iri = active.expand(type_name)
    with call.ctx.reading() as session:
        entry = reads.type_details(session, tenant=call.tenant).get(iri)
    if entry is None:
        raise not_found(f"no entity has type {type_name}")
    data = {
        "id": iri,
        "type": "EntityTypeInfo",
        "typeName": active.compact(iri),
        "entityCount": entry["count"],
        "attributeNames": sorted(active.compact(a) for a in entry["attributes"]),
        "attributeDetails": [
            {
                "id": attribute,
                "type": "Attribute",
                "attributeName": active.compact(attribute),
                "attributeTypes": sorted(kinds),
            }
            for attribute, kinds in sorted(entry["attributes"].items())
        ],
    }
    return _respond(call, active, data)


@router.get("/attributes")
def list_attributes(request: Request) -> Response:
    call = _call(request)
    active = call.resolve(call.link)
    with call.ctx.reading() as session:
        details = reads.attribute_details(session, tenant=call.tenant)
    if not _details(request):
        data: Any = {
            "id": f"urn:ngsi-ld:AttributeList:{call.tenant or 'default'}",
            "type": "AttributeList",
            "attributeList": sorted(active.compact(a) for a in details),
        }
    else:
        data = [_attribute(active, iri, entry) for iri, entry in sorted(details.items())]
    return _respond(call, active, data)


def _attribute(active: ActiveContext, iri: str, entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": iri,
        "type": "Attribute",
        "attributeName": active.compact(iri),
        "attributeCount": entry["count"],
        "attributeTypes": sorted(entry["kinds"]),
        "typeNames": sorted(active.compact(t) for t in entry["types"]),
    }


@router.get("/attributes/{attr}")
def attribute_info(request: Request, attr: str) -> Response:
    call = _call(request)
    active = call.resolve(call.link)
    check_name(attr)
    iri = active.expand(attr)
    with call.ctx.reading() as session:
        entry = reads.attribute_details(session, tenant=call.tenant).get(iri)
    if entry is None:
        raise not_found(f"no entity has attribute {attr}")
    return _respond(call, active, _attribute(active, iri, entry))


# --- @context resource ------------------------------------------------------------------------


@router.get("/jsonldContexts")
def list_jsonld_contexts(request: Request) -> Response:
    call = _call(request)
    kind = request.query_params.get("kind")
    if kind is not None and kind not in ("Hosted", "Cached", "ImplicitlyCreated"):
        raise bad_data("kind must be Hosted, Cached or ImplicitlyCreated")
    with call.ctx.reading() as session:
        rows = jsonld_contexts.list_contexts(session, kind=kind)
        infos = [jsonld_contexts.context_info(row, call.base_url) for row in rows]
    core = {"url": CORE_URL, "URL": CORE_URL, "kind": "Cached", "localId": "core"}
    if kind in (None, "Cached"):
        infos.insert(0, core)
    if _details(request):
        return JSONResponse(infos, media_type=JSON)
    return JSONResponse([info["url"] for info in infos], media_type=JSON)


@router.get("/jsonldContexts/{context_id:path}")
def get_jsonld_context(request: Request, context_id: str) -> Response:
    call = _call(request)
    if context_id in ("core", CORE_URL):
        return JSONResponse(CORE_DOCUMENT, media_type=LD_JSON)
    with call.ctx.reading() as session:
        row = jsonld_contexts.find_context(session, context_id=context_id)
        if row is None:
            raise not_found(f"@context {context_id} is not known here")
        if _details(request):
            return JSONResponse(jsonld_contexts.context_info(row, call.base_url), media_type=JSON)
        document = json.loads(row.body)
    return JSONResponse(document, media_type=LD_JSON)


@router.post("/jsonldContexts")
async def post_jsonld_context(request: Request) -> Response:
    call = _call(request)
    body, _media = await _body(request, call)
    return await _run(_host, call, body)


def _host(call: Call, body: Any) -> Response:
    with call.ctx.writing() as session:
        row = jsonld_contexts.host_context(session, body=body)
        local_id = row.id
    return Response(
        status_code=201, headers={"Location": f"{call.base_url}{PREFIX}/jsonldContexts/{local_id}"}
    )


@router.delete("/jsonldContexts/{context_id:path}")
def delete_jsonld_context(request: Request, context_id: str) -> Response:
    call = _call(request)
    if context_id in ("core", CORE_URL):
        raise bad_data("the core @context cannot be deleted")
    reload = request.query_params.get("reload", "").lower() == "true"
    with call.ctx.writing() as session:
        row = jsonld_contexts.find_context(session, context_id=context_id)
        url = row.url if row is not None else None
        if reload and (row is None or row.kind != "Cached"):
            raise bad_data("reload=true applies to a cached @context only")
        jsonld_contexts.delete_context(session, context_id=context_id)
    if reload and url:
        call.resolve(url)  # fetch again now, so a broken source shows at once
    return Response(status_code=204)


# --- temporal ---------------------------------------------------------------------------------


def _time_query(request: Request, active: ActiveContext) -> temporal.TimeQuery:
    params = request.query_params
    attrs = tuple(_names(request, "attrs", active, what="attribute name"))
    return temporal.parse_time_query(
        params.get("timerel"),
        params.get("timeAt"),
        params.get("endTimeAt"),
        params.get("lastN"),
        attrs,
        "temporalValues" in _options(request),
    )


def _temporal_response(
    call: Call, active: ActiveContext, results: list[temporal.TemporalResult], data: Any
) -> Response:
    content_range = temporal.content_range(results)
    if content_range:
        return _respond(call, active, data, status=206, headers={"Content-Range": content_range})
    return _respond(call, active, data)


@router.get("/temporal/entities/{entity_id}")
def temporal_entity(request: Request, entity_id: str) -> Response:
    call = _call(request)
    check_entity_id(entity_id)
    active = call.resolve(call.link)
    query = _time_query(request, active)
    with call.ctx.reading() as session:
        result = temporal.temporal_entity(
            session,
            call.tenant,
            entity_id,
            query,
            active,
            page=call.ctx.settings.ngsild_temporal_page,
        )
    return _temporal_response(call, active, [result], result.entity)


@router.get("/temporal/entities")
def temporal_query(request: Request) -> Response:
    call = _call(request)
    active = call.resolve(call.link)
    query = _time_query(request, active)
    settings = call.ctx.settings
    ids = [
        check_entity_id(part.strip())
        for value in request.query_params.getlist("id")
        for part in value.split(",")
        if part.strip()
    ]
    id_pattern = None
    if request.query_params.get("idPattern"):
        # As GET /entities: a client regex under the request's time budget.
        id_pattern = safe_regex(request.query_params["idPattern"], "idPattern", RequestBudget())
    limit = _int_param(request, "limit", settings.ngsild_default_limit, low=1)
    if limit > settings.ngsild_max_limit:
        raise NgsiError("TooManyResults", f"limit may be at most {settings.ngsild_max_limit}")
    with call.ctx.reading() as session:
        results = temporal.temporal_query(
            session,
            call.tenant,
            _names(request, "type", active, what="entity type"),
            ids,
            query,
            active,
            limit=limit,
            offset=_int_param(request, "offset", 0),
            page=settings.ngsild_temporal_page,
            id_pattern=id_pattern,
        )
    return _temporal_response(call, active, results, [r.entity for r in results])


# --- subscriptions ----------------------------------------------------------------------------


def _subscription_id(value: str) -> str:
    if not is_uri(value):
        raise bad_data(f"the subscription id {value[:100]!r} is not a URI")
    return value


@router.post("/subscriptions")
async def create_subscription(request: Request) -> Response:
    call = _call(request)
    body, media = await _body(request, call)
    return await _run(_create_subscription, call, body, media)


def _create_subscription(call: Call, body: Any, media: str) -> Response:
    active = call.resolve(_user_context(call, body, media))
    subscription_validation.check_endpoint_address(call.ctx.outbound, body)
    notify_context = None
    if isinstance(body, dict) and isinstance(body.get("jsonldContext"), str):
        # Fetched now, so a broken one is a 503 here; its documents are kept on the row.
        notify_context = call.resolve(body["jsonldContext"])
    with call.ctx.writing() as session:
        row = subscriptions.create_subscription(
            session,
            tenant=call.tenant,
            body=body,
            active=active,
            notify_context=notify_context,
        )
        subscription_id = row.subscription_id
    return Response(
        status_code=201, headers={"Location": f"{PREFIX}/subscriptions/{subscription_id}"}
    )


@router.get("/subscriptions")
def list_subscriptions(request: Request) -> Response:
    call = _call(request)
    active = call.resolve(call.link)
    settings = call.ctx.settings
    limit = _int_param(request, "limit", settings.ngsild_default_limit)
    if limit > settings.ngsild_max_limit:
        raise NgsiError("TooManyResults", f"limit may be at most {settings.ngsild_max_limit}")
    count = request.query_params.get("count", "").lower() == "true"
    with call.ctx.reading() as session:
        rows, total = subscriptions.list_subscriptions(
            session,
            tenant=call.tenant,
            limit=limit,
            offset=_int_param(request, "offset", 0),
            count=count,
        )
        found = subscriptions.statuses(session, subscriptions=rows)
        data = [
            subscriptions.render_subscription(row, active, found.get(str(row.id))) for row in rows
        ]
    headers = {"NGSILD-Results-Count": str(total)} if total is not None else {}
    return _respond(call, active, data, headers=headers)


@router.get("/subscriptions/{subscription_id}")
def get_subscription(request: Request, subscription_id: str) -> Response:
    call = _call(request)
    _subscription_id(subscription_id)
    active = call.resolve(call.link)
    with call.ctx.reading() as session:
        row = subscriptions.get_subscription(
            session, tenant=call.tenant, subscription_id=subscription_id
        )
        found = subscriptions.statuses(session, subscriptions=[row])
        data = subscriptions.render_subscription(row, active, found.get(str(row.id)))
    return _respond(call, active, data)


@router.patch("/subscriptions/{subscription_id}")
async def update_subscription(request: Request, subscription_id: str) -> Response:
    call = _call(request)
    _subscription_id(subscription_id)
    body, media = await _body(request, call)
    return await _run(_update_subscription, call, body, media, subscription_id)


def _update_subscription(call: Call, body: Any, media: str, subscription_id: str) -> Response:
    active = call.resolve(_user_context(call, body, media))
    subscription_validation.check_endpoint_address(call.ctx.outbound, body)
    notify_context = None
    if isinstance(body, dict) and isinstance(body.get("jsonldContext"), str):
        notify_context = call.resolve(body["jsonldContext"])
    with call.ctx.writing() as session:
        subscriptions.update_subscription(
            session,
            tenant=call.tenant,
            subscription_id=subscription_id,
            body=body,
            active=active,
            notify_context=notify_context,
        )
    return Response(status_code=204)


@router.delete("/subscriptions/{subscription_id}")
def delete_subscription(request: Request, subscription_id: str) -> Response:
    call = _call(request)
    _subscription_id(subscription_id)
    with call.ctx.writing() as session:
        subscriptions.delete_subscription(
            session, tenant=call.tenant, subscription_id=subscription_id
        )
    return Response(status_code=204)
