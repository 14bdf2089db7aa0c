"""The operations centre's city map: what is open, alarming, reporting and out in the street,
scoped like the KPIs, and the heat of each area.

Cases come from the operations read model (no personal data: codes, a point, status, priority,
overdue). Alarms and devices come from the perception platform, crews and their workers'
last positions from identity. A map of 100,000 open cases must answer fast, so each layer is
sent as column names and rows of plain values (no dict per point), read with one SELECT of
only the columns the map draws.

Scope: a department's staff see their department's cases and crews; an account with a district
scope sees only what lies in its district (devices, alarms and positions by where their point
falls on the city's map). Alarms and devices belong to no department, so a department's staff
see the city's (within their district scope, if they have one).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.problems import bad_request
from cityloop.domains.operations.cuts import scoped
from cityloop.domains.operations.messages import Message
from cityloop.domains.operations.models import CaseFactRow
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.application.identity import crews as crew_registry
from cityloop.platforms.application.identity import positions
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.models import Crew, User
from cityloop.platforms.application.identity.service import Actor
from cityloop.platforms.data.access.service import record_access
from cityloop.platforms.data.perception import alarms as perception_alarms
from cityloop.platforms.data.perception.alarm_models import Alarm
from cityloop.platforms.data.perception.device_queries import BATTERY, device_state
from cityloop.platforms.data.perception.models import Device, LatestValue
from cityloop.platforms.data.perception.telemetry import as_utc

Layer = Literal["cases", "alarms", "devices", "crews"]
LAYERS: tuple[Layer, ...] = ("cases", "alarms", "devices", "crews")
LEVELS = ("district", "street", "grid")
MEASURES = ("count", "overdue_share")
# A case the city is still working on: anything but closed, rejected and merged.
DONE = ("closed", "rejected", "merged")

CASE_COLUMNS = ("id", "lat", "lon", "status", "priority", "overdue", "category", "district")
ALARM_COLUMNS = ("id", "lat", "lon", "severity", "status", "type", "device_id", "started_at")
DEVICE_COLUMNS = ("id", "lat", "lon", "state", "last_seen_at", "battery", "profile", "name")
WORKER_COLUMNS = ("user_id", "username", "display_name", "lat", "lon", "at", "crews")

Row = list[Any]


@dataclass
class CityMap:
    """The layers asked for (None for one not asked), each as rows of ``*_COLUMNS``."""

    generated_at: datetime
    scope: dict[str, str]
    cases: list[Row] | None = None
    alarms: list[Row] | None = None
    devices: list[Row] | None = None
    workers: list[Row] | None = None
    crews: list[dict[str, Any]] | None = None
    # Accounts whose position the answer holds: the route records that read.
    positions_read: list[int] = field(default_factory=list)


def parse_layers(text: str | None) -> tuple[Layer, ...]:
    """``cases,alarms`` as known layer names (every layer when empty); 400 naming the unknown."""
    if not text:
        return LAYERS
    chosen: list[Layer] = []
    for name in (part.strip() for part in text.split(",")):
        if not name:
            continue
        if name not in LAYERS:
            raise bad_request(
                Message(
                    "operations.unknown_layer",
                    {"value": repr(name), "layers": ", ".join(LAYERS)},
                ),
                field="layers",
            )
        if name not in chosen:
            chosen.append(name)  # type: ignore[arg-type]
    return tuple(chosen) or LAYERS


def _in_district(
    index: geo.JurisdictionIndex, district: str, lat: float | None, lon: float | None
) -> bool:
    if lat is None or lon is None:
        return False
    placed = index.place(lon, lat)
    return placed is not None and placed.district.code == district


def district_of(session: Session, *, lat: float | None, lon: float | None) -> str | None:
    """The district a point falls in on the city's map (None outside it, or without a point)."""
    if lat is None or lon is None:
        return None
    placed = geo.jurisdiction_index(session).place(lon, lat)
    return placed.district.code if placed is not None else None


def case_query(*, scope: dict[str, str], now: datetime) -> Select[Any]:
    """The SELECT of the open cases in scope, in CASE_COLUMNS order, oldest id first: the
    overdue flag is computed by the database, so no deadline is parsed in Python."""
    overdue = case((CaseFactRow.resolution_due < now, 1), else_=0)
    query = select(
        CaseFactRow.case_id,
        CaseFactRow.lat,
        CaseFactRow.lon,
        CaseFactRow.status,
        CaseFactRow.priority,
        overdue,
        CaseFactRow.category,
        CaseFactRow.district,
    ).where(CaseFactRow.status.not_in(DONE))
    for name, value in scope.items():
        query = query.where(getattr(CaseFactRow, name) == value)
    return query.order_by(CaseFactRow.case_id)


def case_rows(session: Session, *, scope: dict[str, str], now: datetime) -> list[Row]:
    """The open cases in scope as rows of CASE_COLUMNS."""
    # One plain list per case (no dict, no ORM object): this is the map's 100,000-row path.
    return [
        # Six decimals (about 0.1 m) keep the answer a fifth smaller than full floats.
        [case_id, round(lat, 6), round(lon, 6), status, priority, late == 1, category, district]
        for case_id, lat, lon, status, priority, late, category, district in session.execute(
            case_query(scope=scope, now=now)
        )
    ]


def alarm_rows(session: Session, *, district: str | None) -> list[Row]:
    """The active alarms (ACTIVE_UNACK, ACTIVE_ACK) as rows of ALARM_COLUMNS, at their device."""
    query = (
        select(Alarm, Device.lat, Device.lon)
        .join(Device, Device.device_id == Alarm.originator_id)
        .where(Alarm.status.in_(perception_alarms.ACTIVE))
        .order_by(Alarm.id)
    )
    index = geo.jurisdiction_index(session) if district else None
    rows: list[Row] = []
    for alarm, lat, lon in session.execute(query):
        if index is not None and district and not _in_district(index, district, lat, lon):
            continue
        rows.append(
            [
                alarm.id,
                lat,
                lon,
                alarm.severity,
                alarm.status,
                alarm.type,
                alarm.originator_id,
                as_utc(alarm.started_at).isoformat(),
            ]
        )
    return rows


def device_rows(session: Session, *, district: str | None, now: datetime) -> list[Row]:
    """The active devices with a point as rows of DEVICE_COLUMNS: state, last seen, battery."""
    devices = list(
        session.scalars(
            select(Device)
            .where(Device.active.is_(True), Device.lat.is_not(None), Device.lon.is_not(None))
            .order_by(Device.device_id)
        )
    )
    if district:
        index = geo.jurisdiction_index(session)
        devices = [d for d in devices if _in_district(index, district, d.lat, d.lon)]
    batteries = _batteries(session, [d.entity_id for d in devices])
    return [
        [
            d.device_id,
            d.lat,
            d.lon,
            device_state(d.last_seen_at, now=now),
            as_utc(d.last_seen_at).isoformat() if d.last_seen_at else None,
            batteries.get(d.entity_id),
            d.profile_code,
            d.name,
        ]
        for d in devices
    ]


def _batteries(session: Session, entity_ids: Sequence[str]) -> dict[str, float]:
    if not entity_ids:
        return {}
    found: dict[str, float] = {}
    # In chunks: a city's devices can outnumber what one IN list should carry.
    for start in range(0, len(entity_ids), 500):
        chunk = entity_ids[start : start + 500]
        for entity_id, value in session.execute(
            select(LatestValue.entity_id, LatestValue.value).where(
                LatestValue.entity_id.in_(chunk), LatestValue.attribute == BATTERY
            )
        ):
            if isinstance(value, int | float) and not isinstance(value, bool):
                found[entity_id] = float(value)
    return found


def crew_layer(
    session: Session, *, scope: dict[str, str]
) -> tuple[list[dict[str, Any]], list[Row]]:
    """The active crews in scope with their members, and the members' last positions."""
    query = select(Crew).where(Crew.active.is_(True)).order_by(Crew.department_code, Crew.name)
    if "department" in scope:
        query = query.where(Crew.department_code == scope["department"])
    crew_list = list(session.scalars(query))
    members = crew_registry.members_of(session, crew_ids=[c.id for c in crew_list])
    crews_of: dict[int, list[int]] = {}
    people: dict[int, User] = {}
    for crew in crew_list:
        for user in members.get(crew.id, []):
            if user.active:
                crews_of.setdefault(user.id, []).append(crew.id)
                people[user.id] = user
    found = positions.positions_of(session, user_ids=people)
    index = geo.jurisdiction_index(session) if "district" in scope else None
    workers: list[Row] = []
    for user_id, place in sorted(found.items()):
        if index is not None and not _in_district(index, scope["district"], place.lat, place.lon):
            continue
        user = people[user_id]
        workers.append(
            [
                user_id,
                user.username,
                user.display_name,
                place.lat,
                place.lon,
                as_utc(place.at).isoformat(),
                crews_of[user_id],
            ]
        )
    shown = {row[0] for row in workers}
    crews = [
        {
            "id": crew.id,
            "name": crew.name,
            "department": crew.department_code,
            "members": len([u for u in members.get(crew.id, []) if u.active]),
            "located": len([u for u in members.get(crew.id, []) if u.id in shown]),
        }
        for crew in crew_list
    ]
    return crews, workers


def city_map(
    session: Session,
    *,
    actor: Actor,
    layers: Iterable[Layer],
    now: datetime | None = None,
) -> CityMap:
    """The layers of the city map this actor may see (scope as for the KPIs)."""
    scope = scoped(actor, {})
    moment = now or utcnow()
    district = scope.get("district")
    answer = CityMap(generated_at=moment, scope=scope)
    chosen = set(layers)
    if "cases" in chosen:
        answer.cases = case_rows(session, scope=scope, now=moment)
    if "alarms" in chosen:
        answer.alarms = alarm_rows(session, district=district)
    if "devices" in chosen:
        answer.devices = device_rows(session, district=district, now=moment)
    if "crews" in chosen:
        answer.crews, answer.workers = crew_layer(session, scope=scope)
        answer.positions_read = [row[0] for row in answer.workers]
    return answer


def record_position_reads(
    session: Session, *, actor: Actor, user_ids: Sequence[int], via: str
) -> None:
    """Audit a read of workers' positions, and tell each worker's access log."""
    if not user_ids:
        return
    identity.audit(
        session,
        actor=actor,
        action="operations.positions_read",
        target=via,
        detail={"workers": list(user_ids)},
    )
    for user_id in user_ids:
        record_access(
            session,
            user_id=user_id,
            actor=actor,
            fields=["position"],
            purpose="operations_centre",
            reference=via,
        )


# ------------------------------------------------------------------------- heat by area


def area_heat(
    session: Session,
    *,
    actor: Actor,
    level: str,
    measure: str,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Per area of ``level``: open cases, overdue ones, and ``value`` (the count, or the
    overdue share of the open cases), largest value first; scoped like the KPIs."""
    if level not in LEVELS:
        raise bad_request(
            Message("operations.area_level", {"value": repr(level), "levels": ", ".join(LEVELS)}),
            field="level",
        )
    if measure not in MEASURES:
        raise bad_request(
            Message(
                "operations.area_measure",
                {"value": repr(measure), "measures": ", ".join(MEASURES)},
            ),
            field="measure",
        )
    scope = scoped(actor, {})
    moment = now or utcnow()
    column = getattr(CaseFactRow, level)
    overdue = func.sum(case((CaseFactRow.resolution_due < moment, 1), else_=0))
    query = (
        select(column, func.count(), overdue)
        .where(CaseFactRow.status.not_in(DONE), column.is_not(None))
        .group_by(column)
    )
    for name, value in scope.items():
        query = query.where(getattr(CaseFactRow, name) == value)
    areas = []
    for code, count, late in session.execute(query):
        late = int(late or 0)
        value: float = count if measure == "count" else round(late / count, 4)
        areas.append({"code": code, "open": int(count), "overdue": late, "value": value})
    areas.sort(key=lambda a: (-a["value"], a["code"]))
    return areas
