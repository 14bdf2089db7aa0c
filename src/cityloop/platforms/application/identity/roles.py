"""Roles and what each may see. Kept in one place so permission checks read as data."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    DISPATCHER = "dispatcher"  # supervision and command centre: registers, dispatches
    SUPERVISOR = "supervisor"  # verifies fixes, answers disputes
    HANDLER = "handler"  # department handler
    WORKER = "worker"  # department field worker
    HOTLINE = "hotline"  # 12345 operator, takes reports by phone
    INSPECTOR = "inspector"  # grid inspector on patrol
    CITIZEN = "citizen"


class Caller(StrEnum):
    """Roles of actors that are not accounts: the platform itself, an Open311 client, nobody."""

    SYSTEM = "system"
    OPEN311 = "open311"
    ANONYMOUS = "anonymous"


STAFF_ROLES = frozenset(Role) - {Role.CITIZEN}
DEPARTMENT_ROLES = frozenset({Role.HANDLER, Role.WORKER})
# Roles that see every case, not only their department's.
CITY_WIDE_ROLES = frozenset({Role.ADMIN, Role.DISPATCHER, Role.SUPERVISOR})
