"""The CKAN action API at ``/api/action/{name}`` and ``/api/3/action/{name}``: GET with query
parameters, or POST with a JSON body or a form, as CKAN reads them (``ckan/views/api.py``), and
every answer in CKAN's envelope ``{"help", "success", "result"}`` or ``{"help", "error",
"success": false}``. Every error under these paths, whoever raises it, is answered so."""

from __future__ import annotations

import json
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from cityloop.base.context import AppContext, context_of
from cityloop.platforms.data.ckan.actions import Call
from cityloop.platforms.data.ckan.errors import AuthorizationError, BadRequest, CkanError
from cityloop.platforms.data.ckan.index import SearchIndex
from cityloop.platforms.data.ckan.packages import Site
from cityloop.platforms.data.ckan.registry import ACTIONS, WRITE_ACTIONS

PREFIXES = ("/api/action/", "/api/3/action/")
ERROR_PREFIXES = ("/api/action/", "/api/3/")
MEDIA_TYPE = "application/json;charset=utf-8"
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_INDEX = "ckan.search_index"

router = APIRouter(tags=["ckan"], include_in_schema=False)


def search_index(ctx: AppContext) -> SearchIndex:
    """This process's search index of the open catalogue."""
    index = ctx.extras.get(_INDEX)
    if index is None:
        index = ctx.extras.setdefault(_INDEX, SearchIndex(ctx.settings.city_domain))
    return index  # type: ignore[no-any-return]


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = json.dumps(body, ensure_ascii=False, separators=(", ", ": ")).encode()
    return Response(content, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def _help(ctx: AppContext, name: str) -> str:
    base = ctx.settings.public_base_url.rstrip("/")
    return f"{base}/api/3/action/help_show?name={quote(name, safe='')}"


def _failed(ctx: AppContext, name: str, error: CkanError) -> Response:
    envelope = {"help": _help(ctx, name), "error": error.error(), "success": False}
    return _json(envelope, error.status)


def _mixed(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Form or query fields: a field given once is its value, one given more is a list."""
    gathered: dict[str, list[Any]] = {}
    for key, value in items:
        if isinstance(value, str):
            gathered.setdefault(key, []).append(value)
    return {key: values[0] if len(values) == 1 else values for key, values in gathered.items()}


def _decoded(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except ValueError as problem:
        raise BadRequest(
            f"JSON Error: Error decoding JSON data. Error: {problem!r} "
            "JSON data extracted from the request: {}"
        ) from None


async def request_data(request: Request, *, reads_only: bool) -> dict[str, Any]:
    """The action's parameters, from a form, the query string or a JSON body, as CKAN takes
    them (a form of one field with no value is a JSON body sent as a form, as curl -d does)."""
    if not reads_only and request.method == "GET":
        raise BadRequest("JSON Error: Invalid request. Please use POST method for your request")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    data: Any = {}
    form = await request.form() if request.method == "POST" and content_type in FORMS else None
    if form:
        values = list(form.values())
        if len(values) == 1 and values[0] in ("1", ""):
            data = _decoded(next(iter(form.keys())))
        else:
            data = _mixed(form.multi_items())
    elif request.query_params and reads_only:
        data = _mixed(request.query_params.multi_items())
    elif content_type != "multipart/form-data":
        body = await request.body()
        if body.strip():
            data = _decoded(body)
    if not isinstance(data, dict):
        raise BadRequest(
            f"JSON Error: Request data JSON decoded to {data!r} but it needs to be a dictionary."
        )
    data.pop("callback", None)
    return data


def _run(ctx: AppContext, name: str, data: dict[str, Any], url: str) -> Any:
    call = Call(Site.of(ctx.settings), search_index(ctx), url)
    with ctx.reading() as session:
        return ACTIONS[name].run(session, call=call, data=data)


async def _answer(request: Request, name: str) -> Response:
    ctx = context_of(request)
    known = name in ACTIONS
    if not known and name not in WRITE_ACTIONS:
        return _json(BadRequest(f"Action name not known: {name}").body(), 400)
    try:
        data = await request_data(request, reads_only=known)
    except BadRequest as problem:
        return _json(problem.body(), 400)
    if not known:
        detail = f"this catalogue is read-only through the CKAN API: {name} is not allowed"
        return _failed(ctx, name, AuthorizationError(detail))
    url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    try:
        result = await run_in_threadpool(_run, ctx, name, data, url)
    except CkanError as error:
        return _failed(ctx, name, error)
    return _json({"help": _help(ctx, name), "success": True, "result": result})


@router.api_route("/api/action/{name}", methods=["GET", "POST"])
async def action(request: Request, name: str) -> Response:
    return await _answer(request, name)


@router.api_route("/api/3/action/{name}", methods=["GET", "POST"])
async def action_v3(request: Request, name: str) -> Response:
    return await _answer(request, name)


@router.get("/api/3")
def api_version() -> Response:
    """CKAN's API version probe: always 3; for anyone."""
    return _json({"version": 3})


def error_response(request: Request, status: int, detail: str, headers: dict[str, str]) -> Response:
    """Any error under the CKAN paths (an unmatched path, a body too large, a crash) in CKAN's
    format: a 400 as CKAN's bare "Bad request" text, the rest in the envelope."""
    if status == 400:
        return _json(BadRequest(detail).body(), 400, headers)
    ctx = context_of(request)
    name = request.url.path.rstrip("/").rsplit("/", 1)[-1]
    if status == 404:
        error: dict[str, Any] = {"__type": "Not Found Error", "message": "Not found"}
    elif status == 403:
        error = AuthorizationError(detail).error()
    elif status >= 500:
        error = {"__type": "Internal Server Error", "message": "Internal Server Error"}
    else:
        error = {"__type": HTTPStatus(status).phrase, "message": detail}
    envelope = {"help": _help(ctx, name), "error": error, "success": False}
    return _json(envelope, status, headers)


def install_ckan(app: FastAPI) -> None:
    """Mount the routes and answer every error under their paths in CKAN's format."""
    app.include_router(router)
    # The app routes errors of these prefixes to their API's own formatter (base/problems.py).
    app.state.error_prefixes = (*app.state.error_prefixes, *ERROR_PREFIXES)
    for prefix in ERROR_PREFIXES:
        app.state.error_formatters[prefix] = error_response
