"""The console's services screens name every application status, step status and timeline
action the services domain writes, in both languages, so a new one cannot reach a reviewer
untranslated."""

from __future__ import annotations

import re
from pathlib import Path

from cityloop.domains.services.workflow import APPLICATION_WORKFLOW, Status, StepStatus

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "src" / "cityloop" / "domains" / "services"
CONSOLE = ROOT / "frontend" / "src" / "console" / "messages.ts"
PAIR = re.compile(r'^\s*"([^"]+)":\s*"')


def console_keys() -> tuple[set[str], set[str]]:
    english: set[str] = set()
    chinese: set[str] = set()
    current = english
    for line in CONSOLE.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith('"zh-CN": {'):
            current = chinese
        if found := PAIR.match(line):
            current.add(found.group(1))
    return english, chinese


def written_actions() -> set[str]:
    """The workflow table's actions and every literal action a timeline row is recorded with."""
    actions = set(APPLICATION_WORKFLOW.actions)
    for path in SERVICES.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        actions |= set(re.findall(r'\baction="(\w+)"', text))
        actions |= set(re.findall(r'"(step_\w+)"', text))
    return actions


def test_every_status_step_status_and_action_has_a_console_text_in_both_languages() -> None:
    wanted = (
        {f"svc.status.{s.value}" for s in Status}
        | {f"svc.stepStatus.{s.value}" for s in StepStatus}
        | {f"svc.event.{a}" for a in written_actions()}
    )
    english, chinese = console_keys()
    assert sorted(wanted - english) == []
    assert sorted(wanted - chinese) == []
    assert {"svc.event.step_approve", "svc.event.step_deny", "svc.event.step_started"} <= wanted
