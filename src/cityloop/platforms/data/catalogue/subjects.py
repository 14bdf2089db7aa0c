"""Whose data a personal dataset's rows are, and which access-log fields its columns read.

A personal dataset's Table Schema marks whose row each is and what each column reads:
``"x-subject": "user"`` on the column holding a user id (or ``"enterprise"`` on one holding a
unified social credit code), and ``"x-access-field": "<code>"`` on a column that reads one of
the access log's field codes. The catalogue refuses a personal dataset without these marks, and
every read through a grant logs one entry per person (or enterprise).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cityloop.platforms.data.access import catalogue as access_codes
from cityloop.platforms.data.catalogue import datastore

SUBJECTS = ("user", "enterprise")


def subject_column(schema: Mapping[str, Any]) -> tuple[str, str] | None:
    """The column marked as the row's subject and what it holds ("user" or "enterprise")."""
    for field in datastore.schema_fields(schema):
        if field.get("x-subject") in SUBJECTS:
            return str(field["name"]), str(field["x-subject"])
    return None


def access_codes_of(schema: Mapping[str, Any]) -> dict[str, str]:
    """Column -> the access-log field code it reads, for the columns marked with one."""
    return {
        str(f["name"]): str(f["x-access-field"])
        for f in datastore.schema_fields(schema)
        if f.get("x-access-field")
    }


def personal_schema_problems(schema: Mapping[str, Any]) -> list[str]:
    """What keeps a personal dataset's rows from being shared: its subject and field marks."""
    fields = datastore.schema_fields(schema)
    marked = [f for f in fields if "x-subject" in f]
    problems = []
    if len(marked) != 1 or marked[0]["x-subject"] not in SUBJECTS:
        problems.append(
            'a personal dataset marks exactly one column with "x-subject": "user" (a user id)'
            ' or "enterprise" (a unified social credit code)'
        )
    unknown = sorted(set(access_codes_of(schema).values()) - set(access_codes.FIELDS))
    if unknown:
        problems.append(f'"x-access-field" codes the access log does not know: {unknown}')
    return problems
