"""Database errors caused by the input answer 4xx problems, never a 500."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import DataError

from cityloop.base.problems import install_problem_handlers


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
