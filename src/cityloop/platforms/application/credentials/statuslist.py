"""Token Status Lists (draft-ietf-oauth-status-list): one bit per credential, 0 valid and
1 revoked, zlib-compressed, base64url-encoded, in a JWT the issuer signs.

Indices are drawn at random within a list (the draft's advice: an index then tells nothing about
the order of issue), and a list takes new credentials until it is half full, so a free index is
found in two draws on average.
"""

from __future__ import annotations

import secrets
import zlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.platforms.application.credentials.models import Credential, StatusList
from cityloop.platforms.application.credentials.sdjwt import (
    FormatError,
    Jwt,
    b64url,
    b64url_decode,
)

TYP = "statuslist+jwt"
LIST_SIZE = 1 << 16  # entries per list: 8 KiB of bits before compression
FILL = 0.5
# Verifiers that are online fetch the list again after this long (the ``ttl`` claim), and the
# signed token changes at most this often, so its ETag holds for that long.
TTL_SECONDS = 300
# A decompressed list larger than this is refused (a zlib bomb in a forged token).
MAX_LIST_BYTES = 1 << 22


def encode(bits: bytearray) -> str:
    """``lst``: the bit array, zlib-compressed, base64url."""
    return b64url(zlib.compress(bytes(bits), 9))


def decode(lst: str) -> bytes:
    """The bit array of ``lst``; FormatError if it is not one."""
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(b64url_decode(lst), MAX_LIST_BYTES)
    except zlib.error:
        raise FormatError("the status list is not zlib-compressed") from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise FormatError("the status list is too large or truncated")
    return raw


def bit(bits: bytes, idx: int) -> int | None:
    """Entry ``idx`` (bit ``idx % 8`` of byte ``idx // 8``, least significant first), or None
    when the list is shorter."""
    byte = idx >> 3
    if idx < 0 or byte >= len(bits):
        return None
    return (bits[byte] >> (idx & 7)) & 1


def set_bit(bits: bytearray, idx: int) -> None:
    bits[idx >> 3] |= 1 << (idx & 7)


def allocate(session: Session, *, issuer_code: str) -> tuple[StatusList, int]:
    """A free entry in the issuer's open status list (a new list when it is half full)."""
    current = session.scalar(
        select(StatusList)
        .where(StatusList.issuer_code == issuer_code)
        .order_by(StatusList.number.desc())
        .limit(1)
        .with_for_update()
    )
    if current is None or current.used >= current.size * FILL:
        number = (current.number + 1) if current else 1
        current = StatusList(issuer_code=issuer_code, number=number, size=LIST_SIZE, used=0)
        session.add(current)
        session.flush()
    while True:
        idx = secrets.randbelow(current.size)
        taken = session.scalar(
            select(func.count())
            .select_from(Credential)
            .where(Credential.status_list_id == current.id, Credential.status_idx == idx)
        )
        if not taken:
            break
    current.used += 1
    return current, idx


def list_numbered(session: Session, *, issuer_code: str, number: int) -> StatusList | None:
    return session.scalar(
        select(StatusList).where(StatusList.issuer_code == issuer_code, StatusList.number == number)
    )


def lists_of(session: Session) -> list[StatusList]:
    """Every status list, by issuer and number."""
    return list(
        session.scalars(select(StatusList).order_by(StatusList.issuer_code, StatusList.number))
    )


def bits_of(session: Session, *, status_list: StatusList) -> bytearray:
    """The list's bits now: set for every revoked credential that points into it."""
    bits = bytearray(status_list.size // 8)
    revoked = session.scalars(
        select(Credential.status_idx).where(
            Credential.status_list_id == status_list.id, Credential.revoked_at.is_not(None)
        )
    )
    for idx in revoked:
        set_bit(bits, idx)
    return bits


def token_claims(
    *, uri: str, issuer: str, bits: bytearray, now: datetime, valid_seconds: int
) -> dict[str, object]:
    """The status list token's payload. ``iat`` is ``now`` rounded down to the TTL, so the
    same list gives the same token (Ed25519 signatures are deterministic) for that long."""
    issued = int(now.timestamp()) // TTL_SECONDS * TTL_SECONDS
    return {
        "sub": uri,
        "iss": issuer,
        "iat": issued,
        "exp": issued + valid_seconds,
        "ttl": TTL_SECONDS,
        "status_list": {"bits": 1, "lst": encode(bits)},
    }


@dataclass(frozen=True)
class ReadList:
    """A verified status list token's content."""

    uri: str
    issued_at: int
    expires_at: int | None
    ttl: int | None
    bits: bytes


def read_token(jwt: Jwt) -> ReadList:
    """The content of a status list JWT whose signature the caller has checked."""
    if jwt.header.get("typ") != TYP:
        raise FormatError(f"a status list token has typ {TYP}")
    claims = jwt.payload
    status_list = claims.get("status_list")
    if not isinstance(status_list, dict) or status_list.get("bits") != 1:
        raise FormatError("only one-bit status lists are read")
    lst = status_list.get("lst")
    if not isinstance(lst, str):
        raise FormatError("the status list has no lst")
    sub, iat, exp, ttl = (claims.get(k) for k in ("sub", "iat", "exp", "ttl"))
    if not isinstance(sub, str) or not isinstance(iat, int):
        raise FormatError("a status list token names its sub and iat")
    if exp is not None and not isinstance(exp, int):
        raise FormatError("exp is a number of seconds")
    if ttl is not None and not isinstance(ttl, int):
        raise FormatError("ttl is a number of seconds")
    return ReadList(sub, iat, exp, ttl, decode(lst))
