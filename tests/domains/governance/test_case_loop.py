"""The governance loop end to end through HTTP, as staff and citizens use it."""

from __future__ import annotations

from tests.support.city import City, fresh_point


def test_manhole_case_runs_from_report_to_rated_close(city: City) -> None:
    lat, lon = fresh_point()
    photo = city.upload()
    answer = city.report(
        category="C-01-01",
        lat=lat,
        lon=lon,
        media=[photo],
        description="Manhole cover missing outside no. 12",
        attributes={"cover_state": "missing"},
        contact_email="resident@example.org",
    )
    case_id = answer["case_id"]
    assert answer["joined_existing"] is False

    case = city.case(case_id)
    assert case["status"] == "dispatched"
    assert case["department"]["code"] == "facilities"
    assert case["district"]["code"].startswith("RV")
    assert case["grid"] is not None
    assert "rule #" in case["routing"]["explanation"]
    # The urgent manhole SLA: respond in 30 minutes, resolve in 60, counted from dispatch.
    from datetime import datetime

    dispatched = datetime.fromisoformat(case["dispatched_at"])
    assert (datetime.fromisoformat(case["response_due"]) - dispatched).total_seconds() == 30 * 60
    assert (datetime.fromisoformat(case["resolution_due"]) - dispatched).total_seconds() == 60 * 60

    city.act(case_id, "worker-facilities", action="start")
    proof = city.upload(username="worker-facilities")
    city.act(
        case_id,
        "worker-facilities",
        action="resolve",
        note="New cover fitted and locked",
        attachments=[proof],
    )
    closed = city.act(case_id, "supervisor", action="verify", resolution="fixed", note="Checked")
    assert closed["status"] == "closed"
    assert closed["resolution"] == "fixed"
    assert closed["on_time"] is True
    assert closed["photos"] == {"before": [photo], "after": [proof]}

    rating = city.client.post(
        f"/api/v1/public/cases/{case_id}/rating",
        json={"stars": 5, "comment": "Quick!", "token": answer["tracking_token"]},
    )
    assert rating.status_code == 201, rating.text

    public = city.client.get(f"/api/v1/track/{answer['tracking_token']}").json()["case"]
    actions = [e["action"] for e in public["timeline"]]
    assert actions[:3] == ["submit", "register", "dispatch"]
    assert public["timeline"][2]["message"] == "Assigned to Municipal Facilities"
    assert public["timeline"][2]["message_zh"].startswith("已派遣至")
    assert {"start", "resolve", "verify"} <= set(actions)
    assert public["status"] == "closed"
    assert public["resolution"] == "fixed"


def test_pothole_case_with_one_rework_counts_it(city: City) -> None:
    lat, lon = fresh_point()
    case_id = city.report(category="C-02-01", lat=lat, lon=lon, description="Deep pothole")[
        "case_id"
    ]
    assert city.case(case_id)["status"] == "submitted"
    city.act(case_id, "dispatcher", action="register")
    city.act(case_id, "dispatcher", action="dispatch", department="roads")
    city.act(case_id, "handler-roads", action="start")
    proof = city.upload(username="handler-roads")
    city.act(case_id, "handler-roads", action="resolve", note="Patched", attachments=[proof])
    reopened = city.act(
        case_id, "supervisor", action="reopen", note="Patch already crumbling; redo it"
    )
    assert reopened["status"] == "dispatched"
    assert reopened["rework_count"] == 1
    city.act(case_id, "worker-roads", action="start")
    proof2 = city.upload(username="worker-roads")
    city.act(case_id, "worker-roads", action="resolve", note="Re-laid", attachments=[proof2])
    closed = city.act(case_id, "supervisor", action="verify", resolution="fixed")
    assert closed["status"] == "closed"
    assert closed["rework_count"] == 1
    timeline = [e["action"] for e in closed["timeline"]]
    assert timeline.count("resolve") == 2 and timeline.count("reopen") == 1


def test_every_public_change_notifies_reporter_and_supporters(city: City) -> None:
    lat, lon = fresh_point()
    first = city.report(category="C-02-01", lat=lat, lon=lon)
    second = city.report(category="C-02-01", lat=lat + 0.00005, lon=lon)
    assert second["joined_existing"] is True
    assert second["case_id"] == first["case_id"]
    city.act(first["case_id"], "dispatcher", action="register")
    city.drain()
    for answer in (first, second):
        notes = city.client.get(f"/api/v1/track/{answer['tracking_token']}/notifications").json()
        assert any("Registered" in n["message"] for n in notes), notes


def test_citizen_account_sees_my_reports(city: City) -> None:
    lat, lon = fresh_point()
    answer = city.report(username="citizen", category="C-03-02", lat=lat, lon=lon)
    mine = city.client.get("/api/v1/me/reports", headers=city.headers("citizen")).json()
    assert answer["case_id"] in [r["case"]["id"] for r in mine]


def test_hotline_and_inspector_reports_keep_their_channel(city: City) -> None:
    for username, channel in (("hotline", "hotline"), ("inspector", "inspector")):
        lat, lon = fresh_point()
        case_id = city.report(username=username, category="C-02-01", lat=lat, lon=lon)["case_id"]
        assert city.case(case_id)["channel"] == channel


def test_hotline_report_by_address_is_geocoded(city: City) -> None:
    answer = city.report(
        username="hotline", category="E-04-01", address="Outside the bakery, Lotus Street"
    )
    case = city.case(answer["case_id"])
    assert case["street"]["code"] == "RV01-S01"


def test_a_report_filed_by_a_dispatcher_counts_as_staff_not_public(city: City) -> None:
    lat, lon = fresh_point()
    case_id = city.report(username="dispatcher", category="C-02-01", lat=lat, lon=lon)["case_id"]
    assert city.case(case_id)["channel"] == "staff"
