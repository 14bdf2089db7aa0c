"""Service definitions and an applicant's and a department's moves, for the services tests."""

from __future__ import annotations

import copy
from typing import Any

from tests.support.city import City

FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "project": {"type": "string", "minLength": 2, "maxLength": 200},
        "floors": {"type": "integer", "minimum": 1, "maximum": 100},
        "start": {"type": "string", "format": "date"},
        "contact_phone": {"type": "string", "pattern": r"^1[3-9]\d{9}$"},
    },
    "required": ["project", "floors", "contact_phone"],
    "additionalProperties": False,
}
GOOD_FORM = {"project": "Riverside library", "floors": 4, "contact_phone": "13800138000"}


def definition(code: str = "test-permit", **changes: Any) -> dict[str, Any]:
    """A building-permit-like service: three departments in parallel, then one more."""
    base: dict[str, Any] = {
        "code": code,
        "name": "Test building permit",
        "name_zh": "测试施工许可",
        "description": "A permit to build, reviewed by three departments at once, then one.",
        "description_zh": "三个部门并联审查，再由一个部门审批。",
        "topics": ["construction", "start-a-business"],
        "audience": ["person", "enterprise"],
        "department": "urbanmgmt",
        "online_level": "full_online",
        "realname_level": 2,
        "time_limit_days": 10,
        "materials": [
            {
                "code": "site-plan", "name": "Site plan", "name_zh": "总平面图",
                "types": ["pdf", "png", "jpeg"], "max_bytes": 1_000_000,
            },
            {
                "code": "photo", "name": "Photo", "name_zh": "照片", "types": ["jpeg"],
                "max_bytes": 1_000_000, "required": False,
            },
        ],
        "form": {"schema": FORM_SCHEMA, "ui_schema": {"type": "VerticalLayout", "elements": []}},
        "workflow": [
            {"departments": ["environment", "parks", "roads"], "days": 5},
            {"departments": ["urbanmgmt"], "days": 3},
        ],
        "supplements_per_step": 1,
        "legal_basis": "Construction Law, art. 8",
        "legal_basis_zh": "《建筑法》第八条",
    }  # fmt: skip
    merged = copy.deepcopy(base)
    merged.update(changes)
    return merged


PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)


def save_service(city: City, body: dict[str, Any], expect: int = 200) -> dict[str, Any]:
    response = city.client.put(
        f"/api/v1/services/{body['code']}", json=body, headers=city.headers("admin")
    )
    assert response.status_code == expect, response.text
    return dict(response.json())


def call(
    city: City, method: str, path: str, username: str, expect: int = 200, **kwargs: Any
) -> Any:
    response = city.client.request(method, path, headers=city.headers(username), **kwargs)
    assert response.status_code == expect, response.text
    return response.json()


def draft(city: City, service: str, username: str = "citizen", **body: Any) -> dict[str, Any]:
    return call(
        city, "POST", "/api/v1/applications", username, 201, json={"service": service, **body}
    )


def hand_in(
    city: City,
    application_id: int,
    material: str = "site-plan",
    data: bytes = PDF,
    name: str = "plan.pdf",
    username: str = "citizen",
    expect: int = 201,
) -> dict[str, Any]:
    response = city.client.post(
        f"/api/v1/applications/{application_id}/materials",
        data={"material": material}, files={"file": (name, data, "application/octet-stream")},
        headers=city.headers(username),
    )  # fmt: skip
    assert response.status_code == expect, response.text
    return dict(response.json())


def submitted(city: City, service: str, form: dict[str, Any] | None = None) -> dict[str, Any]:
    """An application filled in, with its site plan, and submitted by the demo citizen."""
    application = draft(city, service)
    number = application["id"]
    call(
        city,
        "PUT",
        f"/api/v1/applications/{number}/form",
        "citizen",
        json={"form": form or GOOD_FORM},
    )
    hand_in(city, number)
    return call(city, "POST", f"/api/v1/applications/{number}/submit", "citizen")


def staff(
    city: City, application_id: int, action: str, username: str, expect: int = 200, **body: Any
) -> dict[str, Any]:
    return call(
        city,
        "POST",
        f"/api/v1/staff/applications/{application_id}/{action}",
        username,
        expect,
        json=body or None,
    )


def step_of(application: dict[str, Any], department: str) -> dict[str, Any]:
    return next(
        s
        for s in application["steps"]
        if s["department"]["code"] == department and s["status"] != "cancelled"
    )
