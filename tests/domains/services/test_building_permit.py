"""The demo city's building construction permit, end to end through HTTP: an enterprise applies,
planning, fire and environment review at the same time, fire asks for a supplement, the
Construction Bureau approves last, and the permit is issued to the enterprise's wallet — then
every move the workflow table does not allow is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy.orm import Session

from cityloop.base.problems import Problem
from cityloop.domains.services import lifecycle
from cityloop.domains.services.models import Application
from cityloop.domains.services.workflow import APPLICATION_WORKFLOW, Status
from cityloop.platforms.application.identity.service import SYSTEM
from tests.support.city import City
from tests.support.media import jpeg_bytes
from tests.support.services import PDF, call, hand_in, staff, step_of

EXAMPLES = yaml.safe_load(
    (Path(__file__).parents[2] / "demo" / "service_examples.yaml").read_text()
)
SNACK_SHOP = "92110105MA01CD34ER"  # the demo citizen represents it


def hand_in_everything(city: City, number: int, service: str) -> None:
    guide = city.client.get(f"/api/v1/services/{service}").json()
    for material in guide["materials"]:
        if material["required"]:
            pdf = "pdf" in material["types"]
            hand_in(city, number, material=material["code"], data=PDF if pdf else jpeg_bytes(),
                    name="scan.pdf" if pdf else "scan.jpg")  # fmt: skip


def test_the_building_permit_needs_three_approvals_at_once_then_the_construction_bureau(
    city: City,
) -> None:
    draft = call(city, "POST", "/api/v1/applications", "citizen", 201,
                 json={"service": "construction-permit", "enterprise": SNACK_SHOP})  # fmt: skip
    number = draft["id"]
    form = EXAMPLES["construction-permit"]
    call(city, "PUT", f"/api/v1/applications/{number}/form", "citizen", json={"form": form})
    hand_in_everything(city, number, "construction-permit")
    assert (
        call(city, "POST", f"/api/v1/applications/{number}/submit", "citizen")["status"]
        == "submitted"
    )
    application = staff(city, number, "accept", "handler-construction")
    first = {s["department"]["code"] for s in application["steps"] if s["status"] == "active"}
    assert first == {"planning", "fire", "environment"}
    fire = step_of(application, "fire")
    staff(city, number, f"steps/{fire['id']}/request_supplement", "handler-fire",
          items=["the sprinkler layout"])  # fmt: skip
    hand_in(city, number, material="fire-review", name="fire-review-v2.pdf")
    call(
        city,
        "POST",
        f"/api/v1/applications/{number}/supplement",
        "citizen",
        json={"note": "layout added"},
    )
    for department in ("planning", "fire", "environment"):
        application = staff(
            city,
            number,
            f"steps/{step_of(application, department)['id']}/approve",
            f"handler-{department}",
        )
    last = step_of(application, "construction")
    assert last["status"] == "active" and last["stage"] == 1
    issued = staff(city, number, f"steps/{last['id']}/approve", "handler-construction")
    assert issued["status"] == "issued" and issued["licence_id"]
    wallet = call(city, "GET", "/api/v1/me/licences", "citizen")
    permit = next(w for w in wallet if w["application_id"] == number)
    assert permit["issuer"]["code"] == "construction"
    shown = call(
        city,
        "POST",
        f"/api/v1/me/licences/{number}/presentations",
        "citizen",
        json={"disclose": []},
    )
    verdict = city.client.post("/api/v1/credentials/verify", json={"qr": shown["qr"]}).json()
    assert verdict["valid"] is True, verdict
    actions = [
        row["action"]
        for row in call(city, "GET", f"/api/v1/applications/{number}", "citizen")["timeline"]
    ]
    assert actions[:2] == ["submit", "accept"] and actions[-2:] == ["approve", "issue"]
    assert actions.count("step_approve") == 4 and "request_supplement" in actions


STATES = [s for s in Status]
ACTIONS = sorted(APPLICATION_WORKFLOW.actions)


def _illegal() -> list[tuple[str, str]]:
    return [
        (state.value, action)
        for state in STATES
        for action in ACTIONS
        if APPLICATION_WORKFLOW.find(state, action) is None
    ]


@pytest.mark.parametrize(("state", "action"), _illegal())
def test_every_move_the_table_does_not_allow_is_a_409(state: str, action: str) -> None:
    application = Application(id=1, status=state)
    with pytest.raises(Problem) as refused:
        lifecycle.move(Session(), application=application, action=action, actor=SYSTEM)
    problem = refused.value
    assert problem.status == 409 and problem.extra["status"] == state
    assert application.status == state
