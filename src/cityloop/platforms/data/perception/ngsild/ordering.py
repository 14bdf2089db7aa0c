"""``orderBy`` (ETSI GS CIM 009 4.23, 6.4.3.2): a comma list of ``member[;asc|desc]``, where a
member is ``id``, ``type``, ``createdAt``, ``modifiedAt`` or an attribute path as in ``q``
(``name``, ``name.subProperty``, ``name.observedAt``, ``address[city]``). Entities without the
value sort last in either direction; the entity id breaks every tie, so pages are stable.

``dist-asc`` and ``dist-desc`` order a GeoProperty by its distance from a reference geometry
(4.23.3); ``collation`` (an IETF BCP 47 tag) compares strings under a collation instead of by
code point."""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from cityloop.platforms.data.perception.ngsild.errors import bad_data
from cityloop.platforms.data.perception.ngsild.geo import distance_metres
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from cityloop.platforms.data.perception.ngsild.query import Path, resolve_path
from cityloop.platforms.data.perception.ngsild.texts import text

MAX_ORDER_KEYS = 10
ENTITY_MEMBERS = ("id", "type", "createdAt", "modifiedAt")
_PATH = re.compile(r"^([A-Za-z0-9_:/#@\-]+)((?:\.[A-Za-z0-9_:/#@\-]+)*)(?:\[([^\[\]]+)\])?$")


# A well-formed BCP 47 tag (RFC 5646 subtags, RFC 6067 -u- extensions), case-insensitive.
_TAG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
# German phonebook collation spells umlauts out before comparing (RFC 6067 co=phonebk).
_PHONEBOOK = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


@dataclass(frozen=True)
class OrderKey:
    member: str | Path  # an entity member by name, or an attribute path
    descending: bool = False
    distance: bool = False  # dist-asc / dist-desc: by distance from the reference geometry


@dataclass(frozen=True)
class Collation:
    """A collation for string values: letters first, then accents, then case, as the root
    collation ranks them (``á`` with ``a``, before ``b``), without a full ICU table."""

    tag: str

    def key(self, value: str) -> tuple[str, str, str]:
        if "-co-phonebk" in self.tag.lower():
            value = value.translate(_PHONEBOOK)
        decomposed = unicodedata.normalize("NFD", value)
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        accents = "".join(c for c in decomposed if unicodedata.combining(c))
        return base.casefold(), accents, base.swapcase()


def parse_collation(tag: str) -> Collation:
    """The ``collation`` parameter: a BCP 47 tag (``und`` for the root collation)."""
    if not isinstance(tag, str) or len(tag) > 64 or not _TAG.match(tag):
        raise bad_data(text("order_collation", tag=repr(str(tag)[:64])))
    return Collation(tag)


def parse_origin(coordinates: Any, geometry: Any = "Point") -> BaseGeometry:
    """The reference geometry of distance ordering, from its coordinates (a JSON array, or its
    text) and geometry type."""
    if not isinstance(geometry, str):
        raise bad_data(text("order_geometry_not_string"))
    if isinstance(coordinates, str):
        try:
            coordinates = json.loads(coordinates)
        except (ValueError, RecursionError) as exc:
            raise bad_data(text("order_coordinates_not_array")) from exc
    if not isinstance(coordinates, list):
        raise bad_data(text("order_coordinates_not_array"))
    try:
        return shape({"type": geometry, "coordinates": coordinates})
    except Exception as exc:
        raise bad_data(text("order_coordinates_invalid", geometry=geometry)) from exc


def parse_order_by(order_by: str) -> list[OrderKey]:
    """The orderBy parameter, checked; a malformed one is a 400 naming it."""
    keys: list[OrderKey] = []
    for part in order_by.split(","):
        member, _, direction = part.strip().partition(";")
        if direction not in ("", "asc", "desc", "dist-asc", "dist-desc"):
            raise bad_data(text("order_direction", direction=repr(direction)))
        distance = direction.startswith("dist-")
        if distance and member in ENTITY_MEMBERS:
            raise bad_data(text("order_no_distance", member=member))
        match = _PATH.match(member)
        if not match or (match.group(3) and any(not k for k in match.group(3).split("."))):
            raise bad_data(text("order_not_path", member=repr(member)))
        if member in ENTITY_MEMBERS:
            key: str | Path = member
        else:
            members = tuple(m for m in match.group(2).split(".") if m)
            json_path = tuple(match.group(3).split(".")) if match.group(3) else ()
            key = Path(match.group(1), members, json_path)
        keys.append(OrderKey(key, direction.endswith("desc"), distance))
    if len(keys) > MAX_ORDER_KEYS:
        raise bad_data(text("order_too_many", limit=MAX_ORDER_KEYS))
    return keys


def _distance(row: NgsiEntity, path: Path, expand: Callable[[str], str], origin: Any) -> Any:
    """Metres from ``origin`` to the GeoProperty ``path`` names (None when it has none)."""
    for value in resolve_path(row.attrs or {}, path, expand):
        try:
            geometry = shape(value)
        except Exception:
            continue
        point = origin if isinstance(origin, Point) else nearest_points(origin, geometry)[0]
        return distance_metres(point, geometry)
    return None


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


def _rank(value: Any, collation: Collation | None = None) -> tuple[int, Any]:
    """Comparable across JSON types: booleans, numbers, strings, then anything else."""
    if isinstance(value, bool):
        return 0, value
    if isinstance(value, int | float):
        return 1, value
    if isinstance(value, str):
        return 2, collation.key(value) if collation is not None else value
    return 3, json.dumps(value, sort_keys=True)


def sort_rows(
    rows: list[NgsiEntity],
    keys: list[OrderKey],
    expand: Callable[[str], str],
    *,
    collation: Collation | None = None,
    origin: Any = None,
) -> list[NgsiEntity]:
    """``rows`` in orderBy order (missing values last), ties by entity id."""
    # ``origin`` is the reference geometry distance keys need; the caller checks it is given.

    def value(row: NgsiEntity, key: OrderKey) -> Any:
        if key.distance:
            assert isinstance(key.member, Path)
            return _distance(row, key.member, expand, origin)
        return _value(row, key.member, expand)

    values = {id(row): [value(row, key) for key in keys] for row in rows}

    def compare(left: NgsiEntity, right: NgsiEntity) -> int:
        for index, key in enumerate(keys):
            a, b = values[id(left)][index], values[id(right)][index]
            if a is None or b is None:
                if a is None and b is None:
                    continue
                return 1 if a is None else -1
            ranked_a, ranked_b = _rank(a, collation), _rank(b, collation)
            if ranked_a != ranked_b:
                order = -1 if ranked_a < ranked_b else 1
                return -order if key.descending else order
        return (left.entity_id > right.entity_id) - (left.entity_id < right.entity_id)

    return sorted(rows, key=functools.cmp_to_key(compare))
