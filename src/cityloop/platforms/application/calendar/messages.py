"""What the working calendar tells people, in English and Chinese, by message code (registered
with the base's message catalogue)."""

from __future__ import annotations

from cityloop.base.messages import Message, register

__all__ = ["PROBLEMS", "Message"]

# The details of this package's problem answers, by code.
PROBLEMS: dict[str, tuple[str, str]] = {
    "calendar.time_zone_e_g": (
        "{what} needs a time zone (e.g. +08:00 or Z)",
        "{what} 需要时区（如 +08:00 或 Z）",
    ),
    "calendar.days_whole_number_from": (
        "days must be a whole number from 0 to {limit}",
        "days 须为 0 到 {limit} 的整数",
    ),
    "calendar.end_before_start": (
        "end is before start",
        "end 早于 start",
    ),
    "calendar.start_end_are_too": (
        "start and end are too far apart",
        "start 与 end 相隔太远",
    ),
    "calendar.kind_choices": (
        "kind must be {items}",
        "kind 必须是 {items}",
    ),
    "calendar.name_most_characters": (
        "a name is at most 100 characters",
        "名称最多 100 个字符",
    ),
    "calendar.chinese_calendar_knows_set": (
        "chinese-calendar knows {start}-{last}, not {year}: set that year's days one by one "
        "(cityloop calendar set) once they are published",
        "chinese-calendar 只收录 {start}-{last} 年，不含 {year} 年："
        "请在该年安排公布后逐日设置（cityloop calendar set）",
    ),
    "calendar.unknown_time_zone": (
        "unknown time zone {timezone}",
        "未知时区 {timezone}",
    ),
    "calendar.pause_end_before_begins": (
        "a pause cannot end before it begins",
        "暂停的结束不能早于开始",
    ),
}
register(PROBLEMS)
