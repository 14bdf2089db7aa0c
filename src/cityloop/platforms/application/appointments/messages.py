"""What the appointment holder reads, in English and Chinese, by message code."""

from __future__ import annotations

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
LOCALES = ("en", "zh-CN")


def render(code: str, locale: str, **params: str) -> str:
    """The text of ``code`` in ``locale``; a Chinese name falls back to the English one."""
    english, chinese = TEMPLATES[code]
    values = dict(params)
    for key, value in params.items():
        if not key.endswith("_zh"):
            values.setdefault(f"{key}_zh", value)
        elif not value:
            values[key] = params.get(key.removesuffix("_zh"), "")
    return (chinese if locale.startswith("zh") else english).format(**values)


def both(code: str, **params: str) -> str:
    """The text in both languages, English first (an inbox line has no reader's locale)."""
    return "\n".join(render(code, locale, **params) for locale in LOCALES)
