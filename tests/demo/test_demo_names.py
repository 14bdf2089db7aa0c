"""Everything of the demo city a person reads by name has its name in Chinese too: districts,
streets and grid cells, departments, counters, categories and their questions and answers,
services, devices, device profiles and alarm rules."""

from __future__ import annotations

from cityloop.demo.alarm_rules import demo_rules
from cityloop.demo.city import build_demo_city
from cityloop.demo.devices import PROFILE_NAMES_ZH, PROFILES, demo_devices


def test_every_place_department_counter_and_service_has_a_chinese_name() -> None:
    city = build_demo_city()
    named = [*city.jurisdictions, *city.departments, *city.counters, *city.services]
    unnamed = [getattr(thing, "code", thing) for thing in named if not thing.name_zh.strip()]
    assert city.name_zh and unnamed == []


def test_every_category_question_and_answer_has_chinese() -> None:
    for category in build_demo_city().categories:
        assert category.name_zh and category.major_name_zh, category.code
        for attribute in category.attributes:
            assert attribute.description_zh, (category.code, attribute.code)
            keys = {key for key, _ in attribute.values}
            assert {key for key, _ in attribute.values_zh} == keys, (category.code, attribute.code)


def test_every_device_profile_and_alarm_rule_has_a_chinese_name() -> None:
    assert all(device.name_zh for device in demo_devices())
    assert {profile.code for profile in PROFILES} <= set(PROFILE_NAMES_ZH)
    assert all(rule.name_zh for rule in demo_rules())
