"""Every line the server writes for a person exists in English and Chinese: each registered
message code has both templates with the same placeholders, every code the source uses is
registered, and the packages converted to message codes build no problem from a bare string."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cityloop.base.messages import templates
from cityloop.base.problem_texts import THINGS, TITLES
from cityloop.modules import load_modules

SOURCE = Path(__file__).resolve().parents[2] / "src" / "cityloop"

# The packages (or single modules) whose problems all carry a message code. The others still
# build some details from English strings; each joins this list once converted.
CONVERTED = (
    "base",
    "app.py",
    "platforms/application/identity",
    "platforms/application/notify",
    "platforms/application/media",
    "platforms/application/geo",
    "platforms/application/appointments",
    "platforms/application/calendar",
    "platforms/application/credentials",
    "platforms/application/webhooks",
    "platforms/data/access",
    "platforms/data/catalogue",
    "platforms/data/ckan",
    "platforms/data/sharing",
    "platforms/data/perception",
    "domains/governance",
    "domains/services",
    "domains/operations",
    "bridges",
    "platforms/data/perception/ngsild",
)
# NGSI-LD keeps the NGSI-LD error format (ETSI types and titles); its details are message codes
# (``ngsild.*``) like every other package's.
NGSILD = "platforms/data/perception/ngsild"

# The problem helpers, and where each takes its detail and its problem type.
#   name: (position of detail, position of type_ or None)
PROBLEM_BUILDERS: dict[str, tuple[int, int | None]] = {
    "Problem": (2, 1),
    "bad_request": (0, 2),
    "unprocessable": (0, 2),
    "conflict": (0, 1),
    "forbidden": (0, None),
    # NGSI-LD's: the ETSI error type is their name or their first argument.
    "bad_data": (0, None),
    "invalid": (0, None),
    "unauthorized": (0, None),
    "NgsiError": (1, None),
    "WebhookInputError": (0, None),
}

PLACEHOLDER = re.compile(r"\{(\w+)\}")
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture(scope="module")
def catalogue() -> dict[str, tuple[str, str]]:
    load_modules()  # every package registers its templates when imported
    return templates()


def _names(template: str) -> set[str]:
    """A template's placeholders; ``{x_zh}`` is the Chinese form of ``{x}``."""
    return {name.removesuffix("_zh") for name in PLACEHOLDER.findall(template)}


def _sources(*parts: str) -> Iterator[Path]:
    for part in parts:
        path = SOURCE / part
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def _calls(path: Path) -> Iterator[ast.Call]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            yield node


def _called(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def _argument(call: ast.Call, position: int | None, keyword: str) -> ast.expr | None:
    for given in call.keywords:
        if given.arg == keyword:
            return given.value
    if position is not None and position < len(call.args):
        return call.args[position]
    return None


def test_every_message_has_a_chinese_translation(catalogue: dict[str, tuple[str, str]]) -> None:
    untranslated = [
        code
        for code, (english, chinese) in catalogue.items()
        if not english.strip()
        or not chinese.strip()
        # A line with words needs Chinese ones; a bare field name may stay as it is.
        or (not CJK.search(chinese) and not re.fullmatch(r"[\w{}]+", english))
    ]
    assert not untranslated, "\n".join(untranslated)


def test_both_languages_of_a_message_use_the_same_placeholders(
    catalogue: dict[str, tuple[str, str]],
) -> None:
    differing = [
        code for code, (english, chinese) in catalogue.items() if _names(english) != _names(chinese)
    ]
    assert not differing, "\n".join(differing)


def test_every_message_renders_with_its_placeholders_filled(
    catalogue: dict[str, tuple[str, str]],
) -> None:
    broken = []
    for code, pair in catalogue.items():
        for template in pair:
            try:
                template.format(**{name: "x" for name in PLACEHOLDER.findall(template)})
            except (KeyError, IndexError, ValueError):
                broken.append(code)
    assert not broken, "\n".join(broken)


def test_every_message_code_the_source_uses_is_registered(
    catalogue: dict[str, tuple[str, str]],
) -> None:
    unknown = [
        f"{path.relative_to(SOURCE)}:{call.lineno}: {code.value}"
        for path in _sources(".")
        for call in _calls(path)
        if _called(call) == "Message"
        and call.args
        and isinstance(code := call.args[0], ast.Constant)
        and isinstance(code.value, str)
        and code.value not in catalogue
    ] + [
        # NGSI-LD's details: text("code") is the message ngsild.code.
        f"{path.relative_to(SOURCE)}:{call.lineno}: {code.value}"
        for path in _sources(NGSILD)
        for call in _calls(path)
        if _called(call) == "text"
        and call.args
        and isinstance(code := call.args[0], ast.Constant)
        and f"ngsild.{code.value}" not in catalogue
    ]
    assert not unknown, "\n".join(unknown)


def test_converted_packages_build_no_problem_from_a_bare_string() -> None:
    literal = [
        f"{path.relative_to(SOURCE)}:{call.lineno}"
        for path in _sources(*CONVERTED)
        for call in _calls(path)
        if (builder := PROBLEM_BUILDERS.get(_called(call) or ""))
        and isinstance(
            _argument(call, builder[0], "detail"), ast.Constant | ast.JoinedStr | ast.BinOp
        )
    ]
    assert not literal, "\n".join(literal)


def test_every_problem_type_of_a_converted_package_has_a_title_in_both_languages() -> None:
    untitled = sorted(
        {
            f"{path.relative_to(SOURCE)}: {slug.value}"
            for path in _sources(*CONVERTED)
            for call in _calls(path)
            if (builder := PROBLEM_BUILDERS.get(_called(call) or ""))
            and isinstance(slug := _argument(call, builder[1], "type_"), ast.Constant)
            and slug.value not in TITLES
        }
    )
    assert not untitled, "\n".join(untitled)


def test_every_thing_a_404_names_has_a_chinese_name() -> None:
    unnamed = sorted(
        {
            f"{path.relative_to(SOURCE)}: {what.value}"
            for path in _sources(".")
            for call in _calls(path)
            if _called(call) == "not_found"
            and call.args
            and isinstance(what := call.args[0], ast.Constant)
            and what.value not in THINGS
        }
    )
    assert not unnamed, "\n".join(unnamed)


def test_the_walk_finds_a_bare_string_where_there_is_one(tmp_path: Path) -> None:
    # The source walk must be able to fail: a literal detail in a file is found.
    sample = tmp_path / "sample.py"
    sample.write_text('raise bad_request("plain English", "field")\nraise forbidden(f"x {y}")\n')
    found = [
        call.lineno
        for call in _calls(sample)
        if (builder := PROBLEM_BUILDERS.get(_called(call) or ""))
        and isinstance(_argument(call, builder[0], "detail"), ast.Constant | ast.JoinedStr)
    ]
    assert found == [1, 2]
