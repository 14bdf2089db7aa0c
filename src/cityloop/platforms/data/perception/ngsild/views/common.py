"""Request plumbing shared by the /ngsi-ld/v1 routes: the access gate, the tenant header, the
client's @context (Link header or body), reading a JSON body, query parameters, and answering
in the media type the Accept header asks for."""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from cityloop.base.context import AppContext
from cityloop.base.problems import Problem
from cityloop.base.ratelimit import RateLimiter, client_key
from cityloop.platforms.application.identity.deps import Declared, DeclaredApiKey, bearer_token
from cityloop.platforms.data.perception.ngsild import access, rows
from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild.context import ActiveContext, ContextLimits
from cityloop.platforms.data.perception.ngsild.entities import check_name, render_entity
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data, invalid
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from cityloop.platforms.data.perception.ngsild.tenants import check_tenant_name
from cityloop.settings import Settings

PREFIX = "/ngsi-ld/v1"
CONTEXT_FETCH_LIMITER = "ngsild_context_fetches"  # its key in ctx.extras
JSON = "application/json"
LD_JSON = "application/ld+json"
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,11}")


def authorize(request: Request, _bearer: Declared, _api_key: DeclaredApiKey) -> None:
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
                session, secret=ctx.settings.resolved_secret_key, bearer=bearer, api_key=api_key
            )
        return
    with ctx.reading() as session:
        request.state.ngsild_principal = access.authenticate(
            session, secret=ctx.settings.resolved_secret_key, bearer=bearer, api_key=api_key
        )


@dataclass
class Call:
    """One request's tenant, answer format and @context source, read before any work."""

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
            user=user,
            limits=self.limits,
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


def call_for(request: Request) -> Call:
    """The request's :class:`Call`; a bad tenant header or Accept header is refused here."""
    tenant = check_tenant_name(request.headers.get("ngsild-tenant"))
    return Call(
        ctx=request.app.state.ctx,
        tenant=tenant,
        ld=_wants_ld(request),
        link=contexts.parse_link_header(request.headers.get("link")),
        # Links the broker hands out name the deployment's public address, never the Host
        # header a client sent.
        base_url=request.app.state.ctx.settings.public_base_url.rstrip("/"),
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


async def read_body(request: Request, call: Call, *, also: tuple[str, ...] = ()) -> tuple[Any, str]:
    """The parsed body and its media type; anything but JSON (or the ``also`` media types) is
    refused before parsing."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in (JSON, LD_JSON, *also):
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


async def call_with_body(request: Request) -> tuple[Call, Any, str]:
    """The request's :class:`Call`, its parsed body and the body's media type."""
    call = call_for(request)
    body, media = await read_body(request, call)
    return call, body, media


async def run(fn: Callable[..., Response], *args: Any) -> Response:
    """Run a route's work in a worker thread (it may fetch a @context; the database is sync)."""
    return await run_in_threadpool(fn, *args)


def user_context(call: Call, body: Any, media: str) -> Any:
    """Where the client's @context comes from: the body for ld+json, else the Link header."""
    if media == LD_JSON:
        if not isinstance(body, dict) or "@context" not in body:
            raise bad_data("an application/ld+json body must carry @context")
        return body["@context"]
    if isinstance(body, dict) and "@context" in body:
        raise bad_data("an application/json body may not carry @context; use a Link header")
    return call.link


def respond(
    call: Call,
    active: ActiveContext,
    data: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Answer ``data`` as JSON with a Link header, or as JSON-LD with @context in the body."""
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


def results_count(total: int | None) -> dict[str, str]:
    """The NGSILD-Results-Count header, when the client asked for a count."""
    return {"NGSILD-Results-Count": str(total)} if total is not None else {}


def options(request: Request) -> set[str]:
    """The ``options`` (and ``format``) values, comma lists merged."""
    found: set[str] = set()
    for name in ("options", "format"):
        for value in request.query_params.getlist(name):
            found.update(part.strip() for part in value.split(",") if part.strip())
    return found


def details(request: Request) -> bool:
    """Whether ``details=true`` was asked for."""
    return request.query_params.get("details", "").lower() == "true"


def int_param(request: Request, name: str, default: int, low: int = 0) -> int:
    """A whole-number query parameter of at least ``low``."""
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


def check_limit(limit: int, settings: Settings) -> None:
    """Refuse a page larger than the server allows (403 TooManyResults)."""
    if limit > settings.ngsild_max_limit:
        raise NgsiError("TooManyResults", f"limit may be at most {settings.ngsild_max_limit}")


def names(request: Request, name: str, active: ActiveContext, *, what: str) -> list[str]:
    """A parameter's names (comma or ``|`` lists, repeatable), checked and expanded."""
    out: list[str] = []
    for value in request.query_params.getlist(name):
        for part in value.replace("|", ",").split(","):
            part = part.strip().strip("()")
            if part:
                check_name(part, what)
                out.append(active.expand(part))
    return out


def render_options(request: Request) -> dict[str, bool]:
    """How entities are rendered: keyValues (or simplified), concise, sysAttrs."""
    asked = options(request)
    return {
        "key_values": "keyValues" in asked or "simplified" in asked,
        "concise": "concise" in asked,
        "sys_attrs": "sysAttrs" in asked,
    }


def render_row(
    row: NgsiEntity, active: ActiveContext, projection: set[str] | None, render: dict[str, bool]
) -> dict[str, Any]:
    """An entity row as the client reads it (``projection``: the attributes asked for)."""
    return render_entity(rows.view_of(row), active, attrs=projection, **render)
