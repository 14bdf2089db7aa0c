"""What CKAN names and how it writes times: stable UUIDs for packages, organizations, groups and
tags (derived from the city's domain and the thing's name, so they survive a rebuild and differ
between cities a harvester gathers), and CKAN's ISO times without a time zone, in UTC."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import lru_cache

# Fixed for ever: every id below is derived from it.
NAMESPACE = uuid.UUID("0c6a4f0e-3b7d-5d2a-9e41-7c1d2f8b6a35")
CKAN_VERSION = "2.11.0"


@lru_cache(maxsize=65536)  # a search answers the same few dozen ids again and again
def derived_id(domain: str, kind: str, name: str) -> str:
    """The UUID of a package, organization, group or tag of this city."""
    return str(uuid.uuid5(NAMESPACE, f"{domain}/{kind}/{name}"))


def package_id(domain: str, name: str) -> str:
    """A dataset's CKAN id."""
    return derived_id(domain, "dataset", name)


def organization_id(domain: str, code: str) -> str:
    """A department's CKAN organization id."""
    return derived_id(domain, "organization", code)


def group_id(domain: str, name: str) -> str:
    """A theme's CKAN group id."""
    return derived_id(domain, "group", name)


def tag_id(domain: str, name: str) -> str:
    """A keyword's CKAN tag id."""
    return derived_id(domain, "tag", name)


def ckan_time(value: datetime | None) -> str | None:
    """A time as CKAN writes it: ISO 8601 in UTC with no zone ("2025-03-01T08:00:00.123456")."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat()
