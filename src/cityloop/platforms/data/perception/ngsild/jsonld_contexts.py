"""The /jsonldContexts resource: contexts clients host here, and the ones fetched and cached."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.platforms.data.perception.ngsild.context import forget, resolve
from cityloop.platforms.data.perception.ngsild.context_loader import local_id
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data
from cityloop.platforms.data.perception.ngsild.models import NgsiContext


def context_info(row: NgsiContext, base_url: str) -> dict[str, Any]:
    """A stored context's details (``details=true``), with the URL it is served at."""
    url = row.url or f"{base_url}/ngsi-ld/v1/jsonldContexts/{row.id}"
    info: dict[str, Any] = {
        "id": row.id,
        "url": url,
        "URL": url,
        "localId": row.id,
        "kind": row.kind,
        "createdAt": row.created_at.isoformat().replace("+00:00", "Z"),
        "numberOfHits": row.access_count,
    }
    if row.last_used_at is not None:
        info["lastUsage"] = row.last_used_at.isoformat().replace("+00:00", "Z")
    return info


def list_contexts(session: Session, *, kind: str | None = None) -> list[NgsiContext]:
    """The stored contexts, oldest first, of one kind (Hosted or Cached) when given."""
    statement = select(NgsiContext).order_by(NgsiContext.created_at, NgsiContext.id)
    if kind is not None:
        statement = statement.where(NgsiContext.kind == kind)
    return list(session.scalars(statement))


def find_context(session: Session, *, context_id: str) -> NgsiContext | None:
    """A stored context by its local id, or by the URL a cached one came from."""
    row = session.get(NgsiContext, context_id) if len(context_id) <= 64 else None
    if row is None:
        row = session.scalar(select(NgsiContext).where(NgsiContext.url == context_id))
    return row


def host_context(session: Session, *, body: Any) -> NgsiContext:
    """Store a posted @context document; it is then served at /jsonldContexts/{id}."""
    if not isinstance(body, dict) or "@context" not in body:
        raise bad_data("the body must be a JSON object with an @context member")
    member = body["@context"]
    items = member if isinstance(member, list) else [member]
    if not items or not all(isinstance(item, dict | str) for item in items):
        raise bad_data("@context must be an object, a URL or a list of them")
    # Reject what pyld cannot process before anyone points a Link header at it.
    if any(isinstance(item, dict) for item in items):
        resolve(None, user=[item for item in items if isinstance(item, dict)])
    serialized = json.dumps({"@context": member})
    context_id = local_id(serialized)
    row = session.get(NgsiContext, context_id)
    if row is None:
        row = NgsiContext(
            id=context_id, url=None, kind="Hosted", body=serialized, created_at=utcnow()
        )
        session.add(row)
        session.flush()
    return row


def delete_context(session: Session, *, context_id: str) -> None:
    """Delete a stored context and drop it from this process's caches."""
    row = find_context(session, context_id=context_id)
    if row is None:
        raise NgsiError("ResourceNotFound", f"@context {context_id} is not known here")
    session.delete(row)
    session.flush()
    forget(row.url)
