"""Open311 GeoReport v2 at /open311/v2: services, requests in and out, tokens, updates, errors."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cityloop.domains.governance.models import Category
from tests.support.city import City, fresh_point, make_city
from tests.support.media import jpeg_bytes

BASE = "/open311/v2"
API_KEY = "demo"
DOMAIN = "riverton.example"
OUTSIDE = (10.0, 10.0)  # far from the demo city


def post(
    city: City,
    fmt: str = "json",
    headers: dict[str, str] | None = None,
    files: Any = None,
    **fields: Any,
) -> httpx.Response:
    """A form POST as an Open311 client sends it; list values become repeated fields."""
    fields.setdefault("api_key", API_KEY)
    data = {k: v for k, v in fields.items() if v is not None}
    return city.client.post(f"{BASE}/requests.{fmt}", data=data, files=files, headers=headers)


def post_at_a_fresh_point(city: City, **fields: Any) -> httpx.Response:
    """A POST (as ``post``) at a point inside the city that no other test uses."""
    lat, lon = fresh_point()
    return post(city, lat=str(lat), long=str(lon), **fields)


def new_request(city: City, code: str = "C-02-01", **fields: Any) -> dict[str, Any]:
    lat, lon = fresh_point()
    fields.setdefault("lat", lat)
    fields.setdefault("long", lon)
    fields.setdefault("description", "reported through Open311")
    response = post(city, service_code=code, **fields)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert isinstance(answer, list) and len(answer) == 1
    return dict(answer[0])


def get_json(city: City, path: str, **params: Any) -> Any:
    response = city.client.get(f"{BASE}/{path}", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def get_xml(city: City, path: str, **params: Any) -> ET.Element:
    response = city.client.get(f"{BASE}/{path}", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return ET.fromstring(response.content)


def request_record(city: City, request_id: str, **params: Any) -> dict[str, Any]:
    records = get_json(city, f"requests/{request_id}.json", **params)
    assert len(records) == 1
    return dict(records[0])


def record_of(city: City, response: httpx.Response) -> dict[str, Any]:
    """The request a POST made (it must have made one), as GET requests/{id} shows it."""
    assert response.status_code == 201, response.text
    [answer] = response.json()
    return request_record(city, answer["service_request_id"])


def assert_json_error(response: httpx.Response, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    assert body[0]["code"] == status
    for word in words:
        assert word in body[0]["description"], body
    return str(body[0]["description"])


def assert_xml_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "errors"
    errors = root.findall("error")
    assert len(errors) == 1
    assert errors[0].findtext("code") == str(status)
    return errors[0].findtext("description") or ""


@pytest.fixture(scope="module")
def tagged_service(city: City) -> str:
    """A service with a multivaluelist attribute (the demo city has none)."""
    code = "T-99-01"
    with city.ctx.writing() as session:
        if session.get(Category, code) is None:
            session.add(
                Category(
                    code=code,
                    kind="event",
                    major_class="99",
                    major_name="Test",
                    name="Tagged test service",
                    description="A service whose definition has a multivaluelist",
                    keywords=["test"],
                    default_department="urbanmgmt",
                    attributes=[
                        {
                            "code": "hazards",
                            "description": "What is dangerous here?",
                            "datatype": "multivaluelist",
                            "required": True,
                            "order": 1,
                            "values": [["glass", "Glass"], ["oil", "Oil"], ["wire", "Wire"]],
                        }
                    ],
                )
            )
    return code


# ---------------------------------------------------------------- services


def test_services_json_lists_every_category_with_spec_fields(city: City) -> None:
    services = {s["service_code"]: s for s in get_json(city, "services.json")}
    manhole = services["C-01-01"]
    assert manhole["service_name"] == "Manhole cover missing or damaged"
    assert manhole["metadata"] is True
    assert manhole["type"] == "realtime"
    assert "manhole" in manhole["keywords"].split(",")
    assert manhole["group"] == "Public facilities"
    assert manhole["description"]
    assert services["C-01-02"]["metadata"] is False


def test_services_xml_has_services_root_and_boolean_text(city: City) -> None:
    root = get_xml(city, "services.xml")
    assert root.tag == "services"
    items = {s.findtext("service_code"): s for s in root.findall("service")}
    assert items["C-01-01"].findtext("metadata") == "true"
    assert items["C-01-02"].findtext("metadata") == "false"
    assert items["C-02-01"].findtext("service_name") == "Pothole"
    assert "pothole" in (items["C-02-01"].findtext("keywords") or "").split(",")


def test_services_in_chinese_with_locale_zh(city: City) -> None:
    services = {s["service_code"]: s for s in get_json(city, "services.json", locale="zh")}
    assert services["C-01-01"]["service_name"] == "井盖缺失或损坏"
    assert services["C-02-01"]["service_name"] == "道路坑槽"


def test_service_definition_json_lists_attributes_with_values(city: City) -> None:
    definition = get_json(city, "services/C-01-01.json")
    assert definition["service_code"] == "C-01-01"
    attributes = definition["attributes"]
    assert [a["code"] for a in attributes] == ["cover_state", "cover_type"]
    state = attributes[0]
    assert state["variable"] is True
    assert state["datatype"] == "singlevaluelist"
    assert state["required"] is True
    assert state["order"] == 1
    assert state["datatype_description"]
    assert state["description"] == "What is wrong with the cover?"
    assert {"key": "missing", "name": "Missing"} in state["values"]


def test_service_definition_xml_nests_attributes_and_values(city: City) -> None:
    root = get_xml(city, "services/C-02-01.xml")
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "C-02-01"
    attributes = root.findall("attributes/attribute")
    assert [a.findtext("code") for a in attributes] == ["size", "depth_cm"]
    assert attributes[0].findtext("required") == "false"
    assert attributes[0].findtext("variable") == "true"
    keys = [v.findtext("key") for v in attributes[0].findall("values/value")]
    assert keys == ["small", "medium", "large"]
    assert attributes[1].findtext("datatype") == "number"


def test_unknown_service_definition_is_404_in_both_formats(city: City) -> None:
    assert_json_error(city.client.get(f"{BASE}/services/X-99-99.json"), 404, "X-99-99")
    assert_xml_error(city.client.get(f"{BASE}/services/X-99-99.xml"), 404)


def test_unknown_format_suffix_is_404(city: City) -> None:
    assert_json_error(city.client.get(f"{BASE}/services.yaml"), 404, "format")
    assert_json_error(city.client.get(f"{BASE}/requests/1.html"), 404)
    assert_json_error(city.client.get(f"{BASE}/nothing-here.json"), 404)


def test_wrong_jurisdiction_id_is_404_and_the_city_domain_works(city: City) -> None:
    assert_json_error(
        city.client.get(f"{BASE}/services.json", params={"jurisdiction_id": "elsewhere.example"}),
        404,
        "jurisdiction_id",
    )
    assert get_json(city, "services.json", jurisdiction_id=DOMAIN)
    lat, lon = fresh_point()
    response = post(
        city, service_code="C-02-01", lat=lat, long=lon, jurisdiction_id="elsewhere.example"
    )
    assert_json_error(response, 404, "jurisdiction_id")
    lat, lon = fresh_point()
    response = post(city, service_code="C-02-01", lat=lat, long=lon, jurisdiction_id=DOMAIN)
    assert response.status_code == 201, response.text


# ---------------------------------------------------------------- POST requests


def test_standard_client_form_post_works_unchanged(city: City) -> None:
    lat, lon = fresh_point()
    response = city.client.post(
        f"{BASE}/requests.json",
        data={
            "api_key": API_KEY,
            "service_code": "C-02-01",
            "lat": str(lat),
            "long": str(lon),
            "description": "Deep pothole in the bus lane",
        },
    )
    assert response.status_code == 201, response.text
    [answer] = response.json()
    assert answer["service_request_id"].isdigit()
    assert answer["token"]
    assert answer["service_notice"]
    assert answer["account_id"] is None
    record = request_record(city, answer["service_request_id"])
    assert record["status"] == "open"
    assert record["service_code"] == "C-02-01"
    assert record["service_name"] == "Pothole"
    assert record["description"] == "Deep pothole in the bus lane"
    assert record["lat"] == pytest.approx(lat)
    assert record["long"] == pytest.approx(lon)
    assert record["zipcode"] is None
    assert record["media_url"] is None
    for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert datetime.fromisoformat(record[name]).tzinfo is not None, name
    staff = city.case(int(answer["service_request_id"]))
    assert staff["channel"] == "open311"


def test_post_xml_with_required_attribute_is_dispatched_at_once(city: City) -> None:
    lat, lon = fresh_point()
    response = post(
        city,
        "xml",
        service_code="C-01-01",
        lat=lat,
        long=lon,
        description="Cover gone",
        **{"attribute[cover_state]": "missing", "attribute[cover_type]": "sewer"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "service_requests"
    [item] = root.findall("request")
    request_id = item.findtext("service_request_id") or ""
    assert item.findtext("token")
    assert "Municipal Facilities" in (item.findtext("service_notice") or "")
    case = city.case(int(request_id))
    assert case["status"] == "dispatched"
    assert case["reports"][0]["attributes"] == {"cover_state": "missing", "cover_type": "sewer"}
    record = request_record(city, request_id)
    assert record["agency_responsible"] == "Municipal Facilities"


def test_post_multivaluelist_attribute_from_repeated_fields(
    city: City, tagged_service: str
) -> None:
    definition = get_json(city, f"services/{tagged_service}.json")
    assert definition["attributes"][0]["datatype"] == "multivaluelist"
    answer = new_request(city, tagged_service, **{"attribute[hazards][]": ["glass", "wire"]})
    case = city.case(int(answer["service_request_id"]))
    assert case["reports"][0]["attributes"] == {"hazards": ["glass", "wire"]}


def test_multivaluelist_with_an_unknown_value_is_400(city: City, tagged_service: str) -> None:
    lat, lon = fresh_point()
    response = post(
        city,
        service_code=tagged_service,
        lat=lat,
        long=lon,
        **{"attribute[hazards][]": ["glass", "lava"]},
    )
    assert_json_error(response, 400, "lava")


def test_multipart_post_with_photo_gives_absolute_media_url(city: City) -> None:
    response = post_at_a_fresh_point(
        city,
        service_code="C-02-01",
        description="with a photo",
        files={"media": ("pothole.jpg", jpeg_bytes(color="navy"), "image/jpeg")},
    )
    record = record_of(city, response)
    url = record["media_url"]
    assert url.startswith(f"{city.ctx.settings.public_base_url}/api/v1/media/")
    photo = city.client.get(url)
    assert photo.status_code == 200
    assert photo.headers["content-type"] == "image/jpeg"


def test_multipart_post_with_a_non_image_is_415(city: City) -> None:
    response = post_at_a_fresh_point(
        city,
        service_code="C-02-01",
        files={"media": ("notes.txt", b"not an image at all", "text/plain")},
    )
    assert_json_error(response, 415)


def test_post_without_api_key_is_403_error_list(city: City) -> None:
    lat, lon = fresh_point()
    response = city.client.post(
        f"{BASE}/requests.json", data={"service_code": "C-02-01", "lat": lat, "long": lon}
    )
    assert_json_error(response, 403, "api_key")
    response = city.client.post(
        f"{BASE}/requests.xml", data={"service_code": "C-02-01", "lat": lat, "long": lon}
    )
    assert "api_key" in assert_xml_error(response, 403)


def test_post_with_a_bad_api_key_is_403(city: City) -> None:
    lat, lon = fresh_point()
    response = post(city, api_key="not-a-key", service_code="C-02-01", lat=lat, long=lon)
    assert_json_error(response, 403, "api_key")


def test_post_without_service_code_is_400_naming_the_field(city: City) -> None:
    lat, lon = fresh_point()
    assert_json_error(post(city, lat=lat, long=lon), 400, "service_code")


def test_post_with_unknown_service_code_is_400_naming_it(city: City) -> None:
    lat, lon = fresh_point()
    response = post(city, service_code="Z-09-09", lat=lat, long=lon)
    assert_json_error(response, 400, "service_code", "Z-09-09")


def test_post_without_a_location_is_400(city: City) -> None:
    assert_json_error(post(city, service_code="C-02-01", description="where?"), 400, "location")


def test_post_with_a_point_outside_the_city_is_400(city: City) -> None:
    lat, lon = OUTSIDE
    assert_json_error(post(city, service_code="C-02-01", lat=lat, long=lon), 400, "outside")


def test_post_with_a_non_numeric_lat_is_400(city: City) -> None:
    assert_json_error(post(city, service_code="C-02-01", lat="north", long="1"), 400, "lat")


def test_post_with_a_bad_attribute_value_is_400(city: City) -> None:
    lat, lon = fresh_point()
    response = post(
        city, service_code="C-01-01", lat=lat, long=lon, **{"attribute[cover_state]": "gone"}
    )
    assert_json_error(response, 400, "gone", "cover_state")


def test_post_without_a_required_attribute_is_400(city: City) -> None:
    lat, lon = fresh_point()
    response = post(city, service_code="C-01-01", lat=lat, long=lon)
    assert_json_error(response, 400, "cover_state")


def test_post_with_a_description_over_4000_characters_is_400(city: City) -> None:
    lat, lon = fresh_point()
    response = post(city, service_code="C-02-01", lat=lat, long=lon, description="x" * 4001)
    assert_json_error(response, 400, "description")


def test_post_strips_html_from_the_description(city: City) -> None:
    answer = new_request(
        city, description="<p>Big <b>hole</b></p><script>alert(1)</script> &amp; water"
    )
    record = request_record(city, answer["service_request_id"])
    assert record["description"] == "Big hole & water"


def test_post_with_a_bad_email_is_400(city: City) -> None:
    lat, lon = fresh_point()
    response = post(city, service_code="C-02-01", lat=lat, long=lon, email="not-an-address")
    assert_json_error(response, 400, "email")


def test_post_with_a_json_body_is_415(city: City) -> None:
    response = city.client.post(
        f"{BASE}/requests.json", json={"api_key": API_KEY, "service_code": "C-02-01"}
    )
    assert_json_error(response, 415)


def test_post_with_an_address_string_is_geocoded(city: City) -> None:
    response = post(city, service_code="E-03-03", address_string="Lotus Street, Old Town")
    record = record_of(city, response)
    assert record["address"] == "Lotus Street, Old Town"
    assert record["lat"] and record["long"]


def test_post_with_only_an_address_id_is_geocoded_and_kept(city: City) -> None:
    response = post(city, service_code="E-03-02", address_id="Drum Tower Street")
    record = record_of(city, response)
    assert record["address_id"] == "Drum Tower Street"


def test_post_with_an_unknown_address_is_400(city: City) -> None:
    response = post(city, service_code="C-02-01", address_string="1 Nowhere Lane, Atlantis")
    assert_json_error(response, 400, "address")


def test_client_media_url_is_kept_but_not_fetched(city: City) -> None:
    answer = new_request(city, media_url="https://photos.example/p/1.jpg")
    record = request_record(city, answer["service_request_id"])
    assert record["media_url"] == "https://photos.example/p/1.jpg"
    lat, lon = fresh_point()
    response = post(
        city, service_code="C-02-01", lat=lat, long=lon, media_url="javascript:alert(1)"
    )
    assert_json_error(response, 400, "media_url")


def test_two_posts_at_one_point_and_service_join_one_request(city: City) -> None:
    lat, lon = fresh_point()
    first = new_request(city, "C-02-01", lat=lat, long=lon)
    second = new_request(city, "C-02-01", lat=lat, long=lon, description="me too")
    assert second["service_request_id"] == first["service_request_id"]
    assert second["token"] != first["token"]
    assert "Joined existing request" in second["service_notice"]
    assert first["service_request_id"] in second["service_notice"]
    records = get_json(
        city,
        "requests.json",
        service_request_id=first["service_request_id"],
        extensions="true",
    )
    assert records[0]["extended_attributes"]["supporters"] == 1


def test_idempotency_key_retry_returns_the_same_answer(city: City) -> None:
    lat, lon = fresh_point()
    fields = {"service_code": "C-02-01", "lat": lat, "long": lon, "description": "retry me"}
    headers = {"Idempotency-Key": f"open311-retry-{lat}"}
    first = post(city, headers=headers, **fields)
    again = post(city, headers=headers, **fields)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    case = city.case(int(first.json()[0]["service_request_id"]))
    assert len(case["reports"]) == 1
    # The same key with another body is a client error, not a second report.
    changed = post(city, headers=headers, **{**fields, "description": "something else"})
    assert_json_error(changed, 400, "Idempotency-Key")


def test_idempotency_key_retry_with_a_photo_returns_the_same_answer(city: City) -> None:
    lat, lon = fresh_point()
    photo = jpeg_bytes(color="teal")
    headers = {"Idempotency-Key": f"open311-photo-{lat}"}

    def send() -> httpx.Response:
        return post(
            city,
            headers=headers,
            service_code="C-02-01",
            lat=str(lat),
            long=str(lon),
            files={"media": ("p.jpg", photo, "image/jpeg")},
        )

    first, again = send(), send()
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()


def test_rate_limited_post_is_429_with_retry_after(
    templates: dict[str, str], tmp_path: Path
) -> None:
    cities: Iterator[City] = make_city(templates, "sqlite", tmp_path, intake_rate_limit=1)
    limited = next(cities)
    try:
        lat, lon = fresh_point()
        assert post(limited, service_code="C-02-01", lat=lat, long=lon).status_code == 201
        lat, lon = fresh_point()
        response = post(limited, "xml", service_code="C-02-01", lat=lat, long=lon)
        assert_xml_error(response, 429)
        assert int(response.headers["Retry-After"]) >= 1
    finally:
        next(cities, None)


# ---------------------------------------------------------------- GET requests


def test_requests_filter_by_service_code_and_status(city: City) -> None:
    hydrant = new_request(city, "C-01-04")
    bench = new_request(city, "C-04-03")
    city.act(int(bench["service_request_id"]), "dispatcher", action="reject", note="Private")
    records = get_json(city, "requests.json", service_code="C-01-04")
    assert {r["service_code"] for r in records} == {"C-01-04"}
    assert hydrant["service_request_id"] in {r["service_request_id"] for r in records}
    both = get_json(city, "requests.json", service_code="C-01-04,C-04-03")
    assert {r["service_code"] for r in both} == {"C-01-04", "C-04-03"}
    closed = get_json(city, "requests.json", service_code="C-01-04,C-04-03", status="closed")
    assert [r["service_request_id"] for r in closed] == [bench["service_request_id"]]
    assert closed[0]["status_notes"] == "Not accepted: Private"
    opened = get_json(city, "requests.json", service_code="C-01-04,C-04-03", status="open")
    assert bench["service_request_id"] not in {r["service_request_id"] for r in opened}
    assert {r["status"] for r in opened} == {"open"}
    assert_json_error(city.client.get(f"{BASE}/requests.json?status=pending"), 400, "status")


def test_requests_filter_by_dates(city: City) -> None:
    answer = new_request(city, "C-02-02")
    now = datetime.now(UTC)

    def ids(**params: str) -> set[str]:
        records = get_json(city, "requests.json", service_code="C-02-02", **params)
        return {r["service_request_id"] for r in records}

    rid = answer["service_request_id"]
    hour = timedelta(hours=1)
    assert rid in ids()  # the default window: the last 90 days
    assert rid in ids(start_date=(now - hour).isoformat(), end_date=(now + hour).isoformat())
    assert rid not in ids(start_date=(now + hour).isoformat())
    assert rid not in ids(end_date=(now - hour).isoformat())
    # A '+' offset sent unencoded arrives as a space and is still understood.
    assert rid in ids(start_date=(now - hour).strftime("%Y-%m-%dT%H:%M:%S") + " 00:00")
    assert rid in ids(start_date=(now - hour).strftime("%Y-%m-%dT%H:%M:%SZ"))


def test_requests_with_bad_dates_are_400(city: City) -> None:
    for params in (
        {"start_date": "yesterday"},
        {"end_date": "2024-13-40T00:00:00Z"},
        {"start_date": "2024-05-01T00:00:00"},  # no time zone
        {"start_date": "2024-05-02T00:00:00Z", "end_date": "2024-05-01T00:00:00Z"},
    ):
        response = city.client.get(f"{BASE}/requests.json", params=params)
        assert_json_error(response, 400, next(iter(params)))
    response = city.client.get(f"{BASE}/requests.xml", params={"start_date": "soon"})
    assert "start_date" in assert_xml_error(response, 400)


def test_service_request_id_list_overrides_other_filters(city: City) -> None:
    first = new_request(city, "C-02-03")
    second = new_request(city, "C-02-04")
    ids = f"{first['service_request_id']}, {second['service_request_id']},999999,abc,2147483648"
    records = get_json(
        city,
        "requests.json",
        service_request_id=ids,
        service_code="C-01-01",
        status="closed",
        start_date="2000-01-01T00:00:00Z",
        end_date="2000-01-02T00:00:00Z",
    )
    # Newest first.
    assert [r["service_request_id"] for r in records] == [
        second["service_request_id"],
        first["service_request_id"],
    ]


def test_requests_page_and_page_size(city: City) -> None:
    made = [new_request(city, "C-02-05")["service_request_id"] for _ in range(3)]
    newest_first = list(reversed(made))
    page1 = get_json(city, "requests.json", service_code="C-02-05", page_size=2)
    page2 = get_json(city, "requests.json", service_code="C-02-05", page_size=2, page=2)
    assert [r["service_request_id"] for r in page1] == newest_first[:2]
    assert [r["service_request_id"] for r in page2] == newest_first[2:]
    assert_json_error(city.client.get(f"{BASE}/requests.json?page=0"), 400, "page")
    too_big = city.client.get(f"{BASE}/requests.json?page_size=100000")
    assert_json_error(too_big, 400, "page_size")


def test_requests_xml_has_service_requests_root(city: City) -> None:
    answer = new_request(city, "C-02-01")
    root = get_xml(city, f"requests/{answer['service_request_id']}.xml")
    assert root.tag == "service_requests"
    [item] = root.findall("request")
    assert item.findtext("service_request_id") == answer["service_request_id"]
    assert item.findtext("status") == "open"
    assert item.findtext("service_code") == "C-02-01"
    assert item.find("zipcode") is not None
    assert float(item.findtext("lat") or "nan")


def test_unknown_request_is_404_in_json_and_xml(city: City) -> None:
    assert_json_error(city.client.get(f"{BASE}/requests/987654.json"), 404, "987654")
    assert_xml_error(city.client.get(f"{BASE}/requests/987654.xml"), 404)
    assert_json_error(city.client.get(f"{BASE}/requests/abc.json"), 404)
    for too_big in ("2147483648", "999999999999999", "99999999999999999999"):
        assert_json_error(city.client.get(f"{BASE}/requests/{too_big}.json"), 404)


def test_token_resolves_to_its_request(city: City) -> None:
    answer = new_request(city, "C-02-01")
    [record] = get_json(city, f"tokens/{answer['token']}.json")
    assert record == {"token": answer["token"], "service_request_id": answer["service_request_id"]}
    root = get_xml(city, f"tokens/{answer['token']}.xml")
    assert root.findtext("request/service_request_id") == answer["service_request_id"]
    assert_json_error(city.client.get(f"{BASE}/tokens/no-such-token.json"), 404)
    assert_xml_error(city.client.get(f"{BASE}/tokens/no-such-token.xml"), 404)


def test_extensions_show_public_notes_but_not_internal_ones(city: City) -> None:
    answer = new_request(city, "C-02-01")
    case_id = int(answer["service_request_id"])
    city.act(case_id, "dispatcher", action="comment", note="internal x", public=False)
    city.act(case_id, "dispatcher", action="comment", note="Crew booked for Tuesday", public=True)
    plain = request_record(city, str(case_id))
    assert "notes" not in plain and "extended_attributes" not in plain
    assert plain["status_notes"] == "Crew booked for Tuesday"
    record = request_record(city, str(case_id), extensions="true")
    notes = record["notes"]
    texts = [n["description"] for n in notes]
    assert "Crew booked for Tuesday" in texts
    assert not any("internal x" in t for t in texts)
    assert {"datetime", "description", "type"} <= set(notes[0])
    assert notes[0]["type"] == "status_change"
    assert notes[-1]["type"] == "comment"
    extended = record["extended_attributes"]
    assert extended["channel"] == "open311"
    assert extended["district"]["code"]
    assert extended["photos"] == []
    root = get_xml(city, f"requests/{case_id}.xml", extensions="true")
    xml_notes = root.findall("request/notes/note")
    assert [n.findtext("description") for n in xml_notes] == texts
    assert "internal x" not in ET.tostring(root, encoding="unicode")
    listed = get_json(city, "requests.json", service_request_id=str(case_id), extensions="1")
    assert "internal x" not in str(listed)


def test_no_reporter_contact_in_any_open311_get_response(city: City) -> None:
    secrets = {
        "first_name": "Zebulon",
        "last_name": "Quixotically",
        "email": "zq.secret@example.org",
        "phone": "+1 555 0199 777",
        "account_id": "acct-98765-secret",
        "device_id": "device-secret-xyz",
    }
    answer = new_request(city, "C-02-01", **secrets)
    assert answer["account_id"] == "acct-98765-secret"  # echoed to the client that sent it
    rid = answer["service_request_id"]
    city.act(int(rid), "dispatcher", action="comment", note="Looking into it", public=True)
    paths = [
        (f"requests/{rid}.json", {"extensions": "true"}),
        (f"requests/{rid}.xml", {"extensions": "true"}),
        ("requests.json", {"extensions": "true"}),
        ("requests.xml", {"extensions": "true"}),
        ("requests.json", {"service_request_id": rid, "extensions": "true"}),
        ("servicerequestupdates.json", {}),
        ("servicerequestupdates.xml", {}),
        (f"tokens/{answer['token']}.json", {}),
    ]
    for path, params in paths:
        response = city.client.get(f"{BASE}/{path}", params=params)
        assert response.status_code == 200, (path, response.text)
        assert rid in response.text, path
        for name, value in secrets.items():
            assert value not in response.text, (path, name)
        assert "Quixotic" not in response.text


def test_servicerequestupdates_list_public_events_only(city: City) -> None:
    answer = new_request(city, "C-02-01")
    rid = answer["service_request_id"]
    city.act(int(rid), "dispatcher", action="comment", note="internal y", public=False)
    city.act(int(rid), "dispatcher", action="comment", note="Inspector visiting", public=True)
    updates = get_json(city, "servicerequestupdates.json")
    mine = [u for u in updates if u["service_request_id"] == rid]
    assert [u["description"] for u in mine] == ["Report received", "Inspector visiting"]
    assert {u["status"] for u in mine} == {"open"}
    fields = {"update_id", "service_request_id", "status", "updated_datetime", "description"}
    assert all(set(u) == fields | {"media_url"} for u in mine)
    assert "internal y" not in str(updates)
    root = get_xml(city, "servicerequestupdates.xml", service_request_id=rid)
    assert root.tag == "service_request_updates"
    items = root.findall("request_update")
    assert [i.findtext("update_id") for i in items] == [u["update_id"] for u in mine]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert get_json(city, "servicerequestupdates.json", start_date=later) == []


def test_round_trip_staff_close_shows_closed_with_the_resolution(city: City) -> None:
    answer = new_request(city, "C-02-01", description="Pothole by the county road")
    case_id = int(answer["service_request_id"])
    assert request_record(city, str(case_id))["status"] == "open"
    city.act(case_id, "dispatcher", action="register")
    city.act(case_id, "dispatcher", action="dispatch", department="roads")
    city.act(case_id, "worker-roads", action="start")
    city.act(case_id, "worker-roads", action="resolve", resolution="referred", note="County road")
    city.act(
        case_id,
        "supervisor",
        action="verify",
        resolution="referred",
        referred_to="Riverton County Highways",
        note="Passed on with the photos",
    )
    record = request_record(city, str(case_id), extensions="true")
    assert record["status"] == "closed"
    assert record["status_notes"].startswith("Closed: referred to Riverton County Highways")
    assert record["expected_datetime"] is None
    assert record["agency_responsible"] == "Roads"
    assert record["extended_attributes"]["resolution"] == "referred"
    assert "status_change" in {n["type"] for n in record["notes"]}
    closed = get_json(city, "requests.json", service_request_id=str(case_id), status="open")
    assert closed[0]["status"] == "closed"  # ids override status
    ids = {r["service_request_id"] for r in get_json(city, "requests.json", status="closed")}
    assert str(case_id) in ids
    updates = get_json(city, "servicerequestupdates.json", service_request_id=str(case_id))
    assert updates[-1]["status"] == "closed"
    assert updates[-1]["description"].startswith("Closed: referred to Riverton County Highways")


def test_fixed_case_shows_before_and_after_photos(city: City) -> None:
    lat, lon = fresh_point()
    response = post(
        city,
        service_code="C-02-01",
        lat=str(lat),
        long=str(lon),
        files={"media": ("before.jpg", jpeg_bytes(color="gray"), "image/jpeg")},
    )
    assert response.status_code == 201, response.text
    case_id = int(response.json()[0]["service_request_id"])
    city.act(case_id, "dispatcher", action="register")
    city.act(case_id, "dispatcher", action="dispatch", department="roads")
    city.act(case_id, "worker-roads", action="start")
    proof = city.upload(jpeg_bytes(color="green"), username="worker-roads")
    city.act(case_id, "worker-roads", action="resolve", note="Patched", attachments=[proof])
    city.act(case_id, "supervisor", action="verify", resolution="fixed")
    record = request_record(city, str(case_id), extensions="true")
    photos = record["extended_attributes"]["photos"]
    assert len(photos) == 2
    assert photos[1].endswith(f"/api/v1/media/{proof}")
    assert record["media_url"] == photos[0]
    assert record["status_notes"].startswith("Closed: fixed")
    updates = get_json(city, "servicerequestupdates.json", service_request_id=str(case_id))
    resolved = [u for u in updates if u["media_url"]]
    assert resolved and resolved[0]["media_url"].endswith(proof)
