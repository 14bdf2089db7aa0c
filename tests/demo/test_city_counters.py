"""counters.yaml: a city's service counters are checked with the rest of its folder, and a
city without the file offers no appointments but loads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cityloop.demo.city import RIVERTON, CityDataError, load_city


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copy = tmp_path / "city"
    shutil.copytree(RIVERTON, copy)
    return copy


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(CityDataError) as caught:
        load_city(folder)
    return caught.value.problems


def test_riverton_has_four_counters_of_its_own_departments(folder: Path) -> None:
    city = load_city(folder)
    departments = {d.code for d in city.departments}
    assert [c.code for c in city.counters] == [
        "urbanmgmt-permits",
        "roads-excavation",
        "parks-trees",
        "environment-review",
    ]
    assert {c.department for c in city.counters} <= departments
    assert city.counters[2].hours == {
        "tue": [["09:00", "12:00"]],
        "thu": [["09:00", "12:00"], ["14:00", "17:00"]],
    }


def test_a_city_without_counters_yaml_loads_with_no_counters(folder: Path) -> None:
    (folder / "counters.yaml").unlink()
    assert load_city(folder).counters == ()


def test_bad_counters_are_named_by_file_and_entry(folder: Path) -> None:
    path = folder / "counters.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        'tue: [["09:00", "12:00"]]', 'tue: [["09:00", "12:00"], ["11:00", "13:00"]]'
    )
    path.write_text(text.replace("capacity: 2", "capacity: 0", 1), encoding="utf-8")
    assert problems_of(folder) == [
        "counters.yaml: counter urbanmgmt-permits > capacity: "
        "Input should be greater than or equal to 1 (got 0)",
        "counters.yaml: counter parks-trees: hours > tue: periods overlap",
    ]


def test_a_counter_of_an_unknown_department_is_refused(folder: Path) -> None:
    path = folder / "counters.yaml"
    text = path.read_text(encoding="utf-8").replace("department: roads", "department: trams")
    path.write_text(text, encoding="utf-8")
    assert problems_of(folder) == [
        "counters.yaml: counter roads-excavation: department trams is not in departments.yaml"
    ]
