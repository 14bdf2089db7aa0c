"""The tables of docs/performance.md, generated from the result files under benchmarks/results/.

Each table in the page sits between ``<!-- table NAME: FILE[, FILE] -->`` and ``<!-- /table -->``.
When its result files are there, this script writes the table from them; `make bench` runs it
last, so a run and the figures quoted from it are committed together. A table whose files are
missing keeps its text, which must then say so (``were not kept``), and is listed.

    .venv/bin/python benchmarks/tables.py            # rewrite docs/performance.md
    .venv/bin/python benchmarks/tables.py --check    # exit 1 if the page and the files differ
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "performance.md"
BLOCK = re.compile(
    r"(?P<open><!-- table (?P<name>[\w-]+): (?P<files>[^>]+?) -->\n)"
    r"(?P<body>.*?)(?P<close><!-- /table -->)",
    re.DOTALL,
)
NOT_KEPT = "were not kept"

Renderer = Callable[[list[dict[str, Any]]], str]


def _n(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _met(values: list[bool | None]) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "—"
    return "yes" if all(known) else "no" if not any(known) else "partly"


LOAD_TITLES = {
    "healthz": "ceiling `GET /healthz`",
    "intake": "intake, no photo",
    "photo": "intake, 100 KB photo",
    "read": "read",
}


def _configs(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(config.removeprefix("workers="), rows) for config, rows in document["summary"].items()]


def load_table(documents: list[dict[str, Any]]) -> str:
    """run_all.py's summary: per scenario, each worker count's throughput and latencies."""
    configs = _configs(documents[0])
    head = "| scenario | target |"
    rule = "|---|---|"
    for workers, _ in configs:
        label = "1 worker" if workers == "1" else f"{workers} workers"
        head += f" {label}: req/s | p50 / p95 / p99 ms | × healthz |"
        rule += "---:|---|---:|"
    lines = [head + " met |", rule + "---|"]
    for key, title in LOAD_TITLES.items():
        rows = [config_rows.get(key) for _, config_rows in configs]
        if not any(rows):
            continue
        target = "(reference)" if key == "healthz" else next(r for r in rows if r)["target"]
        line = f"| {title} | {target} |"
        for row in rows:
            if row is None:
                line += " — | — | — |"
                continue
            rate = _n(row["throughput_rps"])
            line += (
                f" {rate if key == 'healthz' else f'**{rate}**'} |"
                f" {_n(row['p50_ms'])} / {_n(row['p95_ms'])} / {_n(row['p99_ms'])} |"
                f" {1 if key == 'healthz' else _n(row['ratio_to_ceiling'], 2)} |"
            )
        met = "—" if key == "healthz" else _met([r["met"] for r in rows if r])
        lines.append(line + f" {met} |")
    errors = sum(row["errors"] for _, rows in configs for row in rows.values())
    return "\n".join(lines) + f"\n\nErrors (non-2xx answers and failed connections): {errors}.\n"


def cores_table(documents: list[dict[str, Any]]) -> str:
    """The same summary, with the server's CPU: the raw-client cross-check."""
    configs = _configs(documents[0])
    head, rule = "| scenario |", "|---|"
    for workers, _ in configs:
        label = "1 worker" if workers == "1" else f"{workers} workers"
        head += f" {label}: req/s | p99 ms | server cores |"
        rule += "---:|---:|---:|"
    lines = [head, rule]
    for key, title in LOAD_TITLES.items():
        rows = [config_rows.get(key) for _, config_rows in configs]
        if not any(rows):
            continue
        line = f"| {title} |"
        for row in rows:
            line += (
                " — | — | — |"
                if row is None
                else f" {_n(row['throughput_rps'])} | {_n(row['p99_ms'])} |"
                f" {_n(row['server_cpu_cores'], 2)} |"
            )
        lines.append(line)
    return "\n".join(lines) + "\n"


def cost_table(documents: list[dict[str, Any]]) -> str:
    """One request at a time: latency and the server's CPU per request."""
    _, rows = _configs(documents[0])[0]
    lines = [
        "| request | latency p50 | server CPU per request | what one core allows |",
        "|---|---:|---:|---:|",
    ]
    for key, title in LOAD_TITLES.items():
        row = rows.get(key)
        if row is None or not row["throughput_rps"]:
            continue
        cpu_ms = 1000 * row["server_cpu_cores"] / row["throughput_rps"]
        allows = f"~{1000 / cpu_ms:,.0f}/s" if cpu_ms else "—"
        lines.append(f"| {title} | {_n(row['p50_ms'], 1)} ms | {_n(cpu_ms, 1)} ms | {allows} |")
    return "\n".join(lines) + "\n"


def perception_table(documents: list[dict[str, Any]]) -> str:
    """perception.py's runs (medians) and ngsild_query.py's latencies."""
    perception, ngsild = documents
    runs = perception["runs"]

    def values(section: str, field: str) -> list[float]:
        return [run[section][field] for run in runs if run.get(section, {}).get(field) is not None]

    def median(section: str, field: str) -> float | None:
        found = values(section, field)
        return statistics.median(found) if found else None

    def each(section: str, field: str) -> str:
        return " / ".join(_n(v) for v in values(section, field))

    ceiling = median("ceiling", "rows_per_s")
    mqtt = median("mqtt", "messages_per_s")
    batch = median("batch", "readings_per_s")
    p50, p99 = median("alarm", "p50_ms"), median("alarm", "p99_ms")
    cases = [f"{a['cases_linked']} of {a['alarms_published']}" for a in [r["alarm"] for r in runs]]
    service, http, by_id = ngsild["service"], ngsild["http"], ngsild["ceiling"]
    lines = [
        f"| figure | target | median of {len(runs)} runs | ratio | met |",
        "|---|---|---:|---|---|",
        f"| raw insert ceiling | (reference) | {_n(ceiling)} rows/s"
        f" (runs {each('ceiling', 'rows_per_s')}) | 1 | — |",
        f"| MQTT ingest, 1 reading message | ≥ 10,000 messages/s | **{_n(mqtt)} messages/s**"
        f" (runs {each('mqtt', 'messages_per_s')})"
        f" | {_n(2 * mqtt / ceiling if mqtt and ceiling else None, 2)} × ceiling in rows"
        f" | {_met([mqtt >= 10_000 if mqtt else None])} |",
        "| HTTP batch ingest | ≥ 30,000 readings/s and ≥ 0.7 × ceiling"
        f" | **{_n(batch)} readings/s**"
        f" (runs {each('batch', 'readings_per_s')})"
        f" | {_n(batch / ceiling if batch and ceiling else None, 2)} × ceiling"
        f" | {_met([batch >= 30_000 and batch >= 0.7 * ceiling if batch and ceiling else None])} |",
        f"| alarm to case, p50 / p99 | p99 < 100 ms | **{_n(p50)} ms / {_n(p99)} ms**"
        f" (p99 runs: {each('alarm', 'p99_ms')} ms; cases linked: {', '.join(cases)})"
        f" | under {_n(median('alarm', 'background_rate_achieved'))} messages/s of other traffic"
        f" | {_met([p99 < 100 if p99 is not None else None])} |",
        f"| NGSI-LD `GET /entities` type + q + near, p50 / p95 | p95 < {ngsild['target_p95_ms']} ms"
        f" | **{_n(service['p50_ms'], 1)} / {_n(service['p95_ms'], 1)} ms** (service),"
        f" **{_n(http['p50_ms'], 1)} / {_n(http['p95_ms'], 1)} ms** (HTTP)"
        f" | ceiling by-id read {_n(by_id['p50_ms'], 2)} / {_n(by_id['p95_ms'], 2)} ms"
        f" | {_met([service['p95_ms'] < ngsild['target_p95_ms']])} |",
    ]
    return "\n".join(lines) + "\n"


def guards_table(documents: list[dict[str, Any]]) -> str:
    """guards.py: how fast hostile input is turned away."""
    (figures,) = documents
    bomb, small = figures["bomb_rejection"], figures["bomb_ceiling_small_png"]
    call, budget = figures["pattern_call_limit"], figures["pattern_request_budget"]
    cheap = figures["pattern_cheap_match"]
    lines = [
        "| guard | target | p50 | p99 | ceiling | met |",
        "|---|---|---:|---:|---|---|",
        "| decompression bomb (30,000 × 30,000 PNG) rejected"
        f" | < {_n(figures['bomb_target_ms'])} ms"
        f" | {bomb['p50_ms']:.3f} ms | {bomb['p99_ms']:.3f} ms"
        f" | a 64 × 48 PNG processed: {small['p50_ms']:.3f} ms"
        f" | {_met([bomb['p99_ms'] < figures['bomb_target_ms']])} |",
    ]
    for title, row in (
        ("subscription pattern cut off (per-call limit)", call),
        ("request pattern cut off (per-request budget)", budget),
    ):
        lines.append(
            f"| {title} | ≤ {_n(row['target_ms'])} ms | {_n(row['p50_ms'])} ms"
            f" | {_n(row['p99_ms'])} ms | the limit: {_n(row['limit_ms'])} ms"
            f" | {_met([row['p99_ms'] <= row['target_ms']])} |"
        )
    lines.append(
        f"| a cheap match under the same limit | (reference) | {cheap['p50_ms']:.3f} ms"
        f" | {cheap['p99_ms']:.3f} ms | — | — |"
    )
    return "\n".join(lines) + "\n"


def nats_relay_table(documents: list[dict[str, Any]]) -> str:
    """nats_relay.py: the outbox relay over NATS JetStream, events/s end to end."""
    (figures,) = documents
    median, runs = figures["median_events_per_second"], figures["runs"]
    load = figures["machine"]["load_1_5_15"]

    def row(title: str, key: str) -> str:
        each = ", ".join(_n(v) for v in runs[key])
        return f"| {title} | {_n(median[key])} | {each} |"

    return (
        "\n".join(
            [
                f"{_n(figures['events'])} events, {figures['consumers']} consumers, median of"
                f" {len(runs['nats'])} runs; load average at the start {load[0]:.1f}"
                f" / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min)"
                f" on {figures['machine']['cores']} cores.",
                "",
                "| path | events/s (median) | runs |",
                "|---|---:|---|",
                row("outbox → NATS JetStream → both consumers' effects", "nats"),
                row("ceiling: the in-process relay, same work, no NATS", "inprocess"),
                row("ceiling: bare JetStream publish, acknowledged (messages/s)", "bare_publish"),
            ]
        )
        + "\n"
    )


def services_table(documents: list[dict[str, Any]]) -> str:
    """services.py: the hall, submission and licence verification, medians of the runs."""
    (document,) = documents
    summary = document["summary"]
    ceiling = summary["healthz"]["throughput"]
    lines = [
        "| scenario | target | throughput | p50 | p99 | ceiling | ratio | met |",
        "|---|---|---:|---:|---:|---|---:|---|",
    ]
    titles = {
        "hall": "hall `GET /api/v1/services` (14 services)",
        "guide": "guide `GET /api/v1/services/street-vending`",
        "prepare": "draft + form save (the submissions' set-up)",
        "submit": "submit an application (schema check, timeline, events)",
    }
    for name, title in titles.items():
        row = summary[name]
        target = f"≥ {_n(row['target'])}/s" if row["target"] else "—"
        lines.append(
            f"| {title} | {target} | {_n(row['throughput'])}/s | {_n(row['p50_ms'], 1)} ms"
            f" | {_n(row['p99_ms'], 1)} ms | `/healthz` {_n(ceiling)}/s"
            f" | {row['ratio_to_healthz']:.2f} × | {_met([row['met']])} |"
        )
    row = summary["verify"]
    lines.append(
        f"| verify a presented licence, one core | ≥ {_n(row['target'])}/s"
        f" | {_n(row['throughput'])}/s | — | — | Ed25519 check {_n(row['ceiling_signature'])}/s"
        f" | {row['ratio_to_ceiling']:.2f} × | {_met([row['met']])} |"
    )
    return "\n".join(lines) + "\n"


def datalog_table(documents: list[dict[str, Any]]) -> str:
    """datalog.py: appending to the access log's hash chain, and verifying it."""
    (figures,) = documents
    targets = figures["targets"]
    append, insert = figures["append_per_s"], figures["append_ceiling_plain_insert_per_s"]
    verify, sha = figures["verify_per_s"], figures["verify_ceiling_sha256_per_s"]
    return (
        "\n".join(
            [
                "| operation | target | figure | ceiling | ratio | met |",
                "|---|---|---:|---|---:|---|",
                f"| append (`record_access`, 100 per transaction) | ≥ {_n(targets['append'])}/s"
                f" | {_n(append)}/s | plain insert {_n(insert)}/s | {append / insert:.2f} ×"
                f" | {_met([append >= targets['append']])} |",
                f"| verify the chain (`cityloop datalog verify`) | ≥ {_n(targets['verify'])}/s"
                f" | {_n(verify)}/s | SHA-256 alone {_n(sha)}/s | {verify / sha:.2f} ×"
                f" | {_met([verify >= targets['verify']])} |",
            ]
        )
        + "\n"
    )


def ckan_table(documents: list[dict[str, Any]]) -> str:
    """ckan.py: package_search over 10,000 datasets, datastore_search over a million rows."""
    (figures,) = documents
    summary, targets = figures["summary"], figures["targets"]
    search, status = summary["package_search"], summary["status_show"]
    local = summary["package_search_service"]
    rows, by_id = summary["datastore_search"], summary["datastore_by_id"]
    each_search = " / ".join(_n(run["package_search"]["p95_ms"], 1) for run in figures["runs"])
    each_rows = " / ".join(_n(run["datastore_search"]["p95_ms"], 1) for run in figures["runs"])
    search_target, rows_target = (
        targets["package_search_p95_ms"],
        targets["datastore_search_p95_ms"],
    )
    return (
        "\n".join(
            [
                f"| request | target | p50 / p95 (median of {len(figures['runs'])} runs)"
                " | ceiling p50 / p95 | met |",
                "|---|---|---|---|---|",
                f"| `package_search` q + fq + 5 facets, {figures['datasets']:,} open datasets"
                f" | p95 < {_n(search_target)} ms"
                f" | **{_n(search['p50_ms'], 1)} / {_n(search['p95_ms'], 1)} ms**"
                f" (p95 runs: {each_search}; in process, no HTTP:"
                f" {_n(local['p50_ms'], 1)} / {_n(local['p95_ms'], 1)} ms)"
                f" | `status_show` {_n(status['p50_ms'], 1)} / {_n(status['p95_ms'], 1)} ms"
                f" | {_met([search['p95_ms'] < search_target])} |",
                f"| `datastore_search` with a filter, {figures['datastore_rows']:,} rows"
                f" | p95 < {_n(rows_target)} ms"
                f" | **{_n(rows['p50_ms'], 1)} / {_n(rows['p95_ms'], 1)} ms**"
                f" (p95 runs: {each_rows})"
                f" | by `_id` {_n(by_id['p50_ms'], 1)} / {_n(by_id['p95_ms'], 1)} ms"
                f" | {_met([rows['p95_ms'] < rows_target])} |",
            ]
        )
        + f"\n\nThe search index, built from scratch: {_n(summary['index_build_ms'])} ms.\n"
    )


def first_load_table(documents: list[dict[str, Any]]) -> str:
    """first_load.py: the citizen app opened cold on slow 4G, and the same with no throttling."""
    (figures,) = documents
    summary, targets = figures["summary"], figures["targets"]
    slow, fast = summary["slow_4g"], summary["unthrottled"]
    runs = len(figures["runs"]["slow_4g"])
    paint_target, wire_target = targets["first_paint_ms"], targets["wire_kb"]
    return (
        "\n".join(
            [
                f"| figure (median of {runs} cold loads) | target | slow 4G | no throttling"
                " (ceiling) | met |",
                "|---|---|---:|---:|---|",
                f"| first contentful paint | < {_n(paint_target)} ms"
                f" | **{_n(slow['first_paint_ms'])} ms** | {_n(fast['first_paint_ms'])} ms"
                f" | {_met([slow['first_paint_ms'] < paint_target])} |",
                f"| report form ready | — | {_n(slow['ready_ms'])} ms | {_n(fast['ready_ms'])} ms"
                " | — |",
                f"| bytes on the wire until the form is ready | < {_n(wire_target)} KB"
                f" | **{_n(slow['wire_kb'])} KB** ({_n(slow['files'])} files)"
                f" | {_n(fast['wire_kb'])} KB | {_met([slow['wire_kb'] < wire_target])} |",
            ]
        )
        + f"\n\n`GET /healthz` over the same slow-4G profile (the network's floor):"
        f" {_n(summary['healthz_slow_4g_ms'])} ms.\n"
    )


def operations_table(documents: list[dict[str, Any]]) -> str:
    """operations_kpis.py: the KPI report of eight cuts over 30 days, per engine and size."""
    (figures,) = documents
    target = figures["target_p95_ms"]
    lines = [
        f"| engine | case facts | rollups rebuilt in | p95 of each cut, ms"
        f" ({', '.join(OPERATIONS_CUTS)}) |"
        " worst p50 / p95 | ceiling p50 / p95 | worst × ceiling | met |",
        "|---|---:|---:|---|---|---|---:|---|",
    ]
    for result in figures["results"]:
        cuts = result["figures"]
        ceiling = cuts["ceiling: count(*) of the period"]
        measured = [
            cuts[name]
            for name in cuts
            if not name.startswith("ceiling") and name != "percentile error"
        ]
        worst = max(measured, key=lambda figure: figure["p95_ms"])
        ratio = worst["p95_ms"] / ceiling["p95_ms"] if ceiling["p95_ms"] else 0.0
        each = " / ".join(_n(figure["p95_ms"], 1) for figure in measured)
        lines.append(
            f"| {result['engine']} | {result['cases']:,}"
            f" | {_n(result.get('rebuild_seconds', 0), 0)} s | {each}"
            f" | **{_n(worst['p50_ms'], 1)} / {_n(worst['p95_ms'], 1)}**"
            f" | {_n(ceiling['p50_ms'], 1)} / {_n(ceiling['p95_ms'], 1)} | {ratio:,.0f} ×"
            f" | {_met([f['p95_ms'] < target for f in measured])} |"
        )
    return "\n".join(lines) + f"\n\nTarget: p95 < {_n(target)} ms for every cut.\n"


OPERATIONS_CUTS = (
    "city",
    "department",
    "district",
    "street",
    "grid",
    "category",
    "channel",
    "category in a department",
)


def vitals_table(documents: list[dict[str, Any]]) -> str:
    """vitals.py: every vital sign with its trend and alarms, per engine and fleet size."""
    (figures,) = documents
    target = figures["target_p95_ms"]
    lines = [
        "| engine | devices | readings | first request p50 / p95, ms | city p50 / p95, ms"
        " | district p50 / p95, ms | ceiling p50 / p95 | first × ceiling | met (city) |",
        "|---|---:|---:|---|---|---|---|---:|---|",
    ]
    for result in figures["results"]:
        found = result["figures"]
        cold, city, district = found["city, first request"], found["city"], found["district"]
        ceiling = found["ceiling: count(*) of the day's readings"]
        ratio = cold["p50_ms"] / ceiling["p50_ms"] if ceiling["p50_ms"] else 0.0
        lines.append(
            f"| {result['engine']} | {result['devices']:,} | {result['readings']:,}"
            f" | {_n(cold['p50_ms'], 1)} / {_n(cold['p95_ms'], 1)}"
            f" | **{_n(city['p50_ms'], 1)} / {_n(city['p95_ms'], 1)}**"
            f" | {_n(district['p50_ms'], 1)} / {_n(district['p95_ms'], 1)}"
            f" | {_n(ceiling['p50_ms'], 1)} / {_n(ceiling['p95_ms'], 1)} | {ratio:,.0f} ×"
            f" | {_met([city['p95_ms'] < target])} |"
        )
    return "\n".join(lines) + f"\n\nTarget: p95 < {_n(target)} ms for the city's refresh.\n"


RENDERERS: dict[str, Renderer] = {
    "operations": operations_table,
    "vitals": vitals_table,
    "ckan": ckan_table,
    "first-load": first_load_table,
    "datalog": datalog_table,
    "services": services_table,
    "load": load_table,
    "cores": cores_table,
    "cost": cost_table,
    "perception": perception_table,
    "guards": guards_table,
    "nats-relay": nats_relay_table,
}


def render(text: str, results: Path = RESULTS) -> tuple[str, list[str]]:
    """The page with every table whose result files exist regenerated; and the names of the
    tables left as they were because a file is missing."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        files = [f.strip() for f in match["files"].split(",")]
        paths = [results / Path(f).name for f in files]
        if not all(p.exists() for p in paths):
            missing.append(name)
            return match[0]
        documents = [json.loads(p.read_text()) for p in paths]
        date = documents[0].get("machine", {}).get("date", "an unrecorded date")
        sources = ", ".join(f"`{f}`" for f in files)
        body = RENDERERS[name](documents)
        note = f"\n_Generated by `benchmarks/tables.py` from {sources} (run of {date})._\n"
        return match["open"] + body + note + match["close"]

    return BLOCK.sub(replace, text), missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    parser.add_argument("--doc", type=Path, default=DOC)
    args = parser.parse_args(argv)
    text = args.doc.read_text()
    rendered, missing = render(text)
    for name in missing:
        print(f"table {name}: its result files are missing; the page must say they {NOT_KEPT}")
    if args.check:
        if rendered != text:
            print(f"{args.doc} differs from the result files: run benchmarks/tables.py")
            return 1
        return 0
    if rendered != text:
        args.doc.write_text(rendered)
        print(f"rewrote the tables of {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
