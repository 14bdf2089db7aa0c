"""Database errors caused by the input answer 4xx problems, never a 500."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import DataError

from cityloop.base.problems import install_problem_handlers, not_found


class _DriverError(Exception):
    pass


def test_a_value_the_database_refuses_is_a_400_problem() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/store")
    def store() -> None:
        raise DataError("INSERT …", {}, _DriverError("text fields cannot contain NUL bytes"))

    response = TestClient(app).post("/store")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 400
    assert "cannot be stored" in response.json()["detail"]


def test_a_coded_problem_reads_in_the_readers_language_and_carries_its_code() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/thing/{ident}")
    def thing(ident: str) -> None:
        raise not_found("case", ident)

    client = TestClient(app)
    english = client.get("/thing/7").json()
    chinese = client.get("/thing/7", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).json()
    assert english["detail"] == "case 7 does not exist"
    assert english["title"] == "Not found"
    assert chinese["detail"] == "案卷 7 不存在"
    assert chinese["title"] == "未找到"
    assert chinese["code"] == english["code"] == "not_found"
    assert chinese["params"]["ident"] == "7"


def test_a_validation_error_names_the_field_in_the_readers_language() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/count")
    def count(n: int) -> None:
        return None

    client = TestClient(app)
    english = client.get("/count", params={"n": "many"})
    chinese = client.get("/count", params={"n": "many"}, headers={"Accept-Language": "zh"})
    assert english.status_code == chinese.status_code == 422
    assert english.json()["detail"] == "n: must be a whole number"
    assert chinese.json()["detail"] == "n：必须是整数"
    assert chinese.json()["field"] == "n"
    assert chinese.json()["code"] == "validation.integer"
    assert chinese.json()["errors"] == [{"field": "n", "message": "n：必须是整数"}]
    missing = client.get("/count", headers={"Accept-Language": "zh-CN"}).json()
    assert missing["detail"] == "n：此项必填"


def test_an_unknown_path_is_a_problem_in_the_readers_language() -> None:
    app = FastAPI()
    install_problem_handlers(app)
    response = TestClient(app).get("/nowhere", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 404
    assert response.json()["detail"] == "未找到该地址"
    assert TestClient(app).get("/nowhere").json()["detail"] == "Not Found"
