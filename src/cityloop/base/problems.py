"""RFC 7807 problem details: one error format for every route except Open311's.

A problem's detail is a message code with parameters (``Message``), rendered in the reader's
language (base/locale.py); the body also carries ``code`` and ``params`` so a front end can show
its own text. Titles are translated per problem type (base/problem_texts.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cityloop.base.locale import request_locale
from cityloop.base.messages import Message
from cityloop.base.problem_texts import http_error, thing, title_of, validation_message
from cityloop.base.storage import StorageUnavailable

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://cityloop.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"


class Problem(Exception):
    """A client-facing error. ``type_`` is a short slug; ``detail`` a message code with its
    parameters (a plain string only where no code exists yet); ``field`` names the input."""

    def __init__(
        self,
        status: int,
        type_: str,
        detail: str | Message,
        *,
        title: str | None = None,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = detail if isinstance(detail, Message) else None
        self.detail = detail.render() if isinstance(detail, Message) else detail
        super().__init__(self.detail)
        self.status = status
        self.type_ = type_
        self._title = title
        self.title = title or title_of(type_, "en")
        self.field = field
        self.headers = headers or {}
        self.extra = extra or {}

    def detail_in(self, locale: str) -> str:
        """The detail in ``locale`` (a plain-string detail reads the same in every language)."""
        return self.message.render(locale) if self.message else self.detail

    def body(self, instance: str | None = None, locale: str = "en") -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.type_,
            "title": self._title or title_of(self.type_, locale),
            "status": self.status,
            "detail": self.detail_in(locale),
        }
        if self.message:
            body["code"] = self.message.code
            body["params"] = dict(self.message.params)
        if instance:
            body["instance"] = instance
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


def bad_request(
    detail: str | Message, field: str | None = None, type_: str = "invalid-input"
) -> Problem:
    return Problem(400, type_, detail, field=field)


def not_found(what: str, ident: object) -> Problem:
    """404 for ``what`` (a thing named in base/problem_texts.py, in both languages)."""
    english, chinese = thing(what)
    return Problem(
        404,
        "not-found",
        Message("not_found", {"what": english, "what_zh": chinese, "ident": str(ident)}),
    )


def forbidden(detail: str | Message) -> Problem:
    return Problem(403, "forbidden", detail)


def conflict(detail: str | Message, type_: str = "conflict", **extra: Any) -> Problem:
    return Problem(409, type_, detail, extra=extra)


def unprocessable(
    detail: str | Message, field: str | None = None, type_: str = "invalid-input"
) -> Problem:
    return Problem(422, type_, detail, field=field)


def problem_response(
    problem: Problem, instance: str | None = None, locale: str = "en"
) -> JSONResponse:
    return JSONResponse(
        problem.body(instance, locale),
        status_code=problem.status,
        headers=problem.headers,
        media_type=PROBLEM_CONTENT_TYPE,
    )


def _formatter(request: Request) -> Callable[..., Response] | None:
    """The error formatter of the API the path belongs to (Open311, NGSI-LD), or None."""
    state = request.app.state
    for prefix in getattr(state, "error_prefixes", ()):
        if request.url.path.startswith(prefix):
            formatter: Callable[..., Response] = state.error_formatters[prefix]
            return formatter
    return None


def render_problem(request: Request, problem: Problem) -> Response:
    """``problem`` in the error format of the API the request is for."""
    formatter = _formatter(request)
    locale = request_locale(request)
    if formatter:
        return formatter(request, problem.status, problem.detail_in(locale), problem.headers)
    return problem_response(problem, request.url.path, locale)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or "body"


def install_problem_handlers(app: FastAPI, *, skip_prefixes: tuple[str, ...] = ()) -> None:
    """Route every error through problem+json. Prefixes in ``skip_prefixes`` (Open311) get
    their own format from handlers registered by their module via ``app.state``."""
    app.state.error_prefixes = skip_prefixes

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Any:
        return render_problem(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Any:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
        field = _field_name(tuple(first.get("loc", ())))
        locale = request_locale(request)
        detail = validation_message(field, first)
        formatter = _formatter(request)
        if formatter:
            return formatter(request, 400, detail.render(locale), {})
        problem = Problem(
            422,
            "invalid-input",
            detail,
            field=field,
            extra={
                "errors": [
                    {
                        "field": _field_name(tuple(e.get("loc", ()))),
                        "message": validation_message(
                            _field_name(tuple(e.get("loc", ()))), e
                        ).render(locale),
                    }
                    for e in errors
                ]
            },
        )
        return problem_response(problem, request.url.path, locale)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Any:
        formatter = _formatter(request)
        locale = request_locale(request)
        # Starlette's own errors (an unknown path, a wrong method) carry its English phrase.
        detail = (
            exc.detail
            if isinstance(exc.detail, Message)
            else http_error(exc.status_code, str(exc.detail))
        )
        if formatter:
            return formatter(
                request, exc.status_code, detail.render(locale), dict(exc.headers or {})
            )
        slug = {
            401: "unauthorized",
            404: "not-found",
            405: "method-not-allowed",
            413: "payload-too-large",
        }.get(exc.status_code, "http-error")
        problem = Problem(exc.status_code, slug, detail, headers=dict(exc.headers or {}))
        return problem_response(problem, request.url.path, locale)

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> Any:
        # Two people acted on one record at once; the loser retries with fresh data.
        return render_problem(
            request, Problem(409, "concurrent-update", Message("concurrent_update"))
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Any:
        # A uniqueness race between two requests (the losing one's check passed before the
        # winner committed): the loser is told to retry rather than given a 500.
        log.info("integrity conflict on %s %s: %s", request.method, request.url.path, exc.orig)
        return render_problem(request, Problem(409, "conflict", Message("simultaneous_change")))

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Any:
        # The database refused a value that validation let through (a NUL byte in text on
        # PostgreSQL, a number out of a column's range): the input's fault, so a 400.
        log.warning("data refused on %s %s: %s", request.method, request.url.path, exc.orig)
        return render_problem(request, Problem(400, "invalid-data", Message("value_not_storable")))

    def unavailable(request: Request, type_: str, code: str, retry_seconds: int) -> Any:
        """A 503 for a store that cannot be reached: nothing was done, try again later."""
        problem = Problem(503, type_, Message(code), headers={"Retry-After": str(retry_seconds)})
        return render_problem(request, problem)

    @app.exception_handler(StorageUnavailable)
    async def _storage(request: Request, exc: StorageUnavailable) -> Any:
        # The blob store is down or refused the call: nothing was stored, and the client may
        # retry the same request later (the reason is for the server's log only).
        log.error("storage unavailable on %s %s: %s", request.method, request.url.path, exc)
        return unavailable(request, "storage-unavailable", "storage_unavailable", 30)

    async def _database_down(request: Request, exc: Exception) -> Any:
        # The database cannot be reached (restarting, failing over, its connections dropped)
        # or stayed busy past the wait: the request was not acknowledged, so the client can
        # send it again; its Idempotency-Key makes that safe if it did commit.
        log.error("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return unavailable(request, "database-unavailable", "database_unavailable", 5)

    for unreachable in (OperationalError, InterfaceError, TimeoutError):
        app.add_exception_handler(unreachable, _database_down)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        formatter = _formatter(request)
        locale = request_locale(request)
        problem = Problem(500, "internal-error", Message("unexpected_error"))
        if formatter:
            return formatter(request, 500, problem.detail_in(locale), {})
        return problem_response(problem, request.url.path, locale)
