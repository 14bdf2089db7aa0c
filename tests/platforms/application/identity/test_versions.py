"""Versioned configuration (identity's ``versions``) and departments as configuration, as
service functions: the version a client names, the fields a version changed, the unique version
that stops two racing edits, and the guards on deactivation."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from cityloop.base.problems import Problem
from cityloop.platforms.application.identity import departments, versions
from cityloop.platforms.application.identity.service import Actor
from tests.support.city import City
from tests.support.configuration import fresh_code

ADMIN = Actor(1, "admin", "admin")


@pytest.mark.parametrize(
    ("given", "if_match", "expected"),
    [(3, None, 3), (None, '"4"', 4), (None, 'W/"5"', 5), (None, "6", 6), (None, None, None)],
)
def test_the_version_comes_from_the_body_or_if_match(
    given: int | None, if_match: str | None, expected: int | None
) -> None:
    assert versions.expected_version(given=given, if_match=if_match) == expected


def test_an_if_match_that_is_no_number_names_the_header() -> None:
    with pytest.raises(Problem) as caught:
        versions.expected_version(given=None, if_match='"abc"')
    assert caught.value.status == 400 and caught.value.field == "If-Match"


def test_a_version_names_only_the_fields_that_changed() -> None:
    before = {"name": "Roads", "name_zh": "道路", "active": True}
    assert versions.changed_fields(before, {**before, "name_zh": "道路管理处"}) == ["name_zh"]
    assert versions.changed_fields(None, before) == ["active", "name", "name_zh"]


def test_two_edits_racing_to_the_same_version_cannot_both_be_kept(city: City) -> None:
    code = fresh_code("race").lower()
    with city.ctx.writing() as session:
        departments.add(session, code=code, name="A", name_zh="甲", kind="department", actor=ADMIN)
    # The second writer passed the version check before the first committed: its version row
    # collides with the first's, so its whole edit rolls back (the HTTP layer answers 409).
    with pytest.raises(IntegrityError), city.ctx.writing() as session:
        versions.record(
            session,
            kind="department",
            key=code,
            version=1,
            action="edit",
            state={"code": code},
            before=None,
            actor=ADMIN,
        )
    with city.ctx.reading() as session:
        assert [v.action for v in versions.history(session, kind="department", key=code)] == [
            "create"
        ]


def test_renaming_checks_the_version_and_keeps_the_old_names_in_history(city: City) -> None:
    code = fresh_code("ren").lower()
    with city.ctx.writing() as session:
        departments.add(session, code=code, name="A", name_zh="甲", kind="department", actor=ADMIN)
        departments.rename(
            session, code=code, version=1, name="B", name_zh="乙", kind="department", actor=ADMIN
        )
    with pytest.raises(Problem) as caught, city.ctx.writing() as session:
        departments.rename(
            session, code=code, version=1, name="C", name_zh="丙", kind="department", actor=ADMIN
        )
    assert caught.value.status == 409 and caught.value.extra["current_version"] == 2
    with city.ctx.reading() as session:
        found = versions.history(session, kind="department", key=code)
    assert [(v.version, v.state["name"]) for v in found] == [(2, "B"), (1, "A")]


def test_a_registered_guard_blocks_deactivation_and_registering_twice_is_harmless(
    city: City,
) -> None:
    code = fresh_code("grd").lower()

    def still_needed(_session: object, department: str) -> list[str]:
        return ["the test's own reason"] if department == code else []

    departments.register_deactivation_guard(still_needed)
    departments.register_deactivation_guard(still_needed)
    with city.ctx.writing() as session:
        departments.add(session, code=code, name="A", name_zh="甲", kind="department", actor=ADMIN)
    with pytest.raises(Problem) as caught, city.ctx.writing() as session:
        departments.set_active(session, code=code, version=1, active=False, actor=ADMIN)
    assert caught.value.status == 409
    assert caught.value.extra["blockers"] == ["the test's own reason"]


def test_a_department_with_active_staff_stays_active(city: City) -> None:
    with pytest.raises(Problem) as caught, city.ctx.writing() as session:
        departments.set_active(session, code="water", version=1, active=False, actor=ADMIN)
    assert caught.value.status == 409
    assert any(b.startswith("active account") for b in caught.value.extra["blockers"])
