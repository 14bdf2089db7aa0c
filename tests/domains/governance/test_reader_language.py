"""A case reads in its reader's language: timeline lines, the routing explanation, the intake
answer, staff notes the system wrote, and notifications, for staff and citizens alike."""

from __future__ import annotations

from typing import Any

from tests.support.city import City, fresh_point

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}


def manhole_report(city: City, headers: dict[str, str] | None = None) -> dict[str, Any]:
    lat, lon = fresh_point()
    response = city.client.post(
        "/api/v1/reports",
        json={
            "category": "C-01-01",
            "lat": lat,
            "lon": lon,
            "description": "cover missing",
            "attributes": {"cover_state": "missing"},
        },
        headers=headers or {},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_citizen_asking_in_chinese_reads_the_timeline_in_chinese(city: City) -> None:
    answer = manhole_report(city, CHINESE)
    assert answer["message"] == f"您的上报已立为案卷 {answer['case_id']}"
    token = answer["tracking_token"]
    chinese = city.client.get(f"/api/v1/track/{token}", headers=CHINESE).json()["case"]
    english = city.client.get(f"/api/v1/track/{token}").json()["case"]
    assert [row["message"] for row in chinese["timeline"][:3]] == [
        "已收到您的上报",
        "已立案",
        "已派遣至市政设施管理处",
    ]
    assert english["timeline"][2]["message"] == "Assigned to Municipal Facilities"
    public = city.client.get(f"/api/v1/public/cases/{answer['case_id']}", headers=CHINESE)
    assert public.json()["timeline"][0]["message"] == "已收到您的上报"


def test_staff_read_the_routing_explanation_and_system_notes_in_their_language(
    city: City,
) -> None:
    case_id = manhole_report(city)["case_id"]
    headers = {**city.headers("dispatcher"), **CHINESE}
    chinese = city.client.get(f"/api/v1/cases/{case_id}", headers=headers).json()
    english = city.case(case_id, "dispatcher")
    assert chinese["routing"]["explanation"].startswith("规则 #")
    assert "市政设施管理处" in chinese["routing"]["explanation"]
    assert "Municipal Facilities" in english["routing"]["explanation"]
    assert chinese["routing"]["explanation_message"]["code"].startswith("routing.")
    notes = {row["action"]: row["note"] for row in chinese["timeline"]}
    assert notes["register"] == "系统自动立案"
    assert {row["action"]: row["note"] for row in english["timeline"]}["register"] == (
        "Auto-registered"
    )


def test_a_dispatch_against_the_rule_is_explained_in_the_readers_language(city: City) -> None:
    case_id = manhole_report(city)["case_id"]
    city.act(case_id, "dispatcher", action="reassign", department="roads")
    headers = {**city.headers("dispatcher"), **CHINESE}
    chinese = city.client.get(f"/api/v1/cases/{case_id}", headers=headers).json()
    assert chinese["routing"]["reassigned"] == "由市政设施管理处移交至道路管理处"
    assert chinese["timeline"][-1]["message"] == "已移交道路管理处"


def test_a_reporter_is_notified_in_the_language_they_reported_in(city: City) -> None:
    answer = manhole_report(city, CHINESE)
    city.drain()
    notes = city.client.get(f"/api/v1/track/{answer['tracking_token']}/notifications").json()
    assert notes, "the reporter heard nothing"
    # Asked in English, the inbox shows English; the stored text was sent in Chinese.
    assert all(n["message"].startswith("Case ") for n in notes)
    chinese = city.client.get(
        f"/api/v1/track/{answer['tracking_token']}/notifications", headers=CHINESE
    ).json()
    assert all(n["message"].startswith(f"案卷 {answer['case_id']}：") for n in chinese)
    with city.ctx.reading() as session:
        from cityloop.platforms.application.notify.models import Notification

        sent = session.query(Notification).filter_by(case_id=answer["case_id"]).all()
        assert sent and all(n.message.startswith("案卷") for n in sent)


def test_an_unknown_tracking_token_is_told_in_chinese(city: City) -> None:
    missing = city.client.get("/api/v1/track/no-such-token", headers=CHINESE)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "没有与该查询码对应的上报"


def test_category_questions_and_choices_come_in_the_readers_language(city: City) -> None:
    chinese = city.client.get("/api/v1/categories/C-01-01", headers=CHINESE).json()
    english = city.client.get("/api/v1/categories/C-01-01").json()
    state = next(a for a in chinese["attributes"] if a["code"] == "cover_state")
    assert state["question"] == "井盖是什么情况？"
    assert ["missing", "缺失"] in state["choices"]
    # Both languages stay beside the reader's, for the console that edits them.
    assert state["description"] == "What is wrong with the cover?"
    english_state = next(a for a in english["attributes"] if a["code"] == "cover_state")
    assert english_state["question"] == "What is wrong with the cover?"
    assert ["missing", "Missing"] in english_state["choices"]


def test_open311_service_definition_answers_in_the_language_of_its_locale(city: City) -> None:
    chinese = city.client.get("/open311/v2/services/C-01-01.json", params={"locale": "zh-CN"})
    english = city.client.get("/open311/v2/services/C-01-01.json")
    state = next(a for a in chinese.json()["attributes"] if a["code"] == "cover_state")
    assert state["description"] == "井盖是什么情况？"
    assert {"key": "missing", "name": "缺失"} in state["values"]
    assert state["datatype_description"] == "values 中的一个 key"
    first = english.json()["attributes"][0]
    assert first["description"] == "What is wrong with the cover?"


def test_a_bad_report_is_refused_in_chinese_naming_the_field(city: City) -> None:
    outside = city.client.post(
        "/api/v1/reports",
        json={
            "category": "C-01-01",
            "lat": 10.0,
            "lon": 10.0,
            "attributes": {"cover_state": "missing"},
        },
        headers=CHINESE,
    )
    assert outside.status_code == 400
    assert outside.json()["field"] == "lat"
    assert outside.json()["detail"] == "位置（10.000000, 10.000000）不在本市辖区内"
    assert outside.json()["title"] == "不在本市范围内"
    invalid = city.client.post(
        "/api/v1/reports", json={"category": "C-01-01", "lat": 91}, headers=CHINESE
    )
    assert invalid.status_code == 422
    assert invalid.json()["detail"] == "lat：不能大于 90"
    unknown = city.client.post("/api/v1/reports", json={"category": "nope", "lat": 1, "lon": 1})
    assert unknown.json()["detail"] == "unknown category 'nope'"


def test_an_account_set_to_chinese_is_notified_in_chinese_whatever_its_browser(
    city: City,
) -> None:
    headers = city.headers("citizen")
    assert city.client.patch("/api/v1/me", json={"locale": "zh-CN"}, headers=headers).is_success
    try:
        answer = manhole_report(city, {**headers, "Accept-Language": "en"})
        assert answer["message"].startswith("您的上报")
        city.drain()
        inbox = city.client.get("/api/v1/me/notifications", headers=headers).json()
        mine = [n for n in inbox if n["case_id"] == answer["case_id"]]
        assert mine and all(n["message"].startswith("案卷") for n in mine)
    finally:
        city.client.patch("/api/v1/me", json={"locale": None}, headers=headers)


def test_staff_whose_account_is_set_to_chinese_read_the_case_in_chinese(city: City) -> None:
    case_id = manhole_report(city)["case_id"]
    viewer = city.headers("dispatcher")
    city.client.patch("/api/v1/me", json={"locale": "zh-CN"}, headers=viewer)
    try:
        case = city.client.get(f"/api/v1/cases/{case_id}", headers=viewer).json()
        assert case["timeline"][0]["message"] == "已收到您的上报"
        assert case["routing"]["explanation"].startswith("规则 #")
    finally:
        city.client.patch("/api/v1/me", json={"locale": None}, headers=viewer)
    # Without the setting, and with no Accept-Language, the same account reads English.
    english = city.case(case_id, "dispatcher")
    assert english["timeline"][0]["message"] == "Report received"
