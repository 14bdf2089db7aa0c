"""Outbound HTTP with an address policy: the only way the server opens a connection that a
user's input can aim (see docs/operations.md, "Outbound requests")."""

from cityloop.base.outbound.client import (
    GENERIC,
    Outbound,
    OutboundError,
    OutboundSession,
    Reply,
    run_sync,
)
from cityloop.base.outbound.policy import AddressPolicy, is_public

__all__ = [
    "GENERIC",
    "AddressPolicy",
    "Outbound",
    "OutboundError",
    "OutboundSession",
    "Reply",
    "is_public",
    "run_sync",
]
