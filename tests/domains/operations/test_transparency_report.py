"""The monthly transparency report as PDF, CSV and XLSX, in English and Chinese, with the
hand-counted figures of June 2026 (tests/domains/operations/cases.py); and the staff edition,
with every figure, for city-wide staff only and audited."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook
from PIL import ImageFile
from pypdf import PdfReader

from cityloop.bridges import case_facts
from cityloop.platforms.application.identity import service as identity
from tests.domains.operations.cases import june_cases, march_cases, staff_account
from tests.support.city import City

REPORT = "/api/v1/public/reports/2026-06"


@pytest.fixture(scope="module")
def june(city: City) -> None:
    with city.ctx.writing() as session:
        march_cases(session, year=2026)
        june_cases(session)
        case_facts.reconcile(session)


def fetch(city: City, extension: str, **headers: str) -> Any:
    lang = headers.pop("lang", None)
    response = city.client.get(
        f"{REPORT}.{extension}", params={"lang": lang} if lang else {}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_pdf_report_holds_the_months_figures_in_english(city: City, june: None) -> None:
    response = fetch(city, "pdf", lang="en")
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    assert "City transparency report, June 2026" in text
    # 6 registered, 5 of 6 due cases closed (83.3%), median 27 hours, 4 stars on average.
    assert "83.3%" in text and "27.0" in text and "4.0" in text
    # The league: water ranked first of one, in the top tier; roads too small to rank.
    assert "Water Utility" in text
    assert "Advanced" in text and "Not ranked" in text
    assert "Hotspots of the month" in text
    # WeasyPrint turns this global on when imported; media uploads must go on refusing
    # truncated images after a report was printed.
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_the_pdf_report_reads_in_chinese_from_accept_language(city: City, june: None) -> None:
    response = fetch(city, "pdf", **{"Accept-Language": "zh-CN,zh;q=0.9"})
    assert response.headers["content-language"] == "zh-CN"
    text = pdf_text(response.content)
    assert "2026年6月 城市治理公开报告" in text
    assert "按期结案率" in text and "83.3%" in text and "先进" in text


def test_the_workbook_has_four_sheets_with_the_numbers(city: City, june: None) -> None:
    response = fetch(city, "xlsx", lang="en")
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Summary", "Districts", "Departments", "Daily trend"]
    summary = {row[0]: row[1:] for row in book["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["Cases registered"][:2] == (6, 0)
    assert summary["On-time closure rate"][0] == 0.8333
    departments = list(book["Departments"].iter_rows(min_row=2, values_only=True))
    assert departments[0][:5] == (1, "water", "Water Utility", 100.0, "Advanced")
    days = list(book["Daily trend"].iter_rows(min_row=2, values_only=True))
    assert len(days) == 30 and days[0] == ("2026-06-01", 1, 0) and days[1][2] == 1
    chinese = load_workbook(io.BytesIO(fetch(city, "xlsx", lang="zh-CN").content))
    assert chinese.sheetnames == ["总体", "各区", "各部门", "每日趋势"]


def test_the_csv_has_a_bom_the_city_and_each_district(city: City, june: None) -> None:
    response = fetch(city, "csv", lang="zh-CN")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row["代码"] for row in rows] == ["*", "RV02", "other"]
    assert (rows[0]["立案数"], rows[0]["按期结案率"]) == ("6", "0.8333")
    # RV01's one case, merged alone, is withheld: its cells are empty.
    assert rows[2]["立案数"] == "" and rows[2]["名称"] == "其他区（合并）"


def test_a_report_of_the_same_figures_is_answered_304(city: City, june: None) -> None:
    first = fetch(city, "csv", lang="en")
    again = city.client.get(
        f"{REPORT}.csv", params={"lang": "en"}, headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    chinese = city.client.get(
        f"{REPORT}.csv",
        params={"lang": "zh-CN"},
        headers={"If-None-Match": first.headers["etag"]},
    )
    assert chinese.status_code == 200


def test_city_wide_staff_read_every_figure_and_the_read_is_audited(city: City, june: None) -> None:
    response = city.client.get(
        "/api/v1/operations/reports/2026-06.xlsx",
        params={"lang": "en"},
        headers=city.headers("supervisor"),
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "private, no-store"
    book = load_workbook(io.BytesIO(response.content))
    districts = {row[0]: row for row in book["Districts"].iter_rows(min_row=2, values_only=True)}
    # RV01's one overdue case stands alone here, and each unit shows its satisfaction.
    assert set(districts) == {"RV01", "RV02"} and districts["RV01"][2] == 1
    header = next(book["Departments"].iter_rows(max_row=1, values_only=True))
    assert "Satisfaction (mean stars)" in header
    pdf = city.client.get(
        "/api/v1/operations/reports/2026-06.pdf",
        params={"lang": "zh-CN"},
        headers=city.headers("supervisor"),
    )
    assert "内部版" in pdf_text(pdf.content) and "不公布" not in pdf_text(pdf.content)
    with city.ctx.reading() as session:
        trail = identity.audit_trail(session, target="report:2026-06")
    assert [(e.action, e.actor) for e in trail][:1] == [("operations.staff_report", "supervisor")]


def test_the_staff_report_is_for_city_wide_staff_only(city: City, june: None) -> None:
    with city.ctx.writing() as session:
        staff_account(session, "leader-rv02-report", "leader", district="RV02")
    path = "/api/v1/operations/reports/2026-06.csv"
    assert city.client.get(path).status_code == 401
    scoped = city.client.get(path, headers=city.headers("leader-rv02-report"))
    assert (scoped.status_code, scoped.json()["code"]) == (403, "operations.report_city_wide")
    citizen = city.client.get(path, headers=city.headers("citizen"))
    assert citizen.status_code == 403
