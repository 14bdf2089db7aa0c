"""A city's vitals.yaml: Riverton's indicators read in file order, each checked as an admin's
edit would be; a broken file is refused as a whole, naming the file and the entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityloop.demo.errors import CityDataError
from cityloop.demo.vitals import read_vitals
from cityloop.domains.operations import vitals


def test_riverton_declares_the_indicators_the_issue_asks_for_in_order() -> None:
    found = dict(read_vitals())
    assert list(found) == [
        "air-pm25-mean",
        "air-pm25-worst",
        "flood-level-worst",
        "parking-occupancy",
        "bins-over-80",
        "lamps-out",
        "river-oxygen-min",
    ]
    assert [data.position for data in found.values()] == list(range(7))
    assert (found["bins-over-80"].aggregation, found["bins-over-80"].operand) == (
        "share_above",
        0.8,
    )
    assert found["river-oxygen-min"].direction == "below"
    for data in found.values():
        assert data.aggregation in vitals.AGGREGATIONS and data.name_zh


def test_a_broken_file_names_itself_and_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "vitals.yaml"
    path.write_text(
        "vitals:\n  - code: x\n    name: X\n    name_zh: 叉\n    profile: p\n    attribute: a\n"
        "    aggregation: mean\n    direction: above\n    warning: high\n    critical: 2\n",
        encoding="utf-8",
    )
    with pytest.raises(CityDataError) as error:
        read_vitals(path)
    assert any(p.startswith("vitals.yaml: vitals.0.warning") for p in error.value.problems)
