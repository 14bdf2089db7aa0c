"""The city's vital signs (城市体征): each indicator's value over its sensors' latest values, its
level against its thresholds, its 24-hour trend and its active alarms; and the admins' edits of
the indicators, versioned and audited like the rest of the city's configuration.

Aggregations, over one value per active device of the indicator's profile:
- ``mean``, ``max``, ``min`` of a numeric attribute;
- ``share_above`` / ``share_below``: the per cent of devices whose value is above / below the
  operand (a number);
- ``share_equal``: the per cent of devices whose value equals the operand (a text or boolean,
  e.g. parking bays ``occupied``);
- ``count_equal``: how many devices' value equals the operand (lamps ``defectiveLamp``).

Levels: with direction ``above`` (higher is worse) a value at or over ``warning`` is a warning
and at or over ``critical`` critical; with ``below`` the same downwards. An indicator with no
device reporting is ``unknown``.

Scope: a district-scoped account sees the devices standing in its district (by the device's
point on the city's map, as the device list places it); others may ask for any district.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.problems import bad_request, not_found
from cityloop.domains.operations import vital_figures as figures
from cityloop.domains.operations.cuts import require_reader
from cityloop.domains.operations.messages import Message
from cityloop.domains.operations.vital_models import VitalSign
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.application.geo.models import Jurisdiction
from cityloop.platforms.application.identity import versions
from cityloop.platforms.application.identity.service import Actor
from cityloop.platforms.data.perception.alarm_models import AlarmRule
from cityloop.platforms.data.perception.models import Device, DeviceProfile

AGGREGATIONS = ("mean", "max", "min", *figures.NUMBER_TESTS, *figures.TEXT_TESTS)
DIRECTIONS = ("above", "below")
LEVELS = ("normal", "warning", "critical", "unknown")
CODE = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
KIND = "vital-sign"  # in the configuration versions and the audit trail


@dataclass(frozen=True)
class VitalInput:
    """An indicator as an admin (or the city folder) states it."""

    name: str
    name_zh: str
    profile_code: str
    attribute: str
    aggregation: str
    direction: str
    warning: float
    critical: float
    operand: Any = None
    unit: str = ""
    position: int = 0


def level(value: float | None, *, direction: str, warning: float, critical: float) -> str:
    """normal, warning or critical for ``value`` (a threshold reached counts); unknown for None."""
    if value is None:
        return "unknown"
    if direction == "above":
        return "critical" if value >= critical else "warning" if value >= warning else "normal"
    return "critical" if value <= critical else "warning" if value <= warning else "normal"


def _problem(code: str, field: str, **params: str) -> Exception:
    return bad_request(Message(f"operations.vital_{code}", params), field=field)


def check_input(session: Session, *, code: str, data: VitalInput) -> None:
    """400 naming the field for an indicator that cannot be computed or judged."""
    if not CODE.match(code):
        raise _problem("code", "code")
    if data.aggregation not in AGGREGATIONS:
        raise _problem("aggregation", "aggregation", choices=", ".join(AGGREGATIONS))
    if data.direction not in DIRECTIONS:
        raise _problem("direction", "direction")
    if session.get(DeviceProfile, data.profile_code) is None:
        raise _problem("profile", "profile_code", profile=repr(data.profile_code))
    operand = data.operand
    is_number = isinstance(operand, int | float) and not isinstance(operand, bool)
    if data.aggregation in figures.NUMBER_TESTS and not is_number:
        raise _problem("operand_number", "operand", aggregation=data.aggregation)
    if data.aggregation in figures.TEXT_TESTS and not (
        isinstance(operand, bool) or (isinstance(operand, str) and operand)
    ):
        raise _problem("operand_text", "operand", aggregation=data.aggregation)
    if data.aggregation in ("mean", "max", "min") and operand is not None:
        raise _problem("operand_none", "operand", aggregation=data.aggregation)
    worse = (
        data.critical >= data.warning
        if data.direction == "above"
        else (data.critical <= data.warning)
    )
    if not worse:
        raise _problem("thresholds", "critical", direction=data.direction)


def _state(sign: VitalSign) -> dict[str, Any]:
    return {name: getattr(sign, name) for name in VitalInput.__dataclass_fields__}


def save_vital(
    session: Session, *, code: str, data: VitalInput, actor: Actor, version: int | None
) -> VitalSign:
    """Create the indicator ``code`` or replace it (naming the version it was edited on)."""
    check_input(session, code=code, data=data)
    sign = session.get(VitalSign, code)
    before = None
    if sign is None:
        sign = VitalSign(code=code, version=1)
        session.add(sign)
        action = "create"
    else:
        versions.require_version(kind=KIND, key=code, current=sign.version, given=version)
        before = _state(sign)
        sign.version += 1
        action = "edit"
    for name, value in asdict(data).items():
        setattr(sign, name, value)
    sign.updated_at = utcnow()
    session.flush()
    versions.record(
        session,
        kind=KIND,
        key=code,
        version=sign.version,
        action=action,
        state=_state(sign),
        before=before,
        actor=actor,
    )
    return sign


def delete_vital(session: Session, *, code: str, actor: Actor, version: int | None) -> None:
    """Remove the indicator ``code`` (naming the version it was read at); its versions stay."""
    sign = _get(session, code)
    versions.require_version(kind=KIND, key=code, current=sign.version, given=version)
    before = _state(sign)
    session.delete(sign)
    versions.record(
        session,
        kind=KIND,
        key=code,
        version=sign.version + 1,
        action="delete",
        state={},
        before=before,
        actor=actor,
    )


def _get(session: Session, code: str) -> VitalSign:
    sign = session.get(VitalSign, code) if len(code) <= 40 else None
    if sign is None:
        raise not_found("vital sign", code)
    return sign


def definitions(session: Session) -> list[VitalSign]:
    """Every indicator, in the order the screen shows them."""
    return list(session.scalars(select(VitalSign).order_by(VitalSign.position, VitalSign.code)))


def _district_devices(session: Session, district: str) -> dict[str, set[str]]:
    """The ids of the devices whose point falls in ``district`` on the city's map, by profile
    (each indicator then names only its own profile's devices)."""
    row = session.get(Jurisdiction, district)
    west, south, east, north = shape(row.geometry).bounds if row else (0.0, 0.0, 0.0, 0.0)
    index = geo.jurisdiction_index(session)
    inside: dict[str, set[str]] = {}
    # The bounding box narrows in SQL; the polygon decides in Python, as for a case's point.
    for device_id, profile, lon, lat in session.execute(
        select(Device.device_id, Device.profile_code, Device.lon, Device.lat).where(
            Device.lon.between(west, east),
            Device.lat.between(south, north),
        )
    ):
        placed = index.place(lon, lat)
        if placed is not None and placed.district.code == district:
            inside.setdefault(profile, set()).add(device_id)
    return inside


def scope(session: Session, *, actor: Actor, district: str | None) -> str | None:
    """The district ``actor`` looks at: their own when their account is scoped, else the one
    asked for (checked), else None for the whole city."""
    require_reader(actor)
    if actor.district_code:
        return actor.district_code
    if district:
        row = session.get(Jurisdiction, district) if len(district) <= 40 else None
        if row is None or row.level != "district":
            raise _problem("district", "district", district=repr(district))
        return district
    return None


@dataclass(frozen=True)
class _Context:
    district: str | None
    # The district's devices by profile; None for the whole city.
    devices: dict[str, set[str]] | None
    rules: list[AlarmRule]
    entity_types: dict[str, str]
    now: datetime


def _context(
    session: Session, *, actor: Actor, district: str | None, now: datetime | None
) -> _Context:
    chosen = scope(session, actor=actor, district=district)
    return _Context(
        district=chosen,
        devices=_district_devices(session, chosen) if chosen else None,
        # Disabled rules too: the alarms they raised may still stand.
        rules=list(session.scalars(select(AlarmRule))),
        entity_types={
            code: kind
            for code, kind in session.execute(select(DeviceProfile.code, DeviceProfile.entity_type))
        },
        now=now or utcnow(),
    )


def _in_district(sign: VitalSign, context: _Context) -> set[str] | None:
    """The indicator's devices in the district looked at; None for the whole city."""
    if context.devices is None:
        return None
    return context.devices.get(sign.profile_code, set())


def _reading(session: Session, sign: VitalSign, context: _Context) -> dict[str, Any]:
    devices = _in_district(sign, context)
    figure = figures.current(session, sign=sign, devices=devices)
    rule_ids = figures.linked_rules(
        sign, context.entity_types.get(sign.profile_code), context.rules
    )
    alarm_ids, alarm_count = figures.active_alarms(session, rule_ids=rule_ids, devices=devices)
    return {
        "code": sign.code,
        "name": sign.name,
        "name_zh": sign.name_zh,
        "profile_code": sign.profile_code,
        "attribute": sign.attribute,
        "aggregation": sign.aggregation,
        "operand": sign.operand,
        "unit": sign.unit,
        "direction": sign.direction,
        "warning": sign.warning,
        "critical": sign.critical,
        "version": sign.version,
        "value": figure.value,
        "level": level(
            figure.value, direction=sign.direction, warning=sign.warning, critical=sign.critical
        ),
        "devices": figure.devices,
        "trend": figures.trend(session, sign=sign, devices=devices, now=context.now),
        "rule_ids": rule_ids,
        "alarm_ids": alarm_ids,
        "alarm_count": alarm_count,
    }


def vital_signs(
    session: Session, *, actor: Actor, district: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Every indicator as ``actor`` may see it: value, level, trend and active alarms."""
    context = _context(session, actor=actor, district=district, now=now)
    return {
        "district": context.district,
        "at": context.now.isoformat(),
        "items": [_reading(session, sign, context) for sign in definitions(session)],
    }


def _counted(sign: VitalSign, value: Any) -> bool | None:
    """Whether one device's value meets a share/count indicator's test (None for the others)."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if sign.aggregation == "share_above":
        return is_number and value > float(sign.operand)
    if sign.aggregation == "share_below":
        return is_number and value < float(sign.operand)
    if sign.aggregation in figures.TEXT_TESTS:
        if value is None or is_number:
            return False
        return figures.operand_text(value) == figures.operand_text(sign.operand)
    return None


def vital_sign(
    session: Session,
    *,
    actor: Actor,
    code: str,
    district: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One indicator as ``vital_signs`` gives it, with each of its devices."""
    sign = _get(session, code)
    context = _context(session, actor=actor, district=district, now=now)
    answer = _reading(session, sign, context)
    rows = figures.device_rows(session, sign=sign, devices=_in_district(sign, context))
    alarms = figures.device_alarms(
        session, rule_ids=answer["rule_ids"], device_ids=[r["device_id"] for r in rows]
    )
    index = geo.jurisdiction_index(session)
    devices = []
    for row in rows:
        placed = (
            index.place(row["lon"], row["lat"])
            if row["lat"] is not None and row["lon"] is not None
            else None
        )
        value = row["value"]
        devices.append(
            {
                "device_id": row["device_id"],
                "name": row["name"],
                "name_zh": row["name_zh"],
                "district": placed.district.code if placed else None,
                "value": value,
                "observed_at": row["observed_at"].isoformat() if row["observed_at"] else None,
                "counted": _counted(sign, value) if row["observed_at"] else None,
                "alarm_ids": alarms.get(row["device_id"], []),
            }
        )
    return {
        "district": context.district,
        "at": context.now.isoformat(),
        "sign": answer,
        "devices": devices,
    }
