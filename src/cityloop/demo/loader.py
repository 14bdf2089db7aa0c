"""Read a city folder (``city.yaml``, ``departments.yaml``, ``categories.yaml``, ``routing.yaml``,
``sla.yaml``, ``jurisdictions.geojson`` and, when present, ``counters.yaml``, ``enterprises.yaml``,
``sharing.yaml`` and ``basemap.geojson``) into a
:class:`~cityloop.demo.specs.DemoCity`.

Every file is checked on its own first (:mod:`cityloop.demo.schema`,
:mod:`cityloop.demo.geography`), then against the others. Nothing is loaded unless the whole
folder is right, and a :class:`~cityloop.demo.errors.CityDataError` lists every problem found,
each naming its file and entry, so a city's staff can fix them all in one pass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from shapely.geometry import Point, Polygon

from cityloop.demo import geography
from cityloop.demo.basemap import FILE as BASE_MAP_FILE
from cityloop.demo.basemap import read_base_map
from cityloop.demo.errors import CityDataError, Problems
from cityloop.demo.schema import (
    CategoriesFile,
    CityFile,
    CountersFile,
    Deadlines,
    DepartmentsFile,
    EnterprisesFile,
    RoutingFile,
    SharingFile,
    SlaFile,
)
from cityloop.demo.services import read_services
from cityloop.demo.specs import (
    PRIORITIES,
    AttributeSpec,
    CategorySpec,
    CounterSpec,
    DemoCity,
    DepartmentSpec,
    EnterpriseSpec,
    JurisdictionSpec,
    RoutingRuleSpec,
    SlaSpec,
    StandingGrantSpec,
)

YAML_FILES: dict[str, type[BaseModel]] = {
    "city.yaml": CityFile,
    "departments.yaml": DepartmentsFile,
    "categories.yaml": CategoriesFile,
    "routing.yaml": RoutingFile,
    "sla.yaml": SlaFile,
}
FILES = (*YAML_FILES, geography.FILE)
# Files a city may leave out: without counters.yaml it offers no counter appointments, without
# enterprises.yaml it holds no enterprise registrations, without sharing.yaml no department holds
# a sharing grant from the start.
OPTIONAL_FILES: dict[str, type[BaseModel]] = {
    "counters.yaml": CountersFile,
    "sharing.yaml": SharingFile,
}
ENTERPRISES_FILE = "enterprises.yaml"

# How an entry of a list is named in a message: the list's key, then the entry's own field(s).
_NOUNS = {
    "component": "component major class",
    "event": "event major class",
    "categories": "category",
    "attributes": "attribute",
    "values": "value",
    "departments": "department",
    "overrides": "override",
    "counters": "counter",
    "enterprises": "enterprise",
    "grants": "grant",
}
_IDENTITY = ("code", "major_class", "key", "uscc")

Model = TypeVar("Model", bound=BaseModel)


class _YamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML that refuses a key written twice in one mapping: PyYAML would silently keep
    the second, so a category listed twice in sla.yaml would quietly lose its first profile."""


def _unique_keys(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: the base constructor says why
            break
        if first is not None:
            raise yaml.constructor.ConstructorError(
                problem=f"{key} is written twice (first on line {first + 1})",
                problem_mark=key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_YamlLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_keys)


def load_city(folder: Path | str) -> DemoCity:
    """The city in ``folder``, checked; raises :class:`CityDataError` naming every problem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CityDataError(folder, [f"{folder} is not a folder holding {', '.join(FILES)}"])
    problems = Problems(folder)
    parsed = {name: _parse(folder, name, model, problems) for name, model in YAML_FILES.items()}
    for name, model in OPTIONAL_FILES.items():
        parsed[name] = (
            _parse(folder, name, model, problems) if (folder / name).exists() else model()
        )
    if (folder / ENTERPRISES_FILE).exists():
        parsed[ENTERPRISES_FILE] = _parse(folder, ENTERPRISES_FILE, EnterprisesFile, problems)
    jurisdictions = geography.read_jurisdictions(folder / geography.FILE, problems)
    base_map = (
        read_base_map(folder / BASE_MAP_FILE, jurisdictions, problems)
        if (folder / BASE_MAP_FILE).exists()
        else ()
    )
    # Cross-checks against a file that did not load would only add misleading noise.
    problems.check()
    city = _assemble(parsed, jurisdictions, problems)
    departments = {d.code for d in city.departments}
    services = read_services(folder, departments, problems, _YamlLoader)
    problems.check()
    return dataclasses.replace(city, services=services, base_map=base_map)


# ---------------------------------------------------------------- one file at a time


def _parse(folder: Path, name: str, model: type[Model], problems: Problems) -> Model | None:
    try:
        text = (folder / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.add(name, "", f"is missing (a city folder holds {', '.join(FILES)})")
        return None
    except UnicodeDecodeError:
        problems.add(name, "", "is not UTF-8 text")
        return None
    try:
        data = yaml.load(text, Loader=_YamlLoader)  # a safe loader: no Python objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problems.add(name, where, f"not valid YAML: {exc.problem}")
        return None
    except yaml.YAMLError as exc:
        problems.add(name, "", f"not valid YAML: {exc}")
        return None
    if data is None:
        data = {}  # an empty file: the model says which fields it needs
    if not isinstance(data, dict):
        problems.add(name, "", f"must be a mapping of field: value (got a {type(data).__name__})")
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            problems.add(name, _where(data, error["loc"]), _what(error))
        return None


def _where(data: Any, loc: Sequence[int | str]) -> str:
    """A pydantic error location in the file's own words: category C-01-03 > priority."""
    parts: list[str] = []
    node = data
    for index, key in enumerate(loc):
        if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            item = node[key]
            parent = loc[index - 1] if index else ""
            if parts and parts[-1] == str(parent):
                parts.pop()  # "categories" becomes "category C-01-03"
            parts.append(f"{_NOUNS.get(str(parent), 'entry')} {_identify(item, key)}")
            node = item
        elif isinstance(node, dict) and key in node:
            parts.append(str(key))
            node = node[key]
        else:
            parts.append("(as a key)" if key == "[key]" else str(key))
            node = None
    return " > ".join(parts)


def _identify(item: Any, index: int) -> str:
    if isinstance(item, dict):
        for field in _IDENTITY:
            if isinstance(item.get(field), str | int) and not isinstance(item.get(field), bool):
                return str(item[field])
        if "category" in item:
            where = item.get("district", item.get("priority", ""))
            return f"#{index + 1} ({item['category']} {where})".replace(" )", ")")
    return f"#{index + 1}"


def _what(error: Any) -> str:
    kind, value = error["type"], error.get("input")
    if kind == "missing":
        return "is missing"
    if kind == "extra_forbidden":
        return "is not a known field here (misspelt?)"
    message = str(error["msg"]).removeprefix("Value error, ")
    if isinstance(value, bool) and kind != "bool_type":
        # yes, no, on, off, true and false are booleans to YAML, not words.
        return f"{message}: YAML read {str(value).lower()} as true/false; put the text in quotes"
    if isinstance(value, int | float) and kind == "string_type":
        return f"{message}: YAML read {value!r} as a number; put it in quotes"
    if isinstance(value, str | int | float) and kind != "value_error":
        return f"{message} (got {value!r})"
    return message


# ---------------------------------------------------------------- the files together


def _assemble(
    parsed: dict[str, Any], jurisdictions: tuple[JurisdictionSpec, ...], problems: Problems
) -> DemoCity:
    city: CityFile = parsed["city.yaml"]
    departments = _departments(parsed["departments.yaml"], problems)
    categories = _categories(parsed["categories.yaml"], set(departments), problems)
    districts = {j.code: j for j in jurisdictions if j.level == "district"}
    levels = {j.code: j.level for j in jurisdictions}
    routing = _routing(
        parsed["routing.yaml"], categories, districts, levels, set(departments), problems
    )
    sla = _sla(parsed["sla.yaml"], categories, problems)
    counters = _counters(parsed["counters.yaml"], set(departments), problems)
    grants = _standing_grants(parsed["sharing.yaml"], set(departments), problems)
    lon, lat = city.center
    if not any(Polygon(d.polygon).covers(Point(lon, lat)) for d in districts.values()):
        problems.add("city.yaml", "center", f"[{lon}, {lat}] is not inside any district")
    return DemoCity(
        code=city.code,
        name=city.name,
        name_zh=city.name_zh,
        domain=city.domain,
        center=(lon, lat),
        jurisdictions=jurisdictions,
        departments=tuple(departments.values()),
        categories=categories,
        routing_rules=routing,
        sla_targets=sla,
        counters=counters,
        enterprises=_enterprises(parsed.get(ENTERPRISES_FILE), problems),
        standing_grants=grants,
    )


def _standing_grants(
    file: SharingFile, departments: set[str], problems: Problems
) -> tuple[StandingGrantSpec, ...]:
    found: dict[tuple[str, str, str], StandingGrantSpec] = {}
    for index, entry in enumerate(file.grants):
        kind, name = ("lookup", entry.lookup) if entry.lookup else ("dataset", entry.dataset)
        assert name is not None  # the schema asks for one of the two
        for department in entry.departments:
            where = f"grants[{index}]"
            if department not in departments:
                problems.add(
                    "sharing.yaml", where, f"department {department} is not in departments.yaml"
                )
                continue
            if (department, kind, name) in found:
                problems.add("sharing.yaml", where, f"{department} is given {kind} {name} twice")
                continue
            found[(department, kind, name)] = StandingGrantSpec(
                department=department, kind=kind, name=name, fields=tuple(entry.fields),
                purpose=entry.purpose, legal_basis=entry.legal_basis,
                valid_days=entry.valid_days,
            )  # fmt: skip
    return tuple(found.values())


def _enterprises(file: EnterprisesFile | None, problems: Problems) -> tuple[EnterpriseSpec, ...]:
    found: dict[str, EnterpriseSpec] = {}
    for entry in file.enterprises if file else []:
        if entry.uscc in found:
            problems.add(ENTERPRISES_FILE, f"enterprise {entry.uscc}", "is listed twice")
            continue
        found[entry.uscc] = EnterpriseSpec(
            uscc=entry.uscc,
            name=entry.name,
            name_en=entry.name_en,
            legal_rep_name=entry.legal_rep_name,
            legal_rep_id_number=entry.legal_rep_id_number,
            address=entry.address,
            registered_capital_yuan=entry.registered_capital_yuan,
            business_scope=entry.business_scope,
            registered_on=entry.registered_on,
            status=entry.status,
        )
    return tuple(found.values())


def _departments(file: DepartmentsFile, problems: Problems) -> dict[str, DepartmentSpec]:
    found: dict[str, DepartmentSpec] = {}
    for entry in file.departments:
        if entry.code in found:
            problems.add("departments.yaml", f"department {entry.code}", "is listed twice")
            continue
        found[entry.code] = DepartmentSpec(entry.code, entry.name, entry.name_zh, entry.kind)
    centres = [d.code for d in found.values() if d.kind == "centre"]
    if len(centres) != 1:
        # The supervision centre registers, dispatches and verifies: a city has one.
        problems.add(
            "departments.yaml",
            "",
            f"needs exactly one department of kind centre (has {len(centres)}"
            + (f": {', '.join(centres)})" if centres else ")"),
        )
    return found


def _counters(
    file: CountersFile, departments: set[str], problems: Problems
) -> tuple[CounterSpec, ...]:
    found: dict[str, CounterSpec] = {}
    for entry in file.counters:
        where = f"counter {entry.code}"
        if entry.code in found:
            problems.add("counters.yaml", where, "is listed twice")
            continue
        if entry.department not in departments:
            problems.add(
                "counters.yaml", where, f"department {entry.department} is not in departments.yaml"
            )
        found[entry.code] = CounterSpec(
            code=entry.code,
            department=entry.department,
            name=entry.name,
            name_zh=entry.name_zh,
            location=entry.location,
            location_zh=entry.location_zh,
            hours={day: [list(p) for p in periods] for day, periods in entry.hours.items()},
            slot_minutes=entry.slot_minutes,
            capacity=entry.capacity,
        )
    return tuple(found.values())


def _categories(
    file: CategoriesFile, departments: set[str], problems: Problems
) -> tuple[CategorySpec, ...]:
    found: dict[str, CategorySpec] = {}
    for kind in ("component", "event"):
        majors: set[str] = set()
        for major in getattr(file, kind):
            if major.major_class in majors:
                problems.add(
                    "categories.yaml", f"{kind} major class {major.major_class}", "is listed twice"
                )
            majors.add(major.major_class)
            for entry in major.categories:
                where = f"category {entry.code}"
                if entry.code in found:
                    problems.add("categories.yaml", where, "the code is used twice")
                    continue
                if entry.default_department not in departments:
                    problems.add(
                        "categories.yaml",
                        where,
                        f"default_department {entry.default_department} is not in departments.yaml",
                    )
                found[entry.code] = CategorySpec(
                    code=entry.code,
                    kind=kind,
                    major_class=major.major_class,
                    major_name=major.name,
                    major_name_zh=major.name_zh,
                    name=entry.name,
                    name_zh=entry.name_zh,
                    description=entry.description,
                    keywords=tuple(entry.keywords),
                    default_department=entry.default_department,
                    priority=entry.priority.value,
                    auto_dispatch=entry.auto_dispatch,
                    dedupe_radius_m=entry.dedupe_radius_m,
                    dedupe_window_hours=entry.dedupe_window_hours,
                    update_interval_hours=entry.update_interval_hours,
                    icon=entry.icon,
                    attributes=tuple(
                        AttributeSpec(
                            code=a.code,
                            description=a.description,
                            datatype=a.datatype,
                            required=a.required,
                            order=a.order,
                            values=tuple((v.key, v.name) for v in a.values),
                            description_zh=a.description_zh,
                            values_zh=tuple((v.key, v.name_zh) for v in a.values if v.name_zh),
                        )
                        for a in entry.attributes
                    ),
                    moderated=entry.moderated,
                )
    if not found:
        problems.add("categories.yaml", "", "has no categories")
    return tuple(found.values())


def _routing(
    file: RoutingFile,
    categories: tuple[CategorySpec, ...],
    districts: dict[str, JurisdictionSpec],
    levels: dict[str, str],
    departments: set[str],
    problems: Problems,
) -> tuple[RoutingRuleSpec, ...]:
    # Every category's fallback first, then the district exceptions in file order.
    rules = [RoutingRuleSpec(c.code, None, c.default_department) for c in categories]
    known = {c.code for c in categories}
    seen: set[tuple[str, str]] = set()
    for number, entry in enumerate(file.overrides, 1):
        where = f"override #{number} ({entry.category} in {entry.district})"
        wrong = []
        if entry.category not in known:
            wrong.append(f"category {entry.category} is not in categories.yaml")
        if entry.district not in districts:
            level = levels.get(entry.district)
            wrong.append(
                f"{entry.district} is a {level}, not a district"
                if level
                else f"district {entry.district} is not in {geography.FILE}"
            )
        if entry.department not in departments:
            wrong.append(f"department {entry.department} is not in departments.yaml")
        if (entry.category, entry.district) in seen:
            wrong.append("this category and district already have a rule above")
        for problem in wrong:
            problems.add("routing.yaml", where, problem)
        if not wrong:
            seen.add((entry.category, entry.district))
            rules.append(RoutingRuleSpec(entry.category, entry.district, entry.department))
    return tuple(rules)


def _sla(
    file: SlaFile, categories: tuple[CategorySpec, ...], problems: Problems
) -> tuple[SlaSpec, ...]:
    known = {c.code for c in categories}
    for code, profile in file.categories.items():
        if code not in known:
            problems.add("sla.yaml", f"categories > {code}", "is not in categories.yaml")
        if profile not in file.profiles:
            problems.add(
                "sla.yaml", f"categories > {code}", f"profile {profile} is not under profiles"
            )
    overrides: dict[tuple[str, str], tuple[int, int]] = {}
    for number, entry in enumerate(file.overrides, 1):
        key = (entry.category, entry.priority.value)
        where = f"override #{number} ({entry.category} {entry.priority.value})"
        if entry.category not in known:
            problems.add("sla.yaml", where, f"category {entry.category} is not in categories.yaml")
        elif key in overrides:
            problems.add("sla.yaml", where, "this category and priority already have an override")
        overrides.setdefault(key, (entry.response, entry.resolution))
    targets: list[SlaSpec] = []
    for category in categories:
        profile_name = file.categories.get(category.code)
        # Priority is a StrEnum, so the profile's keys answer to the plain priority names.
        profile: dict[Any, Deadlines] = file.profiles.get(profile_name or "", {})
        for priority in PRIORITIES:
            deadlines = overrides.get((category.code, priority))
            if deadlines is None and (given := profile.get(priority)) is not None:
                deadlines = (given.response, given.resolution)
            if deadlines is not None:
                targets.append(SlaSpec(category.code, priority, *deadlines))
            elif profile_name is None or profile_name in file.profiles:
                # (An unknown profile name was reported above, once.)
                problems.add(
                    "sla.yaml", f"category {category.code}", _missing(profile_name, priority)
                )
    return tuple(targets)


def _missing(profile: str | None, priority: str) -> str:
    if profile is None:
        return f"has no {priority} deadlines: name its profile under categories, or override"
    return f"has no {priority} deadlines: profile {profile} has none, and no override gives them"
