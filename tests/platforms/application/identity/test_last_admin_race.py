"""Two admins demoting each other at the same moment: one wins, the other is told the city must
keep an admin, and one active admin remains (on each engine)."""

from __future__ import annotations

import threading

from sqlalchemy import select, update

from cityloop.base.problems import Problem
from cityloop.platforms.application.identity import accounts, service
from cityloop.platforms.application.identity.cli import CLI_ACTOR
from cityloop.platforms.application.identity.models import User
from cityloop.platforms.application.identity.policy import PasswordPolicy
from tests.support.city import City


def test_two_admins_demoting_each_other_at_once_leave_one_admin(city: City) -> None:
    with city.ctx.db.writing() as session:
        for name in ("twin-a", "twin-b"):
            accounts.create_staff_user(
                session, actor=CLI_ACTOR, policy=PasswordPolicy(), username=name, role="admin",
                password="river-ling-2026", must_change_password=False,
            )  # fmt: skip
        session.execute(
            update(User)
            .where(User.role == "admin", User.username.not_in(["twin-a", "twin-b"]))
            .values(active=False)
        )
        actors = {
            name: service.actor_for(user)
            for name in ("twin-a", "twin-b")
            if (user := service.find_user(session, username=name)) is not None
        }
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def demote(actor: str, other: str) -> None:
        start.wait()
        try:
            with city.ctx.db.writing() as session:
                accounts.update_user(
                    session, username=other, actor=actors[actor], changes={"role": "supervisor"}
                )
            outcomes[actor] = "demoted"
        except Problem as problem:
            outcomes[actor] = problem.type_

    threads = [
        threading.Thread(target=demote, args=("twin-a", "twin-b")),
        threading.Thread(target=demote, args=("twin-b", "twin-a")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes.values()) == ["demoted", "last-admin"], outcomes
    with city.ctx.db.read() as session:
        admins = session.scalars(
            select(User.username).where(User.role == "admin", User.active.is_(True))
        ).all()
    assert len(admins) == 1
