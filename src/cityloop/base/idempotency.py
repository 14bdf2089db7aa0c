"""Idempotency-Key support for intake: a retried submission gets the first answer back."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cityloop.base.db import Base, utcnow
from cityloop.base.messages import Message
from cityloop.base.problems import Problem, bad_request

MAX_KEY_LENGTH = 200


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(60), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def request_fingerprint(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise bad_request(
            Message("idempotency_key_invalid", {"max_length": str(MAX_KEY_LENGTH)}),
            field="Idempotency-Key",
        )
    return key


def replay(
    session: Session, scope: str, key: str | None, fingerprint: str
) -> IdempotencyRecord | None:
    """The stored answer for this key, or None. The same key with another body is a 422."""
    if key is None:
        return None
    record = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
        )
    )
    if record is not None and record.request_hash != fingerprint:
        raise Problem(
            422,
            "idempotency-key-reused",
            Message("idempotency_key_reused"),
            field="Idempotency-Key",
        )
    return record


def remember(
    session: Session,
    scope: str,
    key: str | None,
    fingerprint: str,
    status_code: int,
    response: dict[str, Any],
) -> None:
    """Store the answer in the same transaction as the work, so both or neither survive."""
    if key is None:
        return
    session.add(
        IdempotencyRecord(
            scope=scope,
            key=key,
            request_hash=fingerprint,
            status_code=status_code,
            response=response,
        )
    )
