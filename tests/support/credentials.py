"""Credentials for tests: a street-vending permit issued by the demo city's departments, the
verifiers (the server's own, and a trust store filled from what the city publishes) and ways to
tamper with tokens."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from cityloop.platforms.application.credentials import runtime, service
from cityloop.platforms.application.credentials.service import Issued
from cityloop.platforms.application.credentials.trust import TrustStore
from cityloop.platforms.application.credentials.verify import Verdict, verify
from tests.support.city import City

VCT = "https://riverton.example/vct/street-vending-permit"
CLAIMS: dict[str, Any] = {
    "holder_name": "李明 Li Ming",
    "id_number": "11010519491231002X",
    "permit_valid": True,
    "permit_number": "SV-2026-0042",
    "pitch": {"market": "Riverside Night Market", "number": 17},
}
# permit_number stays visible in every presentation; the rest the holder chooses.
DISCLOSABLE = ("holder_name", "id_number", "permit_valid", "pitch")
ISSUER = "urbanmgmt"


def issue(city: City, **overrides: Any) -> Issued:
    """A permit issued now by ``urbanmgmt`` (unless overridden), valid for a year."""
    options: dict[str, Any] = {
        "issuer": ISSUER,
        "vct": VCT,
        "claims": CLAIMS,
        "disclosable": DISCLOSABLE,
        "subject_ref": "application:A-1001",
        "expires_at": datetime.now(UTC) + timedelta(days=365),
        **overrides,
    }
    with city.ctx.writing() as session:
        return service.issue(session, authority=runtime.authority_of(city.ctx), **options)


def issuer_id(city: City, code: str = ISSUER) -> str:
    return runtime.authority_of(city.ctx).issuer_id(code)


def server_verdict(city: City, presentation: str, **options: Any) -> Verdict:
    """The verdict of the server's own verifier (its database)."""
    with city.ctx.reading() as session:
        trust = service.DatabaseTrust(
            session,
            authority=runtime.authority_of(city.ctx),
            keys=runtime.public_keys_of(city.ctx),
        )
        return verify(presentation, trust=trust, **options)


def published_trust(city: City) -> TrustStore:
    """An offline trust store filled from what the city publishes over HTTP right now."""
    store = TrustStore()
    base = runtime.authority_of(city.ctx).base_url
    listed = city.client.get("/api/v1/credentials/issuers").json()
    for entry in listed["issuers"]:
        metadata = city.client.get(entry["metadata_url"].removeprefix(base))
        assert metadata.status_code == 200, metadata.text
        store.add_issuer(metadata.json(), issuer=entry["issuer"])
        for uri in entry["status_lists"]:
            token = city.client.get(uri.removeprefix(base))
            assert token.status_code == 200, token.text
            store.add_status_list(uri, token.text)
    return store


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parts(sd_jwt: str) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(JWT header, JWT payload, disclosures) of an SD-JWT, unverified."""
    jwt, *disclosures, _ = sd_jwt.split("~")
    header, payload, _ = jwt.split(".")
    return json.loads(unb64(header)), json.loads(unb64(payload)), disclosures


def with_payload(sd_jwt: str, change: dict[str, Any]) -> str:
    """The same SD-JWT with its JWT payload changed and the old signature kept."""
    jwt, *rest = sd_jwt.split("~")
    header, payload, signature = jwt.split(".")
    claims = {**json.loads(unb64(payload)), **change}
    forged = b64(json.dumps(claims, separators=(",", ":")).encode())
    return "~".join([f"{header}.{forged}.{signature}", *rest])


def disclosure_of(sd_jwt: str, name: str) -> str:
    for disclosure in parts(sd_jwt)[2]:
        if json.loads(unb64(disclosure))[1] == name:
            return disclosure
    raise AssertionError(f"no disclosure of {name}")
