"""The password policy: length, a mix of classes, not the username, not a common password; each
broken rule is its own code, with the text in English and Chinese."""

from __future__ import annotations

import pytest

from cityloop.base.problems import Problem
from cityloop.platforms.application.identity.accounts import generated_password
from cityloop.platforms.application.identity.policy import (
    PasswordPolicy,
    character_classes,
    common_passwords,
)

POLICY = PasswordPolicy(min_length=10, min_classes=2)


def rule_of(password: str, username: str = "ann") -> str:
    with pytest.raises(Problem) as caught:
        POLICY.check(password=password, username=username)
    assert caught.value.status == 400 and caught.value.field == "password"
    return str(caught.value.extra["rule"])


def test_a_password_shorter_than_the_minimum_is_refused_naming_the_length() -> None:
    assert rule_of("Sh0rt-pw") == "too-short"
    with pytest.raises(Problem) as caught:
        POLICY.check(password="Sh0rt-pw", username="ann")
    assert "10" in caught.value.detail and "10" in caught.value.extra["detail_zh"]


def test_a_password_of_one_character_class_is_refused() -> None:
    assert rule_of("onlylowercaseletters") == "too-few-classes"
    assert rule_of("12345678901234") == "too-few-classes"


def test_the_username_is_no_password_whatever_its_case() -> None:
    assert rule_of("Ann.Handler1", username="ann.handler1") == "is-username"


def test_a_common_password_is_refused_whatever_its_case() -> None:
    assert "password123" in common_passwords()
    assert rule_of("Password123") == "common"
    assert rule_of("QWERTY12345") == "common"


def test_a_password_over_200_characters_is_refused() -> None:
    assert rule_of("Aa1-" * 51) == "too-long"


def test_a_long_mixed_password_keeps_every_rule() -> None:
    POLICY.check(password="river-ling-2026", username="ann")
    POLICY.check(password="河港市的春天来了abc", username="ann")


def test_chinese_characters_count_as_their_own_class() -> None:
    assert character_classes("河港") == 1
    assert character_classes("河港abc") == 2
    assert character_classes("aA1-") == 4


def test_the_field_named_is_the_one_given() -> None:
    with pytest.raises(Problem) as caught:
        POLICY.check(password="short", username="ann", field="new_password")
    assert caught.value.field == "new_password"


def test_a_stricter_policy_asks_for_more() -> None:
    strict = PasswordPolicy(min_length=16, min_classes=4)
    assert strict.broken_rule(password="river-ling-2026", username="ann") is not None
    assert strict.broken_rule(password="River-Ling-2026-spring", username="ann") is None


def test_generated_passwords_keep_the_policy_and_differ() -> None:
    strict = PasswordPolicy(min_length=20, min_classes=4)
    made = {generated_password(strict) for _ in range(20)}
    assert len(made) == 20
    assert all(strict.broken_rule(password=p, username="") is None for p in made)
    assert all(len(p) >= 20 for p in made)
