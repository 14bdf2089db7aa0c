"""Every grant status, history action and refusal has its words in both languages: the console
names each status and action, and the server's refusal messages exist in English and Chinese."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from cityloop.base.messages import Message
from cityloop.platforms.data.sharing import events, messages
from cityloop.platforms.data.sharing.views import StatusFilter
from cityloop.platforms.data.sharing.workflow import GRANT_WORKFLOW, GrantStatus

CONSOLE = Path(__file__).resolve().parents[4] / "frontend" / "src" / "console"
PAIR = re.compile(r'^\s*"([^"]+)":\s*"((?:[^"\\]|\\.)*)"')


def console_texts() -> tuple[dict[str, str], dict[str, str]]:
    english: dict[str, str] = {}
    chinese: dict[str, str] = {}
    current = english
    for line in (CONSOLE / "messages.ts").read_text(encoding="utf-8").splitlines():
        if line.strip().startswith('"zh-CN": {'):
            current = chinese
        if found := PAIR.match(line):
            current[found.group(1)] = found.group(2)
    return english, chinese


def test_the_console_names_every_status_and_action_in_both_languages() -> None:
    english, chinese = console_texts()
    actions = {"request", *GRANT_WORKFLOW.actions}
    assert actions == set(events.BY_ACTION)
    owner_actions = [r.action for r in GRANT_WORKFLOW.rows if r.party == "owner"]
    for key in (
        [f"sharing.status.{s.value}" for s in GrantStatus]
        + [f"sharing.event.{a}" for a in actions]
        + [f"sharing.action.{a}" for a in owner_actions]
    ):
        assert english.get(key) and chinese.get(key), key
    listed = re.search(r"GRANT_STATUSES = \[(.*?)\]", (CONSOLE / "sharing.ts").read_text("utf-8"))
    assert listed is not None
    assert re.findall(r'"(\w+)"', listed.group(1)) == [s.value for s in GrantStatus]
    assert set(get_args(StatusFilter)) == {s.value for s in GrantStatus}


def test_every_refusal_reads_in_both_languages_with_its_details() -> None:
    params = {
        "department": "health (Health Commission)", "department_zh": "卫生健康委员会",
        "target": "dataset d (D)", "target_zh": "“数据”（d）", "owner": "Civil Affairs",
        "owner_zh": "民政局", "grant": "7", "at": "2027-01-01T00:00:00+00:00",
        "reason": "no duty", "fields": "phone", "granted": "name", "scope": "district = RV01",
    }  # fmt: skip
    for code in messages.TEMPLATES:
        line = messages.coded(code, **params)
        english, chinese = line.render("en"), line.render("zh-CN")
        assert english and chinese and english != chinese, code
        assert isinstance(line, Message)
    assert "#7" in messages.coded("sharing.grant-expired", **params).render("zh-CN")
