"""A city as plain typed data: what the loader reads from a city folder and the seeder writes.

These frozen dataclasses are the contract between a city's data files (``demo/riverton/``
and any folder a city writes in the same shape) and :mod:`cityloop.demo.seed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cityloop.domains.governance.workflow import Priority
from cityloop.domains.services.definitions import ServiceDefinition
from cityloop.platforms.application.geo.basemap import MapFeatureSpec

# The order SLA targets are listed in: the most pressing first.
PRIORITIES: tuple[str, ...] = tuple(p.value for p in Priority)


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
class EnterpriseSpec:
    """An enterprise's registration (enterprises.yaml)."""

    uscc: str
    name: str
    name_en: str
    legal_rep_name: str
    legal_rep_id_number: str
    address: str
    registered_capital_yuan: int
    business_scope: str
    registered_on: date
    status: str


@dataclass(frozen=True)
class AttributeSpec:
    """An Open311 service-definition attribute."""

    code: str
    description: str
    datatype: str  # string | number | datetime | text | singlevaluelist | multivaluelist
    required: bool
    order: int
    values: tuple[tuple[str, str], ...] = ()  # (key, name) for the list datatypes
    description_zh: str = ""  # empty: the app shows the English question
    values_zh: tuple[tuple[str, str], ...] = ()  # (key, Chinese name) where the data has one


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
    moderated: bool = False  # reports stay off public answers until a person accepts them


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
class CounterSpec:
    """A service counter people book appointments at (counters.yaml)."""

    code: str
    department: str
    name: str
    name_zh: str
    location: str
    location_zh: str
    hours: dict[str, list[list[str]]]  # weekday -> [[open, close], ...]
    slot_minutes: int
    capacity: int


@dataclass(frozen=True)
class StandingGrantSpec:
    """A grant one department holds from the start (sharing.yaml): a lookup or a dataset."""

    department: str
    kind: str  # "lookup" | "dataset"
    name: str
    fields: tuple[str, ...]
    purpose: str
    legal_basis: str
    valid_days: int


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
    counters: tuple[CounterSpec, ...] = ()
    # The service catalogue (办事指南): services/<code>.yaml, checked by the services domain.
    services: tuple[ServiceDefinition, ...] = ()
    # Optional in a city folder: a city may hold no enterprise registrations.
    enterprises: tuple[EnterpriseSpec, ...] = ()
    # Optional: the sharing grants departments hold from the start.
    standing_grants: tuple[StandingGrantSpec, ...] = ()
    # Optional (basemap.geojson): the roads, rivers and landmarks drawn under the case maps.
    base_map: tuple[MapFeatureSpec, ...] = ()
