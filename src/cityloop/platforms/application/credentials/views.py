"""Thin routes: what the issuer publishes (JWKS, issuer metadata, status lists: public and
cacheable), the public verifier, and the admins' key rotation and revocation."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext, get_context
from cityloop.base.db import utcnow
from cityloop.base.problems import unprocessable
from cityloop.base.ratelimit import client_key
from cityloop.platforms.application.credentials import keys, runtime, service
from cityloop.platforms.application.credentials.messages import Message
from cityloop.platforms.application.credentials.models import StatusList
from cityloop.platforms.application.credentials.qr import presentation_from_qr
from cityloop.platforms.application.credentials.responses import (
    CredentialOut,
    IssuerList,
    IssuerMetadata,
    Jwks,
    KeyOut,
    RevokeRequest,
    VerdictOut,
    VerifyRequest,
    credential_out,
    issuer_list_out,
    key_out,
    verdict_out,
)
from cityloop.platforms.application.credentials.statuslist import TTL_SECONDS
from cityloop.platforms.application.credentials.verify import verify
from cityloop.platforms.application.identity.deps import require_roles
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor

router = APIRouter(tags=["credentials"])
Ctx = Annotated[AppContext, Depends(get_context)]
Admin = Annotated[Actor, Depends(require_roles(Role.ADMIN))]
Code = Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
STATUS_MEDIA_TYPE = "application/statuslist+jwt"


def _cacheable(request: Request, body: bytes, media_type: str, max_age: int) -> Response:
    """A public answer with an ETag; 304 when the client holds this very body."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={max(1, max_age)}",
        # Public keys and status lists are for any verifier, a web page elsewhere included.
        "Access-Control-Allow-Origin": "*",
    }
    held = request.headers.get("if-none-match", "")
    if etag in [tag.strip().removeprefix("W/") for tag in held.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _json(model: Jwks | IssuerMetadata) -> bytes:
    return model.model_dump_json(exclude_none=True).encode("utf-8")


@router.get("/.well-known/jwks.json", response_model=Jwks)
def jwks(ctx: Ctx, request: Request) -> Response:
    """Every issuer's public keys, retired ones too while credentials they signed are valid."""
    authority = runtime.authority_of(ctx)
    with ctx.reading() as session:
        document = service.jwks(session, authority=authority, now=utcnow())
    return _cacheable(request, _json(Jwks.model_validate(document)), "application/json", 300)


@router.get("/.well-known/jwt-vc-issuer/issuers/{code}", response_model=IssuerMetadata)
def issuer_metadata(ctx: Ctx, request: Request, code: Code) -> Response:
    """SD-JWT VC issuer metadata of one issuer (a department): its identifier and its keys."""
    authority = runtime.authority_of(ctx)
    with ctx.reading() as session:
        document = service.issuer_metadata(
            session, authority=authority, issuer_code=code, now=utcnow()
        )
    body = _json(IssuerMetadata.model_validate(document))
    return _cacheable(request, body, "application/json", 300)


@router.get(
    "/credentials/status-lists/{code}/{number}",
    response_class=Response,
    responses={200: {"content": {STATUS_MEDIA_TYPE: {}}, "description": "a status list JWT"}},
)
def status_list(
    ctx: Ctx, request: Request, code: Code, number: Annotated[int, Path(ge=1, le=1_000_000)]
) -> Response:
    """A signed status list token (one bit per credential: 1 revoked)."""
    authority = runtime.authority_of(ctx)
    now = utcnow()
    with ctx.reading() as session:
        token = service.status_list_token(
            session, authority=authority, issuer_code=code, number=number, now=now
        )
    # Cached until the token is re-signed at the next TTL boundary.
    max_age = TTL_SECONDS - int(now.timestamp()) % TTL_SECONDS
    return _cacheable(request, token.encode("ascii"), STATUS_MEDIA_TYPE, max_age)


@router.get("/api/v1/credentials/issuers")
def issuers(ctx: Ctx) -> IssuerList:
    """The issuers of this city and the URLs a verifier caches to verify offline."""
    authority = runtime.authority_of(ctx)
    with ctx.reading() as session:
        return issuer_list_out(authority, service.issuers(session, authority=authority))


@router.post("/api/v1/credentials/verify")
def verify_presentation(ctx: Ctx, request: Request, body: VerifyRequest) -> VerdictOut:
    """Verify a presentation (public, rate-limited per client): the verdict, its reason and a
    message in English and Chinese; the disclosed claims when it is valid."""
    runtime.verify_limiter_of(ctx).check(client_key(request))
    if (body.presentation is None) == (body.qr is None):
        raise unprocessable(Message("credentials.send_either_presentation_qr"), "presentation")
    text = presentation_from_qr(body.qr) if body.qr is not None else body.presentation or ""
    if not text.strip():
        raise unprocessable(
            Message("credentials.presentation_empty"), "qr" if body.qr else "presentation"
        )
    authority = runtime.authority_of(ctx)
    with ctx.reading() as session:
        trust = service.DatabaseTrust(
            session, authority=authority, keys=runtime.public_keys_of(ctx)
        )
        verdict = verify(text, trust=trust, now=utcnow(), issuer=body.issuer, vct=body.vct)
    return verdict_out(verdict)


@router.post("/api/v1/credentials/issuers/{code}/rotate-key")
def rotate_key(ctx: Ctx, code: Code, actor: Admin) -> KeyOut:
    """Give an issuer a new signing key (admin; audited). Old credentials still verify."""
    authority = runtime.authority_of(ctx)
    with ctx.writing() as session:
        row = keys.rotate_key(session, vault=authority.vault, issuer_code=code, actor=actor)
        return key_out(authority, row)


@router.post("/api/v1/credentials/{credential_id}/revoke")
def revoke(
    ctx: Ctx,
    credential_id: Annotated[str, Path(max_length=40)],
    actor: Admin,
    body: RevokeRequest | None = None,
) -> CredentialOut:
    """Revoke a credential (admin; audited; idempotent): its status bit is set."""
    authority = runtime.authority_of(ctx)
    reason = body.reason if body else ""

    def write(session: Session) -> CredentialOut:
        record = service.revoke(session, credential_id=credential_id, actor=actor, reason=reason)
        number = session.get(StatusList, record.status_list_id)
        return credential_out(authority, record, number.number if number else 0)

    return ctx.write_grouped(write)
