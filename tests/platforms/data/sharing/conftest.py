"""The sharing tests' city: a personal dataset of civil affairs (allowance recipients, one of
them the demo citizen), a shared one of urban management and an open one, built in it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from cityloop.platforms.application.identity import service as identity
from tests.support.catalogue import publish
from tests.support.city import City
from tests.support.identity import new_citizen
from tests.support.sharing import ALLOWANCES, OPEN_TOILETS, PITCH_ROWS, PITCHES


@dataclass(frozen=True)
class People:
    """Whose rows the allowance dataset holds: the demo citizen (Old Town), a neighbour (Old
    Town) and someone in Riverside."""

    citizen: int
    neighbour: str
    neighbour_id: int
    riverside: str
    riverside_id: int


@pytest.fixture(scope="module")
def people(city: City) -> People:
    with city.ctx.db.read() as session:
        demo = identity.find_user(session, username="citizen")
        assert demo is not None
        citizen = demo.id
    neighbour, neighbour_id = new_citizen(city, "neighbour")
    riverside, riverside_id = new_citizen(city, "riverside")
    publish(
        city,
        ALLOWANCES,
        [
            {"user_id": citizen, "name": "张丽华", "phone": "13800138000", "district": "RV01",
             "monthly_yuan": 300},
            {"user_id": neighbour_id, "name": "李四", "phone": "13900000001", "district": "RV01",
             "monthly_yuan": 250},
            {"user_id": riverside_id, "name": "王五", "phone": "13900000002", "district": "RV02",
             "monthly_yuan": 300},
            # A row whose person has no account here: read, but nobody to show it to.
            {"user_id": 987654321, "name": "赵六", "phone": None, "district": "RV01",
             "monthly_yuan": 100},
        ],
    )  # fmt: skip
    publish(city, PITCHES, PITCH_ROWS)
    publish(city, OPEN_TOILETS, [{"code": "T1", "seats": 4}])
    return People(citizen, neighbour, neighbour_id, riverside, riverside_id)
