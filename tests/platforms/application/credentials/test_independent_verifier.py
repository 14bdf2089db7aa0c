"""An SD-JWT implementation that is not ours accepts what we issue: the OpenWallet Foundation's
`sd-jwt` package (import ``sd_jwt``, on jwcrypto) checks our signature with the JWK the city
publishes, unpacks our disclosures, and its holder makes a presentation our verifier accepts."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib.metadata import version

import pytest
from jwcrypto.jwk import JWK
from jwcrypto.jws import InvalidJWSSignature
from sd_jwt.holder import SDJWTHolder
from sd_jwt.verifier import SDJWTVerifier

from cityloop.platforms.application.credentials import runtime, service
from tests.support.city import City
from tests.support.credentials import CLAIMS, issue, server_verdict, with_payload


def published_key(city: City) -> Callable[[str, dict[str, object]], JWK]:
    """The key lookup an outside verifier does: the issuer's metadata, then the kid."""
    base = runtime.authority_of(city.ctx).base_url

    def lookup(issuer: str, header: dict[str, object]) -> JWK:
        metadata = city.client.get(service.metadata_url(issuer).removeprefix(base)).json()
        assert metadata["issuer"] == issuer
        [jwk] = [k for k in metadata["jwks"]["keys"] if k["kid"] == header["kid"]]
        assert header["alg"] == "EdDSA"
        return JWK.from_json(json.dumps(jwk))

    return lookup


def test_the_library_is_the_one_documented() -> None:
    assert version("sd-jwt") == "0.10.4"


def test_it_verifies_a_credential_we_issued_with_every_claim(city: City) -> None:
    issued = issue(city)
    payload = SDJWTVerifier(issued.sd_jwt, published_key(city)).get_verified_payload()
    assert {k: payload[k] for k in CLAIMS} == CLAIMS
    assert payload["iss"] == runtime.authority_of(city.ctx).issuer_id("urbanmgmt")
    assert payload["status"]["status_list"]["idx"] == issued.credential.status_idx


def test_it_verifies_our_presentation_with_only_the_chosen_claims(city: City) -> None:
    shown = service.present(issue(city).sd_jwt, disclose=["holder_name", "permit_valid"])
    payload = SDJWTVerifier(shown, published_key(city)).get_verified_payload()
    assert payload["holder_name"] == "李明 Li Ming" and payload["permit_valid"] is True
    assert "id_number" not in payload and "pitch" not in payload
    assert payload["permit_number"] == "SV-2026-0042"


def test_it_refuses_what_we_refuse(city: City) -> None:
    forged = with_payload(issue(city).sd_jwt, {"permit_number": "SV-9999"})
    with pytest.raises(InvalidJWSSignature):
        SDJWTVerifier(forged, published_key(city))


def test_its_holder_makes_a_presentation_our_verifier_accepts(city: City) -> None:
    holder = SDJWTHolder(issue(city).sd_jwt)
    holder.create_presentation({"holder_name": True, "pitch": True})
    verdict = server_verdict(city, holder.sd_jwt_presentation)
    assert verdict.valid, verdict
    assert verdict.claims == {
        "holder_name": "李明 Li Ming",
        "pitch": CLAIMS["pitch"],
        "permit_number": "SV-2026-0042",
    }
