"""The service catalogue: admins save definitions as versions, an application keeps the version
it was filed under, a definition with any problem is refused naming each, and `cityloop
services load | list` do the same from files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cityloop.cli import app
from tests.support.city import City
from tests.support.databases import seeded_data_dir
from tests.support.services import call, definition, draft, save_service

runner = CliRunner()
BAD_MATERIAL = {
    "code": "scan",
    "name": "Scan",
    "name_zh": "扫描件",
    "types": ["pdf"],
    "max_bytes": 1,
}


def test_a_changed_definition_is_a_new_version_and_filed_applications_keep_theirs(
    city: City,
) -> None:
    save_service(city, definition("versioned"))
    before = draft(city, "versioned")
    assert save_service(city, definition("versioned"))["version"] == 1  # unchanged: no version
    changed = save_service(city, definition("versioned", time_limit_days=20))
    assert changed["version"] == 2 and changed["time_limit_days"] == 20
    after = draft(city, "versioned")
    assert (before["service_version"], after["service_version"]) == (1, 2)
    versions = city.client.get("/api/v1/services/versioned/versions").json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["created_by"] == "admin"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"form": {"schema": {"type": "nonsense"}}}, ""),
        ({"workflow": [{"departments": ["nowhere"], "days": 3}]}, "workflow"),
        ({"prefill": {"missing_field": "profile.legal_name"}}, ""),
        ({"prefill": {"project": "profile.shoe_size"}}, ""),
        ({"time_limit_days": 0}, "time_limit_days"),
        ({"audience": []}, "audience"),
        ({"materials": [{**BAD_MATERIAL, "types": ["exe"]}]}, "materials.0.types.0"),
        ({"materials": [{**BAD_MATERIAL, "code": "X"}]}, "materials.0.code"),
        (
            {"licence": {"type": "p", "name": "P", "name_zh": "P", "valid_days": 30,
                         "claims": {"holder": "form.nothing"}}},
            "",
        ),
    ],
)  # fmt: skip
def test_a_definition_with_a_problem_is_refused_naming_it(
    city: City, change: dict[str, Any], field: str
) -> None:
    problem = save_service(city, definition("broken", **change), expect=422)
    assert problem["type"].endswith("/invalid-service-definition")
    assert problem["errors"] and all(e["message"] for e in problem["errors"])
    if field:
        assert field in [e["field"] for e in problem["errors"]]
    assert city.client.get("/api/v1/services/broken").status_code == 404


def test_only_admins_edit_the_catalogue_and_the_code_must_match(city: City) -> None:
    body = definition("guarded")
    response = city.client.put(
        "/api/v1/services/guarded", json=body, headers=city.headers("handler-parks")
    )
    assert response.status_code == 403
    response = city.client.put("/api/v1/services/other", json=body, headers=city.headers("admin"))
    assert response.status_code == 422


def test_a_closed_service_takes_no_new_applications(city: City) -> None:
    save_service(city, definition("closing"))
    started = draft(city, "closing")
    call(city, "POST", "/api/v1/services/closing/active", "admin", json={"active": False})
    refused = call(
        city, "POST", "/api/v1/applications", "citizen", 409, json={"service": "closing"}
    )
    assert refused["type"].endswith("/service-closed")
    assert "closing" not in [s["code"] for s in city.client.get("/api/v1/services").json()]
    call(city, "GET", f"/api/v1/applications/{started['id']}", "citizen")


def test_an_unknown_service_or_the_wrong_kind_of_applicant_is_refused(city: City) -> None:
    call(city, "POST", "/api/v1/applications", "citizen", 404, json={"service": "no-such"})
    save_service(city, definition("firms-only", audience=["enterprise"]))
    problem = call(
        city, "POST", "/api/v1/applications", "citizen", 422, json={"service": "firms-only"}
    )
    assert problem["type"].endswith("/wrong-applicant-kind")
    assert city.client.get("/api/v1/services/" + "x" * 41).status_code == 422


def test_the_demo_city_offers_its_catalogue(city: City) -> None:
    hall = city.client.get("/api/v1/services").json()
    assert len(hall) >= 12
    assert any("enterprise" in s["audience"] for s in hall)
    enterprise = city.client.get("/api/v1/services?audience=enterprise").json()
    assert all("enterprise" in s["audience"] for s in enterprise)


def test_the_cli_loads_definitions_from_files_and_lists_them(
    templates: dict[str, str], tmp_path: Path
) -> None:
    data_dir = seeded_data_dir(templates, tmp_path / "city")
    path = tmp_path / "cli-permit.yaml"
    path.write_text(yaml.safe_dump(definition("cli-permit")), encoding="utf-8")
    loaded = runner.invoke(app, ["services", "load", str(path), "--data-dir", str(data_dir)])
    assert loaded.exit_code == 0, loaded.output
    assert "cli-permit: version 1" in loaded.output
    listed = runner.invoke(app, ["services", "list", "--data-dir", str(data_dir)])
    assert "cli-permit\tv1\topen\t测试施工许可" in listed.output
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(definition("broken", time_limit_days=0)), encoding="utf-8")
    refused = runner.invoke(app, ["services", "load", str(broken), "--data-dir", str(data_dir)])
    assert refused.exit_code != 0 and "time_limit_days" in refused.output
