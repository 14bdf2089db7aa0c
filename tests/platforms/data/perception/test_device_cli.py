"""`cityloop device …` as an operator runs it: clear errors, no tracebacks, exit codes that
scripts can trust."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from cityloop.base.db import Database
from cityloop.cli import app
from cityloop.platforms.data.perception.models import Measurement, MeasurementRollup
from tests.support.databases import seeded_data_dir

runner = CliRunner()
UL_CONFIG = json.dumps({"mappings": [{"object_id": "t", "name": "temperature", "type": "Number"}]})


def cli(data_dir: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


@pytest.fixture(scope="module")
def data_dir(templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = seeded_data_dir(templates, tmp_path_factory.mktemp("registry"))
    cli(path, "device", "profile", "create", "thermo-ul", "--name", "Thermometer",
        "--entity-type", "WeatherObserved", "--codec", "ul", "--config", UL_CONFIG)  # fmt: skip
    cli(path, "device", "group", "create", "thermo-key-01", "--profile", "thermo-ul")
    return path


def test_profiles_and_groups_are_created_and_listed_with_the_demo_fleet(data_dir: Path) -> None:
    profiles = cli(data_dir, "device", "profile", "list")
    assert "thermo-ul" in profiles and "manhole-lora" in profiles
    groups = cli(data_dir, "device", "group", "list")
    assert "thermo-key-01" in groups and "riverton-generic" in groups and "auto-provision" in groups


def test_a_device_is_created_shown_listed_and_deactivated(data_dir: Path) -> None:
    created = cli(data_dir, "device", "create", "th-1", "--apikey", "thermo-key-01",
                  "--name", "Roof", "--lat", "30.25", "--lon", "120.15")  # fmt: skip
    assert "urn:ngsi-ld:WeatherObserved:th-1" in created
    shown = cli(data_dir, "device", "show", "th-1")
    assert "Roof" in shown and "30.25, 120.15" in shown and "active    yes" in shown
    assert "th-1" in cli(data_dir, "device", "list", "--limit", "1000")
    cli(data_dir, "device", "deactivate", "th-1")
    assert "active    no" in cli(data_dir, "device", "show", "th-1")


def test_the_profile_config_can_come_from_a_file(data_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(UL_CONFIG)
    cli(data_dir, "device", "profile", "create", "thermo-file", "--name", "T",
        "--entity-type", "WeatherObserved", "--codec", "ul",
        "--config-file", str(config))  # fmt: skip
    assert "thermo-file" in cli(data_dir, "device", "profile", "list")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["device", "show", "no-such-device"], "does not exist"),
        (["device", "deactivate", "no-such-device"], "does not exist"),
        (["device", "create", "th-x", "--apikey", "no-such-key"], "apikey"),
        (["device", "create", "bad id!", "--apikey", "thermo-key-01"], "device_id"),
        (["device", "create", "th-y", "--apikey", "thermo-key-01", "--lat", "95",
          "--lon", "120"], "lat"),
        (["device", "create", "th-z"], "group"),
        (["device", "group", "create", "short", "--profile", "thermo-ul"], "apikey"),
        (["device", "group", "create", "thermo-key-02", "--profile", "nope"], "profile"),
        (["device", "group", "create", "thermo-key-01", "--profile", "thermo-ul"], "exists"),
        (["device", "profile", "create", "p1", "--name", "P", "--entity-type", "Thing",
          "--codec", "nope"], "codec"),
        (["device", "profile", "create", "p2", "--name", "P", "--entity-type", "Thing",
          "--codec", "ul", "--config", "{not json"], "not JSON"),
        (["device", "profile", "create", "p3", "--name", "P", "--entity-type", "Thing",
          "--codec", "ul", "--config", "[1]"], "JSON object"),
        (["device", "profile", "create", "p4", "--name", "P", "--entity-type", "Thing",
          "--codec", "ul", "--config-file", "/no/such/file.json"], "cannot read"),
        (["device", "profile", "create", "thermo-ul", "--name", "P", "--entity-type", "Thing",
          "--codec", "ul"], "exists"),
    ],
)  # fmt: skip
def test_bad_input_is_a_clear_error_without_a_traceback(
    data_dir: Path, args: list[str], message: str
) -> None:
    output = cli(data_dir, *args, code=2)
    assert output.startswith("error: ") and message in output, output


def test_a_csv_import_reports_bad_rows_by_line_and_imports_the_rest(
    data_dir: Path, tmp_path: Path
) -> None:
    csv = tmp_path / "devices.csv"
    csv.write_text(
        "device_id,apikey,name,lat,lon\n"
        "imp-1,thermo-key-01,One,30.25,120.15\n"
        "imp-2,no-such-key,Two,,\n"
        "imp-3,thermo-key-01,Three,91,120\n"
        "imp-4,thermo-key-01,Four,,\n"
    )
    output = cli(data_dir, "device", "import", str(csv))
    assert "line 3: apikey:" in output and "line 4: lat:" in output
    assert "imported 2 devices; 2 rows refused" in output
    # Importing the same file again creates nothing, so it says so with a non-zero exit.
    again = cli(data_dir, "device", "import", str(csv), code=1)
    assert "imported 0 devices; 4 rows refused" in again and "exists" in again


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"", "empty"),
        (b"device_id,colour\nx,red\n", "header"),
        (b"device_id,apikey\n", "no rows"),
    ],
)
def test_an_unreadable_csv_is_an_error(
    data_dir: Path, tmp_path: Path, content: bytes | None, message: str
) -> None:
    csv = tmp_path / "devices.csv"
    if content is not None:
        csv.write_bytes(content)
    output = cli(data_dir, "device", "import", str(csv), code=2)
    assert message in output, output


def test_rebuild_rollups_rolls_up_history_stored_before_rollups_existed(data_dir: Path) -> None:
    db = Database(f"sqlite:///{data_dir / 'cityloop.db'}")
    start = datetime(2024, 5, 1, tzinfo=UTC)
    rows = [
        {"entity_id": "urn:ngsi-ld:Thing:old", "attribute": "t", "num_value": float(n),
         "observed_at": start + timedelta(seconds=45 * n)}
        for n in range(200)
    ]  # fmt: skip
    try:
        with db.writing() as session:  # written as before the rollups: instances only
            session.execute(insert(Measurement), rows)
        output = cli(data_dir, "device", "rebuild-rollups")
        r = MeasurementRollup
        with db.read() as session:
            minutes = session.scalar(select(func.count()).where(r.width == 60))
            hours = session.execute(
                select(func.sum(r.count), func.max(r.max))
                .where(r.width == 3600, r.entity_id == "urn:ngsi-ld:Thing:old")
            ).one()  # fmt: skip
    finally:
        db.dispose()
    assert f"rebuilt {minutes} minute buckets" in output
    assert tuple(hours) == (200, 199.0)
