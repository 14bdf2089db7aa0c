"""Riverton (河港市): the fictional demo city, as plain typed data.

Everything a fresh install needs to look like a working city: jurisdictions (区 / 街道 / 网格)
with polygons, departments, the 部件 / 事件 case categories, routing rules and SLA targets.

The polygons are derived, not hand-typed: the city outline, the district boundaries and the
street boundaries are short integer polylines, and districts, streets and grid cells are cut
from them with shapely. All arithmetic happens on integer micro-degrees, every design edge has
a slope whose crossings with the grid lattice land exactly on a micro-degree, and a coordinate
that would need rounding is an error. So the rings come out at exactly 6 decimals, neighbours
share their edges, and every cell lies inside its street and district up to float precision
(~1e-15 degree), with no overlaps or gaps anywhere.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import shapely
from shapely.geometry import LineString, Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import polygonize

# --------------------------------------------------------------------------------------------
# Public data model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JurisdictionSpec:
    level: str  # "district" | "street" | "grid"
    code: str  # district "RV01"; street "RV01-S01"; grid "RV01-S01-G01"
    name: str
    name_zh: str
    parent_code: str | None
    polygon: list[tuple[float, float]]  # exterior ring, (lon, lat) WGS84, closed, CCW


@dataclass(frozen=True)
class DepartmentSpec:
    code: str  # short lowercase slug, also used in demo account names
    name: str
    name_zh: str
    kind: str  # "centre" for the supervision and command centre, else "department"


@dataclass(frozen=True)
class AttributeSpec:
    """An Open311 service-definition attribute."""

    code: str
    description: str
    datatype: str  # string | number | datetime | text | singlevaluelist | multivaluelist
    required: bool
    order: int
    values: tuple[tuple[str, str], ...] = ()  # (key, name) for the list datatypes


@dataclass(frozen=True)
class CategorySpec:
    code: str  # "C-01-01" for components (部件), "E-01-01" for events (事件)
    kind: str  # "component" | "event"
    major_class: str  # "01".."06"
    major_name: str
    major_name_zh: str
    name: str
    name_zh: str
    description: str
    keywords: tuple[str, ...]
    default_department: str
    priority: str  # "urgent" | "normal" | "low"
    auto_dispatch: bool
    dedupe_radius_m: int
    dedupe_window_hours: int
    update_interval_hours: int  # a case with no public update for longer is flagged
    icon: str
    attributes: tuple[AttributeSpec, ...] = ()


@dataclass(frozen=True)
class RoutingRuleSpec:
    category_code: str
    district_code: str | None  # None = any district (the fallback rule)
    department_code: str


@dataclass(frozen=True)
class SlaSpec:
    category_code: str
    priority: str
    response_minutes: int
    resolution_minutes: int


@dataclass(frozen=True)
class DemoCity:
    code: str
    name: str
    name_zh: str
    domain: str  # Open311 jurisdiction_id
    center: tuple[float, float]  # (lon, lat)
    jurisdictions: tuple[JurisdictionSpec, ...]
    departments: tuple[DepartmentSpec, ...]
    categories: tuple[CategorySpec, ...]
    routing_rules: tuple[RoutingRuleSpec, ...]
    sla_targets: tuple[SlaSpec, ...]


PRIORITIES: tuple[str, ...] = ("urgent", "normal", "low")

# --------------------------------------------------------------------------------------------
# Geography
# --------------------------------------------------------------------------------------------
# Design coordinates are integers in units of 1e-4 degree (about 9.6 m east, 11.1 m north)
# from the south-west corner of the city's bounding box, so the city centre (420, 270) is
# exactly lon 120.15, lat 30.25 and the city spans about 8.1 km by 6.2 km.
#
# Every design segment (dx, dy) satisfies dx | 100*dy and dy | 100*dx (or is axis-parallel):
# that is what makes its crossing with any lattice line land on a whole micro-degree.

XY = tuple[int, int]

_ORIGIN_MICRO: XY = (120_108_000, 30_223_000)  # (lon, lat) of design point (0, 0), 1e-6 degree
_UNIT = 100  # micro-degrees per design unit

_CITY_OUTLINE: tuple[XY, ...] = (
    (40, 40), (200, 0), (400, 20), (600, 0), (800, 40), (840, 140), (820, 340), (840, 440),
    (760, 540), (560, 520), (400, 560), (200, 520), (100, 540), (0, 440), (20, 240), (0, 140),
)  # fmt: skip

# The River Ling (灵江) meanders west to east; the old city wall road runs from the north
# edge down to the river and separates Old Town from Northgate.
_DISTRICT_LINES: tuple[tuple[XY, ...], ...] = (
    ((20, 240), (220, 200), (420, 220), (620, 180), (720, 140), (840, 140)),
    ((400, 560), (380, 460), (480, 360), (520, 260), (520, 200)),
)

# (code, name, name_zh, a design point inside it)
_DISTRICTS: tuple[tuple[str, str, str, XY], ...] = (
    ("RV01", "Old Town", "老城区", (300, 300)),
    ("RV02", "Riverside", "滨江区", (400, 100)),
    ("RV03", "Northgate", "北门区", (650, 450)),
)

# Per district: the street boundary polylines, then (English stem, Chinese stem, inside point).
_STREETS: dict[str, tuple[tuple[tuple[XY, ...], ...], tuple[tuple[str, str, XY], ...]]] = {
    "RV01": (
        (
            ((200, 520), (240, 420), (220, 320), (220, 200)),
            ((10, 340), (120, 340), (220, 320)),
            ((240, 420), (480, 360)),
        ),
        (
            ("Lotus", "荷花", (120, 280)),
            ("Drum Tower", "鼓楼", (100, 420)),
            ("Confucius Temple", "文庙", (330, 470)),
            ("Old Bridge", "古桥", (380, 300)),
        ),
    ),
    "RV02": (
        (
            ((200, 0), (180, 100), (220, 200)),
            ((400, 20), (440, 120), (420, 220)),
            ((600, 0), (640, 100), (620, 180)),
        ),
        (
            ("Willow Bank", "柳岸", (100, 120)),
            ("Riverview", "望江", (300, 100)),
            ("Wharf", "码头", (520, 100)),
            ("Fishing Harbour", "渔港", (740, 90)),
        ),
    ),
    "RV03": (
        (
            ((480, 360), (580, 340), (680, 360), (780, 340), (820, 340)),
            ((560, 520), (600, 420), (580, 340)),
            ((680, 360), (700, 260), (720, 240), (720, 140)),
        ),
        (
            ("North Pass", "北关", (480, 440)),
            ("Jade Spring", "玉泉", (700, 450)),
            ("Maple Bridge", "枫桥", (600, 260)),
            ("Industrial Park", "工业园", (780, 240)),
        ),
    ),
}

# Grid cells (网格) are cut from a city-wide lattice of ~770 m squares (0.008 deg lon at this
# latitude is about the same distance as 0.007 deg lat), in micro-degrees.
_LATTICE_ORIGIN: XY = (500, 500)
_LATTICE_STEP: XY = (8_000, 7_000)
# Lattice fragments smaller than this share of a full cell are merged into a neighbour: a
# 网格 is a patrol beat, and a sliver is not worth a supervisor of its own.
_MIN_CELL_SHARE = 0.3
_MAX_CELLS_PER_STREET = 9
_MIN_CELLS_PER_STREET = 4


def _micro(points: Sequence[XY]) -> list[XY]:
    return [(x * _UNIT, y * _UNIT) for x, y in points]


def _exact(value: float) -> int:
    rounded = round(value)
    if abs(value - rounded) > 1e-6:
        # A design edge with an awkward slope: its lattice crossing is not on a micro-degree.
        raise ValueError(f"coordinate {value!r} is not a whole micro-degree")
    return rounded


def _ring(poly: Polygon) -> list[XY]:
    """The canonical exterior ring: integer, CCW, no repeated or straight-through vertices,
    starting at the south-westmost vertex, not closed."""
    if poly.interiors:
        raise ValueError("demo polygons have no holes")
    pts: list[XY] = []
    for x, y in list(poly.exterior.coords)[:-1]:
        pt = (_exact(x), _exact(y))
        if not pts or pts[-1] != pt:
            pts.append(pt)
    while len(pts) > 1 and pts[0] == pts[-1]:
        pts.pop()
    changed = True
    while changed:
        changed = False
        for i in range(len(pts)):
            (ax, ay), (bx, by), (cx, cy) = pts[i - 1], pts[i], pts[(i + 1) % len(pts)]
            cross = (bx - ax) * (cy - by) - (by - ay) * (cx - bx)
            dot = (bx - ax) * (cx - bx) + (by - ay) * (cy - by)
            if cross == 0 and dot > 0:
                del pts[i]
                changed = True
                break
    twice_area = sum(
        x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1], strict=True)
    )
    if twice_area < 0:
        pts.reverse()
    start = pts.index(min(pts, key=lambda p: (p[1], p[0])))
    return pts[start:] + pts[:start]


def _lonlat(ring: list[XY]) -> list[tuple[float, float]]:
    # Integer / 1e6 is correctly rounded, so this is exactly the 6-decimal value.
    lon0, lat0 = _ORIGIN_MICRO
    pts = [((lon0 + x) / 1e6, (lat0 + y) / 1e6) for x, y in ring]
    return [*pts, pts[0]]


def _polygons(geom: BaseGeometry) -> list[Polygon]:
    parts = getattr(geom, "geoms", [geom])
    return [p for p in parts if isinstance(p, Polygon) and not p.is_empty and p.area > 0]


def _partition(outer: Polygon, lines: Sequence[Sequence[XY]], seeds: Sequence[XY]) -> list[Polygon]:
    """Cut ``outer`` along ``lines`` and return the faces in ``seeds`` order.

    Lines start and end exactly on the outer boundary or on each other, so every node is an
    integer and the faces share their edges exactly.
    """
    noded = shapely.unary_union(
        [outer.exterior, *(LineString(_micro(line)) for line in lines)], grid_size=1
    )
    faces = list(polygonize(noded))
    result: list[Polygon] = []
    for seed in _micro(seeds):
        hits = [f for f in faces if f.contains(Point(seed))]
        if len(hits) != 1:
            raise ValueError(f"seed {seed} lies in {len(hits)} faces")
        result.append(Polygon(_ring(hits[0])))
    if len(faces) != len(seeds) or abs(sum(p.area for p in result) - outer.area) > 1e-6:
        raise ValueError("the lines do not cut the polygon into exactly the seeded faces")
    return result


def _shared_length(a: Polygon, b: Polygon) -> float:
    return a.boundary.intersection(b.boundary).length


def _grid_cells(street: Polygon) -> list[Polygon]:
    """Cut a street into lattice cells, merge slivers, and order them north-west first."""
    (ox, oy), (sx, sy) = _LATTICE_ORIGIN, _LATTICE_STEP
    minx, miny, maxx, maxy = street.bounds
    cells: list[tuple[tuple[int, int, int], Polygon]] = []
    for row in range(int((maxy - oy) // sy), int((miny - oy) // sy) - 1, -1):
        for col in range(int((minx - ox) // sx), int((maxx - ox) // sx) + 1):
            x0, y0 = ox + col * sx, oy + row * sy
            square = box(x0, y0, x0 + sx, y0 + sy)
            for part, piece in enumerate(_polygons(street.intersection(square))):
                # Sort key: rows from the north, then west to east.
                cells.append(((-row, col, part), Polygon(_ring(piece))))
    full = sx * sy
    while True:
        smallest = min(range(len(cells)), key=lambda i: (cells[i][1].area, cells[i][0]))
        area = cells[smallest][1].area
        if area >= _MIN_CELL_SHARE * full and len(cells) <= _MAX_CELLS_PER_STREET:
            break
        key, poly = cells.pop(smallest)
        target = max(
            range(len(cells)), key=lambda i: (_shared_length(poly, cells[i][1]), cells[i][0])
        )
        if _shared_length(poly, cells[target][1]) <= 0:
            raise ValueError(f"cell {key} has no neighbour to merge into")
        merged = _polygons(shapely.union(cells[target][1], poly, grid_size=1))
        if len(merged) != 1:
            raise ValueError(f"merging cell {key} did not give one polygon")
        cells[target] = (cells[target][0], Polygon(_ring(merged[0])))
    if len(cells) < _MIN_CELLS_PER_STREET:
        raise ValueError("street too small for its grid cells")
    return [poly for _, poly in sorted(cells, key=lambda c: c[0])]


def city_outline() -> list[tuple[float, float]]:
    """The city boundary as a closed (lon, lat) ring; the districts tile it exactly."""
    return _lonlat(_ring(Polygon(_micro(_CITY_OUTLINE))))


def _jurisdictions() -> tuple[JurisdictionSpec, ...]:
    city = Polygon(_micro(_CITY_OUTLINE))
    specs: list[JurisdictionSpec] = []
    districts = _partition(city, _DISTRICT_LINES, [seed for *_, seed in _DISTRICTS])
    for (d_code, d_name, d_name_zh, _), district in zip(_DISTRICTS, districts, strict=True):
        specs.append(
            JurisdictionSpec("district", d_code, d_name, d_name_zh, None, _lonlat(_ring(district)))
        )
        lines, streets = _STREETS[d_code]
        street_polys = _partition(district, lines, [seed for *_, seed in streets])
        for s_no, ((stem, stem_zh, _), street) in enumerate(
            zip(streets, street_polys, strict=True), 1
        ):
            s_code, s_name, s_name_zh = f"{d_code}-S{s_no:02d}", f"{stem} Street", f"{stem_zh}街道"
            specs.append(
                JurisdictionSpec(
                    "street", s_code, s_name, s_name_zh, d_code, _lonlat(_ring(street))
                )
            )
            for g_no, cell in enumerate(_grid_cells(street), 1):
                specs.append(
                    JurisdictionSpec(
                        "grid",
                        f"{s_code}-G{g_no:02d}",
                        f"{s_name} Grid {g_no}",
                        f"{s_name_zh}第{g_no}网格",
                        s_code,
                        _lonlat(_ring(cell)),
                    )
                )
    return tuple(specs)


# --------------------------------------------------------------------------------------------
# Departments
# --------------------------------------------------------------------------------------------

_DEPARTMENTS: tuple[DepartmentSpec, ...] = (
    DepartmentSpec("command", "Supervision and Command Centre", "监督指挥中心", "centre"),
    DepartmentSpec("facilities", "Municipal Facilities", "市政设施管理处", "department"),
    DepartmentSpec("water", "Water Utility", "水务集团", "department"),
    DepartmentSpec("roads", "Roads", "道路管理处", "department"),
    DepartmentSpec("sanitation", "Sanitation", "环卫处", "department"),
    DepartmentSpec("parks", "Parks and Greening", "园林绿化处", "department"),
    DepartmentSpec("lighting", "Street Lighting", "路灯管理处", "department"),
    DepartmentSpec("environment", "Environment", "生态环境局", "department"),
    DepartmentSpec("urbanmgmt", "City Management Enforcement", "城市管理执法局", "department"),
)

# --------------------------------------------------------------------------------------------
# Categories: the 部件 (component) / 事件 (event) classification
# --------------------------------------------------------------------------------------------

_COMPONENT_MAJORS: dict[str, tuple[str, str]] = {
    "01": ("Public facilities", "公用设施"),
    "02": ("Road traffic", "道路交通"),
    "03": ("City appearance", "市容环境"),
    "04": ("Greening", "园林绿化"),
    "05": ("Housing and land", "房屋土地"),
    "06": ("Other", "其他"),
}
_EVENT_MAJORS: dict[str, tuple[str, str]] = {
    "01": ("City appearance", "市容环境"),
    "02": ("Advertising", "宣传广告"),
    "03": ("Construction", "施工管理"),
    "04": ("Street order", "街面秩序"),
    "05": ("Emergencies", "突发事件"),
    "06": ("Other", "其他"),
}


def _category(
    code: str,
    name: str,
    name_zh: str,
    description: str,
    keywords: tuple[str, ...],
    department: str,
    priority: str,
    *,
    auto_dispatch: bool = False,
    dedupe_radius_m: int = 50,
    dedupe_window_hours: int = 72,
    update_interval_hours: int | None = None,
    icon: str,
    attributes: tuple[AttributeSpec, ...] = (),
) -> CategorySpec:
    # The code carries kind and major class, so they cannot disagree with it.
    kind_letter, major, _minor = code.split("-")
    kind = "component" if kind_letter == "C" else "event"
    major_name, major_name_zh = (_COMPONENT_MAJORS if kind == "component" else _EVENT_MAJORS)[major]
    if update_interval_hours is None:
        # Urgent cases owe the reporter news within hours; routine ones within days.
        update_interval_hours = {"urgent": 4, "normal": 48, "low": 120}[priority]
    return CategorySpec(
        code=code,
        kind=kind,
        major_class=major,
        major_name=major_name,
        major_name_zh=major_name_zh,
        name=name,
        name_zh=name_zh,
        description=description,
        keywords=keywords,
        default_department=department,
        priority=priority,
        auto_dispatch=auto_dispatch,
        dedupe_radius_m=dedupe_radius_m,
        dedupe_window_hours=dedupe_window_hours,
        update_interval_hours=update_interval_hours,
        icon=icon,
        attributes=attributes,
    )


_CATEGORIES: tuple[CategorySpec, ...] = (
    # ---- Components (部件) ----
    _category(
        "C-01-01",
        "Manhole cover missing or damaged",
        "井盖缺失或损坏",
        "A manhole or utility-well cover is missing, broken or out of place.",
        ("manhole", "cover", "hole", "井盖", "窨井", "缺失"),
        "facilities",
        "urgent",
        auto_dispatch=True,
        dedupe_radius_m=25,
        update_interval_hours=2,
        icon="manhole",
        attributes=(
            AttributeSpec(
                "cover_state",
                "What is wrong with the cover?",
                "singlevaluelist",
                True,
                1,
                (("missing", "Missing"), ("broken", "Broken"), ("displaced", "Displaced")),
            ),
            AttributeSpec(
                "cover_type",
                "What is written on the cover, if you can tell?",
                "singlevaluelist",
                False,
                2,
                (
                    ("water", "Water supply"),
                    ("sewer", "Sewer"),
                    ("storm", "Storm drain"),
                    ("power", "Power"),
                    ("telecom", "Telecom"),
                    ("unknown", "Unknown"),
                ),
            ),
        ),
    ),
    _category(
        "C-01-02",
        "Water leak",
        "供水管道漏水",
        "Water is leaking or gushing from a supply pipe, valve or meter.",
        ("water", "leak", "pipe", "burst", "漏水", "爆管", "水管"),
        "water",
        "urgent",
        auto_dispatch=True,
        dedupe_radius_m=50,
        dedupe_window_hours=48,
        icon="water",
    ),
    _category(
        "C-01-03",
        "Blocked drain",
        "雨水井堵塞",
        "A storm drain or gully is blocked and water cannot run off.",
        ("drain", "gully", "blocked", "clogged", "雨水井", "堵塞", "下水道"),
        "water",
        "normal",
        dedupe_radius_m=30,
        icon="drain",
    ),
    _category(
        "C-01-04",
        "Damaged fire hydrant",
        "消防栓损坏",
        "A fire hydrant is damaged, leaking, blocked or missing its cap.",
        ("hydrant", "fire", "消防栓"),
        "water",
        "normal",
        dedupe_radius_m=25,
        icon="hydrant",
    ),
    _category(
        "C-01-05",
        "Streetlight out",
        "路灯不亮",
        "A streetlight is out, flickering or on during the day.",
        ("streetlight", "lamp", "light", "dark", "路灯", "不亮"),
        "lighting",
        "normal",
        auto_dispatch=True,
        dedupe_radius_m=30,
        dedupe_window_hours=168,
        icon="lamp",
        attributes=(
            AttributeSpec(
                "pole_number", "The number painted on the pole, if visible.", "string", False, 1
            ),
        ),
    ),
    _category(
        "C-02-01",
        "Pothole",
        "道路坑槽",
        "A hole or broken patch in the road surface.",
        ("pothole", "hole", "road", "坑槽", "坑洼", "路面"),
        "roads",
        "normal",
        auto_dispatch=False,
        dedupe_radius_m=50,
        icon="pothole",
        attributes=(
            AttributeSpec(
                "size",
                "How big is it?",
                "singlevaluelist",
                False,
                1,
                (
                    ("small", "Smaller than a plate"),
                    ("medium", "Up to a car wheel"),
                    ("large", "Larger than a car wheel"),
                ),
            ),
            AttributeSpec("depth_cm", "Roughly how deep, in centimetres?", "number", False, 2),
        ),
    ),
    _category(
        "C-02-02",
        "Damaged traffic sign",
        "交通标志牌损坏",
        "A traffic or street-name sign is damaged, turned, obscured or missing.",
        ("sign", "traffic sign", "标志牌", "路名牌"),
        "roads",
        "normal",
        dedupe_radius_m=30,
        icon="sign",
    ),
    _category(
        "C-02-03",
        "Broken guardrail",
        "护栏损坏",
        "A road, bridge or river-side guardrail is broken, bent or missing.",
        ("guardrail", "railing", "barrier", "护栏", "栏杆"),
        "roads",
        "normal",
        dedupe_radius_m=50,
        icon="guardrail",
    ),
    _category(
        "C-02-04",
        "Damaged bus shelter",
        "公交候车亭损坏",
        "A bus shelter has broken glass, seating, lighting or timetable panels.",
        ("bus", "shelter", "stop", "候车亭", "公交站"),
        "roads",
        "normal",
        dedupe_radius_m=30,
        icon="bus",
    ),
    _category(
        "C-02-05",
        "Damaged sidewalk",
        "人行道破损",
        "Loose, broken or sunken paving on a sidewalk, or a damaged tactile path.",
        ("sidewalk", "pavement", "paving", "tile", "人行道", "盲道", "地砖"),
        "roads",
        "low",
        dedupe_radius_m=50,
        icon="sidewalk",
    ),
    _category(
        "C-03-01",
        "Overflowing bin",
        "垃圾桶满溢",
        "A public litter bin or garbage container is full or overflowing.",
        ("bin", "trash", "garbage", "overflowing", "垃圾桶", "垃圾箱", "满溢"),
        "sanitation",
        "normal",
        auto_dispatch=True,
        dedupe_radius_m=30,
        dedupe_window_hours=24,
        update_interval_hours=24,
        icon="trash",
    ),
    _category(
        "C-03-02",
        "Damaged public toilet",
        "公共厕所损坏",
        "A public toilet is broken, locked during opening hours or unhygienic.",
        ("toilet", "restroom", "公厕", "厕所"),
        "sanitation",
        "normal",
        dedupe_radius_m=30,
        icon="toilet",
    ),
    _category(
        "C-04-01",
        "Fallen tree",
        "树木倒伏",
        "A tree or large branch has fallen or is about to fall.",
        ("tree", "fallen", "branch", "倒伏", "树木", "断枝"),
        "parks",
        "urgent",
        auto_dispatch=True,
        dedupe_radius_m=50,
        dedupe_window_hours=48,
        icon="tree",
        attributes=(
            AttributeSpec(
                "blocking",
                "Is it blocking the road or sidewalk?",
                "singlevaluelist",
                True,
                1,
                (("yes", "Yes"), ("no", "No")),
            ),
        ),
    ),
    _category(
        "C-04-02",
        "Dead or damaged tree",
        "行道树死亡或损坏",
        "A street tree is dead, diseased, damaged or its tree pit is broken.",
        ("tree", "dead", "diseased", "行道树", "枯死", "树池"),
        "parks",
        "low",
        dedupe_radius_m=30,
        dedupe_window_hours=168,
        icon="tree",
    ),
    _category(
        "C-04-03",
        "Broken bench",
        "座椅损坏",
        "A bench in a park or on the street is broken or unsafe.",
        ("bench", "seat", "座椅", "长椅"),
        "parks",
        "low",
        dedupe_radius_m=25,
        dedupe_window_hours=168,
        icon="bench",
    ),
    # ---- Events (事件) ----
    _category(
        "E-01-01",
        "Illegal dumping",
        "乱倒垃圾",
        "Rubbish, furniture or waste dumped in a public place.",
        ("dumping", "fly-tipping", "rubbish", "waste", "乱倒", "垃圾", "倾倒"),
        "sanitation",
        "normal",
        dedupe_radius_m=50,
        icon="dumping",
    ),
    _category(
        "E-01-02",
        "Litter",
        "暴露垃圾",
        "Litter or loose garbage lying on a street, square or green space.",
        ("litter", "garbage", "暴露垃圾", "积存垃圾"),
        "sanitation",
        "low",
        dedupe_radius_m=50,
        dedupe_window_hours=24,
        icon="trash",
    ),
    _category(
        "E-01-03",
        "Dead animal",
        "动物尸体",
        "A dead animal on a road, sidewalk or in a public space.",
        ("dead animal", "carcass", "动物尸体", "死猫", "死狗"),
        "sanitation",
        "normal",
        dedupe_radius_m=50,
        dedupe_window_hours=24,
        update_interval_hours=24,
        icon="animal",
    ),
    _category(
        "E-02-01",
        "Graffiti",
        "乱涂乱画",
        "Graffiti or painted markings on walls, facilities or public property.",
        ("graffiti", "paint", "tag", "涂鸦", "乱涂乱画"),
        "urbanmgmt",
        "low",
        dedupe_radius_m=100,
        dedupe_window_hours=336,
        icon="graffiti",
    ),
    _category(
        "E-02-02",
        "Illegal advertising",
        "非法小广告",
        "Flyers, stickers or sprayed phone numbers posted without permission.",
        ("flyer", "sticker", "poster", "advertising", "小广告", "牛皮癣"),
        "urbanmgmt",
        "low",
        dedupe_radius_m=100,
        dedupe_window_hours=168,
        icon="flyer",
    ),
    _category(
        "E-02-03",
        "Unauthorised banner",
        "违规悬挂横幅",
        "A banner, flag or sign board put up without a permit or in a dangerous way.",
        ("banner", "flag", "横幅", "条幅"),
        "urbanmgmt",
        "low",
        dedupe_radius_m=100,
        dedupe_window_hours=168,
        icon="banner",
    ),
    _category(
        "E-03-01",
        "Construction noise",
        "施工噪音扰民",
        "Construction works making noise at night or outside permitted hours.",
        ("construction", "noise", "night work", "施工", "噪音", "夜间施工"),
        "environment",
        "normal",
        dedupe_radius_m=200,
        dedupe_window_hours=24,
        update_interval_hours=24,
        icon="noise",
    ),
    _category(
        "E-03-02",
        "Construction debris",
        "施工渣土撒漏",
        "Spoil, sand or debris spilled from construction sites or muck trucks.",
        ("debris", "muck", "spoil", "sand", "渣土", "撒漏"),
        "urbanmgmt",
        "normal",
        dedupe_radius_m=100,
        dedupe_window_hours=48,
        icon="debris",
    ),
    _category(
        "E-03-03",
        "Unfenced construction site",
        "施工工地未围挡",
        "A construction site or road works without proper hoarding, cover or signage.",
        ("construction site", "hoarding", "fence", "工地", "围挡"),
        "urbanmgmt",
        "normal",
        dedupe_radius_m=100,
        icon="construction",
    ),
    _category(
        "E-04-01",
        "Illegal parking",
        "违章停车",
        "A vehicle parked on a sidewalk, fire lane, bus stop or other no-parking area.",
        ("parking", "parked", "car", "停车", "违停", "占道停车"),
        "urbanmgmt",
        "normal",
        dedupe_radius_m=50,
        dedupe_window_hours=4,  # cars move: yesterday's report is not today's
        update_interval_hours=24,
        icon="car",
        attributes=(
            AttributeSpec(
                "blocking",
                "What is the vehicle blocking?",
                "singlevaluelist",
                False,
                1,
                (
                    ("fire_lane", "Fire lane"),
                    ("sidewalk", "Sidewalk"),
                    ("bus_stop", "Bus stop"),
                    ("driveway", "Driveway or entrance"),
                    ("other", "Other"),
                ),
            ),
        ),
    ),
    _category(
        "E-04-02",
        "Street vending",
        "占道经营",
        "Stalls or shops trading on the sidewalk or road without permission.",
        ("vendor", "stall", "hawker", "占道经营", "流动摊贩", "出店经营"),
        "urbanmgmt",
        "normal",
        dedupe_radius_m=50,
        dedupe_window_hours=12,
        update_interval_hours=24,
        icon="stall",
    ),
    _category(
        "E-04-03",
        "Abandoned vehicle",
        "废弃车辆",
        "A car, motorbike or bicycle left unused and decaying in a public place.",
        ("abandoned", "vehicle", "wreck", "bicycle", "废弃车辆", "僵尸车"),
        "urbanmgmt",
        "low",
        dedupe_radius_m=25,
        dedupe_window_hours=720,
        icon="car",
    ),
    _category(
        "E-05-01",
        "Road flooding",
        "道路积水",
        "Standing water on a road or underpass that blocks traffic or pedestrians.",
        ("flood", "flooding", "standing water", "积水", "内涝"),
        "water",
        "urgent",
        auto_dispatch=True,
        dedupe_radius_m=100,
        dedupe_window_hours=12,
        update_interval_hours=2,
        icon="flood",
    ),
    _category(
        "E-05-02",
        "Road collapse",
        "路面塌陷",
        "The road or sidewalk surface has caved in or a sinkhole has opened.",
        ("collapse", "sinkhole", "cave-in", "塌陷", "路面塌陷"),
        "roads",
        "urgent",
        auto_dispatch=True,
        dedupe_radius_m=50,
        dedupe_window_hours=48,
        update_interval_hours=2,
        icon="sinkhole",
    ),
    _category(
        "E-06-01",
        "Noise nuisance",
        "噪声扰民",
        "Loud music, loudspeakers or machinery disturbing residents.",
        ("noise", "loud", "music", "噪声", "扰民", "广场舞"),
        "environment",
        "normal",
        dedupe_radius_m=200,
        dedupe_window_hours=24,
        update_interval_hours=24,
        icon="noise",
    ),
    _category(
        "E-06-02",
        "Air pollution or smoke",
        "大气污染或烟尘",
        "Smoke, burning, dust or strong odours polluting the air.",
        ("smoke", "burning", "dust", "odour", "pollution", "烟尘", "焚烧", "异味"),
        "environment",
        "normal",
        dedupe_radius_m=300,
        dedupe_window_hours=24,
        icon="smoke",
    ),
)

# --------------------------------------------------------------------------------------------
# Routing: a fallback per category, plus the district exceptions that make routing real
# --------------------------------------------------------------------------------------------

_ROUTING_OVERRIDES: tuple[RoutingRuleSpec, ...] = (
    # Old Town's lanes are too narrow for sanitation trucks; the enforcement bureau's
    # street teams empty the bins there.
    RoutingRuleSpec("C-03-01", "RV01", "urbanmgmt"),
    # Northgate's storm drains were built with the new district and are run by Municipal
    # Facilities, not by the Water Utility.
    RoutingRuleSpec("C-01-03", "RV03", "facilities"),
    # The river promenade lights in Riverside belong to the embankment, i.e. to Facilities.
    RoutingRuleSpec("C-01-05", "RV02", "facilities"),
    # Riverside's embankment has its own flood crew at Municipal Facilities.
    RoutingRuleSpec("E-05-01", "RV02", "facilities"),
)


def _routing_rules() -> tuple[RoutingRuleSpec, ...]:
    fallbacks = tuple(RoutingRuleSpec(c.code, None, c.default_department) for c in _CATEGORIES)
    return fallbacks + _ROUTING_OVERRIDES


# --------------------------------------------------------------------------------------------
# SLA targets, in minutes, per category and priority
# --------------------------------------------------------------------------------------------

_HOUR, _DAY = 60, 24 * 60
# (response, resolution) per priority; a case's priority may differ from its category default.
_SLA_PROFILES: dict[str, dict[str, tuple[int, int]]] = {
    # A hole in the road or a burst main: people get hurt, so minutes count.
    "hazard": {
        "urgent": (30, 4 * _HOUR),
        "normal": (4 * _HOUR, 2 * _DAY),
        "low": (1 * _DAY, 7 * _DAY),
    },
    "standard": {
        "urgent": (1 * _HOUR, 8 * _HOUR),
        "normal": (8 * _HOUR, 3 * _DAY),
        "low": (1 * _DAY, 10 * _DAY),
    },
    # Things that annoy rather than endanger: repairs may need parts or a work crew.
    "amenity": {
        "urgent": (2 * _HOUR, 24 * _HOUR),
        "normal": (24 * _HOUR, 7 * _DAY),
        "low": (2 * _DAY, 14 * _DAY),
    },
    # Street-order problems are over quickly or not at all, so enforcement must be fast.
    "enforcement": {
        "urgent": (30, 4 * _HOUR),
        "normal": (4 * _HOUR, 2 * _DAY),
        "low": (1 * _DAY, 7 * _DAY),
    },
}
_SLA_PROFILE_OF: dict[str, str] = {
    "C-01-01": "hazard",  # tightened further by _SLA_OVERRIDES
    "C-01-02": "hazard",
    "C-01-03": "standard",
    "C-01-04": "hazard",
    "C-01-05": "standard",
    "C-02-01": "standard",
    "C-02-02": "standard",
    "C-02-03": "hazard",
    "C-02-04": "amenity",
    "C-02-05": "amenity",
    "C-03-01": "standard",
    "C-03-02": "standard",
    "C-04-01": "hazard",
    "C-04-02": "amenity",
    "C-04-03": "amenity",
    "E-01-01": "standard",
    "E-01-02": "standard",
    "E-01-03": "standard",
    "E-02-01": "amenity",
    "E-02-02": "amenity",
    "E-02-03": "amenity",
    "E-03-01": "enforcement",
    "E-03-02": "enforcement",
    "E-03-03": "standard",
    "E-04-01": "enforcement",
    "E-04-02": "enforcement",
    "E-04-03": "amenity",
    "E-05-01": "hazard",
    "E-05-02": "hazard",
    "E-06-01": "enforcement",
    "E-06-02": "standard",
}
# Riverton's rule, as in most Chinese cities: a missing manhole cover is made safe within the
# hour (井盖缺失 1 小时内处置).
_SLA_OVERRIDES: dict[tuple[str, str], tuple[int, int]] = {
    ("C-01-01", "urgent"): (30, 60),
    ("C-01-01", "normal"): (4 * _HOUR, 1 * _DAY),
    ("C-01-01", "low"): (1 * _DAY, 3 * _DAY),
}


def _sla_targets() -> tuple[SlaSpec, ...]:
    rows: list[SlaSpec] = []
    for category in _CATEGORIES:
        profile = _SLA_PROFILES[_SLA_PROFILE_OF[category.code]]
        for priority in PRIORITIES:
            response, resolution = _SLA_OVERRIDES.get((category.code, priority), profile[priority])
            rows.append(SlaSpec(category.code, priority, response, resolution))
    return tuple(rows)


# --------------------------------------------------------------------------------------------
# The city
# --------------------------------------------------------------------------------------------


@functools.cache
def build_demo_city() -> DemoCity:
    """Riverton, deterministic; built once per process (the geometry takes a few ms)."""
    lon0, lat0 = _ORIGIN_MICRO
    return DemoCity(
        code="riverton",
        name="Riverton",
        name_zh="河港市",
        domain="riverton.example",
        center=((lon0 + 420 * _UNIT) / 1e6, (lat0 + 270 * _UNIT) / 1e6),
        jurisdictions=_jurisdictions(),
        departments=_DEPARTMENTS,
        categories=_CATEGORIES,
        routing_rules=_routing_rules(),
        sla_targets=_sla_targets(),
    )
