"""Who may use /ngsi-ld/v1: writes need a staff token of an allowed role or an API key; reads
are open while ``ngsild_public_read`` is on. The NGSI-LD specification leaves security to the
deployment, so the errors borrow its ProblemDetails form (Unauthorized 401, Forbidden 403)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from cityloop.base.messages import Message
from cityloop.base.problems import Problem
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.data.perception.ngsild.errors import NgsiError
from cityloop.platforms.data.perception.ngsild.texts import text

WRITE_ROLES = frozenset({Role.ADMIN, Role.DISPATCHER})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ngsi-ld"'}


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" or "api-key"
    name: str


def unauthorized(detail: str | Message) -> NgsiError:
    """A 401 Unauthorized with the bearer challenge."""
    error = NgsiError("Unauthorized", detail, status=401)
    error.headers = dict(CHALLENGE)
    return error


def forbidden(detail: str | Message) -> NgsiError:
    """A 403 Forbidden."""
    return NgsiError("Forbidden", detail, status=403)


def needs_credentials(method: str, path: str, public_read: bool) -> bool:
    """Whether this request needs credentials (reads may be public)."""
    # POST /entityOperations/query only reads: the query travels in the body.
    reading = method.upper() in READ_METHODS or (
        method.upper() == "POST" and path.rstrip("/").endswith("/entityOperations/query")
    )
    return not (public_read and reading)


def authenticate(
    session: Session, *, secret: str, bearer: str | None, api_key: str | None
) -> Principal:
    """The caller behind a bearer token (staff JWT or API key) or an X-Api-Key header."""
    # No credentials or bad ones: 401. A valid user without an allowed role: 403.
    if api_key:
        key = identity.check_api_key(session, key=api_key)
        if key is None:
            raise unauthorized(text("api_key_unknown"))
        return _key_principal(key)
    if not bearer:
        raise unauthorized(text("credentials_needed"))
    if bearer.count(".") == 2:  # the shape of a JWT
        try:
            user = identity.user_from_token(session, token=bearer, secret=secret)
        except Problem as exc:
            raise unauthorized(exc.message or exc.detail) from exc
        if user.role not in WRITE_ROLES:
            raise forbidden(text("role_not_allowed", role=user.role))
        return Principal("user", user.username)
    key = identity.check_api_key(session, key=bearer)
    if key is None:
        raise unauthorized(text("bearer_unknown"))
    return _key_principal(key)


def _key_principal(key: Any) -> Principal:
    # An Open311 client's key must not write the city's context data.
    if not identity.has_scope(key, "ngsild"):
        raise forbidden(text("key_without_scope"))
    return Principal("api-key", key.name)
