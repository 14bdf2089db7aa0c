"""The device list the console filters: by profile, group, state, district and text, with each
device's state, battery and district.

A device's state follows from when it last reported: ``online`` within ``ONLINE_WINDOW``,
``offline`` after that, ``never_seen`` when it has not reported at all. The district is where its
point falls on the city's map (the geo platform's index), so it follows a redrawn map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from shapely.geometry import shape
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.problems import bad_request
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.application.geo.models import Jurisdiction
from cityloop.platforms.data.perception.messages import Message
from cityloop.platforms.data.perception.models import Device, LatestValue
from cityloop.platforms.data.perception.telemetry import as_utc

DeviceState = Literal["online", "offline", "never_seen"]
STATES: tuple[DeviceState, ...] = ("online", "offline", "never_seen")
# The demo's DEVICE_OFFLINE rule waits two hours for the slowest sensors; a device quieter than
# that is offline on the list too.
ONLINE_WINDOW = timedelta(hours=2)
# The Smart Data Models attribute for a battery's charge, 0..1.
BATTERY = "batteryLevel"
MAX_TEXT = 100


@dataclass(frozen=True)
class DeviceFilter:
    """What the console's device list may be narrowed by; None means any."""

    profile_code: str | None = None
    group_id: int | None = None
    state: str | None = None
    district: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class ListedDevice:
    """A device as the list shows it: the row, its state, battery and district code."""

    device: Device
    state: DeviceState
    battery: float | None
    district_code: str | None


def device_state(last_seen_at: datetime | None, *, now: datetime) -> DeviceState:
    """Online, offline or never seen, from when a device last reported."""
    if last_seen_at is None:
        return "never_seen"
    return "online" if now - as_utc(last_seen_at) <= ONLINE_WINDOW else "offline"


def _state_clause(state: str, now: datetime) -> ColumnElement[bool]:
    since = now - ONLINE_WINDOW
    if state == "never_seen":
        return Device.last_seen_at.is_(None)
    if state == "online":
        return Device.last_seen_at >= since
    return Device.last_seen_at < since


def _filtered(session: Session, filters: DeviceFilter, now: datetime) -> Select[tuple[Device]]:
    query = select(Device)
    if filters.profile_code:
        query = query.where(Device.profile_code == filters.profile_code)
    if filters.group_id is not None:
        query = query.where(Device.group_id == filters.group_id)
    if filters.state:
        if filters.state not in STATES:
            raise bad_request(
                Message("perception.state_choices", {"states": ", ".join(STATES)}), field="state"
            )
        query = query.where(_state_clause(filters.state, now))
    text = (filters.text or "").strip()
    if text:
        if len(text) > MAX_TEXT:
            raise bad_request(
                Message("perception.text_too_long", {"limit": str(MAX_TEXT)}), field="q"
            )
        # LIKE's own wildcards in the text are matched as themselves.
        escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(
            or_(
                func.lower(Device.device_id).like(pattern, escape="\\"),
                func.lower(Device.name).like(pattern, escape="\\"),
            )
        )
    return query


def _district_bounds(session: Session, code: str) -> tuple[float, float, float, float]:
    row = session.get(Jurisdiction, code)
    if row is None or row.level != "district":
        raise bad_request(Message("perception.no_district", {"code": repr(code)}), field="district")
    return tuple(shape(row.geometry).bounds)  # type: ignore[return-value]


def _district_of(index: geo.JurisdictionIndex, device: Device) -> str | None:
    if device.lat is None or device.lon is None:
        return None
    placed = index.place(device.lon, device.lat)
    return placed.district.code if placed is not None else None


def list_devices(
    session: Session,
    *,
    filters: DeviceFilter,
    offset: int = 0,
    limit: int = 100,
    now: datetime | None = None,
) -> tuple[list[ListedDevice], int]:
    """One page of devices matching the filters, by id, with the total count."""
    moment = now or utcnow()
    query = _filtered(session, filters, moment)
    index = geo.jurisdiction_index(session)
    if filters.district:
        # The bounding box narrows in SQL; the polygon decides in Python, as for a case's point.
        west, south, east, north = _district_bounds(session, filters.district)
        query = query.where(
            and_(Device.lon.between(west, east), Device.lat.between(south, north))
        ).order_by(Device.device_id)
        inside = [d for d in session.scalars(query) if _district_of(index, d) == filters.district]
        total, rows = len(inside), inside[offset : offset + limit]
    else:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = list(session.scalars(query.order_by(Device.device_id).offset(offset).limit(limit)))
    batteries = _batteries(session, rows)
    return [
        ListedDevice(
            device=d,
            state=device_state(d.last_seen_at, now=moment),
            battery=batteries.get(d.entity_id),
            district_code=_district_of(index, d),
        )
        for d in rows
    ], total


def _batteries(session: Session, devices: Sequence[Device]) -> dict[str, float]:
    """The latest battery level of each device that reports one, by entity id."""
    if not devices:
        return {}
    rows = session.execute(
        select(LatestValue.entity_id, LatestValue.value).where(
            LatestValue.entity_id.in_([d.entity_id for d in devices]),
            LatestValue.attribute == BATTERY,
        )
    )
    return {
        entity_id: float(value)
        for entity_id, value in rows
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
