"""Request body limits, enforced before the body is read.

Each package declares the limits of its routes (:class:`BodyLimit` in its ``module.py``); every
other route gets the default. A body declared larger than its route's limit is refused at once
with 413, before the route runs; a body without a length (chunked) is counted as it streams and
refused as soon as it passes the limit, so the app never holds more than the limit. The 413 comes
in the error format of the API the path belongs to (problem+json, Open311, NGSI-LD).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cityloop.base import messages
from cityloop.base.problems import Problem, render_problem

if TYPE_CHECKING:
    from cityloop.settings import Settings

# Room for multipart boundaries, part headers and a few short text fields around a file.
MULTIPART_OVERHEAD = 64 * 1024


@dataclass(frozen=True)
class BodyLimit:
    """The largest body (bytes, from the settings) that requests to paths matching ``path``
    accept; with ``media_type``, only requests of that content type. The first match wins."""

    path: str
    limit: Callable[[Settings], int]
    media_type: str | None = None


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its limit; an HTTPException, so the
    app's handlers render it in the path's error format even while a route is parsing."""

    def __init__(self, limit: int) -> None:
        # The detail is a message code: the handler renders it in the reader's language.
        super().__init__(413, messages.Message("body_too_large", {"limit": str(limit)}))  # type: ignore[arg-type]
        self.limit = limit


class BodyLimitMiddleware:
    """Refuse request bodies over their route's limit with 413, reading at most the limit."""

    def __init__(
        self, app: ASGIApp, *, rules: Sequence[tuple[str, str | None, int]], default: int
    ) -> None:
        self.app = app
        self.rules = [(re.compile(path), media_type, limit) for path, media_type, limit in rules]
        self.default = default

    def limit_for(self, path: str, content_type: str) -> int:
        media_type = content_type.split(";")[0].strip().lower()
        for pattern, wanted, limit in self.rules:
            if pattern.fullmatch(path) and wanted in (None, media_type):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self.limit_for(scope["path"], headers.get("content-type", ""))
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(scope, receive, send, limit)
            return

        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # This chunk never reaches the app: it has seen at most ``limit`` bytes.
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            # Normally the app's handlers answer it; this is for code outside them.
            if started:
                raise
            await _refuse(scope, receive, send, limit)


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    detail = messages.Message("body_too_large", {"limit": str(limit)})
    problem = Problem(413, "payload-too-large", detail)
    response = render_problem(Request(scope, receive), problem)
    await response(scope, receive, send)
