"""The Open311 service catalogue: the city's categories as GeoReport v2 services and definitions."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cityloop.domains.governance.catalogue import active_category, list_categories
from cityloop.domains.governance.models import Category

# ---------------------------------------------------------------- services


_DATATYPE_DESCRIPTIONS = {
    "string": "Free text, one line",
    "text": "Free text",
    "number": "A number, such as 12 or 3.5",
    "datetime": "An ISO 8601 date and time with a time zone, such as 2024-05-01T08:30:00+08:00",
    "singlevaluelist": "One of the keys in values",
    "multivaluelist": "One or more of the keys in values, sent as attribute[code][]",
}


def wants_chinese(locale: str | None) -> bool:
    """zh, zh-CN, zh_Hans…: Chinese names; anything else: English."""
    return (locale or "").lower().replace("_", "-").split("-")[0] == "zh"


def service_record(category: Category, locale: str | None = None) -> dict[str, Any]:
    """One category as an Open311 service, named in the caller's language."""
    zh = wants_chinese(locale)
    return {
        "service_code": category.code,
        "service_name": (category.name_zh or category.name) if zh else category.name,
        "description": category.description,
        "metadata": bool(category.attributes),
        "type": "realtime",
        "keywords": ",".join(str(k) for k in category.keywords),
        "group": (category.major_name_zh or category.major_name) if zh else category.major_name,
    }


def service_records(session: Session, *, locale: str | None = None) -> list[dict[str, Any]]:
    """Every category in use, as Open311 services."""
    return [service_record(c, locale) for c in list_categories(session)]


def service_definition(session: Session, *, code: str) -> dict[str, Any] | None:
    """A service's attribute definitions, or None when no category in use has the code."""
    category = active_category(session, code=code)
    if category is None:
        return None
    attributes = sorted(category.attributes, key=lambda a: (a.get("order", 0), a["code"]))
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": True,
                "code": a["code"],
                "datatype": a["datatype"],
                "required": bool(a.get("required")),
                "datatype_description": _DATATYPE_DESCRIPTIONS.get(a["datatype"], ""),
                "order": a.get("order", 0),
                "description": a.get("description", ""),
                "values": [{"key": k, "name": n} for k, n in a.get("values", [])],
            }
            for a in attributes
        ],
    }
