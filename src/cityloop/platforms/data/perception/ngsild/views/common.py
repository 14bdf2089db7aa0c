"""Request plumbing shared by the /ngsi-ld/v1 routes: the transport rules (411, the tenant echo),
the access gate, the tenant header, the client's @context
(Link header or body), reading a JSON body, and answering in the media type the Accept header
asks for."""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cityloop.base.context import AppContext
from cityloop.base.locale import request_locale
from cityloop.base.problems import Problem
from cityloop.base.ratelimit import RateLimiter, client_key
from cityloop.platforms.application.identity.deps import Declared, DeclaredApiKey, bearer_token
from cityloop.platforms.data.perception.ngsild import access, jsonld_contexts
from cityloop.platforms.data.perception.ngsild import context as contexts
from cityloop.platforms.data.perception.ngsild.context import ActiveContext, ContextLimits
from cityloop.platforms.data.perception.ngsild.context_loader import CORE_URL, Loader
from cityloop.platforms.data.perception.ngsild.entities import check_name
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data, invalid
from cityloop.platforms.data.perception.ngsild.models import NgsiContext
from cityloop.platforms.data.perception.ngsild.tenants import check_tenant_name
from cityloop.platforms.data.perception.ngsild.texts import text
from cityloop.platforms.data.perception.ngsild.versions import (
    preferred_version,
    prefers_body_json,
)
from cityloop.platforms.data.perception.ngsild.views.parameters import PREFIX
from cityloop.settings import Settings

CONTEXT_FETCH_LIMITER = "ngsild_context_fetches"  # its key in ctx.extras
JSON = "application/json"
LD_JSON = "application/ld+json"
GEO_JSON = "application/geo+json"
MERGE_PATCH_JSON = "application/merge-patch+json"
# What most routes answer in, in the order clause 6.3.4 gives to break a tie between weights.
ANSWER_TYPES = (JSON, LD_JSON)
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,11}")
_WITH_BODY = ("POST", "PATCH", "PUT")
_EMPTY_LENGTH = (b"content-length", b"0")


class TransportRules:
    """Rules under /ngsi-ld/ that come before any route: a POST, PATCH or PUT without
    Content-Length is a bare 411 (clause 6.3.4), decided before the tenant or anything else is
    looked at; every answer to a request naming a tenant carries NGSILD-Tenant (clause 6.3.14)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        echo = _tenant_echo(headers.get("ngsild-tenant"))

        async def send_with_tenant(message: Message) -> None:
            if message["type"] == "http.response.start" and echo:
                message = {**message, "headers": [*message.get("headers", []), echo]}
            await send(message)

        if scope["method"] in _WITH_BODY and "content-length" not in headers:
            start = {"type": "http.response.start", "status": 411, "headers": [_EMPTY_LENGTH]}
            await send_with_tenant(start)
            await send_with_tenant({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send_with_tenant)


def _tenant_echo(name: str | None) -> tuple[bytes, bytes] | None:
    """The NGSILD-Tenant header an answer repeats: only a well-formed tenant name."""
    if not name:
        return None
    try:
        tenant = check_tenant_name(name)
    except NgsiError:
        return None
    return (b"ngsild-tenant", tenant.encode())


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
    media: str  # the media type the answer is in (see :func:`negotiate`)
    link: str | None
    base_url: str
    anonymous: bool = True
    client: str = "unknown"
    version: str | None = None  # the specification version the client prefers (4.3.6.8)
    body_json: bool = False  # Prefer: body=json (6.3.6)
    locale: str = "en"  # the reader's language, for the details of a 207

    @property
    def ld(self) -> bool:
        """Whether the answer is JSON-LD (@context in the body, not a Link header)."""
        return self.media == LD_JSON

    @property
    def limits(self) -> ContextLimits:
        settings = self.ctx.settings
        return ContextLimits(
            settings.ngsild_context_timeout_seconds,
            settings.ngsild_context_max_bytes,
            settings.ngsild_context_cache_max,
        )

    def resolve(self, user: Any) -> ActiveContext:
        """The client's processed @context; an inline one is also kept as ImplicitlyCreated."""
        active = contexts.resolve(
            self.ctx.db,
            user=user,
            limits=self.limits,
            outbound=self.ctx.outbound,
            gate=self._limit_fetches if self.anonymous else None,
        )
        # Not for anonymous (public read) callers: they could fill the table at will.
        if active.link_url == CORE_URL and active.user is not None and not self.anonymous:
            self._record_implicit(active.user)
        return active

    def loader(self) -> Loader:
        """A document loader that fetches through the outbound client (for a reload)."""
        gate = self._limit_fetches if self.anonymous else None
        return Loader(self.ctx.db, self.limits, self.ctx.outbound, gate)

    def _record_implicit(self, user: Any) -> None:
        """Give an inline @context (one with no URL of its own) a URL under /jsonldContexts."""
        context_id = jsonld_contexts.implicit_id(tenant=self.tenant, user=user)
        with self.ctx.reading() as session:
            if session.get(NgsiContext, context_id) is not None:
                return
        with contextlib.suppress(IntegrityError), self.ctx.writing() as session:
            jsonld_contexts.record_implicit(session, tenant=self.tenant, user=user)

    def _limit_fetches(self) -> None:
        """Before an anonymous caller's @context is fetched: a few a minute per address."""
        limiter: RateLimiter | None = self.ctx.extras.get(CONTEXT_FETCH_LIMITER)
        if limiter is None:
            return
        try:
            limiter.check(self.client)
        except Problem as exc:
            error = NgsiError("TooManyRequests", exc.message or exc.detail, status=429)
            error.headers = dict(exc.headers or {})
            raise error from None


def negotiate(accept: str | None, offered: Sequence[str] = ANSWER_TYPES) -> str:
    """The media type to answer in, of those ``offered``; 406 NotAcceptable when none will do.

    Each offered type takes the weight of the most specific Accept range that matches it (RFC
    9110 §12.5.1: exact, then type/*, then */*); q=0 refuses it; equal weights go to the one
    listed first in ``offered`` (clause 6.3.4's order). No Accept header means the first."""
    if accept is None or not accept.strip():
        return offered[0]
    ranges = [_media_range(part) for part in accept.split(",") if part.strip()]
    chosen, best = None, 0.0
    for media in offered:
        weight = _weight(media, ranges)
        if weight > best:
            chosen, best = media, weight
    if chosen is None:
        asked, known = repr(accept[:200]), ", ".join(offered)
        raise NgsiError(
            "NotAcceptable", text("request_not_acceptable", accept=asked, offered=known)
        )
    return chosen


def _media_range(part: str) -> tuple[str, float]:
    """One Accept range and its weight; a weight that is not a number in [0, 1] is ignored."""
    media, *params = part.split(";")
    weight = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() != "q":
            continue
        with contextlib.suppress(ValueError):
            number = float(value.strip())
            if math.isfinite(number) and 0 <= number <= 1:
                weight = number
    return media.strip().lower(), weight


def _weight(media: str, ranges: list[tuple[str, float]]) -> float:
    """The weight of the most specific range matching ``media`` (0 when none matches)."""
    for candidate in (media, media.split("/")[0] + "/*", "*/*"):
        weights = [weight for name, weight in ranges if name == candidate]
        if weights:
            return max(weights)
    return 0.0


def call_for(request: Request, offered: Sequence[str] = ANSWER_TYPES) -> Call:
    """The request's :class:`Call`, answering in one of ``offered``; a bad tenant header or an
    Accept header none of them meets is refused here."""
    tenant = check_tenant_name(request.headers.get("ngsild-tenant"))
    return Call(
        ctx=request.app.state.ctx,
        tenant=tenant,
        media=negotiate(request.headers.get("accept"), offered),
        link=contexts.parse_link_header(request.headers.get("link")),
        # Links the broker hands out name the deployment's public address, never the Host
        # header a client sent.
        base_url=request.app.state.ctx.settings.public_base_url.rstrip("/"),
        anonymous=getattr(request.state, "ngsild_principal", None) is None,
        client=client_key(request),
        version=preferred_version(request.headers.get("prefer")),
        body_json=prefers_body_json(request.headers.get("prefer")),
        locale=request_locale(request),
    )


def _no_nan(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def _finite(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise ValueError("numbers must be finite")
    return number


async def read_body(request: Request, call: Call) -> tuple[Any, str]:
    """The parsed body and its media type; anything but JSON is refused before parsing.

    A PATCH may also be sent as application/merge-patch+json (clause 6.3.4), read as JSON."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == MERGE_PATCH_JSON and request.method == "PATCH":
        media = JSON
    if media not in (JSON, LD_JSON):
        sent = repr(media[:100])
        raise NgsiError(
            "UnsupportedMediaType",
            text("request_media_unsupported", json=JSON, ld_json=LD_JSON, media=sent),
        )
    limit = call.ctx.settings.ngsild_max_body_bytes
    declared = request.headers.get("content-length")
    if declared and _WHOLE_NUMBER.fullmatch(declared) and int(declared) > limit:
        raise NgsiError("PayloadTooLarge", text("request_body_too_large", limit=limit))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise NgsiError("PayloadTooLarge", text("request_body_too_large", limit=limit))
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise invalid(text("request_body_empty"))
    try:
        parsed = json.loads(raw, parse_constant=_no_nan, parse_float=_finite)
    except (ValueError, RecursionError) as exc:
        raise invalid(text("request_body_not_json", reason=str(exc)[:120])) from exc
    return parsed, media


async def call_with_body(
    request: Request, offered: Sequence[str] = ANSWER_TYPES
) -> tuple[Call, Any, str]:
    """The request's :class:`Call`, its parsed body and the body's media type."""
    call = call_for(request, offered)
    body, media = await read_body(request, call)
    return call, body, media


async def run(fn: Callable[..., Response], *args: Any) -> Response:
    """Run a route's work in a worker thread (it may fetch a @context; the database is sync)."""
    return await run_in_threadpool(fn, *args)


def user_context(call: Call, body: Any, media: str) -> Any:
    """Where the client's @context comes from: the body for ld+json, else the Link header."""
    if media == LD_JSON:
        if call.link:
            # Clause 6.3.5: with JSON-LD the @context travels in the body, never in a Link.
            raise bad_data(text("request_link_with_ld"))
        if not isinstance(body, dict) or "@context" not in body:
            raise bad_data(text("request_ld_needs_context"))
        return body["@context"]
    if isinstance(body, dict) and "@context" in body:
        raise bad_data(text("request_json_with_context"))
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
    if call.version:
        headers["Preference-Applied"] = f"ngsi-ld={call.version}"
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


def flag(params: Mapping[str, str], name: str) -> bool:
    """A true/false parameter (absent: false); any other value is a 400 naming it. ``params``
    are the URL's query parameters, or a Query body's members merged into them."""
    value = params.get(name)
    if value is None or value == "false":
        return False
    if value == "true":
        return True
    raise bad_data(text("request_not_boolean", name=name))


def details(request: Request) -> bool:
    """Whether ``details=true`` was asked for."""
    return flag(request.query_params, "details")


def int_param(request: Request, name: str, default: int, low: int = 0) -> int:
    """A whole-number query parameter of at least ``low``."""
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
    if not _WHOLE_NUMBER.fullmatch(value):
        raise bad_data(text("request_not_whole_number", name=name))
    number = int(value)
    if number < low:
        raise bad_data(text("request_too_small", name=name, low=low))
    return number


def check_limit(limit: int, settings: Settings) -> None:
    """Refuse a page larger than the server allows (403 TooManyResults)."""
    if limit > settings.ngsild_max_limit:
        most = settings.ngsild_max_limit
        raise NgsiError("TooManyResults", text("request_limit_too_large", limit=most))


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
