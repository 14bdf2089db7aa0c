"""The credential routes as verifiers and admins use them: the published keys, issuer metadata and
status lists (public, cacheable, no private parts), the public verifier, and the admins' key
rotation and revocation; every kind of bad input is a 4xx problem."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from cityloop.base.ratelimit import RateLimiter
from cityloop.platforms.application.credentials import runtime, service, statuslist
from cityloop.platforms.application.credentials.qr import qr_payload
from cityloop.platforms.application.credentials.sdjwt import parse_jwt
from cityloop.platforms.application.identity.models import AuditEntry
from tests.support.city import City
from tests.support.credentials import VCT, issue, issuer_id, parts

VERIFY = "/api/v1/credentials/verify"


def test_the_jwks_publishes_every_issuers_public_keys_and_no_private_part(city: City) -> None:
    kids = {issue(city).credential.kid, issue(city, issuer="parks").credential.kid}
    response = city.client.get("/.well-known/jwks.json")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert kids <= {key["kid"] for key in document["keys"]}
    for key in document["keys"]:
        assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}  # no "d"
        assert (key["kty"], key["crv"], key["alg"], key["use"]) == (
            "OKP",
            "Ed25519",
            "EdDSA",
            "sig",
        )


def test_published_documents_are_cacheable_and_answer_304_when_unchanged(city: City) -> None:
    uri = parts(issue(city).sd_jwt)[1]["status"]["status_list"]["uri"]
    base = runtime.authority_of(city.ctx).base_url
    for path in (
        "/.well-known/jwks.json",
        "/.well-known/jwt-vc-issuer/issuers/urbanmgmt",
        uri.removeprefix(base),
    ):
        first = city.client.get(path)
        assert first.status_code == 200, path
        assert first.headers["cache-control"].startswith("public, max-age=")
        assert first.headers["access-control-allow-origin"] == "*"
        etag = first.headers["etag"]
        again = city.client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        other = city.client.get(path, headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200 and other.content == first.content


def test_issuer_metadata_follows_the_sd_jwt_vc_draft(city: City) -> None:
    issued = issue(city)
    metadata = city.client.get("/.well-known/jwt-vc-issuer/issuers/urbanmgmt").json()
    assert metadata["issuer"] == issuer_id(city) == parts(issued.sd_jwt)[1]["iss"]
    assert issued.credential.kid in [k["kid"] for k in metadata["jwks"]["keys"]]
    assert service.metadata_url(metadata["issuer"]) == (
        runtime.authority_of(city.ctx).base_url + "/.well-known/jwt-vc-issuer/issuers/urbanmgmt"
    )


def test_the_status_list_is_served_as_a_signed_token(city: City) -> None:
    issued = issue(city)
    uri = parts(issued.sd_jwt)[1]["status"]["status_list"]["uri"]
    base = runtime.authority_of(city.ctx).base_url
    response = city.client.get(uri.removeprefix(base))
    assert response.headers["content-type"] == "application/statuslist+jwt"
    read = statuslist.read_token(parse_jwt(response.text))
    assert read.uri == uri and statuslist.bit(read.bits, issued.credential.status_idx) == 0
    listed = city.client.get("/api/v1/credentials/issuers").json()
    assert uri in [u for entry in listed["issuers"] for u in entry["status_lists"]]
    assert listed["jwks_uri"] == base + "/.well-known/jwks.json"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/.well-known/jwt-vc-issuer/issuers/ministry-of-magic", 404),
        ("/.well-known/jwt-vc-issuer/issuers/bad%20code", 422),
        ("/credentials/status-lists/urbanmgmt/999", 404),
        ("/credentials/status-lists/urbanmgmt/0", 422),
        ("/credentials/status-lists/urbanmgmt/one", 422),
        ("/credentials/status-lists/command/1", 404),  # an issuer that issued nothing
    ],
)
def test_unknown_or_bad_publication_paths_are_problems(city: City, path: str, status: int) -> None:
    response = city.client.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_the_verifier_answers_the_verdict_in_both_languages(city: City) -> None:
    shown = service.present(issue(city).sd_jwt, disclose=["holder_name"])
    response = city.client.post(VERIFY, json={"presentation": shown})
    assert response.status_code == 200, response.text
    verdict = response.json()
    assert verdict["valid"] is True and verdict["reason"] == "valid"
    assert verdict["claims"] == {"holder_name": "李明 Li Ming", "permit_number": "SV-2026-0042"}
    assert verdict["vct"] == VCT and verdict["issuer"] == issuer_id(city)
    assert set(verdict["message"]) == {"en", "zh-CN"} and "有效" in verdict["message"]["zh-CN"]


def test_the_verifier_reads_a_scanned_qr_code(city: City) -> None:
    shown = service.present(issue(city).sd_jwt, disclose=["permit_valid"])
    link = qr_payload(shown, verify_url="https://riverton.example/verify")
    for qr in (link, shown):
        verdict = city.client.post(VERIFY, json={"qr": qr}).json()
        assert verdict["valid"] is True and verdict["claims"]["permit_valid"] is True


def test_a_refusal_names_its_reason_and_shows_no_claims(city: City) -> None:
    issued = issue(city)
    admin = city.headers("admin")
    city.client.post(f"/api/v1/credentials/{issued.credential.id}/revoke", headers=admin)
    verdict = city.client.post(VERIFY, json={"presentation": issued.sd_jwt}).json()
    assert verdict["valid"] is False and verdict["reason"] == "revoked"
    assert verdict["claims"] == {} and verdict["issuer"] is None
    assert verdict["message"] == {"en": "Revoked by its issuer", "zh-CN": "已被签发方撤销"}
    garbage = city.client.post(VERIFY, json={"presentation": "hello"}).json()
    assert garbage["reason"] == "malformed"
    expecting = {"presentation": service.present(issue(city).sd_jwt, disclose=[]), "vct": "urn:x"}
    assert city.client.post(VERIFY, json=expecting).json()["reason"] == "wrong-type"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "presentation"),
        ({"presentation": "a", "qr": "b"}, "presentation"),
        ({"presentation": "   "}, "presentation"),
        ({"qr": "https://riverton.example/verify"}, "qr"),
        ({"presentation": 42}, "presentation"),
        ({"presentation": "x" * 64_001}, "presentation"),
        ({"presentation": "a", "claims": {}}, "claims"),
    ],
)
def test_bad_verify_requests_are_422_naming_the_field(
    city: City, body: dict[str, object], field: str
) -> None:
    response = city.client.post(VERIFY, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_a_verify_body_that_is_not_json_is_a_problem(city: City) -> None:
    response = city.client.post(
        VERIFY, content=b"\xff\xfe", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


@pytest.fixture
def strict_limit(city: City) -> Iterator[None]:
    saved = city.ctx.extras[runtime.VERIFY_LIMITER]
    city.ctx.extras[runtime.VERIFY_LIMITER] = RateLimiter(3, what="verifications")
    try:
        yield
    finally:
        city.ctx.extras[runtime.VERIFY_LIMITER] = saved


@pytest.mark.usefixtures("strict_limit")
def test_verifications_are_rate_limited_per_client(city: City) -> None:
    answers = [city.client.post(VERIFY, json={"presentation": "x"}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert "verifications" in answers[-1].json()["detail"]


def test_an_admin_rotates_a_key_and_it_is_audited(city: City) -> None:
    old = issue(city, issuer="sanitation")
    response = city.client.post(
        "/api/v1/credentials/issuers/sanitation/rotate-key", headers=city.headers("admin")
    )
    assert response.status_code == 200, response.text
    key = response.json()
    assert key["issuer"] == issuer_id(city, "sanitation") and "d" not in key["public_jwk"]
    assert key["kid"] != old.credential.kid
    assert city.client.post(VERIFY, json={"presentation": old.sd_jwt}).json()["valid"]
    new = issue(city, issuer="sanitation")
    assert new.credential.kid == key["kid"]
    with city.ctx.reading() as session:
        audited = session.scalars(
            select(AuditEntry).where(AuditEntry.target == "issuer:sanitation")
        ).all()
    assert [(a.actor, a.action, a.detail["kid"]) for a in audited] == [
        ("admin", "credentials.key.rotate", key["kid"])
    ]


def test_an_admin_revokes_a_credential_idempotently(city: City) -> None:
    issued = issue(city)
    path = f"/api/v1/credentials/{issued.credential.id}/revoke"
    first = city.client.post(
        path, json={"reason": "permit withdrawn"}, headers=city.headers("admin")
    )
    assert first.status_code == 200, first.text
    record = first.json()
    assert record["revoked_at"] and record["revoked_reason"] == "permit withdrawn"
    assert record["status_idx"] == issued.credential.status_idx
    assert record["status_list"] == parts(issued.sd_jwt)[1]["status"]["status_list"]["uri"]
    assert "holder_name" not in json.dumps(record)
    again = city.client.post(path, headers=city.headers("admin"))
    assert again.status_code == 200 and again.json()["revoked_at"] == record["revoked_at"]


@pytest.mark.parametrize(
    ("method_path", "username", "body", "status"),
    [
        ("/api/v1/credentials/issuers/urbanmgmt/rotate-key", None, None, 401),
        ("/api/v1/credentials/issuers/urbanmgmt/rotate-key", "handler-water", None, 403),
        ("/api/v1/credentials/issuers/ministry-of-magic/rotate-key", "admin", None, 400),
        ("/api/v1/credentials/issuers/bad code/rotate-key", "admin", None, 422),
        ("/api/v1/credentials/no-such-credential/revoke", "admin", None, 404),
        ("/api/v1/credentials/no-such-credential/revoke", None, None, 401),
        ("/api/v1/credentials/no-such-credential/revoke", "dispatcher", None, 403),
        ("/api/v1/credentials/x/revoke", "admin", {"reason": "r" * 501}, 422),
        ("/api/v1/credentials/x/revoke", "admin", {"why": "no"}, 422),
    ],
)
def test_bad_staff_requests_are_problems(
    city: City, method_path: str, username: str | None, body: object, status: int
) -> None:
    headers = city.headers(username) if username else {}
    response = city.client.post(method_path, json=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
