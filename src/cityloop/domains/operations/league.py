"""Monthly league tables (排名) of departments and streets, in four tiers.

The composite score (0–100) weighs what a citizen feels most:
    score = 100 × (0.5 × on-time closure rate + 0.3 × satisfaction rate + 0.2 × (1 − rework rate))
where the rework rate is rework / due cases (capped at 1). A unit with no due case that month is
not ranked; a missing satisfaction rate (no ratings) leaves its weight out and the rest is scaled
up. Ranked units fall in quartiles: 先进 advanced, 良好 good, 一般 fair, 较差 poor.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cityloop.base.problems import bad_request
from cityloop.domains.operations import kpis, messages
from cityloop.domains.operations.cuts import Cut, month_period, scoped
from cityloop.domains.operations.messages import Message, tier_names
from cityloop.platforms.application.identity.roles import DEPARTMENT_ROLES
from cityloop.platforms.application.identity.service import Actor

LEAGUE_OF = ("department", "street")
# The tiers, best first; their names are in the message catalogue (messages.TIERS).
TIERS = tuple(messages.TIERS)
WEIGHTS = {"on_time_closure_rate": 0.5, "satisfaction_rate": 0.3, "clean_rate": 0.2}


def score(figures: dict[str, Any]) -> float | None:
    """The composite score of one unit's month, or None when it had no due case."""
    if not figures["due"]:
        return None
    parts = {
        "on_time_closure_rate": figures["on_time_closure_rate"],
        "satisfaction_rate": figures["satisfaction_rate"],
        "clean_rate": 1 - min(1.0, figures["rework"] / figures["due"]),
    }
    known = {name: value for name, value in parts.items() if value is not None}
    weight = sum(WEIGHTS[name] for name in known)
    return round(100 * sum(WEIGHTS[name] * value for name, value in known.items()) / weight, 2)


def tier_of(rank: int, ranked: int) -> int:
    """The quartile (0 = top) of a 1-based rank among ``ranked`` units."""
    return min(3, (rank - 1) * 4 // ranked)


def league(session: Session, *, actor: Actor, month: str, of: str) -> dict[str, Any]:
    """The month's league of departments or streets, best first, each with its tier."""
    if of not in LEAGUE_OF:
        raise bad_request(Message("operations.league_of"), field="of")
    period = month_period(month)
    scope = scoped(actor, {})
    own_department = scope.pop("department", None) if actor.role in DEPARTMENT_ROLES else None
    # The ranking is among all units (in a district-scoped account's district); department
    # staff see only their own row of it, rank and tier included.
    found = kpis.figures(session, cut=Cut(period, of, scope))
    scored = [
        (key, value, score(value))
        for key, value in found.items()
        if key != kpis.CITY and score(value) is not None
    ]
    scored.sort(key=lambda item: (-(item[2] or 0), item[0]))
    rows = []
    for rank, (key, value, points) in enumerate(scored, start=1):
        code = TIERS[tier_of(rank, len(scored))]
        names = tier_names(code)
        rows.append(
            {
                "key": key,
                "rank": rank,
                "score": points,
                "tier": code,
                "tier_name": names["en"],
                "tier_name_zh": names["zh-CN"],
                "figures": value,
            }
        )
    if own_department is not None:
        rows = [r for r in rows if of != "department" or r["key"] == own_department]
    return {"month": month, "of": of, "ranked": len(scored), "rows": rows}
