"""Request bodies and answers of the credential routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from cityloop.base.contracts import Answer, JsonObject, Timestamp
from cityloop.base.db import iso
from cityloop.platforms.application.credentials.models import Credential, IssuerKey
from cityloop.platforms.application.credentials.service import Authority, IssuerEntry
from cityloop.platforms.application.credentials.verify import Verdict


class VerifyRequest(BaseModel):
    """A presentation as text, or what a QR code held (the presentation, or a link carrying it
    after ``#``); optionally the issuer and credential type the verifier expects."""

    model_config = ConfigDict(extra="forbid")

    presentation: str | None = Field(default=None, max_length=64_000)
    qr: str | None = Field(default=None, max_length=64_000)
    issuer: str | None = Field(default=None, max_length=300)
    vct: str | None = Field(default=None, max_length=300)


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500)


class BothLanguages(Answer):
    en: str
    zh_CN: str = Field(alias="zh-CN")

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)


class VerdictOut(Answer):
    """The verdict on a presentation. ``claims`` holds only what the holder disclosed (and the
    claims the issuer left visible); a refusal carries no claims."""

    valid: bool
    reason: str = Field(description="valid, or the reason for the refusal")
    message: BothLanguages
    issuer: str | None
    vct: str | None
    issued_at: Timestamp | None
    valid_from: Timestamp | None
    expires_at: Timestamp | None
    claims: JsonObject


def verdict_out(verdict: Verdict) -> VerdictOut:
    return VerdictOut.model_validate(verdict.as_dict())


class Jwk(Answer):
    kty: str
    crv: str
    x: str
    kid: str
    alg: str
    use: str


class Jwks(Answer):
    keys: list[Jwk]


class IssuerMetadata(Answer):
    """SD-JWT VC issuer metadata: the issuer identifier and its keys."""

    issuer: str
    jwks: Jwks


class IssuerListed(Answer):
    code: str
    issuer: str
    metadata_url: str
    status_lists: list[str]


class IssuerList(Answer):
    """Every issuer of this city, with the URLs a verifier caches for offline use."""

    jwks_uri: str
    issuers: list[IssuerListed]


def issuer_list_out(authority: Authority, entries: list[IssuerEntry]) -> IssuerList:
    return IssuerList(
        jwks_uri=f"{authority.base_url}/.well-known/jwks.json",
        issuers=[
            IssuerListed(
                code=e.code,
                issuer=e.issuer,
                metadata_url=e.metadata_url,
                status_lists=e.status_lists,
            )
            for e in entries
        ],
    )


class KeyOut(Answer):
    issuer: str
    kid: str
    created_at: Timestamp
    public_jwk: Jwk


def key_out(authority: Authority, row: IssuerKey) -> KeyOut:
    return KeyOut(
        issuer=authority.issuer_id(row.issuer_code),
        kid=row.kid,
        created_at=iso(row.created_at) or "",
        public_jwk=Jwk.model_validate(row.public_jwk),
    )


class CredentialOut(Answer):
    """A credential's record as staff see it (never its claims: they are not kept)."""

    id: str
    issuer: str
    vct: str
    kid: str
    status_list: str
    status_idx: int
    subject_ref: str
    issued_at: Timestamp
    expires_at: Timestamp | None
    revoked_at: Timestamp | None
    revoked_reason: str


def credential_out(authority: Authority, record: Credential, list_number: int) -> CredentialOut:
    return CredentialOut(
        id=record.id,
        issuer=authority.issuer_id(record.issuer_code),
        vct=record.vct,
        kid=record.kid,
        status_list=authority.status_uri(record.issuer_code, list_number),
        status_idx=record.status_idx,
        subject_ref=record.subject_ref,
        issued_at=iso(record.issued_at) or "",
        expires_at=iso(record.expires_at),
        revoked_at=iso(record.revoked_at),
        revoked_reason=record.revoked_reason,
    )
