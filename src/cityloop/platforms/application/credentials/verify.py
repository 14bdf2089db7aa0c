"""Verifying a presentation: signature, disclosures, validity window and revocation status, each
refusal with its own reason. It needs no network: the trust it is given answers from what it
holds (a cache directory, or the server's own database).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from cityloop.platforms.application.credentials.messages import Reason, render
from cityloop.platforms.application.credentials.sdjwt import (
    SD_ALG,
    TYPES_READ,
    FormatError,
    decode_disclosure,
    digest,
    parse_jwt,
    split,
)
from cityloop.platforms.application.credentials.service import RESERVED

MAX_PRESENTATION = 64_000
# Clocks differ: a credential issued a little "in the future" by the issuer's clock is accepted.
LEEWAY_SECONDS = 60


class Trust(Protocol):
    """Whom a verifier trusts, with which keys, and what their status lists say."""

    def trusts(self, issuer: str) -> bool: ...

    def key(self, issuer: str, kid: str) -> Ed25519PublicKey | None: ...

    def status(self, *, issuer: str, uri: str, idx: int, now: int) -> int | None:
        """The entry's status (0 valid, 1 revoked), or None if it cannot be known now."""
        ...


def _when(seconds: int | None) -> str | None:
    return datetime.fromtimestamp(seconds, UTC).isoformat() if seconds is not None else None


@dataclass(frozen=True)
class Verdict:
    """The outcome: ``valid`` with the issuer, type, validity window and the claims disclosed,
    or a refusal with its reason code; ``message`` is in English and Chinese."""

    reason: Reason
    message_en: str
    message_zh: str
    issuer: str | None = None
    vct: str | None = None
    issued_at: str | None = None
    valid_from: str | None = None
    expires_at: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return self.reason is Reason.VALID

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "reason": self.reason.value,
            "message": {"en": self.message_en, "zh-CN": self.message_zh},
            "issuer": self.issuer,
            "vct": self.vct,
            "issued_at": self.issued_at,
            "valid_from": self.valid_from,
            "expires_at": self.expires_at,
            "claims": self.claims,
        }


class _Refused(Exception):
    def __init__(self, reason: Reason, **params: str) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.params = params


def _verdict(reason: Reason, params: dict[str, str], **fields: Any) -> Verdict:
    return Verdict(reason, render(reason, "en", params), render(reason, "zh-CN", params), **fields)


def _int_claim(payload: dict[str, Any], name: str) -> int | None:
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Refused(Reason.MALFORMED, detail=f"{name} is not a number of seconds")
    return value


def _disclosed(payload: dict[str, Any], disclosures: tuple[str, ...]) -> dict[str, Any]:
    """The visible and disclosed claims; every disclosure must match a digest in ``_sd``."""
    if payload.get("_sd_alg", SD_ALG) != SD_ALG:
        raise _Refused(Reason.MALFORMED, detail="only sha-256 disclosure digests are read")
    digests = payload.get("_sd", [])
    if not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
        raise _Refused(Reason.MALFORMED, detail="_sd is not a list of digests")
    claims = {k: v for k, v in payload.items() if k not in RESERVED}
    expected = set(digests)
    seen: set[str] = set()
    for disclosure in disclosures:
        hashed = digest(disclosure)
        if hashed not in expected or hashed in seen:
            raise _Refused(Reason.BAD_DISCLOSURE)
        seen.add(hashed)
        try:
            _, name, value = decode_disclosure(disclosure)
        except FormatError:
            raise _Refused(Reason.BAD_DISCLOSURE) from None
        if name in RESERVED or name in claims:
            raise _Refused(Reason.BAD_DISCLOSURE)
        claims[name] = value
    return claims


def _check(
    presentation: str, trust: Trust, now: int, issuer: str | None, vct: str | None
) -> Verdict:
    if len(presentation) > MAX_PRESENTATION:
        raise _Refused(Reason.MALFORMED, detail="the presentation is too long")
    try:
        parsed = split(presentation.strip())
        jwt = parse_jwt(parsed.jwt)
    except FormatError as exc:
        raise _Refused(Reason.MALFORMED, detail=str(exc)) from None
    header, payload = jwt.header, jwt.payload
    if header.get("typ") not in TYPES_READ:
        raise _Refused(Reason.MALFORMED, detail="the JWT is not typed as an SD-JWT VC")
    iss = payload.get("iss")
    if not isinstance(iss, str) or not iss:
        raise _Refused(Reason.MALFORMED, detail="the credential names no issuer")
    if (issuer is not None and iss != issuer) or not trust.trusts(iss):
        raise _Refused(Reason.WRONG_ISSUER, issuer=iss)
    kid = header.get("kid")
    key = trust.key(iss, kid) if isinstance(kid, str) else None
    if key is None:
        raise _Refused(Reason.UNKNOWN_KEY, issuer=iss)
    if not jwt.signed_by(key):
        raise _Refused(Reason.BAD_SIGNATURE)
    # Signed by a trusted key: from here on the payload is the issuer's own.
    claims = _disclosed(payload, parsed.disclosures)
    iat, nbf, exp = (_int_claim(payload, name) for name in ("iat", "nbf", "exp"))
    window = {
        "issuer": iss,
        "vct": payload.get("vct") if isinstance(payload.get("vct"), str) else None,
        "issued_at": _when(iat),
        "valid_from": _when(nbf if nbf is not None else iat),
        "expires_at": _when(exp),
    }
    if exp is not None and exp <= now:
        raise _Refused(Reason.EXPIRED, expires_at=str(window["expires_at"]))
    starts = max(t for t in (iat, nbf, -1) if t is not None)
    if starts > now + LEEWAY_SECONDS:
        raise _Refused(Reason.NOT_YET_VALID, valid_from=str(_when(starts)))
    if window["vct"] is None:
        raise _Refused(Reason.MALFORMED, detail="the credential has no vct")
    if vct is not None and window["vct"] != vct:
        raise _Refused(Reason.WRONG_TYPE, vct=str(window["vct"]))
    status = payload.get("status")
    if status is not None:
        ref = status.get("status_list") if isinstance(status, dict) else None
        idx, uri = (ref.get("idx"), ref.get("uri")) if isinstance(ref, dict) else (None, None)
        if not isinstance(idx, int) or isinstance(idx, bool) or not isinstance(uri, str):
            raise _Refused(Reason.MALFORMED, detail="the status claim has no idx and uri")
        bit = trust.status(issuer=iss, uri=uri, idx=idx, now=now)
        if bit is None:
            raise _Refused(Reason.STATUS_UNAVAILABLE)
        if bit != 0:
            raise _Refused(Reason.REVOKED)
    return _verdict(Reason.VALID, {"issuer": iss}, **window, claims=claims)


def verify(
    presentation: str,
    *,
    trust: Trust,
    now: datetime | None = None,
    issuer: str | None = None,
    vct: str | None = None,
) -> Verdict:
    """The verdict on a presentation (or a whole SD-JWT); ``issuer`` and ``vct``, when given,
    are what the verifier expects."""
    moment = int((now or datetime.now(UTC)).timestamp())
    try:
        return _check(presentation, trust, moment, issuer, vct)
    except _Refused as refused:
        return _verdict(refused.reason, refused.params)
