"""An approval issues an e-licence (SD-JWT VC) into the applicant's wallet once its fee is paid;
the holder presents only the claims chosen, anyone verifies it, and a revoked licence is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cityloop.cli import app
from tests.support.city import City
from tests.support.databases import seeded_data_dir
from tests.support.services import call, definition, save_service, staff, step_of, submitted

LICENCE = {
    "type": "test-licence",
    "name": "Test building licence",
    "name_zh": "测试施工许可证",
    "valid_days": 365,
    "claims": {
        "holder": "applicant.name",
        "project": "form.project",
        "phone": "form.contact_phone",
        "number": "application.number",
    },
    "disclosable": ["phone", "project"],
}


@pytest.fixture(scope="module", autouse=True)
def services(city: City) -> None:
    one_stage = [{"departments": ["parks"], "days": 3}]
    save_service(city, definition("licensed", workflow=one_stage, licence=LICENCE))
    paid = definition(
        "licensed-fee", workflow=one_stage, licence=LICENCE,
        fee={"amount_cents": 5000, "note": "", "note_zh": ""},
    )  # fmt: skip
    save_service(city, paid)


def approved(city: City, service: str) -> dict[str, Any]:
    application = submitted(city, service)
    number = application["id"]
    accepted = staff(city, number, "accept", "handler-urbanmgmt")
    step = step_of(accepted, "parks")
    return staff(city, number, f"steps/{step['id']}/approve", "handler-parks")


def verify(city: City, presentation: str) -> dict[str, Any]:
    response = city.client.post("/api/v1/credentials/verify", json={"presentation": presentation})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_an_approval_puts_a_licence_in_the_wallet_and_a_presentation_shows_only_what_is_chosen(
    city: City,
) -> None:
    application = approved(city, "licensed")
    assert application["status"] == "issued" and application["licence_id"]
    wallet = call(city, "GET", "/api/v1/me/licences", "citizen")
    mine = next(w for w in wallet if w["application_id"] == application["id"])
    assert mine["claims"]["holder"] == "张丽华" and mine["issuer"]["code"] == "urbanmgmt"
    assert set(mine["disclosable"]) == {"phone", "project"}
    shown = call(
        city, "POST", f"/api/v1/me/licences/{application['id']}/presentations", "citizen",
        json={"disclose": ["project"]},
    )  # fmt: skip
    assert shown["qr"].endswith("#" + shown["presentation"]) and "/app/verify#" in shown["qr"]
    verdict = verify(city, shown["presentation"])
    assert verdict["valid"] is True, verdict
    claims = verdict["claims"]
    assert claims["project"] == "Riverside library" and claims["holder"] == "张丽华"
    assert "phone" not in claims
    svg = city.client.get(
        f"/api/v1/me/licences/{application['id']}/qr.svg?disclose=phone",
        headers=city.headers("citizen"),
    )
    assert svg.status_code == 200 and svg.text.startswith("<svg")
    timeline = call(city, "GET", f"/api/v1/applications/{application['id']}", "citizen")["timeline"]
    assert timeline[-1]["message_zh"] == "已发放测试施工许可证，已存入您的证照夹"


def test_a_licence_with_a_fee_is_issued_once_the_counter_records_the_payment(city: City) -> None:
    application = approved(city, "licensed-fee")
    number = application["id"]
    assert application["status"] == "approved" and application["licence_id"] is None
    staff(city, number, "fee", "handler-parks", 422, receipt="")
    staff(city, number, "fee", "citizen", 403, receipt="R-1")
    paid = staff(city, number, "fee", "handler-urbanmgmt", receipt="R-2026-0001")
    assert paid["status"] == "issued" and paid["fee_receipt"] == "R-2026-0001"
    again = staff(city, number, "fee", "handler-urbanmgmt", 409, receipt="R-2")
    assert again["type"].endswith("/fee-already-paid")


def test_a_revoked_licence_is_refused_by_every_verifier(city: City) -> None:
    application = approved(city, "licensed")
    number = application["id"]
    shown = call(
        city,
        "POST",
        f"/api/v1/me/licences/{number}/presentations",
        "citizen",
        json={"disclose": []},
    )
    assert verify(city, shown["presentation"])["valid"] is True
    staff(city, number, "revoke-licence", "handler-parks", 403, reason="fraud")
    revoked = staff(city, number, "revoke-licence", "handler-urbanmgmt", reason="site closed")
    assert revoked["timeline"][-1]["message_zh"] == "证照已被吊销：site closed"
    verdict = verify(city, shown["presentation"])
    assert verdict["valid"] is False and verdict["reason"] == "revoked"
    staff(city, number, "revoke-licence", "handler-urbanmgmt", 409, reason="again")
    wallet = call(city, "GET", "/api/v1/me/licences", "citizen")
    assert next(w for w in wallet if w["application_id"] == number)["revoked"] is True


def test_a_tampered_presentation_is_refused_with_its_reason(city: City) -> None:
    application = approved(city, "licensed")
    shown = call(
        city, "POST", f"/api/v1/me/licences/{application['id']}/presentations", "citizen",
        json={"disclose": ["phone"]},
    )  # fmt: skip
    jwt, _, rest = shown["presentation"].partition("~")
    header, payload, signature = jwt.split(".")
    forged = f"{header}.{payload[:-4]}AAAA.{signature}~{rest}"
    verdict = verify(city, forged)
    assert verdict["valid"] is False and verdict["reason"] in {"bad-signature", "malformed"}
    assert verdict["message"]["zh-CN"] and verdict["message"]["en"]


def test_only_the_holder_presents_and_only_claims_the_licence_has(city: City) -> None:
    application = approved(city, "licensed")
    path = f"/api/v1/me/licences/{application['id']}/presentations"
    call(city, "POST", path, "citizen", 400, json={"disclose": ["shoe_size"]})
    response = city.client.post(path, json={"disclose": []}, headers=city.headers("admin"))
    assert response.status_code == 403


def test_the_licence_verify_command_refuses_what_is_not_a_licence(
    templates: dict[str, str], tmp_path: Path
) -> None:
    data_dir = str(seeded_data_dir(templates, tmp_path / "city"))
    runner = CliRunner()
    result = runner.invoke(app, ["licence", "verify", "not-a-licence", "--data-dir", data_dir])
    assert result.exit_code == 1, result.output
    assert "REFUSED (malformed)" in result.output and "无法识别" in result.output


def test_a_licence_downloads_as_a_pdf_with_its_qr_code(city: City) -> None:
    application = approved(city, "licensed")
    response = city.client.get(
        f"/api/v1/me/licences/{application['id']}/pdf?disclose=project",
        headers=city.headers("citizen"),
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-") and b"STSong-Light" in response.content
    assert b"/Subtype /Image" in response.content
    refused = city.client.get(
        f"/api/v1/me/licences/{application['id']}/pdf?disclose=shoe_size",
        headers=city.headers("citizen"),
    )
    assert refused.status_code == 400
