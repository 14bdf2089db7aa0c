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
    CLERK = "clerk"  # counter clerk (窗口工作人员): checks people's papers in person
    LEADER = "leader"  # city or district leader (领导): reads KPIs and the operations centre only
    CITIZEN = "citizen"


class Caller(StrEnum):
    """Roles of actors that are not accounts: the platform itself, an Open311 client, nobody."""

    SYSTEM = "system"
    OPEN311 = "open311"
    ANONYMOUS = "anonymous"


STAFF_ROLES = frozenset(Role) - {Role.CITIZEN}
DEPARTMENT_ROLES = frozenset({Role.HANDLER, Role.WORKER})
# Roles whose account must belong to a department: the department roles and the counter clerk,
# whose counter is a department's (a clerk is not scoped to that department's cases).
NEEDS_DEPARTMENT = DEPARTMENT_ROLES | {Role.CLERK}
# Who may verify a person at a counter (real-name level 3) and see a full identity number
# there. Not the case-handling roles: they have no need to read identity numbers.
COUNTER_ROLES = frozenset({Role.CLERK, Role.ADMIN})
# Who may look people and enterprises up in the staff lists (identity numbers masked).
IDENTITY_READERS = COUNTER_ROLES | {Role.SUPERVISOR}
# Who may read the operations centre (KPIs, league tables, trends, hotspots): every staff role
# but the counter clerk, who works with people's papers, not cases.
OPERATIONS_READERS = STAFF_ROLES - {Role.CLERK}
# Roles that see every case, not only their department's.
CITY_WIDE_ROLES = frozenset({Role.ADMIN, Role.DISPATCHER, Role.SUPERVISOR})
