"""The outbound address policy, and the client that applies it, against real local sockets."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import closing, contextmanager
from ipaddress import ip_address
from typing import Any

import pytest

from cityloop.base.outbound import GENERIC, AddressPolicy, Outbound, OutboundError, is_public
from tests.support.receivers import LocalServer, QuietHandler
from tests.support.servers import free_port

REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "::1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "fd12:3456::1",
    "169.254.169.254",  # cloud metadata (link-local)
    "fd00:ec2::254",  # AWS metadata over IPv6 (ULA)
    "fe80::1",
    "100.64.0.1",  # CGNAT
    "100.100.100.200",  # a cloud metadata address inside CGNAT
    "224.0.0.1",
    "ff02::1",
    "0.0.0.0",
    "::",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.10",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::127.0.0.1",  # IPv4-compatible
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused_by_default(address: str) -> None:
    assert not is_public(ip_address(address))
    assert not AddressPolicy().admits("example.org", ip_address(address), 80)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_are_admitted(address: str) -> None:
    assert AddressPolicy().admits("example.org", ip_address(address), 443)


def test_the_allow_list_admits_networks_addresses_ports_and_names() -> None:
    policy = AddressPolicy.from_setting(
        " 10.20.0.0/16, 127.0.0.1:9000, [::1]:9001, hooks.internal, relay.internal:8443 ,"
    )
    loopback = ip_address("127.0.0.1")
    assert policy.admits("x", ip_address("10.20.3.4"), 1234)
    assert not policy.admits("x", ip_address("10.21.0.1"), 1234)
    assert policy.admits("x", loopback, 9000)
    assert policy.admits("x", ip_address("::ffff:127.0.0.1"), 9000)
    assert not policy.admits("x", loopback, 6379)
    assert policy.admits("x", ip_address("::1"), 9001)
    assert not policy.admits("x", ip_address("::1"), 9000)
    assert policy.admits("Hooks.Internal.", ip_address("10.9.9.9"), 80)
    assert policy.admits("relay.internal", ip_address("192.168.0.5"), 8443)
    assert not policy.admits("relay.internal", ip_address("192.168.0.5"), 80)
    assert not policy.admits("other.internal", ip_address("192.168.0.5"), 80)


@pytest.mark.parametrize("entry", ["10.0.0.0/99", "127.0.0.1:0", "host:port", "a b", "[::1]x"])
def test_a_bad_allow_list_entry_is_refused_naming_the_setting(entry: str) -> None:
    with pytest.raises(ValueError, match="CITYLOOP_OUTBOUND_ALLOW"):
        AddressPolicy.from_setting(entry)


# --- the client ---------------------------------------------------------------------------------


class Server(LocalServer):
    """Answers GET /ok with "ok", /big with 10 kB, and /go?to=URL with a 302 to that URL."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                server.paths.append(self.path)
                if self.path.startswith("/go?to="):
                    self.reply(b"", 302, Location=self.path.split("=", 1)[1])
                    return
                self.reply(b"x" * 10_000 if self.path == "/big" else b"ok")

        super().__init__(Handler)


@contextmanager
def serving() -> Iterator[Server]:
    with closing(Server()) as server:
        yield server


def client(allow: str = "") -> Outbound:
    return Outbound(AddressPolicy.from_setting(allow), max_redirects=3)


def failure(outbound: Outbound, url: str, read_limit: int = 1000) -> OutboundError:
    with pytest.raises(OutboundError) as caught:
        outbound.get(url, timeout=5, read_limit=read_limit)
    return caught.value


def test_loopback_is_refused_before_any_connection() -> None:
    with serving() as server:
        error = failure(client(), server.url + "/ok")
    assert server.paths == []
    assert (str(error), error.kind) == (GENERIC, "refused")


def test_a_host_name_is_judged_by_the_addresses_it_resolves_to() -> None:
    with serving() as server:
        error = failure(client(), f"http://localhost:{server.port}/ok")
        mapped = failure(client(), f"http://[::ffff:127.0.0.1]:{server.port}/ok")
    assert server.paths == []
    assert error.kind == mapped.kind == "refused"


def test_the_allow_list_admits_an_address_the_deployment_needs() -> None:
    with serving() as server:
        reply = client(f"127.0.0.1:{server.port}").get(
            f"http://localhost:{server.port}/ok", timeout=5, read_limit=100
        )
    assert (reply.status_code, reply.content) == (200, b"ok")
    assert server.paths == ["/ok"]


def test_a_redirect_to_a_refused_address_is_refused() -> None:
    with serving() as allowed, serving() as internal:
        outbound = client(f"127.0.0.1:{allowed.port}")
        error = failure(outbound, f"{allowed.url}/go?to={internal.url}/ok")
        # Within the allow-list a redirect is followed, each hop checked the same way.
        reply = outbound.get(f"{allowed.url}/go?to={allowed.url}/ok", timeout=5, read_limit=100)
    assert error.kind == "refused" and internal.paths == []
    assert reply.content == b"ok" and reply.url == f"{allowed.url}/ok"


def test_a_redirect_to_another_scheme_is_refused() -> None:
    with serving() as server:
        error = failure(client("127.0.0.1"), f"{server.url}/go?to=file:///etc/passwd")
    assert error.kind == "invalid"


def test_failures_all_read_the_same_whatever_the_reason() -> None:
    closed = free_port()
    with serving() as server:
        outbound = client(f"127.0.0.1:{server.port},127.0.0.1:{closed}")
        reasons = [
            failure(client(), f"{server.url}/ok"),  # refused by the policy
            failure(outbound, f"http://127.0.0.1:{closed}/ok"),  # nothing listens
            failure(outbound, f"{server.url}/big", read_limit=100),  # too large
        ]
    assert {str(error) for error in reasons} == {GENERIC}
    assert [error.kind for error in reasons] == ["refused", "connect", "too-large"]


def test_an_endpoint_is_checked_when_it_is_registered() -> None:
    outbound = client("127.0.0.1:9000")
    outbound.check_url("http://127.0.0.1:9000/hook")
    for url in (
        "http://127.0.0.1:6379/",
        "http://localhost:6379/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "gopher://127.0.0.1:9000/",
        "http://name.invalid/",
    ):
        with pytest.raises(OutboundError, match=f"^{GENERIC}$"):
            outbound.check_url(url)


def test_the_connection_goes_to_the_address_that_was_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: the name answers an admitted address when it is checked, then another.
    Only one lookup is made, and the connection goes to the checked address."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.test":
            lookups.append(host)
            answer = "127.0.0.1" if len(lookups) == 1 else "127.0.0.2"
            return real(answer, *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with serving() as server:  # listens on 127.0.0.1 only
        outbound = client(f"127.0.0.1:{server.port}")
        reply = outbound.get(f"http://rebind.test:{server.port}/ok", timeout=5, read_limit=100)
    assert (reply.status_code, reply.content) == (200, b"ok")
    assert lookups == ["rebind.test"]
