"""The catalogue: categories (the one home of "is this category in use"), their Open311
attributes and their SLA targets."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.base.lookups import Lookup
from cityloop.base.problems import bad_request
from cityloop.domains.governance.events import CategoryChanged
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import Category, SlaTarget

MAX_ATTRIBUTE_TEXT = 2000


def list_categories(session: Session, *, include_inactive: bool = False) -> list[Category]:
    """Categories by kind and code; only those in use unless ``include_inactive``."""
    query = select(Category).order_by(Category.kind, Category.code)
    if not include_inactive:
        query = query.where(Category.active.is_(True))
    return list(session.scalars(query))


def get_category(session: Session, *, code: str) -> Category | None:
    """The category with this code, in use or retired."""
    return session.get(Category, code)


def active_category(session: Session, *, code: str) -> Category | None:
    """The category with this code if it exists and is in use."""
    category = session.get(Category, code)
    return category if category is not None and category.active else None


def require_category(session: Session, *, code: str | None, field: str = "category") -> Category:
    """The active category with this code, or a 400 naming ``field``."""
    if not code:
        raise bad_request(Message("governance.category_required"), field=field)
    category = active_category(session, code=code)
    if category is None:
        raise bad_request(
            Message("governance.unknown_category", {"code": repr(code)}),
            field=field,
            type_="unknown-category",
        )
    return category


def sla_for(session: Session, *, category_code: str, priority: str) -> SlaTarget | None:
    """The response and resolution targets for a category at a priority."""
    return session.get(SlaTarget, (category_code, priority))


# ---------------------------------------------------------------- the cached catalogue


@dataclass(frozen=True)
class CategoryName:
    """A category's names, as read paths show them."""

    code: str
    name: str
    name_zh: str


@dataclass(frozen=True)
class SlaMinutes:
    """A category's targets at one priority, as read paths estimate with them."""

    response_minutes: int
    resolution_minutes: int


@dataclass(frozen=True)
class Catalogue:
    """The categories' names and SLA targets, as each process caches them."""

    names: dict[str, CategoryName]
    sla: dict[tuple[str, str], SlaMinutes]


def _fingerprint(session: Session) -> tuple[Any, ...]:
    # Every edit (SLA targets included) bumps the category's version, every addition the count;
    # the targets' own sums catch a row written without the configuration service.
    categories = select(func.count(), func.sum(Category.version)).select_from(Category)
    targets = select(
        func.count(), func.sum(SlaTarget.response_minutes + SlaTarget.resolution_minutes)
    ).select_from(SlaTarget)
    return (*session.execute(categories).one(), *session.execute(targets).one())


def _build(session: Session) -> Catalogue:
    return Catalogue(
        names={
            code: CategoryName(code, name, name_zh)
            for code, name, name_zh in session.execute(
                select(Category.code, Category.name, Category.name_zh)
            )
        },
        sla={
            (t.category_code, t.priority): SlaMinutes(t.response_minutes, t.resolution_minutes)
            for t in session.scalars(select(SlaTarget))
        },
    )


_catalogue: Lookup[Catalogue] = Lookup(
    fingerprint=_fingerprint, build=_build, invalidated_by=[CategoryChanged]
)


def category_name(session: Session, *, code: str) -> CategoryName | None:
    """The category's names from this process's cache, for read paths (a write that must see
    the row itself takes :func:`get_category`)."""
    found = _catalogue.get(session).names.get(code)
    if found is None:  # added in another process since the last recheck, or no such code
        found = _catalogue.get(session, recheck=True).names.get(code)
    return found


def cached_sla(session: Session, *, category_code: str, priority: str) -> SlaMinutes | None:
    """:func:`sla_for` from this process's cache, for read paths' estimates."""
    return _catalogue.get(session).sla.get((category_code, priority))


def _attribute_value(code: str, spec: dict[str, Any], value: Any) -> Any:
    field = f"attribute[{code}]"
    datatype = spec["datatype"]
    allowed = {k for k, _ in spec.get("values", [])}
    if datatype == "multivaluelist":
        values = value if isinstance(value, list) else [value]
        bad = [v for v in values if str(v) not in allowed]
        if bad:
            raise bad_request(
                Message("governance.not_a_choice", {"bad": repr(bad[0]), "code": str(code)}),
                field=field,
            )
        return [str(v) for v in values]
    if datatype == "singlevaluelist":
        if str(value) not in allowed:
            raise bad_request(
                Message("governance.not_the_choice", {"value": repr(value), "code": str(code)}),
                field=field,
            )
        return str(value)
    if datatype == "number":
        # bool is an int to Python, and a 400-digit JSON integer overflows a float.
        try:
            number = None if isinstance(value, bool) else float(value)
        except (TypeError, ValueError, OverflowError):
            number = None
        if number is None or not math.isfinite(number):
            raise bad_request(Message("governance.finite_number", {"code": str(code)}), field=field)
        return number
    if datatype == "datetime":
        try:
            return datetime.fromisoformat(str(value)).isoformat()
        except ValueError as exc:
            raise bad_request(
                Message("governance.iso_datetime", {"code": str(code)}), field=field
            ) from exc
    if len(str(value)) > MAX_ATTRIBUTE_TEXT:
        raise bad_request(Message("governance.too_long", {"code": str(code)}), field=field)
    return str(value)


def validate_attributes(category: Category, given: dict[str, Any]) -> dict[str, Any]:
    """Values checked against the category's Open311 attribute definitions, or a 400."""
    definitions = {a["code"]: a for a in category.attributes}
    clean: dict[str, Any] = {}
    for code, value in given.items():
        spec = definitions.get(code)
        if spec is None:
            raise bad_request(
                Message(
                    "governance.category_attribute",
                    {"category_code": str(category.code), "code": repr(code)},
                ),
                field=f"attribute[{code}]",
            )
        clean[code] = _attribute_value(code, spec, value)
    for code, spec in definitions.items():
        if spec.get("required") and code not in clean:
            raise bad_request(
                Message("governance.attribute_required", {"code": str(code)}),
                field=f"attribute[{code}]",
            )
    return clean


def check_report_attributes(
    session: Session, *, category_code: str, attributes: dict[str, Any]
) -> dict[str, Any]:
    """The attributes a report of this category would be filed with, or a 400 naming one."""
    return validate_attributes(require_category(session, code=category_code), attributes)
