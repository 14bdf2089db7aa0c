"""The Open311 service catalogue: the city's categories as GeoReport v2 services and definitions."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cityloop.base.messages import register
from cityloop.domains.governance.catalogue import active_category, list_categories
from cityloop.domains.governance.models import Category
from cityloop.domains.governance.presenters import attribute_out

# ---------------------------------------------------------------- services


# How to answer each datatype (Open311's datatype_description), in English and Chinese.
_DATATYPE_DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "string": ("Free text, one line", "单行文字"),
    "text": ("Free text", "文字"),
    "number": ("A number, such as 12 or 3.5", "数字，如 12 或 3.5"),
    "datetime": (
        "An ISO 8601 date and time with a time zone, such as 2024-05-01T08:30:00+08:00",
        "带时区的 ISO 8601 日期时间，如 2024-05-01T08:30:00+08:00",
    ),
    "singlevaluelist": ("One of the keys in values", "values 中的一个 key"),
    "multivaluelist": (
        "One or more of the keys in values, sent as attribute[code][]",
        "values 中的一个或多个 key，以 attribute[code][] 提交",
    ),
}
register({f"open311.datatype.{kind}": pair for kind, pair in _DATATYPE_DESCRIPTIONS.items()})


def _datatype_description(datatype: str, zh: bool) -> str:
    pair = _DATATYPE_DESCRIPTIONS.get(datatype)
    return (pair[1] if zh else pair[0]) if pair else ""


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


def service_definition(
    session: Session, *, code: str, locale: str | None = None
) -> dict[str, Any] | None:
    """A service's attribute definitions in the caller's language, or None when no category in
    use has the code."""
    category = active_category(session, code=code)
    if category is None:
        return None
    zh = wants_chinese(locale)
    attributes = sorted(category.attributes, key=lambda a: (a.get("order", 0), a["code"]))
    attributes = [attribute_out(a, "zh-CN" if zh else "en") for a in attributes]
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": True,
                "code": a["code"],
                "datatype": a["datatype"],
                "required": bool(a.get("required")),
                "datatype_description": _datatype_description(a["datatype"], zh),
                "order": a.get("order", 0),
                "description": a["question"],
                "values": [{"key": k, "name": n} for k, n in a["choices"]],
            }
            for a in attributes
        ],
    }
