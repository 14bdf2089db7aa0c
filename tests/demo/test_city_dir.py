"""`cityloop seed --city-dir`: a city loads its own folder instead of Riverton, and a folder
with a mistake is refused before the database is touched."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Polygon
from sqlalchemy import func, select
from typer.testing import CliRunner

from cityloop.cli import app
from cityloop.demo.city import RIVERTON

runner = CliRunner()


@pytest.fixture
def lakeside(tmp_path: Path) -> Path:
    """Riverton's Old Town on its own, renamed: one district, a centre called ops, and one
    routing exception."""
    folder = tmp_path / "lakeside"
    shutil.copytree(RIVERTON, folder)
    (folder / "basemap.geojson").unlink()  # Riverton's roads run far beyond the Old Town
    geojson = folder / "jurisdictions.geojson"
    data = json.loads(geojson.read_text(encoding="utf-8"))
    data["features"] = [f for f in data["features"] if f["properties"]["code"].startswith("RV01")]
    geojson.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    old_town = Polygon(data["features"][0]["geometry"]["coordinates"][0])
    point = old_town.representative_point()
    (folder / "city.yaml").write_text(
        "code: lakeside\nname: Lakeside\nname_zh: 湖滨镇\ndomain: lakeside.example\n"
        f"center: [{point.x}, {point.y}]\n",
        encoding="utf-8",
    )
    (folder / "routing.yaml").write_text(
        "overrides:\n  - {category: C-03-01, district: RV01, department: urbanmgmt}\n",
        encoding="utf-8",
    )
    departments = folder / "departments.yaml"
    text = departments.read_text(encoding="utf-8")
    departments.write_text(text.replace("  - code: command\n", "  - code: ops\n"), "utf-8")
    return folder


def test_seed_loads_a_city_folder_instead_of_riverton(lakeside: Path, tmp_path: Path) -> None:
    from cityloop.base.db import Database
    from cityloop.domains.governance.models import Category, RoutingRule, SlaTarget
    from cityloop.platforms.application.geo.models import Jurisdiction
    from cityloop.platforms.application.identity.models import User
    from cityloop.platforms.data.perception.models import Device

    data_dir = tmp_path / "var"
    result = runner.invoke(
        app, ["seed", "--data-dir", str(data_dir), "--city-dir", str(lakeside), "--accounts"]
    )
    assert result.exit_code == 0, result.output
    assert "Lakeside (湖滨镇): districts 1, streets 4, grid cells " in result.output
    assert "categories 31, services 14; loaded" in result.output
    assert (
        "set CITYLOOP_CITY_DOMAIN=lakeside.example CITYLOOP_CITY_NAME=Lakeside"
        " CITYLOOP_CITY_NAME_ZH=湖滨镇"
    ) in result.output

    db = Database(f"sqlite:///{data_dir / 'cityloop.db'}")
    with db.read() as session:
        levels = dict(
            session.execute(
                select(Jurisdiction.level, func.count()).group_by(Jurisdiction.level)
            ).all()
        )
        assert levels["district"] == 1 and levels["street"] == 4
        assert session.scalar(select(func.count()).select_from(Category)) == 31
        assert session.scalar(select(func.count()).select_from(RoutingRule)) == 32
        assert session.scalar(select(func.count()).select_from(SlaTarget)) == 93
        # Riverton's sensors stand on Riverton's roads: another city does not get them.
        assert session.scalar(select(func.count()).select_from(Device)) == 0
        dispatcher = session.scalar(select(User).where(User.username == "dispatcher"))
        assert dispatcher is not None and dispatcher.department_code == "ops"
        assert session.get(Category, "E-06-01").moderated  # type: ignore[union-attr]
        assert not session.get(Category, "C-01-01").moderated  # type: ignore[union-attr]
    db.dispose()

    from cityloop.app import create_app
    from cityloop.settings import Settings

    settings = Settings(data_dir=data_dir, run_background=False)
    with TestClient(create_app(settings)) as client:
        districts = client.get("/api/v1/geo/districts").json()["features"]
        assert [d["properties"]["code"] for d in districts] == ["RV01"]
        manhole = client.get("/api/v1/categories/C-01-01").json()
        cover_state = manhole["attributes"][0]
        assert cover_state["description_zh"] == "井盖是什么情况？"
        assert ["missing", "缺失"] in cover_state["values_zh"]


def test_a_city_folder_with_a_mistake_is_refused_before_anything_is_written(
    lakeside: Path, tmp_path: Path
) -> None:
    routing = lakeside / "routing.yaml"
    routing.write_text(routing.read_text(encoding="utf-8").replace("RV01", "RV02"), "utf-8")
    data_dir = tmp_path / "var"
    result = runner.invoke(app, ["seed", "--data-dir", str(data_dir), "--city-dir", str(lakeside)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert (
        "routing.yaml: override #1 (C-03-01 in RV02): district RV02 is not in jurisdictions.geojson"
    ) in result.output
    assert not data_dir.exists()


def test_check_reads_the_folder_and_writes_nothing(lakeside: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    args = ["seed", "--check", "--data-dir", str(data_dir), "--city-dir", str(lakeside)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (
        "departments 18, categories 31, services 14; the folder is fine (nothing written)"
        in result.output
    )
    assert not data_dir.exists()
    (lakeside / "sla.yaml").unlink()
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "sla.yaml: is missing" in result.output


def test_seed_without_a_city_dir_is_still_riverton(tmp_path: Path) -> None:
    from cityloop.base.db import Database
    from cityloop.platforms.data.perception.models import Device

    result = runner.invoke(app, ["seed", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "demo city loaded"
    db = Database(f"sqlite:///{tmp_path / 'cityloop.db'}")
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Device)) > 50
    db.dispose()
