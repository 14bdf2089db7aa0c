"""`cityloop operations rebuild`: the backfill of the operations read model, as an operator runs
it on a database whose cases came before the read model (or whose facts came before the KPI
rollups)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from cityloop.base.db import Database
from cityloop.cli import app
from cityloop.demo import seed
from cityloop.domains.operations import kpis, service_figures
from cityloop.domains.operations.cuts import Cut, Period
from cityloop.domains.operations.models import ApplicationFactRow, CaseFactRow
from cityloop.domains.operations.rollup_tables import day_rollups, due_rollups
from cityloop.domains.operations.service import case_list
from cityloop.platforms.application.identity.service import Actor
from tests.domains.operations.applications import march_applications
from tests.domains.operations.cases import MARCH, march_cases

runner = CliRunner()


def test_rebuild_fills_the_facts_of_cases_that_have_none(tmp_path: Path) -> None:
    assert runner.invoke(app, ["migrate", "--data-dir", str(tmp_path)]).exit_code == 0
    db = Database(f"sqlite:///{tmp_path / 'cityloop.db'}")
    with db.writing() as session:
        seed.seed_city(session, fleet=False)
        march_cases(session)
        session.execute(delete(CaseFactRow))  # as if the cases predated migration 0025
    result = runner.invoke(app, ["operations", "rebuild", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "7 cases checked, 7 fixed, 0 removed" in result.output
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(CaseFactRow)) == 7
        admin = Actor(None, "admin", "admin")
        due = case_list(session, actor=admin, period=Period(*MARCH), figure="due", filters={})
        assert len(due) == 5
    again = runner.invoke(app, ["operations", "rebuild", "--data-dir", str(tmp_path)])
    assert "7 cases checked, 0 fixed, 0 removed" in again.output
    db.dispose()


def test_rebuild_fills_the_rollups_of_facts_that_came_before_them(tmp_path: Path) -> None:
    assert runner.invoke(app, ["migrate", "--data-dir", str(tmp_path)]).exit_code == 0
    db = Database(f"sqlite:///{tmp_path / 'cityloop.db'}")
    with db.writing() as session:
        seed.seed_city(session, fleet=False)
        march_cases(session)
    assert runner.invoke(app, ["operations", "rebuild", "--data-dir", str(tmp_path)]).exit_code == 0
    with db.writing() as session:
        for table in (day_rollups, due_rollups):  # as if the facts predated migration 0032
            session.execute(delete(table))
    result = runner.invoke(app, ["operations", "rebuild", "--data-dir", str(tmp_path)])
    assert "7 cases checked, 0 fixed, 0 removed" in result.output
    rollup_line = next(line for line in result.output.splitlines() if "KPI rollups" in line)
    assert " 0 fixed" not in rollup_line and rollup_line.endswith(", 0 removed")
    with db.read() as session:
        march = kpis.figures(session, cut=Cut(Period(*MARCH)))[kpis.CITY]
        assert (march["due"], march["closed"], march["overdue"]) == (5, 3, 2)
    again = runner.invoke(app, ["operations", "rebuild", "--data-dir", str(tmp_path)])
    assert again.output.rstrip().endswith("0 fixed, 0 removed")
    db.dispose()


def test_rebuild_fills_the_facts_of_applications_that_have_none(tmp_path: Path) -> None:
    assert runner.invoke(app, ["migrate", "--data-dir", str(tmp_path)]).exit_code == 0
    db = Database(f"sqlite:///{tmp_path / 'cityloop.db'}")
    with db.writing() as session:
        seed.seed_city(session, fleet=False)
        seed.seed_accounts(session)  # the applicant
        march_applications(session)
        session.execute(delete(ApplicationFactRow))  # as if they predated migration 0036
    result = runner.invoke(app, ["operations", "rebuild", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "application facts: 9 applications checked, 9 fixed, 0 removed" in result.output
    with db.read() as session:
        found = service_figures.figures(session, period=Period(*MARCH), by=None, filters={})
        assert found["*"]["services_submitted"] == 7
    again = runner.invoke(app, ["operations", "rebuild", "--data-dir", str(tmp_path)])
    assert "application facts: 9 applications checked, 0 fixed, 0 removed" in again.output
    db.dispose()
