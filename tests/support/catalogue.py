"""Datasets for tests: declare one with its rows, and the platform builds and publishes it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from cityloop.platforms.data.catalogue import build, producers
from cityloop.settings import Settings
from tests.support.city import City


def spec(name: str, *, fields: Sequence[dict[str, Any]], **entry: Any) -> producers.DatasetSpec:
    """A dataset declaration with test defaults for what the test does not care about."""
    defaults: dict[str, Any] = {
        "owner_department": "facilities",
        "title": name.replace("-", " ").capitalize(),
        "title_zh": f"测试数据集 {name}",
        "description": f"The {name} test dataset.",
        "description_zh": f"测试数据集 {name}。",
        "theme": "REGI",
        "frequency": "WEEKLY",
        "sensitivity": "open",
    }
    return producers.DatasetSpec(
        name=name, table_schema={"fields": list(fields)}, **{**defaults, **entry}
    )


def publish(city: City, declared: producers.DatasetSpec, rows: Sequence[dict[str, Any]]) -> None:
    """Register a producer of these rows in the city and build its dataset now."""

    def produce(session: Session, *, settings: Settings) -> list[dict[str, Any]]:
        return [dict(row) for row in rows]

    producers.register(city.ctx, producers.FunctionProducer(declared, produce))
    build.build(city.ctx, name=declared.name)
