"""Riverton must stay exactly the city it was when its data was still written as Python.

The digests below were taken from the code-built city (``src/cityloop/demo/city.py`` before the
data moved to ``demo/riverton/``). Each covers one part of the city, serialised field by field
with floats in their shortest round-trip form, so equal digests mean equal codes, names, numbers
and bit-identical polygon coordinates. Fields added since (``moderated``, the Chinese attribute
texts) are not part of the old city and are left out; they have their own tests.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

import pytest
from shapely.geometry import Polygon

from cityloop.demo.city import DemoCity, build_demo_city, city_outline

# The city boundary the old code designed; the districts must still tile exactly this.
OLD_OUTLINE = [
    (120.128, 30.223), (120.148, 30.225), (120.168, 30.223), (120.188, 30.227),
    (120.192, 30.237), (120.19, 30.257), (120.192, 30.267), (120.184, 30.277),
    (120.164, 30.275), (120.148, 30.279), (120.128, 30.275), (120.118, 30.277),
    (120.108, 30.267), (120.11, 30.247), (120.108, 30.237), (120.112, 30.227),
    (120.128, 30.223),
]  # fmt: skip

OLD_DIGESTS = {
    "city": "3511fd7c61d66f1f106f12ee0b6d3a4461428a552ea46f665133f5521d96e01a",
    "jurisdictions": "fe56d1dfeaf029e1893a31b3475e2656bac7488fff1c558e3fbeb02c74b3b445",
    "departments": "63215e36178004fb5da947e8e9d09aeab5b5b709fda17a5df962a90a342df89e",
    "categories": "0484a2d71f3d20091b98e8cad695e567505324fa64b4c9b2fce018b203050868",
    "routing_rules": "b9b622d3581a0df610412c83ad739e1017725b642b926d9917695168eafe5f7c",
    "sla_targets": "7cf728a0e02823852f88a60b2f80f8e1778a1e2edc68cacc55a69fe3ba87bb91",
}


def _attribute(a: Any) -> dict[str, Any]:
    return {
        "code": a.code,
        "description": a.description,
        "datatype": a.datatype,
        "required": a.required,
        "order": a.order,
        "values": [list(v) for v in a.values],
    }


def _parts(city: DemoCity) -> dict[str, Any]:
    """The old city's fields, in order, as plain JSON values."""
    return {
        "city": [city.code, city.name, city.name_zh, city.domain, list(city.center)],
        "jurisdictions": [
            [j.level, j.code, j.name, j.name_zh, j.parent_code, [list(p) for p in j.polygon]]
            for j in city.jurisdictions
        ],
        # The departments the services catalogue added (issue 9) come after the old nine.
        "departments": [[d.code, d.name, d.name_zh, d.kind] for d in city.departments[:9]],
        "categories": [
            [
                c.code,
                c.kind,
                c.major_class,
                c.major_name,
                c.major_name_zh,
                c.name,
                c.name_zh,
                c.description,
                list(c.keywords),
                c.default_department,
                c.priority,
                c.auto_dispatch,
                c.dedupe_radius_m,
                c.dedupe_window_hours,
                c.update_interval_hours,
                c.icon,
                [_attribute(a) for a in c.attributes],
            ]
            for c in city.categories
        ],
        "routing_rules": [
            [r.category_code, r.district_code, r.department_code] for r in city.routing_rules
        ],
        "sla_targets": [
            [s.category_code, s.priority, s.response_minutes, s.resolution_minutes]
            for s in city.sla_targets
        ],
    }


def _digest(value: Any) -> str:
    # json writes a float as its repr, the shortest string that reads back as the same double.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def city() -> DemoCity:
    return build_demo_city()


def test_riverton_has_the_old_counts(city: DemoCity) -> None:
    assert Counter(j.level for j in city.jurisdictions) == {
        "district": 3,
        "street": 12,
        "grid": 91,
    }
    assert sum(len(j.polygon) for j in city.jurisdictions) == 613
    assert len(city.departments) == 18  # the old nine, then nine that approve services
    assert len(city.categories) == 31
    assert len(city.routing_rules) == 35  # one fallback per category plus four district rules
    assert len(city.sla_targets) == 93  # 31 categories x 3 priorities


@pytest.mark.parametrize("part", sorted(OLD_DIGESTS))
def test_riverton_is_what_the_old_code_built(city: DemoCity, part: str) -> None:
    assert _digest(_parts(city)[part]) == OLD_DIGESTS[part]


def test_the_districts_still_tile_the_old_outline() -> None:
    old = Polygon(OLD_OUTLINE)
    assert Polygon(city_outline()).equals(old)
    assert Polygon(city_outline()).symmetric_difference(old).area == 0
