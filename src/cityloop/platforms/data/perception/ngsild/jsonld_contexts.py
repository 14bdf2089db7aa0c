"""The /jsonldContexts resource (clause 5.13): contexts clients host here, the ones made from a
request's inline @context, and the ones fetched and cached.

Hosted and ImplicitlyCreated contexts belong to the tenant that made them: another tenant
neither lists, reads nor deletes them (clause 5.5.10). Cached contexts are copies of public
documents and are shared.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.platforms.data.perception.ngsild.context import forget, resolve
from cityloop.platforms.data.perception.ngsild.context_loader import HOSTED_PATH, local_id
from cityloop.platforms.data.perception.ngsild.errors import bad_data, invalid, not_found
from cityloop.platforms.data.perception.ngsild.models import NgsiContext
from cityloop.platforms.data.perception.ngsild.tenants import DEFAULT_TENANT
from cityloop.platforms.data.perception.ngsild.texts import text

KINDS = ("Hosted", "Cached", "ImplicitlyCreated")
HOSTED_ROUTE = "/ngsi-ld/v1/jsonldContexts/"


def context_info(row: NgsiContext, base_url: str) -> dict[str, Any]:
    """A stored context's details (``details=true``, clause 5.2.39), with the URL it is
    served at."""
    url = row.url or f"{base_url}{HOSTED_ROUTE}{row.id}"
    info: dict[str, Any] = {
        "URL": url,
        "localId": row.id,
        "kind": row.kind,
        "createdAt": _stamp(row.created_at),
        "numberOfHits": row.access_count,
    }
    if row.last_used_at is not None:
        info["lastUsage"] = _stamp(row.last_used_at)
    return info


def _stamp(moment: Any) -> str:
    return str(moment.isoformat()).replace("+00:00", "Z")


def _visible(tenant: str) -> Any:
    """The rows a tenant sees: its own Hosted and implicit contexts, and every Cached one."""
    return or_(NgsiContext.kind == "Cached", NgsiContext.tenant == tenant)


def list_contexts(session: Session, *, tenant: str, kind: str | None = None) -> list[NgsiContext]:
    """The contexts ``tenant`` sees, oldest first, of one kind when given."""
    statement = (
        select(NgsiContext).where(_visible(tenant)).order_by(NgsiContext.created_at, NgsiContext.id)
    )
    if kind is not None:
        statement = statement.where(NgsiContext.kind == kind)
    return list(session.scalars(statement))


def find_context(session: Session, *, tenant: str, context_id: str) -> NgsiContext | None:
    """A context ``tenant`` sees, by its local id, the URL it is served at here, or the URL a
    cached one came from."""
    hosted = HOSTED_PATH.search(context_id.split("?", 1)[0])
    local = hosted.group(1) if hosted else context_id
    row = session.get(NgsiContext, local) if len(local) <= 64 else None
    if row is None:
        row = session.scalar(select(NgsiContext).where(NgsiContext.url == context_id))
    if row is None or not (row.kind == "Cached" or row.tenant == tenant):
        return None
    return row


def host_context(session: Session, *, tenant: str, body: Any) -> NgsiContext:
    """Store a posted @context document; it is then served at /jsonldContexts/{id}."""
    if not isinstance(body, dict) or "@context" not in body:
        # Not the shape the operation takes at all (clause 6.30.3.2); a bad @context is 400
        # BadRequestData below.
        raise invalid(text("context_body"))
    member = body["@context"]
    items = member if isinstance(member, list) else [member]
    if not items or not all(isinstance(item, dict | str) for item in items):
        raise bad_data(text("context_member"))
    # Reject what pyld cannot process before anyone points a Link header at it.
    if any(isinstance(item, dict) for item in items):
        resolve(None, user=[item for item in items if isinstance(item, dict)])
    serialized = json.dumps({"@context": member})
    # The default tenant's ids stay the hash of the body alone, as before tenants counted.
    context_id = local_id(serialized if tenant == DEFAULT_TENANT else f"{tenant}\n{serialized}")
    return _store(session, context_id=context_id, tenant=tenant, kind="Hosted", body=serialized)


def implicit_id(*, tenant: str, user: Any) -> str:
    """The local id of the context implicitly created for an inline @context (stable, so
    the same context sent again is the same entry)."""
    return local_id(f"implicit\n{tenant}\n{json.dumps(user, sort_keys=True)}")


def record_implicit(session: Session, *, tenant: str, user: Any) -> NgsiContext:
    """Keep a request's inline @context (an object or a list) as an ImplicitlyCreated context,
    so it has a URL (clause 5.13.1), e.g. for a subscription's jsonldContext."""
    body = json.dumps({"@context": user})
    context_id = implicit_id(tenant=tenant, user=user)
    return _store(
        session, context_id=context_id, tenant=tenant, kind="ImplicitlyCreated", body=body
    )


def _store(session: Session, *, context_id: str, tenant: str, kind: str, body: str) -> NgsiContext:
    row = session.get(NgsiContext, context_id)
    if row is None:
        row = NgsiContext(
            id=context_id, tenant=tenant, url=None, kind=kind, body=body, created_at=utcnow()
        )
        session.add(row)
        session.flush()
    return row


def delete_context(session: Session, *, tenant: str, context_id: str) -> None:
    """Delete a context ``tenant`` sees and drop it from this process's caches."""
    row = find_context(session, tenant=tenant, context_id=context_id)
    if row is None:
        raise not_found(text("context_unknown", context=context_id[:200]))
    session.delete(row)
    session.flush()
    forget(row.url)


def replace_cached(session: Session, *, url: str, document: dict[str, Any]) -> None:
    """Store a freshly fetched document for a cached URL (a reload) and drop stale copies."""
    row = session.scalar(select(NgsiContext).where(NgsiContext.url == url))
    if row is None:
        raise not_found(text("context_unknown", context=url[:200]))
    row.body = json.dumps(document)
    row.last_used_at = utcnow()
    session.flush()
    forget(url)
