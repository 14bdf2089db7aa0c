"""What the console's catalogue editor reads: closed services listed for admins only, and a
service's definition as stored, current or of an earlier version, which saves back unchanged."""

from __future__ import annotations

from tests.support.city import City
from tests.support.services import call, definition, save_service


def test_admins_list_closed_services_and_nobody_else_does(city: City) -> None:
    save_service(city, definition("editor-closed"))
    call(city, "POST", "/api/v1/services/editor-closed/active", "admin", json={"active": False})
    listed = call(city, "GET", "/api/v1/services?include_inactive=true", "admin")
    closed = [s for s in listed if s["code"] == "editor-closed"]
    assert len(closed) == 1 and closed[0]["active"] is False
    assert "editor-closed" not in [
        s["code"] for s in call(city, "GET", "/api/v1/services", "admin")
    ]
    for who in ("citizen", "handler-parks", "supervisor"):
        refused = call(city, "GET", "/api/v1/services?include_inactive=true", who, 403)
        assert "admins" in refused["detail"]
    anonymous = city.client.get("/api/v1/services", params={"include_inactive": "true"})
    assert anonymous.status_code == 403


def test_the_definition_reads_back_as_saved_and_saves_back_as_no_new_version(city: City) -> None:
    body = definition("editor-roundtrip")
    save_service(city, body)
    save_service(city, definition("editor-roundtrip", time_limit_days=12))
    current = call(city, "GET", "/api/v1/services/editor-roundtrip/definition", "admin")
    assert (current["version"], current["current_version"], current["active"]) == (2, 2, True)
    assert current["definition"]["time_limit_days"] == 12
    assert current["definition"]["form"]["schema"] == body["form"]["schema"]
    first = call(city, "GET", "/api/v1/services/editor-roundtrip/definition?version=1", "admin")
    assert (first["version"], first["definition"]["time_limit_days"]) == (1, 10)
    # What the editor shows is what PUT takes: saving it unchanged writes no version.
    assert save_service(city, current["definition"])["version"] == 2


def test_the_definition_is_for_admins_and_bad_versions_are_named(city: City) -> None:
    save_service(city, definition("editor-guarded"))
    path = "/api/v1/services/editor-guarded/definition"
    call(city, "GET", path, "handler-urbanmgmt", 403)
    call(city, "GET", path, "citizen", 403)
    assert city.client.get(path).status_code == 401
    missing = call(city, "GET", path + "?version=9", "admin", 404)
    assert "editor-guarded@9" in missing["detail"]
    assert call(city, "GET", path + "?version=0", "admin", 422)["field"] == "version"
    call(city, "GET", "/api/v1/services/no-such-service/definition", "admin", 404)
