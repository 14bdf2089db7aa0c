"""The access log as a tamper-evident chain (in the manner of X-Road's message logs).

Each entry stores the SHA-256 of the previous entry's hash and its own content (``link``), so
editing, deleting or reordering rows breaks the chain from that row on; the head row holds the
newest link, so a deleted tail shows too. At intervals the chain's hash is signed with the
platform's Ed25519 key (a checkpoint): a database rewritten from the first row, hashes and all,
cannot carry a valid signature. ``verify`` walks it all and names the first broken entry.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.platforms.application.credentials.keys import KeyVault, key_from_jwk, public_jwk
from cityloop.platforms.data.access.models import (
    ChainCheckpoint,
    ChainHead,
    DataAccess,
    PlatformKey,
)

GENESIS = "0" * 64
HEAD_ID = 1
HEAD_LOCK = "cityloop.access_log.head_locked"
BATCH = 5000


def _moment(value: datetime | None) -> str | None:
    # In UTC, as every engine gives a stored time back, so a hash made before the row is
    # written matches the one a verifier makes from the row.
    return value.astimezone(UTC).isoformat() if value is not None else None


def content(entry: Any) -> bytes:
    """The entry's own content, canonically encoded (its id included, so rows cannot swap); an
    entry is a row object or a result row with the log's columns."""
    values = [
        entry.id, _moment(entry.at), entry.user_id, entry.actor, entry.actor_role,
        entry.actor_department, list(entry.fields or []), entry.purpose, entry.reference,
        entry.legal_basis, entry.consent_id, _moment(entry.consent_at),
    ]  # fmt: skip
    # Added later: present only when set, so entries logged before them keep their hashes.
    if entry.enterprise_uscc is not None or entry.grant_id is not None:
        values += [entry.enterprise_uscc, entry.grant_id]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def link(prev_hash: str, entry: Any) -> str:
    """The entry's hash: SHA-256 over the previous hash and the entry's content."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + content(entry)).hexdigest()


def _head(session: Session, *, lock: bool) -> ChainHead:
    head = session.get(ChainHead, HEAD_ID, with_for_update=lock)
    if head is None:
        head = ChainHead(id=HEAD_ID, last_id=0, last_hash=GENESIS)
        session.add(head)
        session.flush()
    return head


def locked_head(session: Session) -> ChainHead:
    """The chain's head, locked until commit. Take it before making the entry: the entry's id
    is the head's next, so ids follow the chain's order on every engine."""
    # Locked once per transaction: later entries of the same transaction reuse the lock.
    # The transaction object itself is kept (not its id), so a later transaction never passes
    # for the one that took the lock.
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(HEAD_LOCK) is transaction:
        head = session.get(ChainHead, HEAD_ID)
        if head is not None:
            return head
    head = _head(session, lock=True)
    session.info[HEAD_LOCK] = transaction
    return head


def append(session: Session, *, entry: DataAccess, head: ChainHead) -> None:
    """Chain a new entry, its id given, after the newest one (``head`` from :func:`locked_head`)."""
    entry.prev_hash = head.last_hash
    entry.entry_hash = link(head.last_hash, entry)
    head.last_id, head.last_hash = entry.id, entry.entry_hash


# ------------------------------------------------------------------ signing


def _platform_key(session: Session, vault: KeyVault) -> tuple[str, Ed25519PrivateKey]:
    row = session.scalar(select(PlatformKey).order_by(PlatformKey.created_at.desc()).limit(1))
    if row is None:
        private = Ed25519PrivateKey.generate()
        jwk = public_jwk(private.public_key())
        row = PlatformKey(
            kid=jwk["kid"], public_jwk=jwk, private_sealed=vault.seal(jwk["kid"], private)
        )
        session.add(row)
        session.flush()
        return row.kid, private
    return row.kid, vault.open_sealed(row.kid, bytes(row.private_sealed), owner="the access log")


def _statement(upto_id: int, upto_hash: str, at: datetime) -> bytes:
    return f"cityloop-access-log\n{upto_id}\n{upto_hash}\n{at.isoformat()}".encode("ascii")


def checkpoint(session: Session, *, vault: KeyVault) -> ChainCheckpoint | None:
    """Sign the chain's newest link, unless the last checkpoint already covers it."""
    head = _head(session, lock=True)
    last = session.scalar(select(func.max(ChainCheckpoint.upto_id)))
    if head.last_id == 0 or (last is not None and last >= head.last_id):
        return None
    kid, key = _platform_key(session, vault)
    at = utcnow().replace(microsecond=0)
    signature = key.sign(_statement(head.last_id, head.last_hash, at))
    row = ChainCheckpoint(
        upto_id=head.last_id, upto_hash=head.last_hash, at=at, kid=kid,
        signature=base64.urlsafe_b64encode(signature).decode("ascii"),
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


# ------------------------------------------------------------------ verifying


# How a chain can break: a link, an entry's content, its end, a checkpoint's signature, or a
# chain rewritten under a checkpoint.
BreakKind = Literal["unlinked", "edited", "truncated", "bad_signature", "rewritten"]


@dataclass(frozen=True)
class ChainReport:
    """What a walk of the chain found: how much it checked, and the first break, if any."""

    entries: int
    checkpoints: int
    broken_at: int | None = None
    reason: str = ""
    # The kind of break, as a code a screen names in its reader's language.
    kind: BreakKind | Literal[""] = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def _entries(session: Session) -> Iterator[Any]:
    # Plain result rows, in batches: a long log is walked without building ORM objects.
    table = DataAccess.__table__
    after = 0
    while True:
        rows = session.execute(
            select(table).where(table.c.id > after).order_by(table.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].id


def verify(session: Session) -> ChainReport:
    """Walk every entry and checkpoint; the first entry that breaks the chain, and why."""
    previous, count, hashes_at = GENESIS, 0, {}
    wanted = {c.upto_id: c for c in session.scalars(select(ChainCheckpoint))}
    for entry in _entries(session):
        count += 1
        if entry.prev_hash != previous:
            why = "its link to the previous entry is broken (an entry was removed or reordered)"
            return ChainReport(count, 0, entry.id, why, "unlinked")
        if link(previous, entry) != entry.entry_hash:
            return ChainReport(
                count, 0, entry.id, "its content does not match its hash (it was edited)", "edited"
            )
        previous = entry.entry_hash
        if entry.id in wanted:
            hashes_at[entry.id] = entry.entry_hash
        last_id = entry.id
    head = session.get(ChainHead, HEAD_ID)
    if head is not None and head.last_id and (count == 0 or head.last_hash != previous):
        end = last_id if count else head.last_id
        return ChainReport(
            count,
            0,
            end,
            f"the chain ends before entry {head.last_id}, its newest (entries were removed)",
            "truncated",
        )
    keys = {row.kid: key_from_jwk(row.public_jwk) for row in session.scalars(select(PlatformKey))}
    for number, mark in enumerate(sorted(wanted.values(), key=lambda c: c.upto_id), start=1):
        key = keys.get(mark.kid)
        try:
            if key is None:
                raise InvalidSignature
            signature = base64.urlsafe_b64decode(mark.signature.encode("ascii"))
            key.verify(signature, _statement(mark.upto_id, mark.upto_hash, mark.at))
        except (InvalidSignature, ValueError):
            return ChainReport(
                count, number - 1, mark.upto_id, "the checkpoint's signature is not valid",
                "bad_signature",
            )  # fmt: skip
        if hashes_at.get(mark.upto_id) != mark.upto_hash:
            return ChainReport(
                count, number - 1, mark.upto_id,
                "the chain differs from what the checkpoint signed", "rewritten",
            )  # fmt: skip
    return ChainReport(count, len(wanted))
