"""One-stop services under load, for `make bench`: the service hall's catalogue read, application
submission, and e-licence verification.

- **Hall** `GET /api/v1/services` (the whole catalogue, 14 services) and one guide
  `GET /api/v1/services/street-vending`. Target ≥ 2,000 reads/s. Ceiling: `GET /healthz`.
- **Submission** `POST /api/v1/applications/{id}/submit` by the demo citizen, each on its own
  draft prepared beforehand (a six-field form the server checks against its JSON Schema; the
  preparation's own rate is printed too). Target ≥ 200 submissions/s. Ceiling: `GET /healthz`.
- **Verification** of a presented licence (an SD-JWT VC with two of its claims disclosed) in
  this process on one core, against a trust store fetched from the server once, as an offline
  verifier holds it. Target ≥ 2,000 verifications/s. Ceiling: the bare Ed25519 signature check
  of the same token, which every verification must do.

Run: .venv/bin/python benchmarks/services.py [--reps 3] [--scale 1.0]
Writes benchmarks/results/services.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from cityloop.platforms.application.credentials.sdjwt import b64url_decode, split  # noqa: E402
from cityloop.platforms.application.credentials.trust import fetch_trust  # noqa: E402
from cityloop.platforms.application.credentials.verify import verify  # noqa: E402
from harness import Server, machine_info, run_load  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "services.json"
CONCURRENCY = 32
TARGETS = {"hall": 2000.0, "guide": 2000.0, "submit": 200.0, "verify": 2000.0}
FORM_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 2, "maxLength": 50},
        "phone": {"type": "string", "pattern": r"^1[3-9]\d{9}$"},
        "address": {"type": "string", "minLength": 4, "maxLength": 200},
        "date": {"type": "string", "format": "date"},
        "people": {"type": "integer", "minimum": 1, "maximum": 500},
        "purpose": {"enum": ["sports", "meeting", "show"]},
    },
    "required": ["name", "phone", "address", "date", "people", "purpose"],
}
FORM = {
    "name": "张丽华", "phone": "13800138000", "address": "河畔市老城区老街 42 号",
    "date": "2027-03-01", "people": 20, "purpose": "meeting",
}  # fmt: skip
LICENCE = {
    "type": "bench-licence", "name": "Bench licence", "name_zh": "测试证照", "valid_days": 30,
    "claims": {"holder": "applicant.name", "address": "form.address", "phone": "form.phone",
               "number": "application.number"},
    "disclosable": ["address", "phone"],
}  # fmt: skip


def bench_service(code: str, licence: bool) -> dict[str, Any]:
    return {
        "code": code, "name": "Bench service", "name_zh": "压测事项",
        "description": "A service for the benchmark.", "description_zh": "压测用事项。",
        "audience": ["person"], "department": "culture", "online_level": "full_online",
        "realname_level": 2, "time_limit_days": 5,
        "form": {"schema": FORM_SCHEMA}, "workflow": [{"departments": ["culture"], "days": 3}],
        **({"licence": LICENCE} if licence else {}),
    }  # fmt: skip


def token(client: httpx.Client, username: str) -> dict[str, str]:
    reply = client.post("/api/v1/auth/token", data={"username": username, "password": "demo"})
    reply.raise_for_status()
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


def clients(base_url: str, headers: dict[str, str]) -> list[httpx.AsyncClient]:
    return [
        httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            timeout=60.0,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        for _ in range(CONCURRENCY)
    ]


def presented_licence(
    client: httpx.Client, citizen: dict[str, str], handler: dict[str, str]
) -> str:
    """A licence issued through the workflow, presented with two claims disclosed."""
    draft = client.post("/api/v1/applications", json={"service": "bench-licensed"}, headers=citizen)
    number = draft.json()["id"]
    client.put(f"/api/v1/applications/{number}/form", json={"form": FORM}, headers=citizen)
    client.post(f"/api/v1/applications/{number}/submit", headers=citizen).raise_for_status()
    accepted = client.post(f"/api/v1/staff/applications/{number}/accept", headers=handler)
    step = accepted.json()["steps"][0]["id"]
    decided = client.post(
        f"/api/v1/staff/applications/{number}/steps/{step}/approve", headers=handler
    )
    assert decided.json()["status"] == "issued", decided.text
    shown = client.post(
        f"/api/v1/me/licences/{number}/presentations",
        json={"disclose": ["address", "phone"]}, headers=citizen,
    )  # fmt: skip
    return str(shown.json()["presentation"])


async def load(server: Server, scale: float) -> dict[str, Any]:
    with httpx.Client(base_url=server.base_url, timeout=60.0) as client:
        admin, citizen = token(client, "admin"), token(client, "citizen")
        handler = token(client, "handler-culture")
        for code, licensed in (("bench-plain", False), ("bench-licensed", True)):
            saved = client.put(
                f"/api/v1/services/{code}", json=bench_service(code, licensed), headers=admin
            )
            saved.raise_for_status()
        presentation = presented_licence(client, citizen, handler)
    anonymous, signed_in = clients(server.base_url, {}), clients(server.base_url, citizen)
    seconds, count = 5.0 * scale, int(4000 * scale)
    figures: dict[str, Any] = {}
    try:

        async def healthz(slot: int, seq: int) -> int:
            return (await anonymous[slot].get("/healthz")).status_code

        async def hall(slot: int, seq: int) -> int:
            return (await anonymous[slot].get("/api/v1/services")).status_code

        async def guide(slot: int, seq: int) -> int:
            return (await anonymous[slot].get("/api/v1/services/street-vending")).status_code

        drafts: list[int] = []

        async def prepare(slot: int, seq: int) -> int:
            made = await signed_in[slot].post(
                "/api/v1/applications", json={"service": "bench-plain"}
            )
            number = made.json()["id"]
            saved = await signed_in[slot].put(
                f"/api/v1/applications/{number}/form", json={"form": FORM}
            )
            drafts.append(number)
            return saved.status_code

        async def submit(slot: int, seq: int) -> int:
            return (
                await signed_in[slot].post(f"/api/v1/applications/{drafts[seq]}/submit")
            ).status_code

        pgid = server.pgid
        for name, job, limit in (
            ("healthz", healthz, count),
            ("hall", hall, count),
            ("guide", guide, count),
        ):
            await run_load(
                name,
                job,
                concurrency=CONCURRENCY,
                max_requests=200,
                max_seconds=0.5,
                server_pgid=pgid,
            )
            figures[name] = (
                await run_load(
                    name,
                    job,
                    concurrency=CONCURRENCY,
                    max_requests=limit,
                    max_seconds=seconds,
                    server_pgid=pgid,
                )
            ).summary()
        prepared = await run_load(
            "prepare",
            prepare,
            concurrency=CONCURRENCY,
            max_requests=int(1500 * scale),
            max_seconds=60.0,
            server_pgid=pgid,
        )
        figures["prepare"] = prepared.summary()
        figures["submit"] = (
            await run_load(
                "submit",
                submit,
                concurrency=CONCURRENCY,
                max_requests=len(drafts),
                max_seconds=seconds,
                server_pgid=pgid,
            )
        ).summary()
    finally:
        for one in anonymous + signed_in:
            await one.aclose()
    figures["presentation"] = presentation
    return figures


def verification(server: Server, presentation: str, scale: float) -> dict[str, Any]:
    """Verifications per second on one core, and the bare signature check as the ceiling."""
    store = fetch_trust(server.base_url, fetch=lambda url: httpx.get(url, timeout=10.0).content)
    now = datetime.now(UTC)
    verdict = verify(presentation, trust=store, now=now)
    assert verdict.valid, verdict
    parsed = split(presentation)
    header_b64, payload_b64, signature_b64 = parsed.jwt.split(".")
    header = json.loads(b64url_decode(header_b64))
    issuer = json.loads(b64url_decode(payload_b64))["iss"]
    key = store.key(issuer, header["kid"])
    assert key is not None
    signing_input = f"{header_b64}.{payload_b64}".encode()
    signature = b64url_decode(signature_b64)
    rounds = int(3000 * scale)

    def per_second(action: Any) -> float:
        started = time.process_time()
        for _ in range(rounds):
            action()
        return rounds / (time.process_time() - started)

    return {
        "verify_per_cpu_second": round(
            per_second(lambda: verify(presentation, trust=store, now=now)), 1
        ),
        "ceiling_signature_per_cpu_second": round(
            per_second(lambda: key.verify(signature, signing_input)), 1
        ),
        "presentation_bytes": len(presentation),
    }


def one_run(scale: float) -> dict[str, Any]:
    server = Server(workers=1)
    server.env["CITYLOOP_PUBLIC_BASE_URL"] = server.base_url
    server.env["CITYLOOP_OUTBOUND_ALLOW"] = "127.0.0.1"
    with server:
        figures = asyncio.run(load(server, scale))
        figures["verify"] = verification(server, figures.pop("presentation"), scale)
    return figures


def median(runs: list[dict[str, Any]], scenario: str, key: str) -> float:
    return statistics.median(float(run[scenario][key]) for run in runs)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ceiling = median(runs, "healthz", "throughput_rps")
    summary: dict[str, Any] = {"healthz": {"throughput": ceiling}}
    for name in ("hall", "guide", "prepare", "submit"):
        throughput = median(runs, name, "throughput_rps")
        summary[name] = {
            "throughput": round(throughput, 1),
            "p50_ms": round(median(runs, name, "p50_ms"), 1),
            "p99_ms": round(median(runs, name, "p99_ms"), 1),
            "errors": max(int(run[name]["errors"]) for run in runs),
            "ratio_to_healthz": round(throughput / ceiling, 3) if ceiling else None,
            "target": TARGETS.get(name),
            "met": throughput >= TARGETS[name] if name in TARGETS else None,
        }
    verify_rate = median(runs, "verify", "verify_per_cpu_second")
    signature = median(runs, "verify", "ceiling_signature_per_cpu_second")
    summary["verify"] = {
        "throughput": round(verify_rate, 1), "ceiling_signature": round(signature, 1),
        "ratio_to_ceiling": round(verify_rate / signature, 3), "target": TARGETS["verify"],
        "met": verify_rate >= TARGETS["verify"],
    }  # fmt: skip
    return summary


TITLES = {
    "hall": "hall GET /api/v1/services",
    "guide": "guide GET /services/{code}",
    "prepare": "draft + form save (setup)",
    "submit": "submit an application",
}


def print_summary(summary: dict[str, Any]) -> None:
    ceiling = summary["healthz"]["throughput"]
    print(f"services (1 worker, {CONCURRENCY} clients; medians)")
    print(f"  ceiling GET /healthz {ceiling:,.0f}/s")
    for name, title in TITLES.items():
        row = summary[name]
        verdict = "met" if row["met"] else "NOT met"
        target = f"target >= {row['target']:,.0f}/s ({verdict})" if row["target"] else ""
        print(
            f"  {title:<30} {row['throughput']:8,.0f}/s  p50 {row['p50_ms']:6.1f} ms"
            f"  p99 {row['p99_ms']:6.1f} ms  = {row['ratio_to_healthz']:.2f} x healthz"
            f"  errors {row['errors']}  {target}"
        )
    row = summary["verify"]
    verdict = "met" if row["met"] else "NOT met"
    print(
        f"  {'verify a licence (1 core)':<30} {row['throughput']:8,.0f}/s"
        f"  ceiling: Ed25519 check {row['ceiling_signature']:,.0f}/s"
        f" = {row['ratio_to_ceiling']:.2f} x  target >= {row['target']:,.0f}/s ({verdict})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    runs = [one_run(args.scale) for _ in range(args.reps)]
    summary = summarise(runs)
    print_summary(summary)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"machine": machine_info(), "runs": runs, "summary": summary}, indent=2) + "\n",
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
