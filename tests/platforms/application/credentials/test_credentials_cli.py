"""`cityloop credentials fetch-trust | verify | rotate` as an inspector and an operator run them:
trust fetched from a running server, presentations verified online and then offline with the
server gone, and a key rotated from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cityloop.base.db import Database
from cityloop.cli import app
from cityloop.platforms.application.credentials import runtime, service
from cityloop.platforms.application.credentials.qr import qr_payload
from cityloop.settings import Settings
from tests.support.credentials import CLAIMS, DISCLOSABLE, VCT, with_payload
from tests.support.servers import Server, seed, token

runner = CliRunner()


@dataclass
class Issuer:
    """A running city and a way to issue credentials into its database."""

    server: Server
    settings: Settings

    def issue(self, issuer: str = "urbanmgmt") -> service.Issued:
        db = Database(self.settings.resolved_database_url)
        try:
            with db.writing() as session:
                return service.issue(
                    session,
                    authority=runtime.authority_for(self.settings),
                    issuer=issuer,
                    vct=VCT,
                    claims=CLAIMS,
                    disclosable=DISCLOSABLE,
                    expires_at=datetime.now(UTC) + timedelta(days=30),
                )
        finally:
            db.dispose()

    def revoke(self, credential_id: str) -> None:
        headers = {"Authorization": f"Bearer {token(self.server.base, 'admin')}"}
        answer = httpx.post(
            f"{self.server.base}/api/v1/credentials/{credential_id}/revoke",
            headers=headers,
            timeout=10,
        )
        assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issuer]:
    data_dir = tmp_path_factory.mktemp("credentials-cli")
    seed(data_dir)
    server = Server("serve", data_dir)
    server.start()
    try:
        yield Issuer(server, Settings(data_dir=data_dir, public_base_url=server.base))
    finally:
        server.kill()


def cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=stdin, env=env)
    return result.exit_code, result.output


def fetch_trust(city: Issuer, cache: Path) -> str:
    code, output = cli(
        "credentials", "fetch-trust", "--url", city.server.base, "--cache", str(cache)
    )
    assert code == 0, output
    return output


def test_fetch_trust_then_verify_online_shows_only_the_disclosed_claims(
    city: Issuer, tmp_path: Path
) -> None:
    shown = service.present(city.issue().sd_jwt, disclose=["holder_name", "permit_valid"])
    output = fetch_trust(city, tmp_path)
    assert "cached 1 issuers and 1 status lists" in output
    assert (tmp_path / "trust.json").exists()
    code, output = cli("credentials", "verify", shown, "--cache", str(tmp_path))
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0] == "VALID (valid)" and "有效" in lines[2]
    assert '  holder_name: "李明 Li Ming"' in lines and "  permit_valid: true" in lines
    assert "11010519491231002X" not in output


def test_a_refused_presentation_exits_1_with_its_reason_in_both_languages(
    city: Issuer, tmp_path: Path
) -> None:
    issued = city.issue()
    fetch_trust(city, tmp_path)
    forged = with_payload(issued.sd_jwt, {"permit_number": "SV-9999"})
    code, output = cli("credentials", "verify", forged, "--cache", str(tmp_path), "--offline")
    assert code == 1
    assert output.splitlines() == [
        "REFUSED (bad-signature)",
        "The signature does not match: the credential was altered or forged",
        "签名不符：凭证已被篡改或伪造",
    ]
    code, output = cli("credentials", "verify", forged, "--cache", str(tmp_path), "--json")
    assert code == 1 and json.loads(output)["reason"] == "bad-signature"


def test_a_revocation_reaches_a_cached_verifier_when_its_list_is_due(
    city: Issuer, tmp_path: Path
) -> None:
    issued = city.issue()
    fetch_trust(city, tmp_path)
    city.revoke(issued.credential.id)
    # Within the list's ttl an offline verifier still goes by the list it holds…
    code, _ = cli("credentials", "verify", issued.sd_jwt, "--cache", str(tmp_path), "--offline")
    assert code == 0
    # …and once the ttl has passed, an online one fetches it again and keeps the new one.
    index = json.loads((tmp_path / "trust.json").read_text())
    for entry in index["status_lists"].values():
        entry["fetched_at"] = 0
    (tmp_path / "trust.json").write_text(json.dumps(index))
    code, output = cli("credentials", "verify", issued.sd_jwt, "--cache", str(tmp_path))
    assert code == 1 and output.startswith("REFUSED (revoked)"), output
    code, output = cli(
        "credentials", "verify", issued.sd_jwt, "--cache", str(tmp_path), "--offline"
    )
    assert code == 1 and output.startswith("REFUSED (revoked)"), output


def test_verify_reads_a_file_standard_input_or_a_scanned_link(city: Issuer, tmp_path: Path) -> None:
    shown = service.present(city.issue().sd_jwt, disclose=["permit_valid"])
    cache = tmp_path / "cache"
    fetch_trust(city, cache)
    (tmp_path / "p.txt").write_text(shown + "\n")
    link = qr_payload(shown, verify_url=f"{city.server.base}/verify")
    for argument, stdin in ((f"@{tmp_path / 'p.txt'}", None), ("-", shown), (link, None)):
        code, output = cli("credentials", "verify", argument, "--cache", str(cache), stdin=stdin)
        assert code == 0 and output.startswith("VALID"), output


def test_without_a_cache_verify_asks_this_servers_database(city: Issuer) -> None:
    issued = city.issue()
    env = {"CITYLOOP_PUBLIC_BASE_URL": city.server.base}
    data_dir = str(city.settings.data_dir)
    code, output = cli("credentials", "verify", issued.sd_jwt, "--data-dir", data_dir, env=env)
    assert code == 0 and output.startswith("VALID"), output
    city.revoke(issued.credential.id)  # no cache to wait for: the database says so at once
    code, output = cli("credentials", "verify", issued.sd_jwt, "--data-dir", data_dir, env=env)
    assert code == 1 and output.startswith("REFUSED (revoked)"), output


def test_rotate_gives_a_new_key_and_old_credentials_still_verify(
    city: Issuer, tmp_path: Path
) -> None:
    old = city.issue("parks")
    data_dir = str(city.settings.data_dir)
    code, output = cli("credentials", "rotate", "parks", "--data-dir", data_dir)
    assert code == 0 and output.startswith("issuer parks now signs with key "), output
    new_kid = output.split()[-1]
    new = city.issue("parks")
    assert new.credential.kid == new_kid != old.credential.kid
    fetch_trust(city, tmp_path)
    for credential in (old, new):
        code, output = cli(
            "credentials", "verify", credential.sd_jwt, "--cache", str(tmp_path), "--offline"
        )
        assert code == 0, output
    code, output = cli("credentials", "rotate", "ministry", "--data-dir", data_dir)
    assert code == 2 and "unknown department 'ministry'" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("verify", "x", "--offline"), "--offline needs --cache"),
        (("verify", "x", "--cache", "/nonexistent/cache"), "holds no trust store"),
        (("verify", "@/nonexistent/file"), "cannot read /nonexistent/file"),
        (("fetch-trust", "--url", "ftp://x", "--cache", "/tmp/x"), "must be an http"),
    ],
)
def test_bad_command_lines_are_one_line_errors(args: tuple[str, ...], message: str) -> None:
    code, output = cli("credentials", *args)
    assert code == 2 and message in output, output


def test_fetch_trust_from_a_server_that_is_not_there_is_an_error(tmp_path: Path) -> None:
    from tests.support.servers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    code, output = cli("credentials", "fetch-trust", "--url", url, "--cache", str(tmp_path))
    assert code == 2 and output.startswith("error: ") and url in output
    assert not (tmp_path / "trust.json").exists()


# Last: it stops the module's server.
def test_offline_verification_works_with_the_server_gone(city: Issuer, tmp_path: Path) -> None:
    valid, revoked = city.issue(), city.issue()
    city.revoke(revoked.credential.id)
    fetch_trust(city, tmp_path)
    city.server.kill()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{city.server.base}/healthz", timeout=2)
    index = json.loads((tmp_path / "trust.json").read_text())
    for entry in index["status_lists"].values():
        entry["fetched_at"] = 0  # due for a refresh that cannot happen
    (tmp_path / "trust.json").write_text(json.dumps(index))
    for flags in (["--offline"], []):
        code, output = cli("credentials", "verify", valid.sd_jwt, "--cache", str(tmp_path), *flags)
        assert code == 0 and output.startswith("VALID"), output
        code, output = cli(
            "credentials", "verify", revoked.sd_jwt, "--cache", str(tmp_path), *flags
        )
        assert code == 1 and output.startswith("REFUSED (revoked)"), output
