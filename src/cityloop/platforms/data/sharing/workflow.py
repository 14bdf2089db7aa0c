"""A grant's life as one table: which action moves which status, and who may take it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cityloop.base.statemachine import Transition, TransitionTable


class GrantStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REFUSED = "refused"
    REVOKED = "revoked"
    EXPIRED = "expired"


class Party(StrEnum):
    """Who takes an action: the owner department (its handlers, or an administrator), or the
    platform's own timer."""

    OWNER = "owner"
    SYSTEM = "system"


@dataclass(frozen=True)
class GrantTransition(Transition[GrantStatus]):
    party: Party = Party.OWNER
    # Refusing and revoking must say why: the requester reads it in the 403 of its next read.
    needs_reason: bool = False


S = GrantStatus
GRANT_WORKFLOW: TransitionTable[GrantTransition] = TransitionTable(
    "data grant",
    [
        GrantTransition("approve", frozenset({S.REQUESTED}), S.APPROVED),
        GrantTransition("refuse", frozenset({S.REQUESTED}), S.REFUSED, needs_reason=True),
        GrantTransition("revoke", frozenset({S.APPROVED}), S.REVOKED, needs_reason=True),
        GrantTransition("expire", frozenset({S.APPROVED}), S.EXPIRED, party=Party.SYSTEM),
    ],
)
