"""`cityloop data refresh | list` as an operator runs them, and a freshly seeded city whose
catalogue is already built: clear errors, no tracebacks, exit codes that scripts can trust."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cityloop.base.db import Database
from cityloop.cli import app
from cityloop.demo.city import RIVERTON
from cityloop.platforms.data.catalogue.models import Dataset

runner = CliRunner()
BUILT_IN = ("case-kpis", "cases", "cases-by-cell", "devices", "service-applications-stats",
            "telemetry-daily")  # fmt: skip


def cli(data_dir: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("catalogue")
    assert "datasets built: 6" in cli(path, "seed")
    return path


def _owners(data_dir: Path) -> dict[str, str]:
    db = Database(f"sqlite:///{data_dir / 'cityloop.db'}")
    try:
        with db.read() as session:
            found = session.execute(select(Dataset.name, Dataset.owner_department))
            return {name: owner for name, owner in found}
    finally:
        db.dispose()


def test_a_seeded_city_lists_every_built_in_dataset_built(data_dir: Path) -> None:
    listed = cli(data_dir, "data", "list").splitlines()
    names = [line.split()[0] for line in listed]
    assert names == list(BUILT_IN)
    devices = next(line for line in listed if line.startswith("devices "))
    assert "open" in devices and "producer" in devices and " 60 rows" in devices
    assert "never" not in devices and "not built" not in "\n".join(listed)
    assert _owners(data_dir)["cases"] == "command"


def test_refresh_rebuilds_what_is_due_the_named_ones_or_all(data_dir: Path) -> None:
    assert cli(data_dir, "data", "refresh").strip() == "every built-in dataset is up to date"
    assert cli(data_dir, "data", "refresh", "devices").strip() == "built devices: 60 rows"
    everything = cli(data_dir, "data", "refresh", "--all").splitlines()
    assert sorted(line.split()[1].rstrip(":") for line in everything) == list(BUILT_IN)


def test_refresh_refuses_an_unknown_name_and_names_with_all(data_dir: Path) -> None:
    unknown = cli(data_dir, "data", "refresh", "devices", "no-such-data", code=2)
    assert "no built-in dataset no-such-data" in unknown
    both = cli(data_dir, "data", "refresh", "devices", "--all", code=2)
    assert "not both" in both


def test_a_city_without_the_declared_owner_has_its_centre_own_the_datasets(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "city"
    shutil.copytree(RIVERTON, folder)
    departments = folder / "departments.yaml"
    text = departments.read_text(encoding="utf-8")
    departments.write_text(text.replace("  - code: command\n", "  - code: ops\n"), "utf-8")
    data_dir = tmp_path / "var"
    assert "datasets built: 6" in cli(data_dir, "seed", "--city-dir", str(folder))
    owners = _owners(data_dir)
    assert set(owners) == set(BUILT_IN) and set(owners.values()) == {"ops"}
