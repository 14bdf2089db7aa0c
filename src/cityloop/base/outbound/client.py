"""The one outbound HTTP client: every request a user can aim (an @context URL, a notification
endpoint) leaves through it.

The host is resolved here, every address it resolves to is checked against the
:class:`AddressPolicy`, and the connection goes to a checked address (TLS still names the
host), so a DNS answer that changes between check and connect changes nothing. Each redirect
hop is a new request through the same check. One deadline covers the whole exchange, redirects
included, and a body is read only up to a size cap.

Failures reach callers as one :class:`OutboundError` whose message never says why (refused,
closed, timed out, too large): the reason is on the exception for server-side logs only.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import typing
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from ipaddress import ip_address
from types import TracebackType
from typing import Any, TypeVar

import httpcore
import httpx

from cityloop.base.outbound.policy import AddressPolicy, IPAddress

log = logging.getLogger(__name__)

GENERIC = "the address could not be fetched"
SCHEMES = ("http", "https")
T = TypeVar("T")


class OutboundError(Exception):
    """A request that came to nothing. ``str()`` is always the generic message; ``kind``
    (refused, timeout, connect, protocol, too-large, invalid) and ``reason`` are for logs."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(GENERIC)
        self.reason = reason
        self.kind = kind


class _Refused(Exception):
    """Raised inside the connection pool when the policy refuses every way to the host."""


@dataclass(frozen=True)
class Reply:
    status_code: int
    headers: httpx.Headers
    content: bytes
    url: str


async def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses ``host`` stands for: itself when it is a literal, else the DNS answer."""
    try:
        return [ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        answers = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise _Refused(f"{host} does not resolve: {exc}") from None
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in answers:
        # A scoped IPv6 answer ("fe80::1%eth0") is link-local, refused whatever its zone.
        address = ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


async def vetted_addresses(policy: AddressPolicy, host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, if the policy admits all of them (one refused
    address refuses the host: a name must not mix a public answer with a private one)."""
    addresses = await resolve(host, port)
    if not addresses:
        raise _Refused(f"{host} resolves to no address")
    for address in addresses:
        if not policy.admits(host, address, port):
            raise _Refused(f"{host}:{port} resolves to {address}, which the policy refuses")
    return addresses


class _PolicyBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the policy admits."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: Exception | None = None
        for address in await vetted_addresses(self.policy, host, port):
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise _Refused("unix sockets are never used for outbound requests")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _Transport(httpx.AsyncHTTPTransport):
    def __init__(self, policy: AddressPolicy, max_connections: int) -> None:
        super().__init__(trust_env=False)
        # httpx takes no network backend of its own, so the pool it built is replaced by one
        # that connects through the policy (tests/base/test_outbound_policy.py proves it holds).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            network_backend=_PolicyBackend(policy),
        )


def _ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context(trust_env=False)


class OutboundSession:
    """A connection pool for one event loop; open it with ``async with``."""

    def __init__(self, policy: AddressPolicy, max_connections: int) -> None:
        self._client = httpx.AsyncClient(
            transport=_Transport(policy, max_connections), trust_env=False, timeout=None
        )

    async def __aenter__(self) -> OutboundSession:
        await self._client.__aenter__()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._client.__aexit__(kind, exc, tb)

    async def request(
        self,
        method: str,
        url: str,
        *,
        timeout: float,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        read_limit: int | None = None,
        max_redirects: int = 0,
    ) -> Reply:
        """One exchange within ``timeout`` seconds in all. The body is read up to
        ``read_limit`` bytes (more is an error), or not at all when it is None; up to
        ``max_redirects`` redirects are followed, each checked like the first request."""
        try:
            async with asyncio.timeout(timeout):
                return await self._exchange(
                    method, url, content, headers, read_limit, max_redirects
                )
        except OutboundError as exc:
            failure = exc
        except _Refused as exc:
            failure = OutboundError(str(exc), "refused")
        except (TimeoutError, httpx.TimeoutException):
            failure = OutboundError(f"timed out after {timeout:g} s", "timeout")
        except (httpx.ConnectError, httpx.NetworkError) as exc:
            failure = OutboundError(f"{type(exc).__name__}: {exc}", "connect")
        except httpx.HTTPError as exc:
            failure = OutboundError(f"{type(exc).__name__}: {exc}", "protocol")
        except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
            failure = OutboundError(f"{type(exc).__name__}: {exc}", "invalid")
        log.debug("%s %s: %s (%s)", method, url[:300], failure.reason, failure.kind)
        raise failure

    async def _exchange(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: dict[str, str] | None,
        read_limit: int | None,
        max_redirects: int,
    ) -> Reply:
        request = self._client.build_request(method, url, content=content, headers=headers)
        for hop in range(max_redirects + 1):
            if request.url.scheme not in SCHEMES:
                raise OutboundError(f"scheme {request.url.scheme!r} is not http(s)", "invalid")
            response = await self._client.send(request, stream=True)
            try:
                if response.next_request is not None and hop < max_redirects:
                    request = response.next_request
                    continue
                body = b"" if read_limit is None else await _read(response, read_limit)
                return Reply(response.status_code, response.headers, body, str(request.url))
            finally:
                await response.aclose()
        raise AssertionError("unreachable: the last hop always returns")


async def _read(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise OutboundError(f"the body is larger than {limit} bytes", "too-large")
        chunks.append(chunk)
    return b"".join(chunks)


class Outbound:
    """The outbound client of one application: its policy, and sessions that apply it."""

    def __init__(self, policy: AddressPolicy, *, max_redirects: int = 3) -> None:
        self.policy = policy
        self.max_redirects = max_redirects

    def session(self, max_connections: int = 10) -> OutboundSession:
        return OutboundSession(self.policy, max_connections)

    def get(
        self,
        url: str,
        *,
        timeout: float,
        read_limit: int,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """A GET from synchronous code, following up to ``max_redirects`` redirects, in a
        short-lived pool of its own."""

        async def run() -> Reply:
            async with self.session(max_connections=2) as session:
                return await session.request(
                    "GET",
                    url,
                    timeout=timeout,
                    headers=headers,
                    read_limit=read_limit,
                    max_redirects=self.max_redirects,
                )

        return run_sync(run())

    def check_url(self, url: str, *, timeout: float = 5.0) -> None:
        """Raise OutboundError unless ``url`` is http(s) and its host resolves, now, only to
        addresses the policy admits (for an endpoint registered now and used later, which is
        checked again on every request)."""

        async def check() -> None:
            try:
                parsed = httpx.URL(url)
            except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
                raise OutboundError(f"invalid URL: {exc}", "invalid") from None
            if parsed.scheme not in SCHEMES or not parsed.host:
                raise OutboundError("not an http(s) URL with a host", "invalid")
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
            try:
                async with asyncio.timeout(timeout):
                    await vetted_addresses(self.policy, parsed.host, port)
            except _Refused as exc:
                raise OutboundError(str(exc), "refused") from None
            except TimeoutError:
                raise OutboundError("name resolution timed out", "timeout") from None

        run_sync(check())


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` in an event loop of its own, off this thread if one runs here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
