"""`cityloop calendar import | set | clear | list` as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cityloop.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("calendar")


def cli(data_dir: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)])
    assert result.exit_code == code, result.output
    return result.output


def test_a_fresh_database_knows_the_years_of_chinese_calendar(data_dir: Path) -> None:
    listed = cli(data_dir, "calendar", "list", "--year", "2026").splitlines()
    assert "2026-10-01\tholiday\tchinese-calendar\t国庆节 / National Day" in listed
    assert "2026-10-10\tworkday\tchinese-calendar\t国庆节 / National Day" in listed


def test_next_years_days_are_set_by_hand_and_listed(data_dir: Path) -> None:
    unknown = runner.invoke(
        app, ["calendar", "list", "--year", "2027", "--data-dir", str(data_dir)]
    )
    assert unknown.exit_code == 0 and "no days of 2027" in unknown.output
    said = cli(
        data_dir,
        "calendar",
        "set",
        "2027-10-01",
        "holiday",
        "--name",
        "国庆节",
        "--name-en",
        "National Day",
    )
    assert said.strip() == "2027-10-01 is a holiday (国庆节)"
    cli(data_dir, "calendar", "set", "2027-09-26", "workday", "--name", "国庆节")
    listed = cli(data_dir, "calendar", "list", "--year", "2027").splitlines()
    assert listed == [
        "2027-09-26\tworkday\tcity\t国庆节",
        "2027-10-01\tholiday\tcity\t国庆节 / National Day",
    ]
    cli(data_dir, "calendar", "clear", "2027-09-26")
    assert len(cli(data_dir, "calendar", "list", "--year", "2027").splitlines()) == 1


def test_import_reloads_a_year_and_refuses_one_the_package_does_not_know(data_dir: Path) -> None:
    assert cli(data_dir, "calendar", "import", "--year", "2025").startswith("imported ")
    refused = cli(data_dir, "calendar", "import", "--year", "2099", code=2)
    assert "chinese-calendar knows" in refused and "(year)" in refused


def test_bad_input_is_one_line_not_a_traceback(data_dir: Path) -> None:
    assert "is not a date" in cli(data_dir, "calendar", "set", "next-friday", "holiday", code=2)
    assert "kind must be holiday or workday" in cli(
        data_dir, "calendar", "set", "2027-05-03", "party", code=2
    )
    assert "does not exist" in cli(data_dir, "calendar", "clear", "2027-05-04", code=2)
