"""Every public status line exists in English and Chinese with the same placeholders."""

from __future__ import annotations

import re

from cityloop.domains.governance.messages import TEMPLATES, Message


def test_both_languages_use_the_same_placeholders() -> None:
    for code, (english, chinese) in TEMPLATES.items():
        names_en = {n.removesuffix("_zh") for n in re.findall(r"\{(\w+)\}", english)}
        names_zh = {n.removesuffix("_zh") for n in re.findall(r"\{(\w+)\}", chinese)}
        assert names_en == names_zh, code


def test_a_department_renders_in_each_language() -> None:
    message = Message("assigned", {"department": "Roads", "department_zh": "道路管理处"})
    assert message.render() == "Assigned to Roads"
    assert message.render("zh-CN") == "已派遣至道路管理处"


def test_a_missing_chinese_name_falls_back_to_the_english_one() -> None:
    assert Message("handed_over", {"department": "Gas Co."}).render("zh-CN") == "已移交Gas Co."
