"""The outbound address policy: which addresses the server may open a connection to.

By default only public unicast addresses: loopback, private (RFC 1918, ULA), link-local (with
the cloud metadata addresses 169.254.169.254 and fd00:ec2::254), CGNAT, multicast, unspecified
and reserved ranges are refused, also when an IPv6 address carries one of them inside
(IPv4-mapped, IPv4-compatible, 6to4, NAT64, Teredo). An allow-list
(``CITYLOOP_OUTBOUND_ALLOW``) admits what a deployment needs, such as a receiver on its own
network.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_-]{1,63})*$")


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries, in any of the forms that reach it."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Whether an address is ordinary public unicast, the only kind admitted by default."""
    inner = embedded_ipv4(address)
    if inner is not None and not is_public(inner):
        return False
    refused = (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or address in _CGNAT
    )
    return not refused and address.is_global


def _plain(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address as its IPv4 self, so one allow-list entry covers both."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class Allowed:
    """One allow-list entry: a network (CIDR or single address) or a host name, and
    optionally one port."""

    network: IPNetwork | None = None
    host: str | None = None
    port: int | None = None

    def admits(self, host: str, address: IPAddress, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.host is not None:
            return normal_host(host) == self.host
        return self.network is not None and _plain(address) in self.network


def normal_host(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def _port(text: str, entry: str) -> int:
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{entry!r}: the port must be a number from 1 to 65535")
    return int(text)


def parse_entry(entry: str) -> Allowed:
    """``10.0.0.0/8``, ``127.0.0.1:8080``, ``[::1]:9000``, ``fd00::/8``, ``hooks.internal`` or
    ``hooks.internal:8443``."""
    text = entry.strip()
    port: int | None = None
    if text.startswith("["):
        inside, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{entry!r}: expected [address]:port")
            port = _port(rest[1:], entry)
        text = inside
    elif text.count(":") == 1:
        text, _, port_text = text.partition(":")
        port = _port(port_text, entry)
    try:
        return Allowed(network=ipaddress.ip_network(text, strict=False), port=port)
    except ValueError:
        pass
    host = normal_host(text)
    if not _HOSTNAME.match(host):
        raise ValueError(f"{entry!r} is neither an address, a CIDR network nor a host name")
    return Allowed(host=host, port=port)


class AddressPolicy:
    """Refuses every non-public address except those the allow-list admits."""

    def __init__(self, allowed: Iterable[Allowed] = ()) -> None:
        self.allowed = tuple(allowed)

    @classmethod
    def from_setting(cls, text: str | None) -> AddressPolicy:
        """From ``CITYLOOP_OUTBOUND_ALLOW``: comma-separated entries (see :func:`parse_entry`)."""
        entries = [part for part in (text or "").split(",") if part.strip()]
        try:
            return cls(parse_entry(part) for part in entries)
        except ValueError as exc:
            raise ValueError(f"CITYLOOP_OUTBOUND_ALLOW: {exc}") from None

    def admits(self, host: str, address: IPAddress, port: int) -> bool:
        """Whether a connection to ``address``:``port``, reached under the name ``host``, may
        be opened."""
        if any(entry.admits(host, address, port) for entry in self.allowed):
            return True
        return is_public(address)

    def check_host(self, host: str, port: int) -> None:
        """Raise ValueError naming the address unless every address ``host`` stands for now is
        admitted. For an address the operator configures and the server connects to through
        another client (the S3 endpoint), checked once at start-up."""
        name = normal_host(host)
        try:
            addresses = [ipaddress.ip_address(name)]
        except ValueError:
            try:
                answers = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError) as exc:
                raise ValueError(f"{host} does not resolve: {exc}") from None
            addresses = [ipaddress.ip_address(str(a[4][0]).split("%", 1)[0]) for a in answers]
        for address in addresses:
            if not self.admits(name, address, port):
                raise ValueError(
                    f"{host}:{port} ({address}) is not a public address; admit it in "
                    "CITYLOOP_OUTBOUND_ALLOW"
                )
