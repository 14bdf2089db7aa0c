"""Alarm rules: stored definitions, a per-profile cache, evaluation on ingest, the no-data sweep.

Evaluation costs one query per message for the device's rule memory, whatever the number of
readings; the rules themselves come from a cache keyed by database, profile and entity type.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib.metadata import entry_points
from typing import Any

from sqlalchemy import event, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.problems import bad_request, not_found
from cityloop.platforms.data.perception import alarms
from cityloop.platforms.data.perception.alarm_models import Alarm, AlarmRule, RuleState
from cityloop.platforms.data.perception.messages import Message
from cityloop.platforms.data.perception.models import Device, DeviceProfile
from cityloop.platforms.data.perception.rule_logic import (
    SEVERITIES,
    Definition,
    Memory,
    Outcome,
    parse_definition,
    step,
)
from cityloop.platforms.data.perception.service import ENTITY_TYPE, PROFILE_CODE
from cityloop.platforms.data.perception.telemetry import StoredReading

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
    event.listen(session, "after_commit", lambda _s: forget_cached_rules(), once=True)


def _entity_type(device: Device) -> str:
    # entity ids are urn:ngsi-ld:<Type>:<device id> (service.entity_id_for)
    parts = device.entity_id.split(":", 3)
    return parts[2] if len(parts) > 3 else ""


def _compile(rule: AlarmRule) -> CompiledRule:
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
    compiled = tuple(_compile(rule) for rule in rows)
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


# ---------------------------------------------------------------- evaluation


def _positions(readings: Iterable[StoredReading]) -> list[tuple[datetime, str, Any]]:
    """Position readings for geofences: a latitude and longitude of one moment become one
    point, so a device moving across the fence is not judged on half a coordinate."""
    parts: dict[datetime, dict[str, Any]] = {}
    out: list[tuple[datetime, str, Any]] = []
    for reading in readings:
        if reading.attribute in ("latitude", "longitude"):
            parts.setdefault(reading.observed_at, {})[reading.attribute] = reading.value
        elif reading.attribute == "location":
            out.append((reading.observed_at, "location", reading.value))
    for at, found in parts.items():
        if "latitude" in found and "longitude" in found:
            point = {"type": "Point", "coordinates": [found["longitude"], found["latitude"]]}
            out.append((at, "location", point))
        else:
            out.extend((at, attribute, value) for attribute, value in found.items())
    return sorted(out, key=lambda item: item[0])


def _details(rule: CompiledRule, attribute: str | None, value: Any, at: datetime) -> dict[str, Any]:
    return {
        "rule_id": rule.id,
        "rule": rule.name,
        "attribute": attribute,
        "value": value,
        "observed_at": at.isoformat(),
    }


def _fire(
    session: Session,
    device: Device,
    rule: CompiledRule,
    state: RuleState,
    details: dict[str, Any],
    at: datetime,
) -> Alarm:
    alarm, _created = alarms.raise_alarm(
        session,
        device=device,
        rule_id=rule.id,
        alarm_type=rule.alarm_type,
        severity=rule.severity,
        at=at,
        details=details,
        category_code=rule.category_code,
        case_attributes=rule.case_attributes,
    )
    state.alarm_id = alarm.id
    return alarm


def _end(
    session: Session, state: RuleState, alarm_type: str, at: datetime, details: dict[str, Any]
) -> None:
    """Clear the device's open alarm of this type, unless another rule of the same alarm type
    still holds on the device.

    Counted by alarm type, not by the alarm id a state remembers: after an operator's clear the
    re-raised alarm's id is stored only on the rule that fired again."""
    alarm = alarms.open_alarm(session, device_id=state.device_id, alarm_type=alarm_type, lock=True)
    if alarm is None:
        return
    others = session.scalar(
        select(func.count())
        .select_from(RuleState)
        .join(AlarmRule, AlarmRule.id == RuleState.rule_id)
        .where(
            RuleState.device_id == state.device_id,
            RuleState.rule_id != state.rule_id,
            RuleState.active.is_(True),
            AlarmRule.alarm_type == alarm_type,
            AlarmRule.enabled.is_(True),
        )
    )
    if not others:
        alarms.clear_alarm(
            session, alarm=alarm, at=at, by="rule", details={"cleared_by_reading": details}
        )


def _apply(
    session: Session,
    device: Device,
    rule: CompiledRule,
    state: RuleState,
    attribute: str,
    value: Any,
    at: datetime,
) -> None:
    memory = Memory(state.active, state.last_value, state.last_at)
    outcome, after = step(rule.definition, memory, attribute, value, at)
    if after.active != state.active:
        state.active = after.active
    # Every kind remembers its last reading's time, so a late, older reading is ignored.
    if after.last_value != state.last_value or after.last_at != state.last_at:
        state.last_value = after.last_value
        state.last_at = after.last_at
    details = _details(rule, attribute, value, at)
    if outcome in (Outcome.RAISE, Outcome.REPEAT):
        _fire(session, device, rule, state, details, at)
    elif outcome is Outcome.CLEAR:
        session.flush()  # the state's new `active` must be visible to _end's query
        _end(session, state, rule.alarm_type, at, details)


def evaluate_readings(
    session: Session, *, device: Device, readings: Sequence[StoredReading]
) -> None:
    """Run a device's rules over the readings a message appended (oldest first)."""
    # Any message, even one of duplicates only, ends a no-data alarm: the device is talking. The
    # rules run inside a savepoint: a rule deleted by another process may still sit in this
    # process's cache (for up to CACHE_SECONDS), and its rule memory or alarm then breaks a foreign
    # key. The readings are already stored and must stay, so only the rules' work is undone, the
    # cache emptied and the rules run once more from the database.
    for attempt in range(2):
        rules = rules_for(session, device=device)
        if not rules:
            return
        try:
            with session.begin_nested():
                _evaluate(session, device, rules, readings)
            return
        except IntegrityError:
            if attempt:
                raise
            forget_cached_rules()


def _evaluate(
    session: Session,
    device: Device,
    rules: Sequence[CompiledRule],
    readings: Sequence[StoredReading],
) -> None:
    states = {
        state.rule_id: state
        for state in session.scalars(
            select(RuleState).where(
                RuleState.device_id == device.device_id,
                RuleState.rule_id.in_([r.id for r in rules]),
            )
        )
    }

    def state_of(rule: CompiledRule) -> RuleState:
        state = states.get(rule.id)
        if state is None:
            state = RuleState(device_id=device.device_id, rule_id=rule.id, active=False)
            session.add(state)
            states[rule.id] = state
        return state

    now = utcnow()
    for rule in rules:
        if rule.kind == "nodata":
            state = states.get(rule.id)
            if state is not None and state.active:
                state.active = False
                session.flush()
                _end(session, state, rule.alarm_type, now, {"message_at": now.isoformat()})
    per_reading = [r for r in rules if r.kind in ("threshold", "state", "rate")]
    for reading in readings:
        for rule in per_reading:
            if rule.definition.attribute == reading.attribute:
                _apply(
                    session,
                    device,
                    rule,
                    state_of(rule),
                    reading.attribute,
                    reading.value,
                    reading.observed_at,
                )
    fences = [r for r in rules if r.kind == "geofence"]
    if fences:
        for at, attribute, value in _positions(readings):
            for rule in fences:
                _apply(session, device, rule, state_of(rule), attribute, value, at)
    session.flush()


def sweep_nodata(session: Session, *, now: datetime | None = None) -> int:
    """Raise an offline alarm for each device silent for longer than its no-data rule allows."""
    # Returns how many alarms were raised or extended. A device that never sent anything counts
    # from its registration.
    now = now or utcnow()
    raised = 0
    rules = session.scalars(
        select(AlarmRule).where(AlarmRule.kind == "nodata", AlarmRule.enabled.is_(True))
    ).all()
    plans: list[tuple[CompiledRule, datetime, list[str]]] = []
    for row in rules:
        rule = _compile(row)
        assert rule.definition.seconds is not None
        cutoff = now - timedelta(seconds=rule.definition.seconds)
        last = func.coalesce(Device.last_seen_at, Device.created_at)
        query = select(Device.device_id).where(Device.active.is_(True), last < cutoff)
        if row.profile_code is not None:
            query = query.where(Device.profile_code == row.profile_code)
        else:
            query = query.where(
                Device.profile_code.in_(
                    select(DeviceProfile.code).where(DeviceProfile.entity_type == row.entity_type)
                )
            )
        query = query.where(
            ~exists().where(
                RuleState.device_id == Device.device_id,
                RuleState.rule_id == row.id,
                RuleState.active.is_(True),
            )
        )
        ids = list(session.scalars(query.order_by(Device.device_id).limit(NODATA_BATCH)))
        plans.append((rule, cutoff, ids))
    # Every device of every rule locked at once, in ingest's order (by id), so the sweep and a
    # multi-device ingest batch can never wait on each other in a cycle. A device that
    # reported meanwhile is seen as it is now and left alone.
    wanted = sorted({device_id for _, _, ids in plans for device_id in ids})
    locked = {
        device.device_id: device
        for device in session.scalars(
            select(Device)
            .where(Device.device_id.in_(wanted))
            .order_by(Device.device_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    for rule, cutoff, ids in plans:
        for device_id in ids:
            device = locked.get(device_id)
            if device is None or not device.active:
                continue
            silent_since = device.last_seen_at or device.created_at
            if silent_since >= cutoff:
                continue
            state = session.get(RuleState, (device.device_id, rule.id))
            if state is None:
                state = RuleState(device_id=device.device_id, rule_id=rule.id)
                session.add(state)
            state.active = True
            details = {
                "rule_id": rule.id,
                "rule": rule.name,
                "last_seen_at": silent_since.isoformat(),
                "silent_seconds": int((now - silent_since).total_seconds()),
            }
            _fire(session, device, rule, state, details, now)
            raised += 1
    session.flush()
    return raised
