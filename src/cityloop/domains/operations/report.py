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

from cityloop.base.problems import forbidden
from cityloop.domains.operations import hotspots, kpis, league, public
from cityloop.domains.operations.cuts import NONE_KEY, Cut, month_period, scoped
from cityloop.domains.operations.messages import Message, tier_names
from cityloop.platforms.application.geo import service as geo
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.service import Actor

# code -> (English name, Chinese name) of every category; set by a bridge.
CategoryNames = Callable[[Session], dict[str, tuple[str, str]]]
_category_names: CategoryNames | None = None


def use_category_names(source: CategoryNames) -> None:
    """Tell the report where the categories' names come from (operations holds only codes)."""
    global _category_names
    _category_names = source


def _names_of_categories(session: Session) -> dict[str, tuple[str, str]]:
    return _category_names(session) if _category_names else {}


def department_league(
    session: Session, *, month: str, disclosure: public.Disclosure = public.PUBLIC
) -> list[dict[str, Any]]:
    """Every department's public figures of the month, ranked by the league's score among
    those with at least ``THRESHOLD`` due cases; a satisfaction rate over fewer ratings is left
    out of the score (league.score then scales the other weights up)."""
    found = kpis.tallies(session, cut=Cut(month_period(month), "department"))
    departments = {d.code: d for d in identity.list_departments(session)}
    rows = []
    for key, tally in found.items():
        if key in (kpis.CITY, NONE_KEY):  # cases not yet dispatched have no department
            continue
        threshold = disclosure.threshold
        figures = public.public_figures(tally, disclosure.unit_figures, threshold)
        scored = tally.figures()
        if tally.ratings < threshold:
            scored["satisfaction_rate"] = None
        points = league.score(scored) if tally.due >= threshold else None
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


def monthly_report(
    session: Session, *, month: str, now: datetime, disclosure: public.Disclosure = public.PUBLIC
) -> dict[str, Any]:
    """Everything the month's report says, in codes and numbers (the files add the words):
    the public edition, or with ``STAFF`` every figure of every district and department."""
    figures = public.public_kpis(session, month=month, now=now, disclosure=disclosure)
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
        "staff": disclosure is public.STAFF,
        "unit_figures": list(disclosure.unit_figures),
        "generated_at": now.strftime("%Y-%m-%d %H:%M"),
        "departments": department_league(session, month=month, disclosure=disclosure),
        "days": public.daily_counts(session, period=period),
        "hotspots": spots,
    }


def staff_report(session: Session, *, actor: Actor, month: str, now: datetime) -> dict[str, Any]:
    """The month's report with every figure (no small-count protection): city-wide staff and
    leaders of the operations centre only; the caller audits the read (audit_staff_report)."""
    if scoped(actor, {}):
        raise forbidden(Message("operations.report_city_wide"))
    return monthly_report(session, month=month, now=now, disclosure=public.STAFF)


def audit_staff_report(session: Session, *, actor: Actor, month: str) -> None:
    """Audit a read of the month's staff report."""
    identity.audit(session, actor=actor, action="operations.staff_report", target=f"report:{month}")
