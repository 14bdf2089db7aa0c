"""The demo city's alarm rules, one per condition the sensor fleet can report."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.platforms.data.perception import rules
from cityloop.platforms.data.perception.alarm_models import AlarmRule

BATTERY_PROFILES = ("manhole-lora", "waterlevel-ul", "parking-lora", "wastebin-ul")
OFFLINE_PROFILES = ("manhole-lora", "waterlevel-ul")


def _threshold(attribute: str, op: str, value: float, clear: float) -> dict[str, Any]:
    return {"attribute": attribute, "op": op, "value": value, "clear": clear}


def demo_rules() -> list[rules.RuleInput]:
    found = [
        rules.RuleInput(
            name="Manhole cover open",
            name_zh="井盖打开",
            profile_code="manhole-lora",
            kind="state",
            definition={"attribute": "open", "values": [True]},
            alarm_type="MANHOLE_OPEN",
            severity="CRITICAL",
            category_code="C-01-01",
            case_attributes={"cover_state": "displaced"},
        ),
        rules.RuleInput(
            name="Manhole cover tilted",
            name_zh="井盖倾斜",
            profile_code="manhole-lora",
            kind="threshold",
            definition=_threshold("tilt", ">", 20, 10),
            alarm_type="MANHOLE_TILTED",
            severity="MAJOR",
            category_code="C-01-01",
            case_attributes={"cover_state": "displaced"},
        ),
        rules.RuleInput(
            name="Water on the road",
            name_zh="道路积水",
            profile_code="waterlevel-ul",
            kind="threshold",
            definition=_threshold("waterLevel", ">", 0.30, 0.20),
            alarm_type="FLOOD_LEVEL_HIGH",
            severity="MAJOR",
            category_code="E-05-01",
        ),
        rules.RuleInput(
            name="Waste bin full",
            name_zh="垃圾桶已满",
            profile_code="wastebin-ul",
            kind="threshold",
            definition=_threshold("fillingLevel", ">", 0.9, 0.7),
            alarm_type="BIN_FULL",
            severity="MINOR",
            category_code="C-03-01",
        ),
        rules.RuleInput(
            name="Streetlight lamp failed",
            name_zh="路灯故障",
            profile_code="streetlight-ul",
            kind="state",
            definition={"attribute": "status", "values": ["defectiveLamp"]},
            alarm_type="LAMP_FAILURE",
            severity="MINOR",
            category_code="C-01-05",
        ),
        rules.RuleInput(
            name="PM2.5 rising fast",
            name_zh="PM2.5 快速上升",
            profile_code="airquality-json",
            kind="rate",
            definition={"attribute": "pm25", "per_minute": 20},
            alarm_type="AIR_QUALITY_SPIKE",
            severity="WARNING",
        ),
    ]
    found += [
        rules.RuleInput(
            name="Battery low",
            name_zh="电量低",
            profile_code=profile,
            kind="threshold",
            definition=_threshold("batteryLevel", "<", 0.15, 0.25),
            alarm_type="BATTERY_LOW",
            severity="WARNING",
        )
        for profile in BATTERY_PROFILES
    ]
    found += [
        rules.RuleInput(
            name="No data for two hours",
            name_zh="两小时无数据",
            profile_code=profile,
            kind="nodata",
            definition={"seconds": 2 * 3600},
            alarm_type="DEVICE_OFFLINE",
            severity="WARNING",
        )
        for profile in OFFLINE_PROFILES
    ]
    return found


def seed_alarm_rules(session: Session) -> int:
    """Create the demo rules that are missing (matched by profile and alarm type); idempotent."""
    created = 0
    for data in demo_rules():
        exists = session.scalar(
            select(AlarmRule.id).where(
                AlarmRule.profile_code == data.profile_code,
                AlarmRule.alarm_type == data.alarm_type,
            )
        )
        if exists is None:
            rules.create_rule(session, data=data)
            created += 1
    return created
