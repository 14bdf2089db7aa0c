"""The figures in docs/performance.md are the ones the committed benchmark result files give:
every table there is generated from them by benchmarks/tables.py."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def tables() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_tables", ROOT / "benchmarks/tables.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_table_matches_its_committed_result_files() -> None:
    module = tables()
    page = module.DOC.read_text()
    rendered, missing = module.render(page)
    assert rendered == page, "docs/performance.md is stale: run benchmarks/tables.py"
    # At least one table comes from a committed file, so this test has something to compare.
    generated = [m["name"] for m in module.BLOCK.finditer(page) if m["name"] not in missing]
    assert generated, "no table of the page is generated from a committed result file"


def test_a_table_without_its_result_file_says_so() -> None:
    module = tables()
    page = module.DOC.read_text()
    _, missing = module.render(page)
    for match in module.BLOCK.finditer(page):
        if match["name"] in missing:
            assert module.NOT_KEPT in match["body"], f"table {match['name']} hides its source"


def test_a_changed_result_file_changes_its_table(tmp_path: Path) -> None:
    module = tables()
    page = module.DOC.read_text()
    for name in ("guards.json",):
        shutil.copy(module.RESULTS / name, tmp_path / name)
    figures = json.loads((tmp_path / "guards.json").read_text())
    figures["bomb_rejection"]["p50_ms"] += 1234.5
    (tmp_path / "guards.json").write_text(json.dumps(figures))
    rendered, _ = module.render(page, tmp_path)
    assert rendered != page
    assert "1,234" in rendered or "1234" in rendered
