"""Every text of both front ends and of their shared kit exists in English and Chinese, and the
kit names every code the server's vocabulary lists (statuses, resolutions, priorities, channels,
timeline events) — no more, no fewer — so a new status cannot reach a screen untranslated.

The catalogues are frontend/src/{shared,app,console}/messages.ts; a key used in a component must
be in its app's catalogue or in the kit's, and no key is in both. The front ends read them with
vue-i18n, so every message must compile with its message compiler, and a message with plural
forms (`no cases | one case | {n} cases`) has a valid plural or a single form in the other language.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cityloop.domains.governance.workflow import TRANSITIONS, Channel, Priority, Resolution, Status
from cityloop.domains.services import workflow as services

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
SRC = FRONTEND / "src"
GOVERNANCE = Path(__file__).resolve().parents[2] / "src" / "cityloop" / "domains" / "governance"
LOCALES = ("en", "zh-CN")
PAIR = re.compile(r'^\s*"([^"]+)":\s*"((?:[^"\\]|\\.)*)",?\s*$')
START = {
    "en": re.compile(r"^\s*(const en\b|en: \{)"),
    "zh-CN": re.compile(r'^\s*(const zh\b|"zh-CN": \{)'),
}
# t("key"), t('key'), t(`key`) without interpolation; a route's or a menu entry's
# `title: "nav.x"` / `label: "nav.x"`; and t(`prefix.${…}`) for families.
LITERAL = re.compile(r"""(?:\bt\(\s*|\b(?:title|label):\s*)(["'`])([a-z][\w-]*\.[\w.-]+)\1""")
FAMILY = re.compile(r"""\bt\(\s*`([\w.]+)\.\$\{""")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# A {…} group, a literal such as {'|'} included: a `|` inside one does not separate plural forms.
BRACES = re.compile(r"\{(?:'[^']*'|[^}'])*\}")


def catalogue(part: str) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    current = None
    for line in (SRC / part / "messages.ts").read_text(encoding="utf-8").splitlines():
        for locale, start in START.items():
            if start.match(line):
                current = locale
                found[current] = {}
        match = PAIR.match(line)
        if match and current:
            key, text = match.groups()
            assert key not in found[current], f"{part}: {key} twice in {current}"
            found[current][key] = text
    assert set(found) == set(LOCALES), f"{part}/messages.ts: expected en and zh-CN sections"
    return found


KIT = catalogue("shared")
APPS = {"app": catalogue("app"), "console": catalogue("console")}


def sources(part: str) -> list[Path]:
    return sorted(
        p
        for p in (SRC / part).rglob("*")
        if p.suffix in (".ts", ".vue") and p.name not in ("messages.ts", "api-types.ts")
    )


def used(part: str) -> tuple[set[str], set[str]]:
    literal: set[str] = set()
    families: set[str] = set()
    for path in sources(part):
        text = path.read_text(encoding="utf-8")
        literal |= {m.group(2) for m in LITERAL.finditer(text)}
        families |= set(FAMILY.findall(text))
    return literal, families


def keys(found: dict[str, dict[str, str]]) -> set[str]:
    return set(found["en"])


def timeline_actions() -> set[str]:
    """Every action a timeline row is written with: the workflow table's, and the literal ones
    intake, citizens, sensors and the SLA sweep record."""
    written = set(TRANSITIONS)
    for path in GOVERNANCE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for call in re.finditer(r"timeline\.record\((.*?)\n\s*\)", text, re.DOTALL):
            written |= set(re.findall(r'\baction="(\w+)"', call.group(1)))
    return written


# Chinese names of texts the server sends in English (a category's questions): no English here.
SERVER_ENGLISH = "attr."


@pytest.mark.parametrize("part", ["shared", "app", "console"])
def test_both_languages_have_the_same_keys_and_placeholders(part: str) -> None:
    found = KIT if part == "shared" else APPS[part]
    only_chinese = {k for k in found["zh-CN"] if k.startswith(SERVER_ENGLISH)}
    assert sorted(set(found["en"]) ^ (set(found["zh-CN"]) - only_chinese)) == []
    for key, english in found["en"].items():
        chinese = found["zh-CN"][key]
        assert chinese.strip(), f"{part}: {key} is empty in Chinese"
        assert set(PLACEHOLDER.findall(english)) == set(PLACEHOLDER.findall(chinese)), key


def plural_forms(text: str) -> list[str]:
    """The forms of a vue-i18n message: one, or two (one | many) or three (none | one | many)."""
    return [form.strip() for form in BRACES.sub("{}", text).split("|")]


def is_valid_plural(forms: list[str]) -> bool:
    return len(forms) in (2, 3) and all(forms)


@pytest.mark.parametrize("part", ["shared", "app", "console"])
def test_plural_forms_are_valid_and_the_other_language_has_them_or_one_form(part: str) -> None:
    found = KIT if part == "shared" else APPS[part]
    wrong = []
    for key in found["en"]:
        forms = {locale: plural_forms(found[locale][key]) for locale in LOCALES}
        if all(len(f) == 1 for f in forms.values()):
            continue
        if not all(len(f) == 1 or is_valid_plural(f) for f in forms.values()):
            wrong.append(key)
    assert wrong == [], f"{part}: plural forms must be 2 or 3 non-empty forms"


def test_plural_forms_are_recognised_outside_literals() -> None:
    assert plural_forms("no cases | one case | {n} cases") == ["no cases", "one case", "{} cases"]
    assert plural_forms("a {'|'} b") == ["a {} b"]
    assert not is_valid_plural(plural_forms("one case |"))
    assert not is_valid_plural(plural_forms("a | b | c | d"))


@pytest.mark.skipif(
    not (FRONTEND / "node_modules" / "@intlify" / "message-compiler").is_dir(),
    reason="the front end's packages are not installed: run `make frontend`",
)
def test_every_message_compiles_with_the_vue_i18n_message_compiler() -> None:
    node = shutil.which("node")
    assert node, "node is needed to build the front ends"
    checked = subprocess.run(
        [node, "scripts/check-messages.mjs"],
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert ", 0 errors" in checked.stdout


def test_the_kit_names_exactly_the_codes_the_server_lists() -> None:
    kit = keys(KIT)

    def family(prefix: str) -> set[str]:
        return {k.removeprefix(prefix) for k in kit if k.startswith(prefix)}

    assert family("status.") == {s.value for s in Status}
    assert family("resolution.") == {r.value for r in Resolution}
    assert family("priority.") == {p.value for p in Priority}
    assert family("channel.") == {c.value for c in Channel}
    assert family("event.") == timeline_actions()
    assert family("phase.") == {"intake", "work", "done", "ended"}


def test_no_app_repeats_a_kit_key() -> None:
    for name, found in APPS.items():
        assert sorted(keys(found) & keys(KIT)) == [], name


def test_the_kit_uses_only_its_own_strings() -> None:
    literal, families = used("shared")
    assert sorted(literal - keys(KIT)) == []
    for prefix in families:
        assert any(k.startswith(prefix + ".") for k in keys(KIT)), prefix


@pytest.mark.parametrize("part", ["app", "console"])
def test_every_string_an_app_shows_is_translated(part: str) -> None:
    available = keys(APPS[part]) | keys(KIT)
    literal, families = used(part)
    assert sorted(literal - available) == []
    for prefix in families:
        assert any(k.startswith(prefix + ".") for k in available), prefix


def test_per_code_texts_of_the_apps_cover_the_vocabulary() -> None:
    app, console = keys(APPS["app"]), keys(APPS["console"])
    # The citizen's outcome line per resolution, and a progress step per status on the way.
    assert {f"outcome.{r.value}" for r in Resolution} <= app
    assert {f"step.{s.value}" for s in Status if s not in (Status.REJECTED, Status.MERGED)} <= app
    # Each workflow action's button, form title, help, note label and submit button.
    for action in TRANSITIONS:
        for prefix in ("action.", "action.formTitle.", "action.help.", "action.noteLabel."):
            assert prefix + action in console, prefix + action
        assert "action.submit." + action in console, action


def test_the_app_names_every_application_status_step_status_and_timeline_action() -> None:
    app = keys(APPS["app"])

    def family(prefix: str) -> set[str]:
        return {k.removeprefix(prefix) for k in app if k.startswith(prefix)}

    assert family("appStatus.") == {s.value for s in services.Status}
    assert family("stepStatus.") == {s.value for s in services.StepStatus}
    written = {
        action
        for path in (GOVERNANCE.parent / "services").glob("*.py")
        for action in re.findall(r'\baction="(\w+)"', path.read_text(encoding="utf-8"))
    }
    steps = {"step_approve", "step_deny"}  # review.py names these through _record_step
    assert family("appAction.") == set(services.APPLICATION_WORKFLOW.actions) | written | steps
