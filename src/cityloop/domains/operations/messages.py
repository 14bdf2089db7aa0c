"""What the operations centre tells people, in English and Chinese, by message code (registered
with the base's message catalogue): the details of its problem answers and its league tiers."""

from __future__ import annotations

from cityloop.base.messages import Message, register

__all__ = ["PROBLEMS", "TIERS", "Message"]

# The details of this package's problem answers, by code.
PROBLEMS: dict[str, tuple[str, str]] = {
    # Periods, dimensions and scope (every query).
    "operations.period_needs_time_zone": (
        "start and end need a time zone, e.g. 2026-11-01T00:00:00Z",
        "start 和 end 需要时区，如 2026-11-01T00:00:00Z",
    ),
    "operations.start_before_end": ("start must be before end", "start 必须早于 end"),
    "operations.period_too_long": (
        "a period may cover at most {days} days",
        "一个时段最多 {days} 天",
    ),
    "operations.bad_month": ("month must look like 2026-11", "month 的格式应如 2026-11"),
    "operations.unknown_dimension": (
        "unknown dimension {value}; one of {dimensions}",
        "未知维度 {value}；可选：{dimensions}",
    ),
    "operations.readers": (
        "the operations centre is for staff and leaders",
        "运行中心仅供工作人员和领导使用",
    ),
    "operations.no_department": (
        "a department account without a department sees nothing",
        "未归属部门的部门账号看不到任何数据",
    ),
    # Case lists, trends and league tables.
    "operations.figure_choices": (
        "figure must be one of {figures}",
        "figure 必须是以下之一：{figures}",
    ),
    "operations.bucket_choices": (
        "bucket must be day, week or month",
        "bucket 必须是 day、week 或 month",
    ),
    "operations.unknown_figure": ("unknown figure {figure}", "未知指标 {figure}"),
    "operations.too_many_points": (
        "a trend has at most {points} points; choose a longer bucket",
        "一条趋势最多 {points} 个点；请选择更长的统计周期",
    ),
    "operations.league_of": (
        "a league is of department or street",
        "排名只能按部门或街道",
    ),
    # Hotspots and proactive tasks.
    "operations.hotspot_level": (
        "a hotspot's area is a street or a grid",
        "热点区域只能是街道或网格",
    ),
    "operations.hotspot_threshold": (
        "a hotspot recurs: threshold must be at least 2",
        "热点指反复出现的问题：threshold 至少为 2",
    ),
    "operations.task_requesters": (
        "only the supervision and command centre turn hotspots into tasks",
        "只有监督指挥中心可以将热点转为主动治理任务",
    ),
    "operations.no_hotspot_case": (
        "no case of {category} in {area} in {month}",
        "{month} 在 {area} 没有 {category} 类案卷",
    ),
    "operations.outside_scope": ("that area is outside your scope", "该区域不在您的管辖范围内"),
    "operations.task_exists": (
        "this hotspot already has a proactive task",
        "该热点已有主动治理任务",
    ),
    # The city map, area heat and the live feed (citymap.py, live.py).
    "operations.unknown_layer": (
        "unknown layer {value}; one of {layers}",
        "未知图层 {value}；可选：{layers}",
    ),
    "operations.area_level": (
        "unknown area level {value}; one of {levels}",
        "未知区域层级 {value}；可选：{levels}",
    ),
    "operations.area_measure": (
        "unknown measure {value}; one of {measures}",
        "未知度量 {value}；可选：{measures}",
    ),
    "operations.live_sign_in": (
        "sign in first: the live feed takes a bearer token or access_token",
        "请先登录：实时推送需要 Bearer 令牌或 access_token 参数",
    ),
    "operations.bad_last_event_id": (
        "Last-Event-ID must be a whole number from an earlier event",
        "Last-Event-ID 必须是先前事件的整数编号",
    ),
}
register(PROBLEMS)

# The league tiers (quartiles of the ranking), best first, registered as ``operations.tier.<code>``.
TIERS: dict[str, tuple[str, str]] = {
    "advanced": ("Advanced", "先进"),
    "good": ("Good", "良好"),
    "fair": ("Fair", "一般"),
    "poor": ("Poor", "较差"),
}
register({f"operations.tier.{code}": pair for code, pair in TIERS.items()})


def tier_names(code: str) -> dict[str, str]:
    """A tier's name in every locale, keyed by locale."""
    return Message(f"operations.tier.{code}").texts()
