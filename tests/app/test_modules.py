"""The package declarations: app, CLI and models loop over them, so they must be complete."""

from pathlib import Path

from cityloop.base.db import Base
from cityloop.modules import PACKAGES, load_modules


def test_every_table_is_declared_by_exactly_one_package() -> None:
    declared = [model.__table__.name for m in load_modules() for model in m.models]  # type: ignore[attr-defined]
    assert len(declared) == len(set(declared)), "a table is declared twice"
    assert set(declared) == set(Base.metadata.tables)


def test_every_package_declares_itself_once_under_its_own_name() -> None:
    modules = load_modules()
    assert len(modules) == len(PACKAGES)
    assert len({m.name for m in modules}) == len(modules)


def test_the_app_serves_every_declared_router(tmp_path: Path) -> None:
    from cityloop.app import create_app
    from cityloop.settings import Settings

    app = create_app(Settings(data_dir=tmp_path, run_background=False))
    served = set(app.openapi()["paths"])
    declared = {
        route.path  # type: ignore[attr-defined]
        for module in load_modules()
        for router in module.routers
        for route in router.routes
        if getattr(route, "include_in_schema", False)
    }
    assert declared and declared <= served
