"""What the appointment holder reads, in English and Chinese, by message code (registered with
the base's message catalogue)."""

from __future__ import annotations

from cityloop.base.messages import LOCALES, Message, register

__all__ = ["LOCALES", "TEMPLATES", "both", "coded", "render"]

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
