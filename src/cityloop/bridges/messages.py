"""What the bridges tell people, in English and Chinese, by message code (registered with the
base's message catalogue)."""

from __future__ import annotations

from cityloop.base.messages import Message, register

__all__ = ["PROBLEMS", "Message"]

# The details of this package's problem answers, by code.
PROBLEMS: dict[str, tuple[str, str]] = {
    "bridges.unknown_category": (
        "no active category {category_code}",
        "没有启用中的类别 {category_code}",
    ),
}
register(PROBLEMS)
