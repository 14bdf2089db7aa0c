"""Bodies for the configuration routes: a valid category, ready to be spoilt one field at a
time by the tests of bad input."""

from __future__ import annotations

import itertools
from typing import Any

_serial = itertools.count(1)


def fresh_code(prefix: str = "T") -> str:
    """A category or department code no other test has used."""
    return f"{prefix}-{next(_serial):04d}"


def category_body(code: str | None = None, **changes: Any) -> dict[str, Any]:
    """A valid category: one list question, one free question, SLA for normal and urgent."""
    body: dict[str, Any] = {
        "kind": "event",
        "major_class": "06",
        "major_name": "Other",
        "major_name_zh": "其他",
        "name": "Fallen branch",
        "name_zh": "树枝掉落",
        "description": "A branch lies on a path or a road.",
        "keywords": ["branch", "tree"],
        "icon": "tree",
        "default_department": "parks",
        "priority": "normal",
        "auto_dispatch": False,
        "moderated": False,
        "dedupe_radius_m": 40,
        "dedupe_window_hours": 48,
        "update_interval_hours": 24,
        "attributes": [
            {
                "code": "size",
                "datatype": "singlevaluelist",
                "required": True,
                "order": 1,
                "description": "How big is it?",
                "description_zh": "有多大？",
                "values": [
                    {"key": "small", "name": "Small", "name_zh": "小"},
                    {"key": "large", "name": "Blocks the way", "name_zh": "挡路"},
                ],
            },
            {
                "code": "note",
                "datatype": "string",
                "required": False,
                "order": 2,
                "description": "Anything else?",
                "description_zh": "其他情况？",
            },
        ],
        "sla": [
            {"priority": "normal", "response_minutes": 120, "resolution_minutes": 1440},
            {"priority": "urgent", "response_minutes": 30, "resolution_minutes": 240},
        ],
    }
    if code is not None:
        body["code"] = code
    body.update(changes)
    return body
