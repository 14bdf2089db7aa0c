"""A city folder loads only when every file is right, and each mistake is reported in words that
name the file and the entry, so the city's staff can find it. Each test copies Riverton and
breaks one thing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cityloop.demo.city import RIVERTON, CityDataError, build_demo_city, load_city

GEOJSON = "jurisdictions.geojson"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "city"
    shutil.copytree(RIVERTON, target)
    return target


def edit(folder: Path, file: str, old: str, new: str) -> None:
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(CityDataError) as caught:
        load_city(folder)
    assert str(folder) in str(caught.value)
    return caught.value.problems


def features(folder: Path) -> list[dict[str, Any]]:
    return list(json.loads((folder / GEOJSON).read_text(encoding="utf-8"))["features"])


def edit_features(folder: Path, change: Callable[[list[dict[str, Any]]], None]) -> None:
    data = json.loads((folder / GEOJSON).read_text(encoding="utf-8"))
    change(data["features"])
    (folder / GEOJSON).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def feature(found: list[dict[str, Any]], code: str) -> dict[str, Any]:
    return next(f for f in found if f["properties"]["code"] == code)


def label(folder: Path, code: str) -> str:
    """How the loader names a feature: its place in the file and its code."""
    codes = [f["properties"]["code"] for f in features(folder)]
    return f"feature {codes.index(code) + 1} ({code})"


# ---- The good case ------------------------------------------------------------------------------


def test_a_copy_of_riverton_loads_to_exactly_riverton(folder: Path) -> None:
    assert load_city(folder) == build_demo_city()


def test_a_folder_that_is_not_there_is_named(tmp_path: Path) -> None:
    with pytest.raises(CityDataError, match=r"is not a folder holding city\.yaml"):
        load_city(tmp_path / "nowhere")


def test_every_problem_in_the_folder_is_reported_at_once(folder: Path) -> None:
    edit(folder, "routing.yaml", "    department: urbanmgmt", "    department: trams")
    edit(folder, "city.yaml", "name_zh: 河港市", "name_zh: ''")
    edit(folder, "sla.yaml", "  C-01-03: standard\n", "")
    with pytest.raises(CityDataError) as caught:
        load_city(folder)
    # The files that did not parse come first; cross-file checks wait until they do.
    assert caught.value.problems == [
        "city.yaml: name_zh: String should have at least 1 character (got '')"
    ]
    edit(folder, "city.yaml", "name_zh: ''", "name_zh: 河港市")
    assert problems_of(folder) == [
        "routing.yaml: override #1 (C-03-01 in RV01): department trams is not in departments.yaml",
        *(
            f"sla.yaml: category C-01-03: has no {p} deadlines: name its profile under"
            " categories, or override"
            for p in ("urgent", "normal", "low")
        ),
    ]
    assert "cannot be loaded (4 problems)" in str(CityDataError(folder, ["a"] * 4))


# ---- YAML: syntax, and one file at a time --------------------------------------------------------

YAML_MISTAKES = {
    "a key written twice": (
        "sla.yaml",
        "  C-01-03: standard\n",
        "  C-01-03: standard\n  C-01-03: hazard\n",
        "sla.yaml: line 44, column 3: not valid YAML: C-01-03 is written twice (first on line 43)",
    ),
    "not a mapping": (
        "departments.yaml",
        "departments:\n",
        "- departments:\n",
        "departments.yaml: must be a mapping of field: value (got a list)",
    ),
    "an unknown priority": (
        "categories.yaml",
        "        priority: urgent\n",
        "        priority: asap\n",
        "categories.yaml: component major class 01 > category C-01-01 > priority:"
        " Input should be 'urgent', 'normal' or 'low' (got 'asap')",
    ),
    "a missing field": (
        "categories.yaml",
        "        icon: water\n",
        "",
        "categories.yaml: component major class 01 > category C-01-02 > icon: is missing",
    ),
    "a misspelt field": (
        "categories.yaml",
        "        moderated: false\n",
        "        moderatd: false\n",
        "categories.yaml: component major class 01 > category C-01-01 > moderatd:"
        " is not a known field here (misspelt?)",
    ),
    "an unquoted yes": (
        "categories.yaml",
        '{key: "yes", name: "Yes", name_zh: 是}',
        '{key: yes, name: "Yes", name_zh: 是}',
        "categories.yaml: component major class 04 > category C-04-01 > attribute blocking"
        " > value #1 > key: Input should be a valid string: YAML read true as true/false;"
        " put the text in quotes",
    ),
    "an unquoted major class": (
        "categories.yaml",
        '  - major_class: "03"\n',
        "  - major_class: 03\n",
        "categories.yaml: component major class 3 > major_class: write the major class in"
        ' quotes, e.g. "03"',
    ),
    "a list attribute without values": (
        "categories.yaml",
        "            datatype: string\n",
        "            datatype: multivaluelist\n",
        "categories.yaml: component major class 01 > category C-01-05 > attribute pole_number:"
        " a multivaluelist needs values to choose from",
    ),
    "a department of an unknown kind": (
        "departments.yaml",
        "    kind: centre\n",
        "    kind: bureau\n",
        "departments.yaml: department command > kind:"
        " Input should be 'centre' or 'department' (got 'bureau')",
    ),
    "a department code with capitals": (
        "departments.yaml",
        "  - code: parks\n",
        "  - code: Parks\n",
        "departments.yaml: department Parks > code:"
        " String should match pattern '^[a-z0-9][a-z0-9_-]*$' (got 'Parks')",
    ),
    "a response slower than the resolution": (
        "sla.yaml",
        "    urgent: {response: 30m, resolution: 4h}\n",
        "    urgent: {response: 5h, resolution: 4h}\n",
        "sla.yaml: profiles > hazard > urgent: response (300 min) is longer than resolution"
        " (240 min)",
    ),
    "a profile with an unknown priority": (
        "sla.yaml",
        "    urgent: {response: 30m, resolution: 4h}\n",
        "    urgnt: {response: 30m, resolution: 4h}\n",
        "sla.yaml: profiles > hazard > urgnt > (as a key):"
        " Input should be 'urgent', 'normal' or 'low' (got 'urgnt')",
    ),
    "a duration without a unit it knows": (
        "sla.yaml",
        "    urgent: {response: 30m, resolution: 4h}\n",
        "    urgent: {response: 30m, resolution: 4 hours}\n",
        "sla.yaml: profiles > hazard > urgent > resolution:"
        " write a duration as minutes, or with a unit: 30m, 4h or 2d",
    ),
    "a city centre that is not a pair": (
        "city.yaml",
        "center: [120.15, 30.25]",
        "center: 120.15",
        "city.yaml: center: Input should be a valid tuple (got 120.15)",
    ),
}


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"), YAML_MISTAKES.values(), ids=list(YAML_MISTAKES)
)
def test_a_mistake_in_one_yaml_file_names_the_file_and_entry(
    folder: Path, file: str, old: str, new: str, expected: str
) -> None:
    edit(folder, file, old, new)
    assert expected in problems_of(folder)


def test_bad_yaml_says_where(folder: Path) -> None:
    edit(folder, "categories.yaml", "        name: Water leak\n", "        name: [Water leak\n")
    (problem,) = problems_of(folder)
    # The parser's own words differ between libyaml and pure Python; the place does not.
    assert problem.startswith("categories.yaml: line 95, column ")
    assert ": not valid YAML: " in problem


def test_a_missing_file_is_named(folder: Path) -> None:
    (folder / "routing.yaml").unlink()
    (problem,) = problems_of(folder)
    assert problem.startswith("routing.yaml: is missing (a city folder holds city.yaml,")


def test_an_empty_routing_file_says_what_it_needs(folder: Path) -> None:
    (folder / "routing.yaml").write_text("# nothing yet\n", encoding="utf-8")
    assert problems_of(folder) == ["routing.yaml: overrides: is missing"]
    (folder / "routing.yaml").write_text("overrides: []\n", encoding="utf-8")
    assert all(r.district_code is None for r in load_city(folder).routing_rules)


# ---- Across files: every name must point at something --------------------------------------------

CROSS_MISTAKES = {
    "routing to an unknown department": (
        "routing.yaml",
        "    department: urbanmgmt",
        "    department: trams",
        "routing.yaml: override #1 (C-03-01 in RV01): department trams is not in departments.yaml",
    ),
    "routing in a street, not a district": (
        "routing.yaml",
        "    district: RV01\n",
        "    district: RV01-S01\n",
        "routing.yaml: override #1 (C-03-01 in RV01-S01): RV01-S01 is a street, not a district",
    ),
    "routing in an unknown district": (
        "routing.yaml",
        "    district: RV01\n",
        "    district: RV09\n",
        "routing.yaml: override #1 (C-03-01 in RV09): district RV09 is not in"
        " jurisdictions.geojson",
    ),
    "routing an unknown category": (
        "routing.yaml",
        "  - category: C-03-01\n",
        "  - category: C-09-01\n",
        "routing.yaml: override #1 (C-09-01 in RV01): category C-09-01 is not in categories.yaml",
    ),
    "routing one category and district twice": (
        "routing.yaml",
        "  - category: C-01-03\n    district: RV03\n",
        "  - category: C-03-01\n    district: RV01\n",
        "routing.yaml: override #2 (C-03-01 in RV01): this category and district already have"
        " a rule above",
    ),
    "a category of an unknown department": (
        "categories.yaml",
        "        default_department: water\n",
        "        default_department: waterworks\n",
        "categories.yaml: category C-01-02: default_department waterworks is not in"
        " departments.yaml",
    ),
    "a category code used twice": (
        "categories.yaml",
        "      - code: C-01-03\n",
        "      - code: C-01-02\n",
        "categories.yaml: category C-01-02: the code is used twice",
    ),
    "a major class used twice": (
        "categories.yaml",
        '  - major_class: "06"\n    name: Other\n    name_zh: 其他\n    categories: []\n',
        '  - major_class: "05"\n    name: Other\n    name_zh: 其他\n    categories: []\n',
        "categories.yaml: component major class 05: is listed twice",
    ),
    "a department listed twice": (
        "departments.yaml",
        "  - code: lighting\n",
        "  - code: parks\n",
        "departments.yaml: department parks: is listed twice",
    ),
    "no supervision centre": (
        "departments.yaml",
        "    kind: centre\n",
        "    kind: department\n",
        "departments.yaml: needs exactly one department of kind centre (has 0)",
    ),
    "two supervision centres": (
        "departments.yaml",
        "    name_zh: 水务集团\n    kind: department\n",
        "    name_zh: 水务集团\n    kind: centre\n",
        "departments.yaml: needs exactly one department of kind centre (has 2: command, water)",
    ),
    "a category without a profile": (
        "sla.yaml",
        "  C-01-03: standard\n",
        "",
        "sla.yaml: category C-01-03: has no urgent deadlines: name its profile under"
        " categories, or override",
    ),
    "a profile without a priority": (
        "sla.yaml",
        "    low: {response: 1d, resolution: 10d}\n",
        "",
        "sla.yaml: category C-01-03: has no low deadlines: profile standard has none, and no"
        " override gives them",
    ),
    "an unknown profile": (
        "sla.yaml",
        "  C-01-03: standard\n",
        "  C-01-03: standrd\n",
        "sla.yaml: categories > C-01-03: profile standrd is not under profiles",
    ),
    "deadlines for an unknown category": (
        "sla.yaml",
        "  C-01-03: standard\n",
        "  C-01-03: standard\n  C-09-09: hazard\n",
        "sla.yaml: categories > C-09-09: is not in categories.yaml",
    ),
    "an override given twice": (
        "sla.yaml",
        "  - {category: C-01-01, priority: normal,",
        "  - {category: C-01-01, priority: urgent,",
        "sla.yaml: override #2 (C-01-01 urgent): this category and priority already have an"
        " override",
    ),
    "a centre outside the city": (
        "city.yaml",
        "center: [120.15, 30.25]",
        "center: [121.0, 30.25]",
        "city.yaml: center: [121.0, 30.25] is not inside any district",
    ),
}


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"), CROSS_MISTAKES.values(), ids=list(CROSS_MISTAKES)
)
def test_a_name_that_points_at_nothing_is_reported_with_file_and_entry(
    folder: Path, file: str, old: str, new: str, expected: str
) -> None:
    edit(folder, file, old, new)
    assert expected in problems_of(folder)


def test_an_unknown_profile_is_reported_once_not_per_priority(folder: Path) -> None:
    edit(folder, "sla.yaml", "  C-01-03: standard\n", "  C-01-03: standrd\n")
    assert problems_of(folder) == [
        "sla.yaml: categories > C-01-03: profile standrd is not under profiles"
    ]


# ---- The map ------------------------------------------------------------------------------------


def _square(lon: float, lat: float, size: float) -> list[list[float]]:
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


def _set(code: str, key: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def change(found: list[dict[str, Any]]) -> None:
        feature(found, code)["properties"][key] = value

    return change


def _geometry(code: str, geometry: dict[str, Any]) -> Callable[[list[dict[str, Any]]], None]:
    def change(found: list[dict[str, Any]]) -> None:
        feature(found, code)["geometry"] = geometry

    return change


def _shift(code: str, dlon: float) -> Callable[[list[dict[str, Any]]], None]:
    def change(found: list[dict[str, Any]]) -> None:
        ring = feature(found, code)["geometry"]["coordinates"][0]
        feature(found, code)["geometry"]["coordinates"] = [[[x + dlon, y] for x, y in ring]]

    return change


def _copy_shape(source: str, target: str) -> Callable[[list[dict[str, Any]]], None]:
    def change(found: list[dict[str, Any]]) -> None:
        feature(found, target)["geometry"] = feature(found, source)["geometry"]

    return change


GRID = "RV01-S01-G01"
BOWTIE = [[120.11, 30.25], [120.12, 30.255], [120.12, 30.25], [120.11, 30.255], [120.11, 30.25]]
TWO_PARTS = [[_square(120.11, 30.25, 0.001)], [_square(120.113, 30.25, 0.001)]]
WITH_HOLE = [_square(120.11, 30.25, 0.004), _square(120.111, 30.251, 0.001)]
BAD_POSITION = [[120.11, "30.25"], [120.12, 30.25], [120.12, 30.26], [120.11, 30.25]]
# Web Mercator metres, as a layer exported without reprojecting would have them.
MERCATOR = [_square(13375000.0, 3535000.0, 700.0)]
MAP_MISTAKES = {
    "a code used twice": (
        _set("RV01-S02", "code", "RV01-S01"),
        "RV01-S02",
        "code RV01-S01 is used twice (also feature 2 (RV01-S01))",
    ),
    "an unknown parent": (
        _set(GRID, "parent", "RV01-S99"),
        GRID,
        "parent RV01-S99 is not a feature of this file",
    ),
    "a parent of the wrong level": (
        _set(GRID, "parent", "RV01"),
        GRID,
        "a grid's parent must be a street; RV01 is a district",
    ),
    "a district with a parent": (
        _set("RV02", "parent", "RV01"),
        "RV02",
        "a district has no parent (got 'RV01'); use null",
    ),
    "a street without a parent": (
        _set("RV01-S01", "parent", None),
        "RV01-S01",
        "a street needs a parent: the code of its district",
    ),
    "an unknown level": (
        _set(GRID, "level", "ward"),
        GRID,
        "level must be one of district, street, grid (got 'ward')",
    ),
    "a missing Chinese name": (
        _set(GRID, "name_zh", ""),
        GRID,
        "name_zh must be text of 1-200 characters",
    ),
    "a self-crossing polygon": (
        _geometry(GRID, {"type": "Polygon", "coordinates": [BOWTIE]}),
        GRID,
        "polygon is not valid: Self-intersection[120.115 30.2525]",
    ),
    "a point, not a polygon": (
        _geometry(GRID, {"type": "Point", "coordinates": [120.11, 30.25]}),
        GRID,
        "geometry must be a Polygon (got Point)",
    ),
    "two parts": (
        _geometry(GRID, {"type": "MultiPolygon", "coordinates": TWO_PARTS}),
        GRID,
        "is a MultiPolygon of 2 parts: a jurisdiction is one polygon (split it into features"
        " of their own, or join the parts)",
    ),
    "a hole": (
        _geometry(GRID, {"type": "Polygon", "coordinates": WITH_HOLE}),
        GRID,
        "has a hole: a jurisdiction's polygon has only an outer ring",
    ),
    "projected coordinates": (
        _geometry(GRID, {"type": "Polygon", "coordinates": MERCATOR}),
        GRID,
        "[13375000.0, 3535000.0] is not a longitude and latitude in degrees: export the layer"
        " in WGS84 (EPSG:4326), not a projected coordinate system",
    ),
    "a position that is not a pair of numbers": (
        _geometry(GRID, {"type": "Polygon", "coordinates": [BAD_POSITION]}),
        GRID,
        "[120.11, '30.25'] is not a [longitude, latitude] position",
    ),
    "a cell outside its street": (
        _shift(GRID, 0.1),
        GRID,
        "lies partly outside its parent RV01-S01 (100.0% of its area)",
    ),
    "two cells on one patch": (
        _copy_shape(GRID, "RV01-S01-G02"),
        GRID,
        "overlaps RV01-S01-G02 (100.0% of the smaller)",
    ),
}


@pytest.mark.parametrize(
    ("change", "code", "expected"), MAP_MISTAKES.values(), ids=list(MAP_MISTAKES)
)
def test_a_mistake_in_the_map_names_the_feature(
    folder: Path, change: Callable[[list[dict[str, Any]]], None], code: str, expected: str
) -> None:
    where = label(folder, code)
    edit_features(folder, change)
    if "is used twice" in expected:
        where = where.replace("RV01-S02", "RV01-S01")
    assert f"{GEOJSON}: {where}: {expected}" in problems_of(folder)


def test_a_map_that_is_not_json_says_where(folder: Path) -> None:
    text = (folder / GEOJSON).read_text(encoding="utf-8")
    (folder / GEOJSON).write_text(text[:200], encoding="utf-8")
    (problem,) = problems_of(folder)
    assert problem.startswith(f"{GEOJSON}: line 2, column ")
    assert "not valid JSON" in problem


def test_a_map_in_another_crs_is_refused(folder: Path) -> None:
    data = json.loads((folder / GEOJSON).read_text(encoding="utf-8"))
    data["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}
    (folder / GEOJSON).write_text(json.dumps(data), encoding="utf-8")
    assert problems_of(folder) == [
        f"{GEOJSON}: crs: is urn:ogc:def:crs:EPSG::3857: export the layer in WGS84"
        " longitude/latitude (EPSG:4326)"
    ]
    data["crs"]["properties"]["name"] = "urn:ogc:def:crs:OGC:1.3:CRS84"
    (folder / GEOJSON).write_text(json.dumps(data), encoding="utf-8")
    assert load_city(folder) == build_demo_city()


def test_what_gis_exports_write_is_read_as_the_same_map(folder: Path) -> None:
    """QGIS and friends write MultiPolygons, clockwise or unclosed rings, heights and extra
    columns: none of these changes a jurisdiction."""

    def gis_style(found: list[dict[str, Any]]) -> None:
        for number, item in enumerate(found):
            ring = item["geometry"]["coordinates"][0]
            item["properties"]["fid"] = number
            if number % 4 == 0:
                item["geometry"] = {"type": "MultiPolygon", "coordinates": [[ring]]}
            elif number % 4 == 1:
                item["geometry"]["coordinates"] = [ring[::-1]]
            elif number % 4 == 2:
                item["geometry"]["coordinates"] = [ring[:-1]]
            else:
                item["geometry"]["coordinates"] = [[[x, y, 4.5] for x, y in ring]]

    edit_features(folder, gis_style)
    assert load_city(folder) == build_demo_city()


# ------------------------------------------------------------------ basemap.geojson


def edit_base_map(folder: Path, change: Callable[[list[dict[str, Any]]], None]) -> None:
    path = folder / "basemap.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data["features"])
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_riverton_has_a_base_map_of_roads_a_river_and_landmarks() -> None:
    base_map = build_demo_city().base_map
    kinds = {feature.kind for feature in base_map}
    assert kinds == {"road", "river", "landmark"}
    assert all(feature.name and feature.name_zh for feature in base_map)


def test_a_city_without_a_base_map_loads_with_none(folder: Path) -> None:
    (folder / "basemap.geojson").unlink()
    assert load_city(folder).base_map == ()


def test_each_mistake_in_the_base_map_is_named_by_its_feature(folder: Path) -> None:
    def break_four(found: list[dict[str, Any]]) -> None:
        found[0]["properties"]["kind"] = "canal"
        found[1]["properties"]["name_zh"] = ""
        landmark = next(f for f in found if f["properties"]["kind"] == "landmark")
        landmark["geometry"] = {"type": "LineString", "coordinates": [[120.12, 30.25]] * 2}
        road = next(f for f in found[2:] if f["properties"]["kind"] == "road")
        road["geometry"]["coordinates"][0] = [121.5, 31.2]  # Shanghai, not Riverton

    edit_base_map(folder, break_four)
    found = [p for p in problems_of(folder) if p.startswith("basemap.geojson")]
    assert len(found) == 4, found
    assert "kind must be one of road, river, landmark (got 'canal')" in found[0]
    assert "name_zh must be text" in found[1]
    assert "a landmark must be a Point (got 'LineString')" in " ".join(found)
    assert "lies outside the city's districts" in " ".join(found)


def test_a_base_map_that_is_not_json_is_reported_with_its_line(folder: Path) -> None:
    (folder / "basemap.geojson").write_text('{"type": "FeatureCollection",\n', encoding="utf-8")
    (problem,) = [p for p in problems_of(folder) if p.startswith("basemap.geojson")]
    assert "line 2" in problem and "not valid JSON" in problem
