from tests.support.city import City, fresh_point


def test_health_and_ready(city: City) -> None:
    assert city.client.get("/healthz").json() == {"status": "ok"}
    assert city.client.get("/readyz").json()["status"] == "ready"


def test_manhole_report_is_dispatched_at_once(city: City) -> None:
    lat, lon = fresh_point()
    photo = city.upload()
    answer = city.report(
        category="C-01-01", lat=lat, lon=lon, media=[photo], attributes={"cover_state": "missing"}
    )
    case = city.case(answer["case_id"])
    assert case["status"] == "dispatched"
    assert case["department"]["code"] == "facilities"


def test_the_config_tells_front_ends_where_the_city_is(city: City) -> None:
    config = city.client.get("/api/v1/config").json()
    assert config["city_name_zh"] == "河港市"
    min_lon, min_lat, max_lon, max_lat = config["bounds"]
    assert min_lon < config["center"][0] < max_lon
    assert min_lat < config["center"][1] < max_lat


def test_a_uniqueness_race_is_a_409_not_a_500(city: City) -> None:
    from sqlalchemy.exc import IntegrityError

    app = city.client.app

    @app.get("/_test/race")  # type: ignore[attr-defined,untyped-decorator]
    def race() -> None:
        raise IntegrityError("INSERT …", {}, Exception("UNIQUE constraint failed"))

    response = city.client.get("/_test/race")
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
