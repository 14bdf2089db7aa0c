"""Security headers: ``nosniff`` on every answer, and on the pages a browser renders (the built
front ends) a Content-Security-Policy that allows only this origin's scripts and forbids framing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EVERY_ANSWER = {"X-Content-Type-Options": "nosniff"}


def page_headers(tile_url: str | None = None, media_origin: str | None = None) -> dict[str, str]:
    """The headers of a front-end page; ``tile_url`` (a map tile template) and ``media_origin``
    (the storage that photo requests are redirected to) may serve images."""
    images = ["'self'", "data:", "blob:"]
    # The citizen app's service worker fetches photos itself, and follows their redirect.
    connect = ["'self'", media_origin] if media_origin else ["'self'"]
    if tile_url and (origin := tile_origin(tile_url)):
        images.append(origin)
    if media_origin:
        images.append(media_origin)
    policy = {
        "default-src": "'self'",
        "script-src": "'self'",
        # Charts (ECharts) write style attributes into their tooltips' markup; scripts stay strict.
        "style-src": "'self' 'unsafe-inline'",
        "img-src": " ".join(images),
        "connect-src": " ".join(connect),
        # The console shows an application's PDF in a frame from a blob (its route needs the
        # bearer token, which a frame's own request cannot send).
        "frame-src": "'self' blob:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return {
        "Content-Security-Policy": "; ".join(f"{k} {v}" for k, v in policy.items()),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Frame-Options": "DENY",
    }


def tile_origin(tile_url: str) -> str | None:
    """The CSP source of a tile URL template: ``https://{s}.tile.example/{z}/{x}/{y}.png`` gives
    ``https://*.tile.example``; a relative template needs none ('self' covers it)."""
    parts = urlsplit(tile_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    labels = parts.netloc.split(".")
    if "{" in labels[0]:
        labels[0] = "*"  # a subdomain placeholder such as {s}
    if any("{" in label for label in labels):
        return f"{parts.scheme}:"  # a placeholder deeper in the host: allow the scheme only
    return f"{parts.scheme}://{'.'.join(labels)}"


class SecurityHeadersMiddleware:
    """Add ``every`` to each HTTP answer and ``pages`` to answers under ``page_prefixes`` (a
    prefix matches itself and what lies below it; "/" matches only the root page). A header the
    route already set is left alone."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        every: Mapping[str, str],
        pages: Mapping[str, str],
        page_prefixes: Sequence[str],
    ) -> None:
        self.app = app
        self.every = dict(every)
        self.pages = {**every, **pages}
        self.page_prefixes = tuple(page_prefixes)

    def _is_page(self, path: str) -> bool:
        return any(
            path == prefix or (prefix != "/" and path.startswith(prefix.rstrip("/") + "/"))
            for prefix in self.page_prefixes
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.pages if self._is_page(scope["path"]) else self.every

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
