"""Alarm rules at work: each ingest message runs the device's rules over the readings it
appended, and a sweep raises no-data alarms for devices gone silent.

Evaluation costs one query per message for the device's rule memory, whatever the number of
readings; the rules themselves come from :func:`rules.rules_for`'s cache."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.platforms.data.perception import alarms
from cityloop.platforms.data.perception.alarm_models import Alarm, AlarmRule, RuleState
from cityloop.platforms.data.perception.models import Device, DeviceProfile
from cityloop.platforms.data.perception.rule_logic import Memory, Outcome, step
from cityloop.platforms.data.perception.rules import (
    NODATA_BATCH,
    CompiledRule,
    compile_rule,
    forget_cached_rules,
    rules_for,
)
from cityloop.platforms.data.perception.telemetry import StoredReading


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
        rule = compile_rule(row)
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
