"""Operators' alarm writes go through the group commit: an acknowledgement refused for one
alarm (a 409) rolls back alone, and the others committed in the same group are kept audited."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from cityloop.base import metrics
from cityloop.platforms.application.identity.models import AuditEntry
from tests.support.city import City
from tests.support.group_commit import all_at_once
from tests.support.perception import BASE, alarm_rule, alarms_of, send, watched_device

STUCK = alarm_rule("state", "STUCK", "MINOR", attribute="status", values=["stuck"])


def raised_alarm(city: City) -> int:
    _, apikey, device = watched_device(city, STUCK)
    send(city, apikey, device, "status|stuck")
    [alarm] = alarms_of(city, device)
    return int(alarm["id"])


def ack(city: City, alarm_id: int) -> Callable[[], int]:
    headers = city.headers("dispatcher")  # signed in before the threads start
    return lambda: city.client.post(f"{BASE}/alarms/{alarm_id}/ack", headers=headers).status_code


def test_a_refused_acknowledgement_in_a_group_leaves_the_others_acknowledged(
    city: City,
) -> None:
    fresh = [raised_alarm(city) for _ in range(3)]
    acked = raised_alarm(city)
    assert ack(city, acked)() == 200
    commits = metrics.GROUP_COMMITS.value()
    sends = [ack(city, a) for a in fresh]
    sends.insert(1, ack(city, acked))  # acknowledged already: a 409
    answers = all_at_once(city.ctx.db, sends)
    if city.ctx.db._group is not None:  # SQLite: the held unit, then all four in one group
        assert metrics.GROUP_COMMITS.value() - commits == 2
    assert answers == [200, 409, 200, 200]
    admin = city.headers("admin")
    states = {
        a: city.client.get(f"{BASE}/alarms/{a}", headers=admin).json()["status"]
        for a in [*fresh, acked]
    }
    assert states == {a: "ACTIVE_ACK" for a in [*fresh, acked]}
    with city.ctx.db.read() as session:
        targets = sorted(
            session.scalars(
                select(AuditEntry.target).where(
                    AuditEntry.action == "alarm.ack",
                    AuditEntry.target.in_([f"alarm:{a}" for a in [*fresh, acked]]),
                )
            )
        )
    assert targets == sorted(f"alarm:{a}" for a in [*fresh, acked])  # one each, none twice
