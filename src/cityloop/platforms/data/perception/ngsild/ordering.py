"""``orderBy`` (ETSI GS CIM 009 4.23, 6.4.3.2): a comma list of ``member[;asc|desc]``, where a
member is ``id``, ``type``, ``createdAt``, ``modifiedAt`` or an attribute path as in ``q``
(``name``, ``name.subProperty``, ``name.observedAt``, ``address[city]``). Entities without the
value sort last in either direction; the entity id breaks every tie, so pages are stable."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cityloop.platforms.data.perception.ngsild.errors import bad_data
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from cityloop.platforms.data.perception.ngsild.query import Path, resolve_path

MAX_ORDER_KEYS = 10
ENTITY_MEMBERS = ("id", "type", "createdAt", "modifiedAt")
_PATH = re.compile(r"^([A-Za-z0-9_:/#@\-]+)((?:\.[A-Za-z0-9_:/#@\-]+)*)(?:\[([^\[\]]+)\])?$")


@dataclass(frozen=True)
class OrderKey:
    member: str | Path  # an entity member by name, or an attribute path
    descending: bool = False


def parse_order_by(text: str) -> list[OrderKey]:
    """The orderBy parameter, checked; a malformed one is a 400 naming it."""
    keys: list[OrderKey] = []
    for part in text.split(","):
        member, _, direction = part.strip().partition(";")
        if direction not in ("", "asc", "desc"):
            raise bad_data(f"orderBy: direction {direction!r} is not asc or desc")
        match = _PATH.match(member)
        if not match or (match.group(3) and any(not k for k in match.group(3).split("."))):
            raise bad_data(f"orderBy: {member!r} is not a member or attribute path")
        if member in ENTITY_MEMBERS:
            key: str | Path = member
        else:
            members = tuple(m for m in match.group(2).split(".") if m)
            json_path = tuple(match.group(3).split(".")) if match.group(3) else ()
            key = Path(match.group(1), members, json_path)
        keys.append(OrderKey(key, direction == "desc"))
    if len(keys) > MAX_ORDER_KEYS:
        raise bad_data(f"orderBy names more than {MAX_ORDER_KEYS} members")
    return keys


def _value(row: NgsiEntity, member: str | Path, expand: Callable[[str], str]) -> Any:
    if member == "id":
        return row.entity_id
    if member == "type":
        return row.type
    if member == "createdAt":
        return row.created_at.isoformat()
    if member == "modifiedAt":
        return row.modified_at.isoformat()
    assert isinstance(member, Path)
    found = resolve_path(row.attrs or {}, member, expand)
    return found[0] if found else None


def _rank(value: Any) -> tuple[int, Any]:
    """Comparable across JSON types: booleans, numbers, strings, then anything else."""
    if isinstance(value, bool):
        return 0, value
    if isinstance(value, int | float):
        return 1, value
    if isinstance(value, str):
        return 2, value
    return 3, json.dumps(value, sort_keys=True)


def sort_rows(
    rows: list[NgsiEntity], keys: list[OrderKey], expand: Callable[[str], str]
) -> list[NgsiEntity]:
    """``rows`` in orderBy order (missing values last), ties by entity id."""
    values = {id(row): [_value(row, key.member, expand) for key in keys] for row in rows}

    def compare(left: NgsiEntity, right: NgsiEntity) -> int:
        for index, key in enumerate(keys):
            a, b = values[id(left)][index], values[id(right)][index]
            if a is None or b is None:
                if a is None and b is None:
                    continue
                return 1 if a is None else -1
            ranked_a, ranked_b = _rank(a), _rank(b)
            if ranked_a != ranked_b:
                order = -1 if ranked_a < ranked_b else 1
                return -order if key.descending else order
        return (left.entity_id > right.entity_id) - (left.entity_id < right.entity_id)

    return sorted(rows, key=functools.cmp_to_key(compare))
