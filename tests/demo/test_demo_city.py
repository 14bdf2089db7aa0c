"""The Riverton demo city must be a consistent, routable city: these tests pin that down."""

from __future__ import annotations

import itertools
import math
import re

import pytest
import shapely
from shapely.geometry import Point, Polygon

from cityloop.demo.city import (
    PRIORITIES,
    DemoCity,
    JurisdictionSpec,
    build_demo_city,
    city_outline,
)

OPEN311_DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}
REQUIRED_DEPARTMENTS = {
    "command",
    "facilities",
    "water",
    "roads",
    "sanitation",
    "parks",
    "lighting",
    "environment",
    "urbanmgmt",
}
# Categories other code and the demo scripts rely on: code -> (name_zh, default department).
REQUIRED_CATEGORIES = {
    "C-01-01": ("井盖缺失或损坏", "facilities"),
    "C-02-01": ("道路坑槽", "roads"),
    "C-01-05": ("路灯不亮", "lighting"),
    "E-01-01": ("乱倒垃圾", "sanitation"),
    "C-03-01": ("垃圾桶满溢", "sanitation"),
    "C-04-01": ("树木倒伏", "parks"),
    "C-01-02": ("供水管道漏水", "water"),
    "C-01-03": ("雨水井堵塞", "water"),
    "E-02-01": ("乱涂乱画", "urbanmgmt"),
    "E-04-01": ("违章停车", "urbanmgmt"),
}
# Tolerance for "inside": 1e-9 degree is about 0.1 mm.
EPS = 1e-9


@pytest.fixture(scope="module")
def city() -> DemoCity:
    return build_demo_city()


def _level(city: DemoCity, level: str) -> list[JurisdictionSpec]:
    return [j for j in city.jurisdictions if j.level == level]


def _shape(spec: JurisdictionSpec) -> Polygon:
    return Polygon(spec.polygon)


def _route(city: DemoCity, category: str, district: str) -> str:
    """Resolve a department the way the router does: district rule first, then the fallback."""
    rules = {(r.category_code, r.district_code): r.department_code for r in city.routing_rules}
    return rules.get((category, district), rules[(category, None)])


# ---- Geography --------------------------------------------------------------------------------


def test_every_polygon_is_a_valid_closed_ring_at_six_decimals(city: DemoCity) -> None:
    for spec in city.jurisdictions:
        ring = spec.polygon
        assert ring[0] == ring[-1], spec.code
        assert len(ring) >= 4, spec.code
        assert all(round(c, 6) == c for point in ring for c in point), spec.code
        poly = _shape(spec)
        assert poly.is_valid, (spec.code, shapely.is_valid_reason(poly))
        assert poly.exterior.is_ccw, spec.code


def test_the_city_is_about_8_by_6_km_around_its_centre(city: DemoCity) -> None:
    outline = Polygon(city_outline())
    minx, miny, maxx, maxy = outline.bounds
    lat = city.center[1]
    assert city.center == (120.15, 30.25)
    assert outline.contains(Point(city.center))
    width_km = (maxx - minx) * 111.32 * math.cos(math.radians(lat))
    height_km = (maxy - miny) * 110.57
    assert 7 < width_km < 9
    assert 5 < height_km < 7


def test_there_are_three_irregular_districts_with_8_to_14_vertices(city: DemoCity) -> None:
    districts = _level(city, "district")
    assert len(districts) >= 3
    for district in districts:
        poly = _shape(district)
        assert 8 <= len(district.polygon) - 1 <= 14, district.code
        assert poly.area < 0.95 * poly.envelope.area, f"{district.code} is a rectangle"
        assert district.parent_code is None


def test_districts_do_not_overlap_and_tile_the_city(city: DemoCity) -> None:
    districts = [_shape(d) for d in _level(city, "district")]
    for a, b in itertools.combinations(districts, 2):
        assert a.intersection(b).area < 1e-12
    outline = Polygon(city_outline())
    union = shapely.unary_union(districts)
    assert union.area == pytest.approx(outline.area, rel=1e-9)
    assert union.symmetric_difference(outline).area < 1e-12


def test_every_street_lies_within_its_district_and_every_grid_within_its_street(
    city: DemoCity,
) -> None:
    by_code = {j.code: j for j in city.jurisdictions}
    for spec in city.jurisdictions:
        if spec.level == "district":
            continue
        parent = by_code[spec.parent_code or ""]
        expected_parent_level = {"street": "district", "grid": "street"}[spec.level]
        assert parent.level == expected_parent_level, spec.code
        assert spec.code.startswith(parent.code + "-"), spec.code
        assert _shape(parent).buffer(EPS).covers(_shape(spec)), spec.code


@pytest.mark.parametrize(
    ("parent_level", "child_level"), [("district", "street"), ("street", "grid")]
)
def test_children_tile_their_parent_without_overlap(
    city: DemoCity, parent_level: str, child_level: str
) -> None:
    for parent in _level(city, parent_level):
        children = [_shape(c) for c in _level(city, child_level) if c.parent_code == parent.code]
        area = _shape(parent).area
        # Equal sum and union areas means no overlaps; equal to the parent means no gaps.
        assert sum(c.area for c in children) == pytest.approx(area, rel=5e-3), parent.code
        assert shapely.unary_union(children).area == pytest.approx(area, rel=5e-3), parent.code


def test_districts_have_3_to_4_streets_and_streets_4_to_9_grids(city: DemoCity) -> None:
    for district in _level(city, "district"):
        streets = [s for s in _level(city, "street") if s.parent_code == district.code]
        assert 3 <= len(streets) <= 4, district.code
    for street in _level(city, "street"):
        grids = [g for g in _level(city, "grid") if g.parent_code == street.code]
        assert 4 <= len(grids) <= 9, street.code
    assert len(_level(city, "grid")) < 120


def test_jurisdiction_codes_are_unique_and_names_bilingual(city: DemoCity) -> None:
    codes = [j.code for j in city.jurisdictions]
    assert len(codes) == len(set(codes))
    patterns = {
        "district": r"RV\d\d",
        "street": r"RV\d\d-S\d\d",
        "grid": r"RV\d\d-S\d\d-G\d\d",
    }
    for spec in city.jurisdictions:
        assert re.fullmatch(patterns[spec.level], spec.code), spec.code
        assert spec.name and spec.name_zh, spec.code
    lotus = next(s for s in _level(city, "street") if s.name == "Lotus Street")
    assert lotus.name_zh == "荷花街道"
    first_grid = next(g for g in _level(city, "grid") if g.parent_code == lotus.code)
    assert (first_grid.name, first_grid.name_zh) == ("Lotus Street Grid 1", "荷花街道第1网格")


def test_a_representative_point_of_each_district_resolves_to_exactly_one_grid(
    city: DemoCity,
) -> None:
    by_code = {j.code: j for j in city.jurisdictions}
    grids = _level(city, "grid")
    for district in _level(city, "district"):
        point = _shape(district).representative_point()
        hits = [g for g in grids if _shape(g).contains(point)]
        assert len(hits) == 1, district.code
        street = by_code[hits[0].parent_code or ""]
        assert street.parent_code == district.code


def test_every_grid_label_point_resolves_to_its_own_street_and_district(city: DemoCity) -> None:
    by_code = {j.code: j for j in city.jurisdictions}
    shapes = {j.code: _shape(j) for j in city.jurisdictions}
    for grid in _level(city, "grid"):
        point = shapes[grid.code].representative_point()
        for level in ("grid", "street", "district"):
            hits = [j.code for j in _level(city, level) if shapes[j.code].contains(point)]
            assert len(hits) == 1, (grid.code, level, hits)
        street = by_code[grid.parent_code or ""]
        assert shapes[street.code].contains(point)
        assert shapes[street.parent_code or ""].contains(point)


# ---- Departments and categories -----------------------------------------------------------


def test_departments_include_the_operational_ones_and_one_command_centre(city: DemoCity) -> None:
    codes = [d.code for d in city.departments]
    assert len(codes) >= 8
    assert len(codes) == len(set(codes))
    assert set(codes) >= REQUIRED_DEPARTMENTS
    assert [d.code for d in city.departments if d.kind == "centre"] == ["command"]
    assert all(d.kind in {"centre", "department"} for d in city.departments)
    assert all(re.fullmatch(r"[a-z]+", code) for code in codes)


def test_there_are_enough_categories_with_unique_well_formed_codes(city: DemoCity) -> None:
    codes = [c.code for c in city.categories]
    assert len(codes) >= 20
    assert len(codes) == len(set(codes))
    assert sum(c.kind == "component" for c in city.categories) >= 12
    assert sum(c.kind == "event" for c in city.categories) >= 10
    department_codes = {d.code for d in city.departments}
    for c in city.categories:
        letter = {"component": "C", "event": "E"}[c.kind]
        assert re.fullmatch(rf"{letter}-{c.major_class}-\d\d", c.code), c.code
        assert c.major_class in {"01", "02", "03", "04", "05", "06"}
        assert c.name and c.name_zh and c.major_name and c.major_name_zh and c.description
        assert c.keywords and c.icon
        assert c.priority in PRIORITIES
        assert c.default_department in department_codes
        assert c.dedupe_radius_m > 0 and c.dedupe_window_hours > 0
        assert c.update_interval_hours > 0


def test_required_categories_exist_with_their_departments(city: DemoCity) -> None:
    categories = {c.code: c for c in city.categories}
    for code, (name_zh, department) in REQUIRED_CATEGORIES.items():
        assert categories[code].name_zh == name_zh
        assert categories[code].default_department == department


def test_manhole_is_urgent_auto_dispatched_and_fixed_within_the_hour(city: DemoCity) -> None:
    manhole = next(c for c in city.categories if c.code == "C-01-01")
    assert (manhole.kind, manhole.major_class) == ("component", "01")
    assert manhole.priority == "urgent"
    assert manhole.auto_dispatch
    assert manhole.dedupe_radius_m == 25
    sla = next(
        s for s in city.sla_targets if (s.category_code, s.priority) == ("C-01-01", "urgent")
    )
    assert (sla.response_minutes, sla.resolution_minutes) == (30, 60)


def test_pothole_waits_for_triage(city: DemoCity) -> None:
    pothole = next(c for c in city.categories if c.code == "C-02-01")
    assert (pothole.priority, pothole.auto_dispatch, pothole.dedupe_radius_m) == (
        "normal",
        False,
        50,
    )
    assert {a.code for a in pothole.attributes} >= {"size", "depth_cm"}


def test_open311_attributes_are_well_formed(city: DemoCity) -> None:
    with_attributes = [c for c in city.categories if c.attributes]
    assert len(with_attributes) >= 3
    for category in with_attributes:
        orders = [a.order for a in category.attributes]
        assert len(orders) == len(set(orders)), category.code
        for attribute in category.attributes:
            assert attribute.datatype in OPEN311_DATATYPES
            is_list = attribute.datatype.endswith("valuelist")
            assert bool(attribute.values) == is_list, (category.code, attribute.code)
    manhole = next(c for c in city.categories if c.code == "C-01-01")
    cover_state = next(a for a in manhole.attributes if a.code == "cover_state")
    assert cover_state.required
    assert {key for key, _ in cover_state.values} == {"missing", "broken", "displaced"}


def test_reports_about_people_are_moderated_and_no_others(city: DemoCity) -> None:
    # Neighbour noise names flats and families; street vending photos show the traders.
    moderated = {c.code: c.name for c in city.categories if c.moderated}
    assert moderated == {"E-06-01": "Noise nuisance", "E-04-02": "Street vending"}


def test_every_attribute_question_and_answer_has_its_chinese_text(city: DemoCity) -> None:
    for category in city.categories:
        for attribute in category.attributes:
            assert attribute.description_zh, (category.code, attribute.code)
            assert [k for k, _ in attribute.values_zh] == [k for k, _ in attribute.values]
            assert all(name for _, name in attribute.values_zh), (category.code, attribute.code)
    manhole = next(c for c in city.categories if c.code == "C-01-01")
    assert manhole.attributes[0].description_zh == "井盖是什么情况？"
    assert ("missing", "缺失") in manhole.attributes[0].values_zh


# ---- Routing and SLA ----------------------------------------------------------------------


def test_every_category_has_one_fallback_rule_to_an_existing_department(city: DemoCity) -> None:
    department_codes = {d.code for d in city.departments}
    for category in city.categories:
        fallbacks = [
            r
            for r in city.routing_rules
            if r.category_code == category.code and r.district_code is None
        ]
        assert len(fallbacks) == 1, category.code
        assert fallbacks[0].department_code == category.default_department
        assert fallbacks[0].department_code in department_codes


def test_routing_rules_reference_known_things_and_do_not_repeat(city: DemoCity) -> None:
    category_codes = {c.code for c in city.categories}
    district_codes = {d.code for d in _level(city, "district")}
    department_codes = {d.code for d in city.departments}
    keys = [(r.category_code, r.district_code) for r in city.routing_rules]
    assert len(keys) == len(set(keys))
    for rule in city.routing_rules:
        assert rule.category_code in category_codes
        assert rule.district_code is None or rule.district_code in district_codes
        assert rule.department_code in department_codes
        assert rule.department_code != "command", "the centre dispatches, it does not fix"


def test_district_overrides_change_where_cases_go(city: DemoCity) -> None:
    defaults = {c.code: c.default_department for c in city.categories}
    overrides = [
        r
        for r in city.routing_rules
        if r.district_code is not None and r.department_code != defaults[r.category_code]
    ]
    assert len(overrides) >= 3
    assert _route(city, "C-03-01", "RV01") == "urbanmgmt"  # overflowing bin in Old Town
    assert _route(city, "C-03-01", "RV02") == "sanitation"
    assert _route(city, "C-04-01", "RV02") == "parks"  # fallen tree in Riverside


def test_every_category_has_an_sla_for_each_priority(city: DemoCity) -> None:
    category_codes = {c.code for c in city.categories}
    keys = [(s.category_code, s.priority) for s in city.sla_targets]
    assert len(keys) == len(set(keys))
    assert set(keys) == set(itertools.product(category_codes, PRIORITIES))


def test_sla_targets_are_sane(city: DemoCity) -> None:
    sla = {(s.category_code, s.priority): s for s in city.sla_targets}
    for s in city.sla_targets:
        assert 0 < s.response_minutes <= s.resolution_minutes, s
    for category in city.categories:
        urgent, normal, low = (sla[(category.code, p)] for p in PRIORITIES)
        assert urgent.response_minutes <= normal.response_minutes <= low.response_minutes
        assert urgent.resolution_minutes <= normal.resolution_minutes <= low.resolution_minutes
        assert 30 <= urgent.response_minutes <= 120, category.code
        assert 4 * 60 <= normal.response_minutes <= 24 * 60, category.code


def test_build_demo_city_is_cached_and_deterministic() -> None:
    first = build_demo_city()
    assert build_demo_city() is first
    build_demo_city.cache_clear()
    rebuilt = build_demo_city()
    assert rebuilt is not first
    assert rebuilt == first
