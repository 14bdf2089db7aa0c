"""What the bridges tell people, in English and Chinese, by message code (registered with the
base's message catalogue)."""

from __future__ import annotations

from cityloop.base.messages import Message, register

__all__ = ["PROBLEMS", "TEMPLATES", "Message", "both"]

# The details of this package's problem answers, by code.
PROBLEMS: dict[str, tuple[str, str]] = {
    "bridges.unknown_category": (
        "no active category {category_code}",
        "没有启用中的类别 {category_code}",
    ),
}
register(PROBLEMS)

# Lines the bridges write for people to read.
TEMPLATES: dict[str, tuple[str, str]] = {
    "bridges.proactive_task_description": (
        "Proactive task (未诉先办): {cases} reports of {category} in {level} {area} in {month}; "
        "find and fix the root cause. Requested by {requested_by}.",
        "未诉先办任务：{month} {level_zh} {area} 有 {cases} 件 {category} 类上报；"
        "请查明并解决根本原因。发起人：{requested_by}。",
    ),
    "bridges.level.street": ("street", "街道"),
    "bridges.level.grid": ("grid", "网格"),
}
register(TEMPLATES)


def both(message: Message) -> str:
    """The Chinese and the English line on two lines, for a text kept once for every reader (a
    case's description has no reader language)."""
    return f"{message.render('zh-CN')}\n{message.render('en')}"
