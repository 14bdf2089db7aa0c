"""Issuing, presenting and revoking credentials, and what the issuer publishes for verifiers.

The platform knows nothing of licences: a caller (the services domain) names the issuer (a
department code), the credential type (``vct``), the claims, which of them the holder may
disclose one by one, and a subject reference of its own.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.problems import bad_request, not_found
from cityloop.platforms.application.credentials import statuslist
from cityloop.platforms.application.credentials.keys import (
    KeyVault,
    current_key,
    key_from_jwk,
    key_row,
    published_keys,
    signing_key,
)
from cityloop.platforms.application.credentials.messages import Message
from cityloop.platforms.application.credentials.models import Credential
from cityloop.platforms.application.credentials.sdjwt import (
    ALG,
    SD_ALG,
    TYP,
    FormatError,
    SdJwt,
    b64url_decode,
    decode_disclosure,
    decoy_digest,
    digest,
    make_disclosure,
    sign,
    split,
)
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.service import Actor

# Claims the platform sets itself; a caller's claims may not use these names.
RESERVED = frozenset(
    {"iss", "iat", "nbf", "exp", "vct", "vct#integrity", "status", "cnf", "_sd", "_sd_alg", "..."}
)
MAX_CLAIMS_BYTES = 16_000
ISSUERS_PATH = "/issuers/"
STATUS_PATH = "/credentials/status-lists/"
METADATA_PATH = "/.well-known/jwt-vc-issuer"


@dataclass(frozen=True)
class Authority:
    """What issuing and publishing need from the running app: the key vault, the public base
    URL (issuer identifiers and status list URLs start with it) and how long a status list
    token stays valid."""

    vault: KeyVault
    base_url: str
    status_valid_seconds: int

    def issuer_id(self, issuer_code: str) -> str:
        return f"{self.base_url}{ISSUERS_PATH}{issuer_code}"

    def issuer_code(self, issuer: str) -> str | None:
        """The department code of one of our issuer identifiers, else None."""
        prefix = self.base_url + ISSUERS_PATH
        code = issuer.removeprefix(prefix)
        return code if issuer.startswith(prefix) and code and "/" not in code else None

    def status_uri(self, issuer_code: str, number: int) -> str:
        return f"{self.base_url}{STATUS_PATH}{issuer_code}/{number}"

    def status_list_of(self, uri: str) -> tuple[str, int] | None:
        """(issuer code, list number) of one of our status list URLs, else None."""
        prefix = self.base_url + STATUS_PATH
        code, _, number = uri.removeprefix(prefix).partition("/")
        if not uri.startswith(prefix) or not code or not number.isdigit():
            return None
        return code, int(number)


def metadata_url(issuer: str) -> str:
    """Where the SD-JWT VC draft puts an issuer's metadata: ``/.well-known/jwt-vc-issuer``
    between the issuer identifier's host and its path."""
    scheme, _, rest = issuer.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host}{METADATA_PATH}{slash}{path}"


@dataclass(frozen=True)
class Issued:
    """A credential just issued: the compact SD-JWT for the holder, and the stored record."""

    sd_jwt: str
    credential: Credential


def _check_request(
    vct: str, claims: dict[str, Any], disclosable: Collection[str], expires_at: datetime | None
) -> None:
    if not isinstance(vct, str) or not vct.strip() or len(vct) > 300 or ":" not in vct:
        raise bad_request(Message("credentials.vct_uri_urn_most"), "vct")
    if not isinstance(claims, dict) or not all(isinstance(k, str) and k for k in claims):
        raise bad_request(Message("credentials.claims_object_named_members"), "claims")
    reserved = sorted(RESERVED & set(claims))
    if reserved:
        raise bad_request(
            Message("credentials.claims_may_set", {"items": ", ".join(reserved)}), "claims"
        )
    unknown = sorted(set(disclosable) - set(claims))
    if unknown:
        raise bad_request(
            Message("credentials.claim_named_disclose", {"items": ", ".join(unknown)}),
            "disclosable",
        )
    try:
        size = len(json.dumps(claims, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError):
        raise bad_request(Message("credentials.claims_plain_json_values"), "claims") from None
    if size > MAX_CLAIMS_BYTES:
        raise bad_request(
            Message("credentials.claims_are_limited_bytes", {"limit": str(MAX_CLAIMS_BYTES)}),
            "claims",
        )
    if expires_at is not None and expires_at.tzinfo is None:
        raise bad_request(Message("credentials.expires_time_zone"), "expires_at")


def issue(
    session: Session,
    *,
    authority: Authority,
    issuer: str,
    vct: str,
    claims: dict[str, Any],
    disclosable: Collection[str] = (),
    subject_ref: str = "",
    expires_at: datetime | None = None,
    valid_from: datetime | None = None,
    now: datetime | None = None,
) -> Issued:
    """Sign an SD-JWT VC with the issuer's current key and record it (without its claims)."""
    now = now or utcnow()
    _check_request(vct, claims, disclosable, expires_at)
    identity.require_department(session, code=issuer, field="issuer")
    if expires_at is not None and expires_at <= now:
        raise bad_request(Message("credentials.expires_future"), "expires_at")
    key = signing_key(session, vault=authority.vault, issuer_code=issuer)
    status_list, idx = statuslist.allocate(session, issuer_code=issuer)
    hidden = set(disclosable)
    disclosures = [make_disclosure(name, claims[name]) for name in claims if name in hidden]
    digests = [digest(d) for d in disclosures]
    digests += [decoy_digest() for _ in range(1 + secrets.randbelow(3))]
    payload: dict[str, Any] = {"iss": authority.issuer_id(issuer), "iat": int(now.timestamp())}
    if valid_from is not None:
        payload["nbf"] = int(valid_from.timestamp())
    if expires_at is not None:
        payload["exp"] = int(expires_at.timestamp())
    payload["vct"] = vct
    payload["status"] = {
        "status_list": {"idx": idx, "uri": authority.status_uri(issuer, status_list.number)}
    }
    payload.update({name: value for name, value in claims.items() if name not in hidden})
    payload["_sd"] = sorted(digests)  # sorted: the order tells nothing about the claims
    payload["_sd_alg"] = SD_ALG
    jwt = sign({"alg": ALG, "typ": TYP, "kid": key.kid}, payload, key.private)
    record = Credential(
        id=uuid.uuid4().hex,
        issuer_code=issuer,
        vct=vct,
        kid=key.kid,
        status_list_id=status_list.id,
        status_idx=idx,
        subject_ref=subject_ref[:200],
        jwt_digest=digest(jwt),
        issued_at=now,
        expires_at=expires_at,
    )
    session.add(record)
    session.flush()
    return Issued(SdJwt(jwt, tuple(disclosures)).serialize(), record)


def get_credential(session: Session, *, credential_id: str) -> Credential:
    """The record of a credential; 404 if there is none."""
    record = session.get(Credential, credential_id)
    if record is None:
        raise not_found("credential", credential_id)
    return record


def find_credential(session: Session, *, presentation: str) -> Credential | None:
    """The record of the credential a presentation (or the full SD-JWT) comes from."""
    try:
        jwt = split(presentation.strip()).jwt
    except FormatError:
        return None
    return session.scalar(select(Credential).where(Credential.jwt_digest == digest(jwt)))


def revoke(
    session: Session,
    *,
    credential_id: str,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> Credential:
    """Revoke a credential: its status bit is set from now on (idempotent; audited)."""
    record = get_credential(session, credential_id=credential_id)
    already = record.revoked_at is not None
    if not already:
        record.revoked_at = now or utcnow()
        record.revoked_reason = reason[:500]
    identity.audit(
        session,
        actor=actor,
        action="credentials.revoke",
        target=f"credential:{record.id}",
        detail={"reason": reason[:500], "already_revoked": already, "issuer": record.issuer_code},
    )
    return record


@dataclass(frozen=True)
class HolderView:
    """What the holder's SD-JWT contains: claims always visible and claims it may disclose."""

    visible: dict[str, Any]
    disclosable: dict[str, Any]


def _payload(jwt: str) -> dict[str, Any]:
    parts = jwt.split(".")
    try:
        value = json.loads(b64url_decode(parts[1])) if len(parts) == 3 else None
    except (FormatError, ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, dict):
        raise bad_request(Message("credentials.sd_jwt_jwt_payload"), "sd_jwt")
    return value


def holder_view(sd_jwt: str) -> HolderView:
    """Read an SD-JWT as its holder does (no signature check: the holder received it)."""
    try:
        parsed = split(sd_jwt.strip())
        disclosures = [decode_disclosure(d) for d in parsed.disclosures]
    except FormatError as exc:
        raise bad_request(Message("credentials.not_sd_jwt", {"exc": str(exc)}), "sd_jwt") from None
    payload = _payload(parsed.jwt)
    visible = {k: v for k, v in payload.items() if k not in RESERVED}
    return HolderView(visible, {name: value for _, name, value in disclosures})


def present(sd_jwt: str, *, disclose: Collection[str]) -> str:
    """The holder's presentation: the SD-JWT with only the disclosures of the claims named."""
    try:
        parsed = split(sd_jwt.strip())
        names = [decode_disclosure(d)[1] for d in parsed.disclosures]
    except FormatError as exc:
        raise bad_request(Message("credentials.not_sd_jwt", {"exc": str(exc)}), "sd_jwt") from None
    visible = set(_payload(parsed.jwt)) - RESERVED
    unknown = sorted(set(disclose) - set(names) - visible)
    if unknown:
        raise bad_request(
            Message("credentials.credential_claim", {"items": ", ".join(unknown)}), "disclose"
        )
    wanted = set(disclose)
    kept = tuple(d for d, name in zip(parsed.disclosures, names, strict=True) if name in wanted)
    return SdJwt(parsed.jwt, kept).serialize()


# What the issuer publishes.


def jwks(session: Session, *, authority: Authority, now: datetime) -> dict[str, Any]:
    """Every issuer's published public keys as one JWKS."""
    validity = timedelta(seconds=authority.status_valid_seconds)
    rows = published_keys(session, now=now, status_validity=validity)
    return {"keys": [dict(row.public_jwk) for row in rows]}


def issuer_metadata(
    session: Session, *, authority: Authority, issuer_code: str, now: datetime
) -> dict[str, Any]:
    """The SD-JWT VC issuer metadata of one issuer: its identifier and its JWKS."""
    if identity.get_department(session, code=issuer_code) is None:
        raise not_found("issuer", issuer_code)
    validity = timedelta(seconds=authority.status_valid_seconds)
    rows = published_keys(session, now=now, status_validity=validity, issuer_code=issuer_code)
    return {
        "issuer": authority.issuer_id(issuer_code),
        "jwks": {"keys": [dict(row.public_jwk) for row in rows]},
    }


def status_list_token(
    session: Session, *, authority: Authority, issuer_code: str, number: int, now: datetime
) -> str:
    """The signed status list token of one list, as it stands now."""
    status_list = statuslist.list_numbered(session, issuer_code=issuer_code, number=number)
    key = current_key(session, vault=authority.vault, issuer_code=issuer_code)
    if status_list is None or key is None:
        raise not_found("status list", f"{issuer_code}/{number}")
    claims = statuslist.token_claims(
        uri=authority.status_uri(issuer_code, number),
        issuer=authority.issuer_id(issuer_code),
        bits=statuslist.bits_of(session, status_list=status_list),
        now=now,
        valid_seconds=authority.status_valid_seconds,
    )
    return sign({"alg": ALG, "typ": statuslist.TYP, "kid": key.kid}, claims, key.private)


@dataclass(frozen=True)
class IssuerEntry:
    code: str
    issuer: str
    metadata_url: str
    status_lists: list[str]


def issuers(session: Session, *, authority: Authority) -> list[IssuerEntry]:
    """Every issuer that has issued a credential, with the URLs a verifier caches."""
    lists: dict[str, list[str]] = {}
    for status_list in statuslist.lists_of(session):
        uri = authority.status_uri(status_list.issuer_code, status_list.number)
        lists.setdefault(status_list.issuer_code, []).append(uri)
    return [
        IssuerEntry(code, authority.issuer_id(code), metadata_url(authority.issuer_id(code)), uris)
        for code, uris in sorted(lists.items())
    ]


class PublicKeyCache:
    """Parsed public keys by kid, shared by every verification in a process: a key never
    changes once made, so it is parsed once."""

    def __init__(self) -> None:
        self._keys: dict[str, tuple[str, Ed25519PublicKey]] = {}

    def get(self, session: Session, kid: str) -> tuple[str, Ed25519PublicKey] | None:
        """(issuer code, public key) of a kid, or None when no such key exists."""
        found = self._keys.get(kid)
        if found is None:
            row = key_row(session, kid=kid)
            if row is None:
                return None
            found = (row.issuer_code, key_from_jwk(row.public_jwk))
            self._keys[kid] = found
        return found


class DatabaseTrust:
    """The server's own trust for ``verify``: its issuers, their keys and the revocation bits
    read from the database, so a revocation counts at once in every process."""

    def __init__(self, session: Session, *, authority: Authority, keys: PublicKeyCache) -> None:
        self.session = session
        self.authority = authority
        self.keys = keys

    def trusts(self, issuer: str) -> bool:
        code = self.authority.issuer_code(issuer)
        return code is not None and identity.get_department(self.session, code=code) is not None

    def key(self, issuer: str, kid: str) -> Ed25519PublicKey | None:
        found = self.keys.get(self.session, kid)
        if found is None or found[0] != self.authority.issuer_code(issuer):
            return None
        return found[1]

    def status(self, *, issuer: str, uri: str, idx: int, now: int) -> int | None:
        where = self.authority.status_list_of(uri)
        if where is None or where[0] != self.authority.issuer_code(issuer):
            return None
        status_list = statuslist.list_numbered(self.session, issuer_code=where[0], number=where[1])
        if status_list is None or not 0 <= idx < status_list.size:
            return None
        revoked_at = self.session.scalar(
            select(Credential.revoked_at).where(
                Credential.status_list_id == status_list.id, Credential.status_idx == idx
            )
        )
        return 1 if revoked_at is not None else 0
