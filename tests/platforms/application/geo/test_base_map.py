"""The city's own base map: its roads, river and landmarks are drawn under the case maps with no
tile server, and a pin's address is said in words, in English and Chinese."""

from __future__ import annotations

from tests.support.city import City

# Design units of Riverton's map (1e-4 degree from (120.108, 30.223)), as in demo/devices.py.
ON_TEMPLE_ROAD = (30.2622, 120.143)  # Temple Road at x=350, y=392; City Hall is ~140 m south
FAR_FROM_ANY_ROAD = (30.269, 120.114)  # inside Drum Tower Street, >1 km from every landmark


def resolve(city: City, at: tuple[float, float]) -> dict:
    lat, lon = at
    answer = city.client.get("/api/v1/geo/resolve", params={"lat": lat, "lon": lon})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_base_map_holds_the_citys_roads_river_and_landmarks_named_in_both_languages(
    city: City,
) -> None:
    answer = city.client.get("/api/v1/geo/basemap")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/geo+json")
    features = answer.json()["features"]
    kinds = {f["properties"]["kind"] for f in features}
    assert kinds == {"road", "river", "landmark"}
    names = {f["properties"]["name"]: f["properties"]["name_zh"] for f in features}
    assert names["Temple Road"] == "文庙路"
    assert names["River Ling"] == "灵江"
    assert names["City Hall"] == "市政府"
    assert all(f["properties"]["name_zh"] for f in features)
    # Rivers are drawn first and landmarks last, so pins and labels sit on top of the lines.
    order = [f["properties"]["kind"] for f in features]
    assert order.index("landmark") > max(i for i, kind in enumerate(order) if kind == "road")
    assert order[0] == "river"


def test_a_pin_on_a_road_is_told_by_its_road_and_the_landmark_it_is_near(city: City) -> None:
    placed = resolve(city, ON_TEMPLE_ROAD)
    address = placed["address"]
    assert address["road"]["name"] == "Temple Road"
    assert address["road"]["distance_m"] < 10
    assert address["landmark"]["name"] == "City Hall"
    assert 100 < address["landmark"]["distance_m"] < 200
    assert address["text"] == "Temple Road, near City Hall"
    assert address["text_zh"] == "文庙路，市政府附近"
    assert placed["district"]["code"]  # the jurisdictions are still there beside it


def test_a_point_far_from_every_road_and_landmark_has_no_address_but_still_its_district(
    city: City,
) -> None:
    placed = resolve(city, FAR_FROM_ANY_ROAD)
    assert placed["address"] is None
    assert placed["district"]["code"] == "RV01"
    assert placed["street"]["code"] == "RV01-S02"
