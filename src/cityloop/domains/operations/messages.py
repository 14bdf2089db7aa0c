"""What the operations centre tells people, in English and Chinese, by message code (registered
with the base's message catalogue): the details of its problem answers and its league tiers."""

from __future__ import annotations

from cityloop.base.messages import Message, register

__all__ = ["FIGURES", "PROBLEMS", "REPORT", "TIERS", "Message", "figure_label", "label"]

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
    # Public transparency and the monthly report.
    "operations.month_not_begun": ("{month} has not begun yet", "{month} 尚未开始"),
    "operations.no_cases_yet": ("the city has no case yet", "本市尚无案卷"),
    "operations.month_before_first_case": (
        "{month} is before the city's first case ({first})",
        "{month} 早于本市第一件案卷（{first}）",
    ),
    "operations.trend_months": (
        "months must be between 1 and {most}",
        "months 须在 1 到 {most} 之间",
    ),
    "operations.report_format": (
        "a report is .pdf, .csv or .xlsx",
        "报告格式只能是 .pdf、.csv 或 .xlsx",
    ),
    "operations.report_language": ("lang must be en or zh-CN", "lang 只能是 en 或 zh-CN"),
    "operations.report_city_wide": (
        "the staff report is for city-wide accounts; a scoped account reads the public one",
        "内部报告仅供全市范围账号使用；有辖区范围的账号请阅读公开报告",
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

# The names of the public figures, registered as ``operations.figure.<name>``.
FIGURES: dict[str, tuple[str, str]] = {
    "registered": ("Cases registered", "立案数"),
    "due": ("Cases due", "应结案数"),
    "closed": ("Due cases closed", "结案数"),
    "overdue": ("Overdue", "超期数"),
    "closed_in_period": ("Cases closed in the month", "当月结案数"),
    "ratings": ("Citizen ratings", "群众评价数"),
    "closure_rate": ("Closure rate", "结案率"),
    "on_time_closure_rate": ("On-time closure rate", "按期结案率"),
    "median_hours_to_close": ("Median time to close (hours)", "结案时长中位数（小时）"),
    "satisfaction": ("Satisfaction (mean stars)", "满意度（平均星级）"),
    "response_rate": ("Response rate", "响应率"),
    "resolution_rate": ("Resolution rate", "解决率"),
    "satisfaction_rate": ("Satisfaction rate", "满意率"),
}
register({f"operations.figure.{name}": pair for name, pair in FIGURES.items()})

# The monthly report's words, registered as ``operations.report.<name>``.
REPORT: dict[str, tuple[str, str]] = {
    "title": ("City transparency report, {month}", "{month} 城市治理公开报告"),
    "intro": (
        "How the city handled the problems people reported in {month}, beside {previous}.",
        "{month} 本市处置群众反映问题的情况，并与 {previous} 对比。",
    ),
    "partial": (
        "The month is not over: its figures will still change.",
        "本月尚未结束，数据仍会变化。",
    ),
    "privacy": (
        "No personal data: figures over fewer than {threshold} cases are withheld, and smaller "
        "districts are merged, so no one's case can be singled out.",
        "本报告不含个人信息：少于 {threshold} 件的数据不予公布，较小的区合并统计，"
        "以免识别出任何个人的案卷。",
    ),
    "staff_note": (
        "Staff edition: every figure, small counts included. Not for publication.",
        "内部版：含全部数据（包括小样本），不得公开。",
    ),
    "summary": ("Summary", "总体指标"),
    "figure": ("Figure", "指标"),
    "this_month": ("{month}", "{month}"),
    "change": ("Change", "变化"),
    "districts": ("Districts", "各区"),
    "district": ("District", "区"),
    "departments": ("Departments", "各部门"),
    "department": ("Department", "部门"),
    "rank": ("Rank", "排名"),
    "score": ("Score", "得分"),
    "tier": ("Tier", "等级"),
    "not_ranked": (
        "Not ranked: fewer than {threshold} cases due",
        "未排名：应结案数少于 {threshold} 件",
    ),
    "trend": ("Day by day", "每日趋势"),
    "trend_chart": (
        "Cases registered and closed each day of {month}",
        "{month} 每日立案数与结案数",
    ),
    "day": ("Day", "日期"),
    "hotspots": ("Hotspots of the month", "本月热点问题"),
    "hotspots_none": (
        "No problem recurred {threshold} times or more in one street.",
        "没有问题在同一街道出现 {threshold} 次以上。",
    ),
    "street": ("Street", "街道"),
    "category": ("Category", "类别"),
    "cases": ("Cases", "案卷数"),
    "other_districts": ("Other districts (merged)", "其他区（合并）"),
    "withheld": ("withheld", "不公布"),
    "city": ("City", "全市"),
    "scope": ("Scope", "范围"),
    "code": ("Code", "代码"),
    "name": ("Name", "名称"),
    "month": ("Month", "月份"),
    "generated": ("Generated {at} UTC", "生成于 {at}（UTC）"),
    "sheet_summary": ("Summary", "总体"),
    "sheet_districts": ("Districts", "各区"),
    "sheet_departments": ("Departments", "各部门"),
    "sheet_trend": ("Daily trend", "每日趋势"),
}
register({f"operations.report.{name}": pair for name, pair in REPORT.items()})


def label(name: str, locale: str, **params: str) -> str:
    """One of the report's words (``operations.report.<name>``) in ``locale``."""
    return Message(f"operations.report.{name}", params).render(locale)


def figure_label(name: str, locale: str) -> str:
    """A public figure's name in ``locale``."""
    return Message(f"operations.figure.{name}").render(locale)


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


# The city's vital signs (城市体征): bad definitions and bad questions.
VITALS: dict[str, tuple[str, str]] = {
    "operations.vital_code": (
        "an indicator's code is 1 to 40 lower-case letters, digits and hyphens, starting with a "
        "letter",
        "指标代码为 1 到 40 个小写字母、数字或连字符，以字母开头",
    ),
    "operations.vital_aggregation": (
        "aggregation must be one of {choices}",
        "aggregation 必须是以下之一：{choices}",
    ),
    "operations.vital_direction": (
        "direction must be above (higher is worse) or below (lower is worse)",
        "direction 必须是 above（越高越差）或 below（越低越差）",
    ),
    "operations.vital_profile": ("no device profile {profile}", "没有 {profile} 这个设备型号"),
    "operations.vital_operand_number": (
        "{aggregation} compares each device's value with a number: give operand as a number",
        "{aggregation} 将每台设备的数值与一个数比较：operand 应为数字",
    ),
    "operations.vital_operand_text": (
        "{aggregation} compares each device's value with a text or true/false: give operand",
        "{aggregation} 将每台设备的值与文本或 true/false 比较：请填写 operand",
    ),
    "operations.vital_operand_none": (
        "{aggregation} takes no operand",
        "{aggregation} 不需要 operand",
    ),
    "operations.vital_thresholds": (
        "with direction {direction} the critical threshold must be at least as bad as the "
        "warning one",
        "方向为 {direction} 时，严重阈值不能比预警阈值更轻",
    ),
    "operations.vital_district": ("no district {district}", "没有 {district} 这个区"),
}
register(VITALS)
