"""What the geo platform tells people, in English and Chinese, by message code (registered with
the base's message catalogue)."""

from __future__ import annotations

from cityloop.base.messages import Message, register

__all__ = ["PROBLEMS", "Message"]

# The details of this package's problem answers, by code.
PROBLEMS: dict[str, tuple[str, str]] = {
    "geo.point_outside_city": (
        "the point ({lat}, {lon}) is outside the city",
        "位置（{lat}, {lon}）不在本市范围内",
    ),
}
register(PROBLEMS)
