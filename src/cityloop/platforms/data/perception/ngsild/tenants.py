"""NGSI-LD tenants (the ``NGSILD-Tenant`` header): a write creates its tenant, a read from one
nobody has written to is a 404 NonexistentTenant."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data
from cityloop.platforms.data.perception.ngsild.models import NgsiTenant
from cityloop.platforms.data.perception.ngsild.texts import text

DEFAULT_TENANT = ""
_TENANT_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")

# Tenants known to exist, per database: a tenant is never removed, so a hit stays true.
_known_tenants: set[tuple[str, str]] = set()


def _tenant_key(session: Session, tenant: str) -> tuple[str, str]:
    return (str(session.get_bind().url), tenant)


def check_tenant_name(name: str | None) -> str:
    """The tenant a header names: the default tenant when absent, else a checked name."""
    if name is None or name == "":
        return DEFAULT_TENANT
    if not _TENANT_NAME.match(name):
        raise bad_data(text("tenant_name"))
    return name


def require_tenant(session: Session, *, tenant: str) -> None:
    """Refuse a read from a tenant nobody has written to (404 NonexistentTenant)."""
    if tenant == DEFAULT_TENANT or _tenant_key(session, tenant) in _known_tenants:
        return
    if session.get(NgsiTenant, tenant) is None:
        raise NgsiError("NonexistentTenant", text("tenant_missing", tenant=tenant))
    _known_tenants.add(_tenant_key(session, tenant))


def ensure_tenant(session: Session, *, tenant: str) -> None:
    """Create the tenant a write goes to, unless it exists."""
    if tenant == DEFAULT_TENANT or _tenant_key(session, tenant) in _known_tenants:
        return
    if session.get(NgsiTenant, tenant) is None:
        session.add(NgsiTenant(name=tenant, created_at=utcnow()))
        session.flush()
    # Not remembered here: this transaction may still roll back. Reads remember it.
