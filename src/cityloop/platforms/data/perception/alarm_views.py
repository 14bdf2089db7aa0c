"""Alarm rules (administrators), alarms (the operations staff) and telemetry rollups, under
/api/v1/perception. Thin: parse, call a service function in one unit of work, shape the answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext, get_context
from cityloop.platforms.application.identity.deps import require_roles
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor, audit
from cityloop.platforms.data.perception import alarms, retention, rules, service
from cityloop.platforms.data.perception import responses as out
from cityloop.platforms.data.perception.responses import alarm_out, rule_out

BASE = "/api/v1/perception"
router = APIRouter(tags=["alarms"])
Ctx = Annotated[AppContext, Depends(get_context)]
Admin = Annotated[Actor, Depends(require_roles(Role.ADMIN))]
# Whoever watches the city's state may see and handle alarms.
Operator = Annotated[Actor, Depends(require_roles(Role.ADMIN, Role.DISPATCHER, Role.SUPERVISOR))]
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]


class RuleIn(BaseModel):
    # Loose types on purpose: the service checks them and names the field in a 400.
    name: str = Field(max_length=200)
    name_zh: str = Field(default="", max_length=200)
    kind: str = Field(max_length=20)
    definition: Any = None
    alarm_type: str = Field(max_length=60)
    severity: str = Field(max_length=20)
    profile_code: str | None = Field(default=None, max_length=60)
    entity_type: str | None = Field(default=None, max_length=100)
    category_code: str | None = Field(default=None, max_length=20)
    case_attributes: Any = Field(default_factory=dict)
    enabled: bool = True

    def data(self) -> rules.RuleInput:
        return rules.RuleInput(
            name=self.name,
            name_zh=self.name_zh,
            kind=self.kind,
            definition=self.definition,
            alarm_type=self.alarm_type,
            severity=self.severity,
            profile_code=self.profile_code,
            entity_type=self.entity_type,
            category_code=self.category_code,
            case_attributes=self.case_attributes,
            enabled=self.enabled,
        )


@router.post(BASE + "/rules", status_code=201)
def create_rule(ctx: Ctx, actor: Admin, body: RuleIn) -> out.Rule:
    """Create an alarm rule: the condition on readings that raises an alarm of a type and severity;
    admins only."""
    data = body.data()

    def write(session: Session) -> out.Rule:
        rule = rules.create_rule(session, data=data)
        audit(session, actor=actor, action="alarm_rule.create", target=f"rule:{rule.id}")
        return rule_out(rule)

    return ctx.write_grouped(write)


@router.get(BASE + "/rules")
def list_rules(
    ctx: Ctx,
    actor: Admin,
    profile_code: Annotated[str | None, Query(max_length=60)] = None,
    entity_type: Annotated[str | None, Query(max_length=100)] = None,
) -> list[out.Rule]:
    """The alarm rules, optionally of one profile or entity type, by id; admins only."""
    with ctx.reading() as session:
        found = rules.list_rules(session, profile_code=profile_code, entity_type=entity_type)
        return [rule_out(r) for r in found]


@router.get(BASE + "/rules/{rule_id}")
def get_rule(ctx: Ctx, actor: Admin, rule_id: Id) -> out.Rule:
    """One alarm rule; admins only."""
    with ctx.reading() as session:
        return rule_out(rules.get_rule(session, rule_id=rule_id))


@router.put(BASE + "/rules/{rule_id}")
def replace_rule(ctx: Ctx, actor: Admin, rule_id: Id, body: RuleIn) -> out.Rule:
    """Replace an alarm rule's definition; admins only."""
    data = body.data()

    def write(session: Session) -> out.Rule:
        rule = rules.update_rule(session, rule_id=rule_id, data=data)
        audit(session, actor=actor, action="alarm_rule.update", target=f"rule:{rule_id}")
        return rule_out(rule)

    return ctx.write_grouped(write)


@router.delete(BASE + "/rules/{rule_id}", status_code=204)
def delete_rule(ctx: Ctx, actor: Admin, rule_id: Id) -> Response:
    """Delete an alarm rule (the alarms it raised stay); admins only."""

    def write(session: Session) -> None:
        rules.delete_rule(session, rule_id=rule_id)
        audit(session, actor=actor, action="alarm_rule.delete", target=f"rule:{rule_id}")

    ctx.write_grouped(write)
    return Response(status_code=204)


@router.get(BASE + "/alarms")
def list_alarms(
    ctx: Ctx,
    actor: Operator,
    status: Annotated[str | None, Query(max_length=20)] = None,
    severity: Annotated[str | None, Query(max_length=20)] = None,
    type: Annotated[str | None, Query(max_length=60)] = None,
    originator: Annotated[str | None, Query(max_length=100)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    rule: Annotated[str | None, Query(max_length=500, description="rule ids, e.g. 3,7")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> out.AlarmPage:
    """One page of alarms, filtered by status, severity, type, originator (the device id),
    when they started (``since`` inclusive, ``until`` exclusive) and the rules that raised them,
    newest first; admins, dispatchers and supervisors."""
    with ctx.reading() as session:
        rows, total = alarms.list_alarms(
            session,
            filters=alarms.AlarmFilter(status, severity, type, originator, since, until, rule),
            offset=offset,
            limit=limit,
        )
        return out.AlarmPage(
            items=[alarm_out(a) for a in rows], total=total, offset=offset, limit=limit
        )


@router.get(BASE + "/alarms/{alarm_id}")
def get_alarm(ctx: Ctx, actor: Operator, alarm_id: Id) -> out.Alarm:
    """One alarm; admins, dispatchers and supervisors."""
    with ctx.reading() as session:
        return alarm_out(alarms.get_alarm(session, alarm_id=alarm_id))


@router.post(BASE + "/alarms/{alarm_id}/ack")
def ack_alarm(ctx: Ctx, actor: Operator, alarm_id: Id) -> out.Alarm:
    """Acknowledge an alarm (409 when its state does not allow it); admins, dispatchers and
    supervisors."""

    def write(session: Session) -> out.Alarm:
        alarm = alarms.acknowledge(session, alarm_id=alarm_id, username=actor.username)
        audit(session, actor=actor, action="alarm.ack", target=f"alarm:{alarm_id}")
        return alarm_out(alarm)

    return ctx.write_grouped(write)


@router.post(BASE + "/alarms/{alarm_id}/clear")
def clear_alarm(ctx: Ctx, actor: Operator, alarm_id: Id) -> out.Alarm:
    """Clear an alarm by hand (its rule raises a new one if the condition still holds); admins,
    dispatchers and supervisors."""

    def write(session: Session) -> out.Alarm:
        alarm = alarms.clear_manually(session, alarm_id=alarm_id, username=actor.username)
        audit(session, actor=actor, action="alarm.clear", target=f"alarm:{alarm_id}")
        return alarm_out(alarm)

    return ctx.write_grouped(write)


@router.get(BASE + "/devices/{device_id}/rollups")
def device_rollups(
    ctx: Ctx,
    actor: Admin,
    device_id: str,
    attribute: Annotated[str, Query(min_length=1, max_length=200)],
    since: datetime | None = None,
    until: datetime | None = None,
) -> out.Rollups:
    """Hourly count, min, max, sum and average of one numeric attribute."""
    with ctx.reading() as session:
        device = service.get_device(session, device_id=device_id)
        items = retention.rollups(
            session, device_id=device.device_id, attribute=attribute, since=since, until=until
        )
        return out.Rollups.model_validate(
            {
                "device_id": device.device_id,
                "entity_id": device.entity_id,
                "attribute": attribute,
                "items": items,
            }
        )
