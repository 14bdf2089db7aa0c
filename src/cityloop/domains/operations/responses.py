"""The operations routes' response models (the contract with the console)."""

from __future__ import annotations

from pydantic import Field

from cityloop.base.contracts import Answer, Timestamp


class Indicators(Answer):
    """One unit's figures for one period (definitions in docs/operations.md)."""

    registered: int
    due: int
    closed: int
    closed_on_time: int
    resolved: int
    resolved_on_time: int
    rework: int
    overdue: int
    ratings: int
    satisfied: int = Field(description="ratings of 4 or 5 stars")
    response_due: int = Field(description="cases whose response deadline fell in the period")
    responded_on_time: int
    closed_in_period: int
    fixed: int = Field(description="cases closed in the period as fixed")
    closure_rate: float | None
    on_time_closure_rate: float | None
    on_time_handling_rate: float | None
    median_hours_to_close: float | None
    p90_hours_to_close: float | None
    satisfaction: float | None = Field(description="mean stars")
    response_rate: float | None = Field(description="响应率")
    resolution_rate: float | None = Field(description="解决率")
    satisfaction_rate: float | None = Field(description="满意率")
    # The services domain's applications (issue 11); absent where a unit cannot have them.
    services_submitted: int | None = Field(None, description="applications submitted")
    services_decided: int | None = Field(None, description="applications approved or denied")
    services_decided_with_deadline: int | None = Field(
        None, description="decided applications that had a time limit (承诺时限)"
    )
    services_decided_on_time: int | None = Field(None, description="decided by the time limit")
    services_ratings: int | None = Field(None, description="applicants' ratings (好差评)")
    services_satisfied: int | None = Field(None, description="ratings of 4 or 5 stars")
    services_on_time_rate: float | None = Field(
        None, description="按时办结率: decided on time / decided with a deadline"
    )
    services_satisfaction: float | None = Field(None, description="mean stars of the ratings")
    services_satisfaction_rate: float | None = Field(None, description="满意率 of applications")


SERVICES_CITY_WIDE = (
    "true when the cut filters on a place, category or channel, which applications do not "
    "carry: the services figures are then the city's (within the department filter)"
)


class KpiReport(Answer):
    """The city and each department (the console's first KPI screen)."""

    start: Timestamp
    end: Timestamp
    services_city_wide: bool = Field(description=SERVICES_CITY_WIDE)
    city: Indicators
    departments: dict[str, Indicators]


class KpiRow(Answer):
    key: str = Field(description="the group's code; 'unassigned' when it has none; '*' the city")
    figures: Indicators
    previous: Indicators | None = Field(description="the previous period of equal length")
    delta: dict[str, float | None] | None = Field(description="figure minus previous value")


class KpiCut(Answer):
    start: Timestamp
    end: Timestamp
    previous_start: Timestamp | None
    previous_end: Timestamp | None
    by: str | None
    filters: dict[str, str] = Field(description="the filters applied, the caller's scope included")
    next_by: str | None = Field(description="the next drill-down level (district, street, grid)")
    services_city_wide: bool = Field(description=SERVICES_CITY_WIDE)
    city: KpiRow
    groups: list[KpiRow]


class FactCase(Answer):
    case_id: int
    status: str
    category: str
    priority: str
    channel: str
    department: str | None
    district: str
    street: str | None
    grid: str | None
    created_at: Timestamp
    resolution_due: Timestamp | None
    closed_at: Timestamp | None
    on_time: bool | None


class TrendPoint(Answer):
    start: Timestamp
    value: float | None


class Trend(Answer):
    figure: str
    bucket: str
    points: list[TrendPoint]


class LeagueRow(Answer):
    key: str
    rank: int
    score: float
    tier: str = Field(description="advanced | good | fair | poor (quartiles)")
    tier_name: str
    tier_name_zh: str
    figures: Indicators


class League(Answer):
    month: str
    of: str
    ranked: int
    rows: list[LeagueRow]


class Hotspot(Answer):
    month: str
    level: str
    district: str
    area: str
    category: str
    cases: int
    task_id: int | None
    task_case_id: int | None


class ProactiveTask(Answer):
    id: int
    month: str
    level: str
    district: str
    area: str
    category: str
    cases: int
    requested_by: str
    requested_at: Timestamp
    case_id: int | None = Field(description="the inspector-channel case, once governance filed it")
    error: str | None = Field(
        description="why no case was filed (in the reader's language), if none could be"
    )


# Public transparency: what anyone may read (operations/public.py says why).
WITHHELD = "the figures withheld because their base is fewer than `threshold` cases"


class PublicDistrictFigures(Answer):
    """A district's public figures (no satisfaction: ratings are published city-wide only)."""

    registered: int | None
    due: int | None
    closed: int | None
    overdue: int | None
    closed_in_period: int | None
    closure_rate: float | None
    on_time_closure_rate: float | None
    median_hours_to_close: float | None
    response_rate: float | None
    resolution_rate: float | None
    withheld: list[str] = Field(description=WITHHELD)


class PublicCityFigures(PublicDistrictFigures):
    """The city's public figures of one month."""

    registered: int
    due: int
    closed: int
    overdue: int
    closed_in_period: int
    ratings: int
    satisfaction: float | None = Field(description="mean stars")
    satisfaction_rate: float | None = Field(description="满意率")


class PublicDistrictRow(Answer):
    key: str = Field(description="the district's code, or 'other' for the merged small ones")
    name: str | None
    name_zh: str | None
    merged: list[str] = Field(description="the districts merged into 'other'")
    figures: PublicDistrictFigures
    previous: PublicDistrictFigures


class PublicKpis(Answer):
    month: str
    previous_month: str
    complete: bool = Field(description="false while the month is still going on")
    threshold: int = Field(description="the smallest count a figure is published over")
    city: PublicCityFigures
    previous: PublicCityFigures
    districts: list[PublicDistrictRow]


class PublicTrendPoint(PublicCityFigures):
    month: str


class PublicTrends(Answer):
    threshold: int
    points: list[PublicTrendPoint]


class ClosedCasePoint(Answer):
    category: str
    district: str
    closed_on: str = Field(description="the UTC day it was closed (no time)")
    lat: float = Field(description="rounded to about 100 m")
    lon: float = Field(description="rounded to about 100 m")


class ClosedCases(Answer):
    month: str
    precision_m: int
    truncated: bool
    points: list[ClosedCasePoint]


Cell = int | float | str | bool | list[int] | None


class MapLayer(Answer):
    """One layer of the city map: column names, then one row of plain values per point (a map
    of 100,000 cases carries no key names per point)."""

    columns: list[str]
    rows: list[list[Cell]]


class MapCrew(Answer):
    id: int
    name: str
    department: str
    members: int
    located: int = Field(description="members with a reported position on this map")


class CityMapAnswer(Answer):
    """The operations centre's map (运行中心): the layers asked for, within the reader's scope.

    ``cases``: open cases (id, lat, lon, status, priority, overdue, category, district);
    ``alarms``: active alarms at their device (id, lat, lon, severity, status, type, device_id,
    started_at); ``devices``: active devices with a point (id, lat, lon, state, last_seen_at,
    battery, profile, name); ``workers``: crew members' last reported positions (user_id,
    username, display_name, lat, lon, at, crews), with ``crews``. A layer not asked for is null.
    """

    generated_at: Timestamp
    scope: dict[str, str]
    live_cursor: int = Field(description="resume the live feed after this change id")
    cases: MapLayer | None
    alarms: MapLayer | None
    devices: MapLayer | None
    workers: MapLayer | None
    crews: list[MapCrew] | None


class AreaHeat(Answer):
    """One area's open cases, how many of them are overdue, and the measure asked for."""

    code: str
    open: int
    overdue: int
    value: float


class AreaHeatAnswer(Answer):
    level: str
    measure: str
    areas: list[AreaHeat]
