"""`cityloop credentials verify|fetch-trust|rotate`.

``verify_command`` holds the logic of `credentials verify` so that another command (the services
domain's `cityloop licence verify`) can offer the same verifier under its own name.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from cityloop.base.cli import DataDir, fail, settings_for, unit_of_work
from cityloop.base.outbound import AddressPolicy, Outbound
from cityloop.platforms.application.credentials import keys, runtime, service
from cityloop.platforms.application.credentials.qr import presentation_from_qr
from cityloop.platforms.application.credentials.trust import (
    TrustError,
    TrustStore,
    fetch_trust,
    outbound_fetch,
)
from cityloop.platforms.application.credentials.verify import Verdict, verify
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor

credentials_app = typer.Typer(
    help="Verifiable credentials: verify, cache trust for offline use, rotate keys.",
    no_args_is_help=True,
)
CLI_ACTOR = Actor(None, "cli", Role.ADMIN)

Cache = Annotated[
    Path | None,
    typer.Option(help="a trust store made by fetch-trust (else this server's own database)"),
]


def _outbound(data_dir: Path | None, url: str) -> Outbound:
    """The base's outbound client, admitting the host the operator named (it may be on a
    private network, which the policy otherwise refuses)."""
    settings = settings_for(data_dir)
    host = urlsplit(url).netloc.rpartition("@")[2]
    policy = AddressPolicy.from_setting(",".join(filter(None, [settings.outbound_allow, host])))
    return Outbound(policy, max_redirects=settings.outbound_max_redirects)


def read_presentation(argument: str) -> str:
    """The presentation an argument gives: the text, ``@file``, or ``-`` for standard input;
    a scanned QR code's text (a verify link) is accepted too."""
    if argument == "-":
        text = sys.stdin.read()
    elif argument.startswith("@"):
        try:
            text = Path(argument[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read {argument[1:]}: {exc}")
    else:
        text = argument
    return presentation_from_qr(text)


def verify_presentation(
    presentation: str,
    *,
    cache: Path | None,
    offline: bool,
    data_dir: Path | None = None,
    issuer: str | None = None,
    vct: str | None = None,
    now: datetime | None = None,
) -> Verdict:
    """The verdict, from a cached trust store (refreshed online unless ``offline``) or, with no
    cache, from this server's database."""
    if cache is None:
        if offline:
            fail("--offline needs --cache DIR (a trust store made by fetch-trust)")
        settings = settings_for(data_dir)
        with unit_of_work(data_dir, write=False) as session:
            trust = service.DatabaseTrust(
                session, authority=runtime.authority_for(settings), keys=service.PublicKeyCache()
            )
            return verify(presentation, trust=trust, now=now, issuer=issuer, vct=vct)
    try:
        store = TrustStore.load(cache)
    except TrustError as exc:
        fail(str(exc))
    if not offline and store.base_url:
        store.fetch = outbound_fetch(_outbound(data_dir, store.base_url))
    verdict = verify(presentation, trust=store, now=now, issuer=issuer, vct=vct)
    if store.fetch is not None:
        store.save(cache)  # keep what was refreshed for the next offline check
    return verdict


def render_verdict(verdict: Verdict) -> str:
    """The verdict as a person reads it, in both languages."""
    lines = [
        f"{'VALID' if verdict.valid else 'REFUSED'} ({verdict.reason.value})",
        verdict.message_en,
        verdict.message_zh,
    ]
    if verdict.valid:
        lines += [
            f"issuer: {verdict.issuer}",
            f"type: {verdict.vct}",
            f"valid: {verdict.valid_from} .. {verdict.expires_at or 'no end'}",
        ]
        lines += [
            f"  {name}: {json.dumps(value, ensure_ascii=False)}"
            for name, value in verdict.claims.items()
        ]
    return "\n".join(lines)


def verify_command(
    argument: str,
    *,
    cache: Path | None = None,
    offline: bool = False,
    data_dir: Path | None = None,
    issuer: str | None = None,
    vct: str | None = None,
    as_json: bool = False,
) -> None:
    """Verify, print the verdict and exit non-zero (1) when it is a refusal."""
    verdict = verify_presentation(
        read_presentation(argument),
        cache=cache,
        offline=offline,
        data_dir=data_dir,
        issuer=issuer,
        vct=vct,
    )
    if as_json:
        typer.echo(json.dumps(verdict.as_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(render_verdict(verdict))
    if not verdict.valid:
        raise typer.Exit(1)


@credentials_app.command("verify")
def verify_cli(
    presentation: Annotated[str, typer.Argument(help="the presentation, @file, or - (stdin)")],
    cache: Cache = None,
    offline: Annotated[bool, typer.Option(help="use only the cache; never the network")] = False,
    issuer: Annotated[str | None, typer.Option(help="the issuer expected")] = None,
    vct: Annotated[str | None, typer.Option(help="the credential type expected")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the verdict as JSON")] = False,
    data_dir: DataDir = None,
) -> None:
    """Verify a presentation; exit code 1 when it is refused."""
    verify_command(
        presentation,
        cache=cache,
        offline=offline,
        data_dir=data_dir,
        issuer=issuer,
        vct=vct,
        as_json=as_json,
    )


@credentials_app.command("fetch-trust")
def fetch_trust_cli(
    url: Annotated[str, typer.Option(help="the city's public base URL")],
    cache: Annotated[Path, typer.Option(help="the directory to keep the trust store in")],
    data_dir: DataDir = None,
) -> None:
    """Download every issuer's keys and status lists for offline verification."""
    if not url.startswith(("http://", "https://")):
        fail("--url must be an http:// or https:// URL")
    try:
        store = fetch_trust(url, fetch=outbound_fetch(_outbound(data_dir, url)))
        store.save(cache)
    except TrustError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {cache}: {exc}")
    typer.echo(
        f"cached {len(store.issuers)} issuers and {len(store.status_lists)} status lists in {cache}"
    )


@credentials_app.command("rotate")
def rotate_cli(issuer: str, data_dir: DataDir = None) -> None:
    """Give an issuer (a department code) a new signing key; old credentials still verify."""
    settings = settings_for(data_dir)
    authority = runtime.authority_for(settings)
    with unit_of_work(data_dir) as session:
        row = keys.rotate_key(session, vault=authority.vault, issuer_code=issuer, actor=CLI_ACTOR)
        kid = row.kid
    typer.echo(f"issuer {issuer} now signs with key {kid}")


def install(app: typer.Typer) -> None:
    """Add `credentials` to the root command."""
    app.add_typer(credentials_app, name="credentials")
