"""The public transparency figures on each engine, through HTTP with no sign-in: hand-counted
months, small counts withheld or merged, the closed-case map, caching and rate limits, bad
months, and no personal data anywhere in what anyone can read."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from openpyxl import load_workbook

from cityloop.base.ratelimit import RateLimiter
from cityloop.bridges import case_facts
from cityloop.demo.seed import DEMO_CITIZEN_NAME, DEMO_CITIZEN_PHONE
from cityloop.domains.operations import public, public_views
from tests.domains.operations.cases import june_cases, march_cases
from tests.support.city import City, fresh_point

NOW = datetime(2026, 12, 6, tzinfo=UTC)
PRIVATE = {
    "contact_name": "Ms Transparent Private",
    "contact_phone": "+86 555 0199",
    "contact_email": "transparent.private@example.org",
    "description": "Cover gone outside flat 4B, my neighbour Mr Wang keeps tripping",
}


@pytest.fixture(scope="module")
def months(city: City) -> dict[str, Any]:
    """March 2026 (the hand-counted seven cases) and June 2026 (six more)."""
    with city.ctx.writing() as session:
        cases = march_cases(session, year=2026)
        june = june_cases(session)
        case_facts.reconcile(session)
        return {"march": {k: c.id for k, c in cases.items()}, "june": [c.id for c in june]}


def get(city: City, path: str, expect: int = 200, **params: Any) -> Any:
    response = city.client.get(path, params=params)
    assert response.status_code == expect, response.text
    return response.json()


def test_the_public_figures_of_march_are_counted_by_hand_and_small_bases_are_withheld(
    city: City, months: dict[str, Any]
) -> None:
    answer = get(city, "/api/v1/public/kpis", period="2026-03")
    assert (answer["month"], answer["previous_month"], answer["threshold"]) == (
        "2026-03",
        "2026-02",
        5,
    )
    found = answer["city"]
    # The counts of test_kpi_figures.py's March: 5 registered, 5 due, 3 of them closed.
    assert (found["registered"], found["due"], found["closed"], found["overdue"]) == (5, 5, 3, 2)
    assert (found["closure_rate"], found["on_time_closure_rate"]) == (0.6, 0.4)
    assert (found["closed_in_period"], found["ratings"]) == (3, 2)
    # Three closed cases, four response deadlines and two ratings: too few to publish a rate.
    assert set(found["withheld"]) == {
        "median_hours_to_close",
        "resolution_rate",
        "response_rate",
        "satisfaction",
        "satisfaction_rate",
    }
    assert all(found[name] is None for name in found["withheld"])
    # February held only d's registration and response: counts shown, its one rate withheld.
    assert answer["previous"]["registered"] == 1
    assert answer["previous"]["withheld"] == ["response_rate"]


def test_districts_under_five_cases_are_merged_and_a_merged_row_still_small_is_withheld(
    city: City, months: dict[str, Any]
) -> None:
    march = get(city, "/api/v1/public/kpis", period="2026-03")["districts"]
    # RV01 had 4 cases registered, RV02 2 due: together they make 5, enough to publish.
    assert [(row["key"], row["merged"]) for row in march] == [("other", ["RV01", "RV02"])]
    assert (march[0]["figures"]["registered"], march[0]["figures"]["closure_rate"]) == (5, 0.6)
    assert march[0]["previous"]["registered"] is None  # February's one case stays hidden
    june = get(city, "/api/v1/public/kpis", period="2026-06")
    rows = {row["key"]: row for row in june["districts"]}
    assert set(rows) == {"RV02", "other"}
    assert rows["RV02"]["name"] and rows["RV02"]["figures"]["registered"] == 5
    assert rows["RV02"]["figures"]["median_hours_to_close"] == 27.0
    # RV01's one overdue case, merged alone, is withheld whole: no count singles it out.
    assert rows["other"]["merged"] == ["RV01"]
    assert rows["other"]["figures"]["registered"] is None
    assert "satisfaction" not in rows["RV02"]["figures"]  # ratings are city-wide only
    assert (june["city"]["satisfaction"], june["city"]["satisfaction_rate"]) == (4.0, 1.0)
    assert june["city"]["on_time_closure_rate"] == 0.8333


def test_the_service_answers_the_last_complete_month_by_default(
    city: City, months: dict[str, Any]
) -> None:
    with city.ctx.reading() as session:
        answer = public.public_kpis(session, month=None, now=datetime(2026, 7, 2, tzinfo=UTC))
    assert (answer["month"], answer["complete"]) == ("2026-06", True)
    assert answer["city"]["registered"] == 6
    # A city whose first case came this month shows this month, still going on.
    with city.ctx.reading() as session:
        young = public.public_kpis(session, month=None, now=datetime(2026, 2, 25, tzinfo=UTC))
    assert (young["month"], young["complete"]) == ("2026-02", False)


def test_trends_run_month_by_month_oldest_first(city: City, months: dict[str, Any]) -> None:
    answer = get(city, "/api/v1/public/trends", end="2026-06", months=5)
    assert [p["month"] for p in answer["points"]] == [
        "2026-02",
        "2026-03",
        "2026-04",
        "2026-05",
        "2026-06",
    ]
    assert [p["registered"] for p in answer["points"]] == [1, 5, 0, 0, 6]
    assert answer["points"][-1]["median_hours_to_close"] == 27.0


def test_the_closed_case_map_has_coarse_points_and_nothing_that_leads_to_a_case(
    city: City, months: dict[str, Any]
) -> None:
    answer = get(city, "/api/v1/public/closed-cases", month="2026-03")
    points = answer["points"]
    # Closed in March: d on the 2nd, a on the 4th, b on the 10th (c closed in April).
    assert [p["closed_on"] for p in points] == ["2026-03-02", "2026-03-04", "2026-03-10"]
    assert all(set(p) == {"category", "district", "closed_on", "lat", "lon"} for p in points)
    assert all(round(p["lat"], 3) == p["lat"] and round(p["lon"], 3) == p["lon"] for p in points)
    assert answer["precision_m"] == 100


def test_answers_are_cacheable_and_a_client_holding_one_gets_304(
    city: City, months: dict[str, Any]
) -> None:
    first = city.client.get("/api/v1/public/kpis", params={"period": "2026-03"})
    assert first.headers["cache-control"] == "public, max-age=300"
    again = city.client.get(
        "/api/v1/public/kpis",
        params={"period": "2026-03"},
        headers={"If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304
    other = city.client.get(
        "/api/v1/public/kpis",
        params={"period": "2026-06"},
        headers={"If-None-Match": first.headers["etag"]},
    )
    assert other.status_code == 200


def test_a_client_asking_too_often_is_told_to_wait(city: City, months: dict[str, Any]) -> None:
    kept = city.ctx.extras.get(public_views.LIMITER)
    city.ctx.extras[public_views.LIMITER] = RateLimiter(2, what="requests", what_zh="请求")
    try:
        for _ in range(2):
            get(city, "/api/v1/public/closed-cases", month="2026-03")
        refused = city.client.get("/api/v1/public/closed-cases", params={"month": "2026-03"})
        assert refused.status_code == 429 and refused.headers["retry-after"]
    finally:
        city.ctx.extras[public_views.LIMITER] = kept or RateLimiter(0)


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/api/v1/public/kpis", {"period": "2026-13"}, 400, "operations.bad_month"),
        ("/api/v1/public/kpis", {"period": "March"}, 400, "operations.bad_month"),
        ("/api/v1/public/kpis", {"period": "2099-01"}, 404, "operations.month_not_begun"),
        ("/api/v1/public/kpis", {"period": "2026-01"}, 404, "operations.month_before_first_case"),
        ("/api/v1/public/closed-cases", {"month": "2099-01"}, 404, "operations.month_not_begun"),
        ("/api/v1/public/trends", {"end": "2025-12"}, 404, "operations.month_before_first_case"),
        ("/api/v1/public/reports/2026-13.pdf", {}, 400, "operations.bad_month"),
        ("/api/v1/public/reports/2099-02.csv", {}, 404, "operations.month_not_begun"),
        ("/api/v1/public/reports/2026-03.doc", {}, 400, "operations.report_format"),
        ("/api/v1/public/reports/2026-03.csv", {"lang": "fr"}, 400, "operations.report_language"),
    ],
)
def test_bad_months_and_formats_are_named_in_the_readers_language(
    city: City, months: dict[str, Any], path: str, params: dict[str, str], status: int, code: str
) -> None:
    answer = get(city, path, expect=status, **params)
    assert answer["code"] == code and answer["detail"]
    chinese = city.client.get(path, params=params, headers={"Accept-Language": "zh-CN"}).json()
    assert chinese["code"] == code and chinese["detail"] != answer["detail"]


def test_too_many_trend_months_are_refused(city: City, months: dict[str, Any]) -> None:
    assert get(city, "/api/v1/public/trends", expect=422, months=25)["field"] == "months"


def _closed_private_case(city: City) -> dict[str, Any]:
    """A manhole report with every personal detail, by the seeded citizen, fixed and closed."""
    lat, lon = fresh_point()
    answer = city.report(
        "citizen",
        category="C-01-01",
        lat=lat,
        lon=lon,
        attributes={"cover_state": "missing"},
        **PRIVATE,
    )
    case_id = answer["case_id"]
    city.act(case_id, "worker-facilities", action="start")
    proof = city.upload(username="worker-facilities")
    city.act(case_id, "worker-facilities", action="resolve", note="Fixed", attachments=[proof])
    city.act(case_id, "supervisor", action="verify", resolution="fixed", note="Checked")
    city.drain()
    return answer


def test_no_personal_data_appears_in_any_public_answer_or_report(
    city: City, months: dict[str, Any]
) -> None:
    answer = _closed_private_case(city)
    month = datetime.now(UTC).strftime("%Y-%m")
    texts = [
        city.client.get(path, params=params).text
        for path, params in (
            ("/api/v1/public/kpis", {"period": month}),
            ("/api/v1/public/trends", {"end": month}),
            ("/api/v1/public/closed-cases", {"month": month}),
            (f"/api/v1/public/reports/{month}.csv", {"lang": "zh-CN"}),
        )
    ]
    closed = json.loads(texts[2])["points"]
    assert closed, "the closed case is on the map"
    workbook = city.client.get(f"/api/v1/public/reports/{month}.xlsx").content
    book = load_workbook(io.BytesIO(workbook))
    texts += [str(cell.value) for sheet in book for row in sheet.iter_rows() for cell in row]
    pdf = city.client.get(f"/api/v1/public/reports/{month}.pdf")
    assert pdf.status_code == 200
    from pypdf import PdfReader

    texts += [page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages]
    everything = "\n".join(texts)
    secrets = [*PRIVATE.values(), DEMO_CITIZEN_NAME, DEMO_CITIZEN_PHONE, answer["tracking_token"]]
    assert [secret for secret in secrets if secret in everything] == []
    assert "Mr Wang" not in everything and "555 0199" not in everything
