"""What the appointment holder reads, in English and Chinese, by message code (registered with
the base's message catalogue)."""

from __future__ import annotations

from cityloop.base.messages import LOCALES, Message, register

__all__ = ["LOCALES", "PROBLEMS", "TEMPLATES", "Message", "both", "coded", "render"]

TEMPLATES: dict[str, tuple[str, str]] = {
    "appointment.reminder": (
        "Reminder: your appointment at {counter}, {location}, is on {day} at {time}.",
        "提醒：您预约的{counter_zh}（{location_zh}）办理时间为 {day} {time}。",
    ),
    "appointment.reminder.subject": (
        "Your appointment on {day} at {time}",
        "您 {day} {time} 的预约",
    ),
}
register(TEMPLATES)


def coded(code: str, **params: str) -> Message:
    """The message of ``code``; an empty Chinese name falls back to the English one."""
    values = dict(params)
    for key, value in params.items():
        if key.endswith("_zh") and not value:
            values[key] = params.get(key.removesuffix("_zh"), "")
    return Message(code, values)


def both(code: str, **params: str) -> str:
    """The text in both languages, English first (for an e-mail, which has no reader's locale)."""
    return "\n".join(coded(code, **params).texts().values())


def render(code: str, locale: str, **params: str) -> str:
    """The text of ``code`` in ``locale``."""
    return coded(code, **params).render(locale)


# The details of this package's problem answers, by code.
PROBLEMS: dict[str, tuple[str, str]] = {
    "appointments.reference_look_like_application": (
        "reference must look like application:42 (kind:id)",
        "reference 的格式应为 application:42（类型:编号）",
    ),
    "appointments.purpose_code_z": (
        "purpose must be a code of a-z, 0-9, '.', '_' or '-'",
        "purpose 必须是由 a-z、0-9、“.”、“_”或“-”组成的代码",
    ),
    "appointments.start_time_zone_e": (
        "start needs a time zone (e.g. +08:00 or Z)",
        "start 需要时区（如 +08:00 或 Z）",
    ),
    "appointments.unknown_counter": (
        "unknown counter {counter_id}",
        "未知窗口 {counter_id}",
    ),
    "appointments.slot_already_begun_passed": (
        "this slot has already begun or passed",
        "该时段已开始或已过",
    ),
    "appointments.slots_open_days_ahead": (
        "slots open {horizon_days} days ahead at most",
        "最多可预约 {horizon_days} 天内的时段",
    ),
    "appointments.counter_closed": (
        "the counter is closed on {date} ({reason})",
        "窗口 {date} 不办理（{reason}）",
    ),
    "appointments.slot_counter_starts": (
        "no slot of this counter starts at {time} on {day}",
        "该窗口 {day} 没有 {time} 开始的时段",
    ),
    "appointments.already_appointment_time": (
        "you already have appointment {mine} at this time",
        "您在该时间已有预约 {mine}",
    ),
    "appointments.slot_full_choose_another": (
        "this slot is full; choose another",
        "该时段已约满，请选择其他时段",
    ),
    "appointments.action_choices": (
        "action must be one of {items}",
        "action 必须是以下之一：{items}",
    ),
    "appointments.note_most_characters": (
        "note is at most 500 characters",
        "备注最多 500 个字符",
    ),
    "appointments.role_may_appointment": (
        "role {actor_role} may not {action} an appointment",
        "角色 {actor_role} 无权对预约执行 {action}",
    ),
    "appointments.illegal_transition": (
        "an appointment that is {booking_status} cannot be {action}",
        "状态为 {booking_status} 的预约不能 {action}",
    ),
    "appointments.role_does_keep_counters": (
        "role {actor_role} does not keep counters",
        "角色 {actor_role} 不能管理窗口",
    ),
    "appointments.hours_map_weekdays_mon": (
        "hours map weekdays (mon..sun) to [open, close] pairs",
        "hours 须将星期（mon..sun）映射为 [开始, 结束] 时间对",
    ),
    "appointments.code_characters_z": (
        "code: 1-40 characters of a-z, 0-9, '_' or '-'",
        "code：1 到 40 个字符，只能包含 a-z、0-9、“_”或“-”",
    ),
    "appointments.name_characters": (
        "name must be 1 to 200 characters",
        "名称须为 1 到 200 个字符",
    ),
    "appointments.slot_minutes": (
        "slot_minutes must be 5 to 480",
        "slot_minutes 须为 5 到 480",
    ),
    "appointments.capacity_people_per_slot": (
        "capacity must be 1 to 200 people per slot",
        "每个时段的容量须为 1 到 200 人",
    ),
    "appointments.end_before_start": (
        "end is before start",
        "end 早于 start",
    ),
    "appointments.list_most_days_time": (
        "list at most {limit} days at a time",
        "一次最多列出 {limit} 天",
    ),
    "appointments.hours_weekday": (
        "hours: {weekday} is not one of {items}",
        "hours：{weekday} 不是以下之一：{items}",
    ),
    "appointments.hours_write_each_period": (
        'hours.{weekday}: write each period as ["HH:MM", "HH:MM"]',
        'hours.{weekday}：每个时段须写为 ["HH:MM", "HH:MM"]',
    ),
    "appointments.hours_closes_before_opens": (
        "hours.{weekday}: {opens}-{closes} closes before it opens",
        "hours.{weekday}：{opens}-{closes} 的结束早于开始",
    ),
    "appointments.hours_periods_overlap": (
        "hours.{weekday}: periods overlap",
        "hours.{weekday}：时段重叠",
    ),
}
register(PROBLEMS)
