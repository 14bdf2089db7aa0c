"""Categories as configuration: created and edited with their extra questions (attributes) and
SLA targets, or deactivated (no new reports; existing cases go on as they were)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cityloop.base.outbox import emit
from cityloop.base.problems import bad_request, conflict, not_found
from cityloop.domains.governance.config.schemas import (
    AttributeIn,
    CategoryCreate,
    CategoryFields,
    SlaIn,
)
from cityloop.domains.governance.events import CategoryChanged
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.models import Category, SlaTarget
from cityloop.platforms.application.identity import versions
from cityloop.platforms.application.identity.service import Actor, require_department

KIND = "category"
LIST_DATATYPES = ("singlevaluelist", "multivaluelist")


def sla_targets(session: Session, *, code: str) -> list[SlaTarget]:
    """The category's SLA targets, by priority."""
    return list(
        session.scalars(
            select(SlaTarget).where(SlaTarget.category_code == code).order_by(SlaTarget.priority)
        )
    )


def state_of(session: Session, category: Category) -> dict[str, Any]:
    """The category as a version keeps it: every editable field and its SLA targets."""
    return {
        "code": category.code,
        "kind": category.kind,
        "major_class": category.major_class,
        "major_name": category.major_name,
        "major_name_zh": category.major_name_zh,
        "name": category.name,
        "name_zh": category.name_zh,
        "description": category.description,
        "keywords": list(category.keywords),
        "icon": category.icon,
        "default_department": category.default_department,
        "priority": category.priority,
        "auto_dispatch": category.auto_dispatch,
        "moderated": category.moderated,
        "dedupe_radius_m": category.dedupe_radius_m,
        "dedupe_window_hours": category.dedupe_window_hours,
        "update_interval_hours": category.update_interval_hours,
        "attributes": list(category.attributes),
        "sla": [
            {
                "priority": t.priority,
                "response_minutes": t.response_minutes,
                "resolution_minutes": t.resolution_minutes,
            }
            for t in sla_targets(session, code=category.code)
        ],
        "active": category.active,
    }


def _attribute(index: int, given: AttributeIn) -> dict[str, Any]:
    """The attribute in the stored Open311 shape, checked: list questions need distinct choices,
    other questions have none."""
    field = f"attributes[{index}].values"
    keys = [v.key for v in given.values]
    if given.datatype in LIST_DATATYPES and not keys:
        raise bad_request(
            Message("governance.question_needs_choices", {"datatype": given.datatype}), field=field
        )
    if given.datatype not in LIST_DATATYPES and keys:
        raise bad_request(
            Message("governance.question_has_no_choices", {"datatype": given.datatype}), field=field
        )
    if repeated := sorted({k for k in keys if keys.count(k) > 1}):
        raise bad_request(
            Message("governance.choice_twice", {"choice": repr(repeated[0])}), field=field
        )
    return {
        "code": given.code,
        "datatype": given.datatype,
        "required": given.required,
        "order": given.order,
        "description": given.description,
        "description_zh": given.description_zh,
        "values": [[v.key, v.name] for v in given.values],
        "values_zh": [[v.key, v.name_zh] for v in given.values],
    }


def check_attributes(given: list[AttributeIn]) -> list[dict[str, Any]]:
    """The attributes as stored, in order, or a 400 naming the one at fault."""
    for name in ("code", "order"):
        seen = [getattr(a, name) for a in given]
        for index, value in enumerate(seen):
            if seen.index(value) != index:
                raise bad_request(
                    Message("governance.attribute_twice", {"name": name, "value": str(value)}),
                    field=f"attributes[{index}].{name}",
                )
    stored = [_attribute(i, a) for i, a in enumerate(given)]
    return sorted(stored, key=lambda a: a["order"])


def check_sla(given: list[SlaIn], *, priority: str) -> list[SlaIn]:
    """SLA targets with one per priority, response no later than resolution, and one for the
    category's own priority; or a 400 naming the one at fault."""
    seen: list[str] = []
    for index, target in enumerate(given):
        if target.priority in seen:
            raise bad_request(
                Message("governance.priority_two_targets", {"priority": target.priority}),
                field=f"sla[{index}].priority",
            )
        seen.append(target.priority)
        if target.response_minutes > target.resolution_minutes:
            raise bad_request(
                Message("governance.response_after_resolution"),
                field=f"sla[{index}].response_minutes",
            )
    if priority not in seen:
        raise bad_request(
            Message("governance.priority_needs_sla", {"priority": priority}), field="sla"
        )
    return given


def _apply(session: Session, category: Category, fields: CategoryFields) -> None:
    require_department(session, code=fields.default_department, field="default_department")
    attributes = check_attributes(fields.attributes)
    targets = check_sla(fields.sla, priority=fields.priority)
    category.kind = fields.kind
    category.major_class = fields.major_class
    category.major_name = fields.major_name
    category.major_name_zh = fields.major_name_zh
    category.name = fields.name
    category.name_zh = fields.name_zh
    category.description = fields.description
    category.keywords = list(dict.fromkeys(fields.keywords))
    category.icon = fields.icon
    category.default_department = fields.default_department
    category.priority = fields.priority
    category.auto_dispatch = fields.auto_dispatch
    category.moderated = fields.moderated
    category.dedupe_radius_m = fields.dedupe_radius_m
    category.dedupe_window_hours = fields.dedupe_window_hours
    category.update_interval_hours = fields.update_interval_hours
    category.attributes = attributes
    session.add(category)
    session.flush()
    session.execute(delete(SlaTarget).where(SlaTarget.category_code == category.code))
    for target in targets:
        session.add(
            SlaTarget(
                category_code=category.code,
                priority=target.priority,
                response_minutes=target.response_minutes,
                resolution_minutes=target.resolution_minutes,
            )
        )
    session.flush()


def _get(session: Session, code: str) -> Category:
    category = session.get(Category, code)
    if category is None:
        raise not_found("category", code)
    return category


def _record(
    session: Session,
    category: Category,
    *,
    action: str,
    before: dict[str, Any] | None,
    actor: Actor,
) -> Category:
    versions.record(
        session,
        kind=KIND,
        key=category.code,
        version=category.version,
        action=action,
        state=state_of(session, category),
        before=before,
        actor=actor,
    )
    emit(session, CategoryChanged(code=category.code, version=category.version, action=action))
    return category


def create_category(session: Session, *, data: CategoryCreate, actor: Actor) -> Category:
    """A new category, in use at once (version 1); 409 when the code is taken."""
    if session.get(Category, data.code) is not None:
        raise conflict(Message("governance.category_exists", {"code": data.code}), field="code")
    category = Category(code=data.code, active=True, version=1)
    _apply(session, category, data)
    return _record(session, category, action="create", before=None, actor=actor)


def save_category(session: Session, *, data: CategoryCreate, actor: Actor) -> Category:
    """Create the category, or bring it to ``data`` as a new version when any field differs;
    for loaders of a city's files, which run again and again."""
    category = session.get(Category, data.code)
    if category is None:
        return create_category(session, data=data, actor=actor)
    before = state_of(session, category)
    _apply(session, category, data)
    if state_of(session, category) == before:
        return category  # the same again: no new version
    category.version += 1
    return _record(session, category, action="edit", before=before, actor=actor)


def edit_category(
    session: Session, *, code: str, version: int | None, data: CategoryFields, actor: Actor
) -> Category:
    """Change every field of a category on the version the admin saw (409 when stale)."""
    category = _get(session, code)
    versions.require_version(kind=KIND, key=code, current=category.version, given=version)
    before = state_of(session, category)
    _apply(session, category, data)
    category.version += 1
    return _record(session, category, action="edit", before=before, actor=actor)


def set_category_active(
    session: Session, *, code: str, version: int | None, active: bool, actor: Actor
) -> Category:
    """Take a category out of use (no new reports; its cases go on) or back into use."""
    category = _get(session, code)
    versions.require_version(kind=KIND, key=code, current=category.version, given=version)
    if category.active == active:
        return category
    if active:
        # Its default department may have been deactivated while the category was out of use.
        require_department(session, code=category.default_department, field="default_department")
    before = state_of(session, category)
    category.active = active
    category.version += 1
    session.flush()
    action = "activate" if active else "deactivate"
    return _record(session, category, action=action, before=before, actor=actor)
