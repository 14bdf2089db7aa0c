"""The monthly transparency report's content: the public figures of a month beside the previous
month's, the districts, the league of departments, the day-by-day counts and the hotspots.

The files (PDF, CSV, XLSX) are drawn from this one dictionary by ``report_files`` and
``report_pdf``, so the three always say the same. Names of categories come from whoever knows
them (governance's catalogue, through the ``case_facts`` bridge: ``use_category_names``);
operations itself only holds codes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cityloop.domains.operations import hotspots, kpis, league, public
from cityloop.domains.operations.cuts import NONE_KEY, Cut, month_period
from cityloop.domains.operations.messages import tier_names
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.application.identity import service as identity

# code -> (English name, Chinese name) of every category; set by a bridge.
CategoryNames = Callable[[Session], dict[str, tuple[str, str]]]
_category_names: CategoryNames | None = None


def use_category_names(source: CategoryNames) -> None:
    """Tell the report where the categories' names come from (operations holds only codes)."""
    global _category_names
    _category_names = source


def _names_of_categories(session: Session) -> dict[str, tuple[str, str]]:
    return _category_names(session) if _category_names else {}


def department_league(session: Session, *, month: str) -> list[dict[str, Any]]:
    """Every department's public figures of the month, ranked by the league's score among
    those with at least ``THRESHOLD`` due cases; a satisfaction rate over fewer ratings is left
    out of the score (league.score then scales the other weights up)."""
    found = kpis.tallies(session, cut=Cut(month_period(month), "department"))
    departments = {d.code: d for d in identity.list_departments(session)}
    rows = []
    for key, tally in found.items():
        if key in (kpis.CITY, NONE_KEY):  # cases not yet dispatched have no department
            continue
        figures = public.public_figures(tally, public.DISTRICT_FIGURES)
        scored = tally.figures()
        if tally.ratings < public.THRESHOLD:
            scored["satisfaction_rate"] = None
        points = league.score(scored) if tally.due >= public.THRESHOLD else None
        department = departments.get(key)
        rows.append(
            {
                "key": key,
                "name": department.name if department else key,
                "name_zh": department.name_zh if department and department.name_zh else None,
                "score": points,
                "figures": figures,
            }
        )
    ranked = sorted(
        (r for r in rows if r["score"] is not None), key=lambda r: (-r["score"], r["key"])
    )
    for rank, row in enumerate(ranked, start=1):
        tier = league.TIERS[league.tier_of(rank, len(ranked))]
        row.update(rank=rank, tier=tier, tier_names=tier_names(tier))
    unranked = sorted((r for r in rows if r["score"] is None), key=lambda r: r["key"])
    for row in unranked:
        row.update(rank=None, tier=None, tier_names=None)
    return ranked + unranked


def monthly_report(session: Session, *, month: str, now: datetime) -> dict[str, Any]:
    """Everything the month's report says, in codes and numbers (the files add the words)."""
    figures = public.public_kpis(session, month=month, now=now)
    period = month_period(month)
    areas = geo.jurisdiction_index(session).areas
    categories = _names_of_categories(session)
    spots = []
    for district, street, category, cases in hotspots.recurring(
        session,
        period=period,
        level="street",
        threshold=max(hotspots.DEFAULT_THRESHOLD, public.THRESHOLD),
        filters={},
    )[:10]:
        place = areas.get(street)
        names = categories.get(category)
        spots.append(
            {
                "district": district,
                "street": street,
                "street_name": place.name if place else street,
                "street_name_zh": place.name_zh if place and place.name_zh else None,
                "category": category,
                "category_name": names[0] if names else category,
                "category_name_zh": names[1] if names and names[1] else None,
                "cases": cases,
            }
        )
    return {
        **figures,
        "generated_at": now.strftime("%Y-%m-%d %H:%M"),
        "departments": department_league(session, month=month),
        "days": public.daily_counts(session, period=period),
        "hotspots": spots,
    }
