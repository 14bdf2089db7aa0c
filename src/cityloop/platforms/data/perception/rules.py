"""Alarm rules: stored definitions and a per-profile cache of them, compiled. Evaluating them on
ingest and the no-data sweep live in :mod:`rule_evaluation`; the rules come from the cache keyed
here by database, profile and entity type."""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.commit_hooks import after_this_commit
from cityloop.base.db import utcnow
from cityloop.base.problems import bad_request, not_found
from cityloop.platforms.data.perception.alarm_models import AlarmRule, RuleState
from cityloop.platforms.data.perception.messages import Message
from cityloop.platforms.data.perception.models import Device
from cityloop.platforms.data.perception.rule_logic import (
    SEVERITIES,
    Definition,
    parse_definition,
)
from cityloop.platforms.data.perception.service import ENTITY_TYPE, PROFILE_CODE

ALARM_TYPE = re.compile(r"^[A-Z][A-Z0-9_]{0,59}$")
# Another process's rule change reaches this one's cache within this many seconds.
CACHE_SECONDS = 10.0
# The no-data sweep raises at most this many alarms per rule per pass; the next pass goes on.
NODATA_BATCH = 1000
POSITION_ATTRIBUTES = ("latitude", "longitude", "location")


@dataclass(frozen=True)
class CompiledRule:
    id: int
    name: str
    kind: str
    definition: Definition
    alarm_type: str
    severity: str
    category_code: str | None
    case_attributes: dict[str, Any]


# A rule may name the category of the case its alarms open. Perception cannot know categories
# (a domain owns them): whichever package files those cases registers a check under this entry
# point group, which raises a 400 naming category_code or case_attributes.
CASE_TARGET_CHECKS = "cityloop.case_target_checks"
CaseTargetCheck = Callable[[Session, str, dict[str, Any]], None]


@functools.cache
def case_target_checks() -> tuple[CaseTargetCheck, ...]:
    """The installed checks of a rule's case category and attributes."""
    return tuple(entry.load() for entry in entry_points(group=CASE_TARGET_CHECKS))


# ---------------------------------------------------------------- the cache

_cache: dict[tuple[str, str, str], tuple[float, tuple[CompiledRule, ...]]] = {}
_cache_lock = threading.Lock()


def forget_cached_rules() -> None:
    """Empty this process's rule cache."""
    with _cache_lock:
        _cache.clear()


def _invalidate_after_commit(session: Session) -> None:
    # Clear now and again after commit, so no reader caches the old rules in between.
    forget_cached_rules()
    after_this_commit(session, forget_cached_rules)


def _entity_type(device: Device) -> str:
    # entity ids are urn:ngsi-ld:<Type>:<device id> (service.entity_id_for)
    parts = device.entity_id.split(":", 3)
    return parts[2] if len(parts) > 3 else ""


def compile_rule(rule: AlarmRule) -> CompiledRule:
    """A stored rule with its definition parsed, as evaluation uses it."""
    return CompiledRule(
        rule.id,
        rule.name,
        rule.kind,
        parse_definition(rule.kind, rule.definition),
        rule.alarm_type,
        rule.severity,
        rule.category_code,
        dict(rule.case_attributes or {}),
    )


def rules_for(session: Session, *, device: Device) -> tuple[CompiledRule, ...]:
    """The enabled rules of a device's profile and entity type, from the cache when fresh."""
    key = (str(session.get_bind().url), device.profile_code, _entity_type(device))
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    rows = session.scalars(
        select(AlarmRule)
        .where(
            AlarmRule.enabled.is_(True),
            (AlarmRule.profile_code == key[1]) | (AlarmRule.entity_type == key[2]),
        )
        .order_by(AlarmRule.id)
    )
    compiled = tuple(compile_rule(rule) for rule in rows)
    with _cache_lock:
        _cache[key] = (now, compiled)
    return compiled


# ---------------------------------------------------------------- rule CRUD


@dataclass
class RuleInput:
    name: str
    kind: str
    definition: dict[str, Any]
    alarm_type: str
    severity: str
    profile_code: str | None = None
    entity_type: str | None = None
    category_code: str | None = None
    case_attributes: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    name_zh: str = ""


def _validate(session: Session, data: RuleInput) -> None:
    if not data.name or not data.name.strip() or len(data.name) > 200:
        raise bad_request(Message("perception.name_characters"), field="name")
    if len(data.name_zh) > 200:
        raise bad_request(Message("perception.name_characters"), field="name_zh")
    if (data.profile_code is None) == (data.entity_type is None):
        raise bad_request(Message("perception.give_exactly_profile_code"), field="profile_code")
    if data.profile_code is not None and not PROFILE_CODE.match(data.profile_code):
        raise bad_request(Message("perception.profile_code_device_profile"), field="profile_code")
    if data.entity_type is not None and not ENTITY_TYPE.match(data.entity_type):
        raise bad_request(Message("perception.entity_type_type_name"), "entity_type")
    if not isinstance(data.alarm_type, str) or not ALARM_TYPE.match(data.alarm_type):
        raise bad_request(
            Message("perception.alarm_type_capitals_digits"),
            field="alarm_type",
        )
    if data.severity not in SEVERITIES:
        raise bad_request(
            Message("perception.severity_choices", {"items": ", ".join(SEVERITIES)}),
            field="severity",
        )
    if not isinstance(data.case_attributes, dict):
        raise bad_request(Message("perception.case_attributes_object"), field="case_attributes")
    if data.category_code is not None:
        checks = case_target_checks()
        if not checks:
            raise bad_request(
                Message("perception.case_domain_installed_file"), field="category_code"
            )
        for check in checks:
            check(session, data.category_code, data.case_attributes)
    elif data.case_attributes:
        raise bad_request(
            Message("perception.case_attributes_need_category"), field="case_attributes"
        )
    parse_definition(data.kind, data.definition)


def create_rule(session: Session, *, data: RuleInput) -> AlarmRule:
    """Add an alarm rule after checking its definition, category and case attributes."""
    _validate(session, data)
    now = utcnow()
    rule = AlarmRule(
        name=data.name.strip(),
        name_zh=data.name_zh.strip(),
        profile_code=data.profile_code,
        entity_type=data.entity_type,
        kind=data.kind,
        definition=dict(data.definition),
        alarm_type=data.alarm_type,
        severity=data.severity,
        category_code=data.category_code,
        case_attributes=dict(data.case_attributes),
        enabled=data.enabled,
        created_at=now,
        updated_at=now,
    )
    session.add(rule)
    session.flush()
    _invalidate_after_commit(session)
    return rule


def get_rule(session: Session, *, rule_id: int) -> AlarmRule:
    """A rule; 404 when there is none with this id."""
    rule = session.get(AlarmRule, rule_id)
    if rule is None:
        raise not_found("rule", rule_id)
    return rule


def list_rules(
    session: Session, *, profile_code: str | None = None, entity_type: str | None = None
) -> list[AlarmRule]:
    """The rules, optionally of one profile or entity type, by id."""
    query = select(AlarmRule)
    if profile_code is not None:
        query = query.where(AlarmRule.profile_code == profile_code)
    if entity_type is not None:
        query = query.where(AlarmRule.entity_type == entity_type)
    return list(session.scalars(query.order_by(AlarmRule.id)))


def update_rule(session: Session, *, rule_id: int, data: RuleInput) -> AlarmRule:
    """Replace a rule; its per-device memory starts afresh."""
    # The old memory may not fit the new definition; open alarms stay and are extended when the
    # condition still holds.
    rule = get_rule(session, rule_id=rule_id)
    _validate(session, data)
    rule.name = data.name.strip()
    rule.name_zh = data.name_zh.strip()
    rule.profile_code = data.profile_code
    rule.entity_type = data.entity_type
    rule.kind = data.kind
    rule.definition = dict(data.definition)
    rule.alarm_type = data.alarm_type
    rule.severity = data.severity
    rule.category_code = data.category_code
    rule.case_attributes = dict(data.case_attributes)
    rule.enabled = data.enabled
    rule.updated_at = utcnow()
    session.execute(RuleState.__table__.delete().where(RuleState.rule_id == rule.id))
    session.flush()
    _invalidate_after_commit(session)
    return rule


def delete_rule(session: Session, *, rule_id: int) -> None:
    """Delete a rule and its per-device memory (its alarms stay)."""
    rule = get_rule(session, rule_id=rule_id)
    session.execute(RuleState.__table__.delete().where(RuleState.rule_id == rule.id))
    session.delete(rule)
    session.flush()
    _invalidate_after_commit(session)
