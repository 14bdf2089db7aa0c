"""The body limit middleware refuses an over-size body with 413 before the app holds more than
the limit: at once when the length is declared, and mid-stream when the body is chunked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.from_thread
import httpx
import pytest
from fastapi import FastAPI, Request

from cityloop.base.limits import BodyLimitMiddleware
from cityloop.base.problems import install_problem_handlers

LIMIT = 350


class Sink:
    """An app whose route reads the body chunk by chunk and remembers what it got."""

    def __init__(self) -> None:
        self.calls = 0
        self.seen = 0
        self.app = FastAPI()
        install_problem_handlers(self.app)
        self.app.add_middleware(
            BodyLimitMiddleware,
            rules=[("/upload", "multipart/form-data", 10 * LIMIT), ("/small", None, 10)],
            default=LIMIT,
        )

        @self.app.post("/sink")
        async def sink(request: Request) -> dict[str, int]:
            self.calls += 1
            async for chunk in request.stream():
                self.seen += len(chunk)
            return {"seen": self.seen}

        @self.app.post("/json")
        def parsed(body: dict[str, Any]) -> dict[str, int]:
            self.calls += 1
            return {"keys": len(body)}


class Chunks:
    """A request body of ``count`` chunks of 100 bytes that counts how many were pulled."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            self.pulled += 1
            yield b"x" * 100


def post(sink: Sink, path: str, content: Any, headers: dict[str, str] | None = None) -> Any:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=sink.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(path, content=content, headers=headers)

    # On a thread of its own: this one may already run Playwright's event loop.
    with anyio.from_thread.start_blocking_portal() as portal:
        return portal.call(go)


def test_a_body_declared_over_the_limit_is_refused_before_the_route_runs() -> None:
    sink, body = Sink(), Chunks(4)

    response = post(sink, "/sink", body, {"Content-Length": "400"})

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/payload-too-large")
    assert str(LIMIT) in response.json()["detail"]
    assert sink.calls == 0
    assert body.pulled == 0


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    sink, body = Sink(), Chunks(50)

    response = post(sink, "/sink", body)

    assert response.status_code == 413
    assert response.json()["type"].endswith("/payload-too-large")
    assert body.pulled == 4  # the fourth 100-byte chunk passes 350; nothing is read after it
    assert sink.seen <= LIMIT


def test_a_chunked_body_is_refused_while_the_framework_parses_it() -> None:
    sink = Sink()

    async def json_chunks() -> AsyncIterator[bytes]:
        yield b'{"a": "'
        for _ in range(10):
            yield b"y" * 100
        yield b'"}'

    response = post(sink, "/json", json_chunks(), {"Content-Type": "application/json"})

    assert response.status_code == 413
    assert response.json()["type"].endswith("/payload-too-large")
    assert sink.calls == 0


def test_a_body_at_the_limit_is_served_whole() -> None:
    sink = Sink()

    response = post(sink, "/sink", b"x" * LIMIT)

    assert response.status_code == 200
    assert response.json() == {"seen": LIMIT}


@pytest.mark.parametrize(
    ("path", "content_type", "limit"),
    [
        ("/upload", "multipart/form-data; boundary=x", 10 * LIMIT),
        ("/upload", "application/json", LIMIT),  # the rule is for multipart only
        ("/small", "", 10),
        ("/small/more", "", LIMIT),  # a rule matches the whole path
        ("/elsewhere", "application/json", LIMIT),
    ],
)
def test_each_route_gets_its_declared_limit_and_the_rest_the_default(
    path: str, content_type: str, limit: int
) -> None:
    middleware = BodyLimitMiddleware(
        FastAPI(),
        rules=[("/upload", "multipart/form-data", 10 * LIMIT), ("/small", None, 10)],
        default=LIMIT,
    )
    assert middleware.limit_for(path, content_type) == limit
