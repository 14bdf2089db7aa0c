"""The vital signs' routes (城市体征): every indicator, one with its devices, and the admins'
edits. Thin: scope, thresholds and versions are in ``vitals``."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from cityloop.base.context import AppContext, get_context
from cityloop.domains.operations import vitals
from cityloop.domains.operations.vital_schemas import VitalDetail, VitalIn, VitalReading, VitalSigns
from cityloop.platforms.application.identity.deps import require_roles, staff_actor
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor

router = APIRouter(prefix="/api/v1/operations", tags=["operations"])
Ctx = Annotated[AppContext, Depends(get_context)]
Staff = Annotated[Actor, Depends(staff_actor)]
Admin = Annotated[Actor, Depends(require_roles(Role.ADMIN))]
Code = Annotated[str, Path(min_length=1, max_length=100)]
District = Annotated[str | None, Query(max_length=40, description="a district's code")]


@router.get("/vitals")
def vital_signs(ctx: Ctx, actor: Staff, district: District = None) -> VitalSigns:
    """The city's vital signs (城市体征): each indicator's value over its sensors' latest values,
    its level against its thresholds, its hourly trend over 24 h and its active alarms; staff
    and leaders (a district-scoped account sees its district)."""
    with ctx.reading() as session:
        answer = vitals.vital_signs(session, actor=actor, district=district)
    return VitalSigns.model_validate(answer)


@router.get("/vitals/{code}")
def vital_sign(ctx: Ctx, actor: Staff, code: Code, district: District = None) -> VitalDetail:
    """One vital sign with each of its devices' latest value and active alarms; staff and
    leaders, within their scope."""
    with ctx.reading() as session:
        answer = vitals.vital_sign(session, actor=actor, code=code, district=district)
    return VitalDetail.model_validate(answer)


@router.put("/vitals/{code}")
def save_vital_sign(ctx: Ctx, actor: Admin, code: Code, body: VitalIn) -> VitalReading:
    """Create or replace an indicator (an edit names the ``version`` it was made on); versioned
    and audited; admins only."""
    data = vitals.VitalInput(**body.model_dump(exclude={"version"}))
    ctx.write_grouped(
        partial(vitals.save_vital, code=code, data=data, actor=actor, version=body.version)
    )
    with ctx.reading() as session:
        answer = vitals.vital_sign(session, actor=actor, code=code)
    return VitalReading.model_validate(answer["sign"])


@router.delete("/vitals/{code}", status_code=204)
def delete_vital_sign(
    ctx: Ctx, actor: Admin, code: Code, version: Annotated[int | None, Query(ge=1)] = None
) -> Response:
    """Remove an indicator read at ``version``; its versions stay; admins only."""
    ctx.write_grouped(partial(vitals.delete_vital, code=code, actor=actor, version=version))
    return Response(status_code=204)
