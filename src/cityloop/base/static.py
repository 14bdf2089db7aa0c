"""Serving the built front ends: compressed, and cached as long as their names allow.

Files under ``/assets`` carry a content hash in their names (Vite's build), so a browser may keep
them for a year without asking again; the HTML pages that name them must be revalidated on every
load (``no-cache`` with the ETag StaticFiles sends), so a new build is picked up at once. Text is
gzip-compressed for clients that accept it.
"""

from __future__ import annotations

from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Level 6: most of level 9's saving at a fraction of its CPU, paid on each request.
COMPRESS_LEVEL = 6


class CacheControl:
    """Set ``Cache-Control`` on every successful answer of the wrapped app."""

    def __init__(self, app: ASGIApp, value: str) -> None:
        self.app = app
        self.value = value.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"cache-control"]
                message["headers"] = [*headers, (b"cache-control", self.value)]
            await send(message)

        await self.app(scope, receive, with_header)


def front_end(directory: Path, *, hashed: bool, html: bool = False) -> ASGIApp:
    """A built front-end folder, compressed, cached for good (``hashed``) or revalidated."""
    files = StaticFiles(directory=directory, html=html)
    cached = CacheControl(files, IMMUTABLE if hashed else REVALIDATE)
    return GZipMiddleware(cached, minimum_size=500, compresslevel=COMPRESS_LEVEL)
