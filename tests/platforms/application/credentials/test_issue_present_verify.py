"""Issuing, presenting and verifying through the service functions: a permit is issued, its holder
discloses only some claims, and every way a presentation can be wrong is refused with its own
reason, by the server's verifier and by an offline trust store alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from cityloop.base.problems import Problem
from cityloop.platforms.application.credentials import keys, runtime, service, statuslist
from cityloop.platforms.application.credentials.messages import MESSAGES, Reason
from cityloop.platforms.application.credentials.models import IssuerKey
from cityloop.platforms.application.credentials.sdjwt import parse_jwt, sign
from cityloop.platforms.application.credentials.trust import TrustStore
from cityloop.platforms.application.credentials.verify import Verdict, verify
from cityloop.platforms.application.identity.models import AuditEntry
from cityloop.platforms.application.identity.service import Actor
from tests.support.city import City
from tests.support.credentials import (
    CLAIMS,
    ISSUER,
    VCT,
    b64,
    disclosure_of,
    issue,
    issuer_id,
    parts,
    published_trust,
    server_verdict,
    unb64,
    with_payload,
)

ADMIN = Actor(None, "test-admin", "admin")


def both(city: City, presentation: str, **options: object) -> list[Verdict]:
    """The verdicts of the server's verifier and of an offline store of what it publishes."""
    return [
        server_verdict(city, presentation, **options),  # type: ignore[arg-type]
        verify(presentation, trust=published_trust(city), **options),  # type: ignore[arg-type]
    ]


def reasons(city: City, presentation: str, **options: object) -> set[Reason]:
    return {verdict.reason for verdict in both(city, presentation, **options)}


def test_a_presentation_shows_only_the_claims_the_holder_chose(city: City) -> None:
    issued = issue(city)
    shown = service.present(issued.sd_jwt, disclose=["holder_name", "permit_valid"])
    for verdict in both(city, shown):
        assert verdict.valid, verdict
        assert verdict.claims == {
            "holder_name": "李明 Li Ming",
            "permit_valid": True,
            "permit_number": "SV-2026-0042",  # never selectively disclosable
        }
        assert "11010519491231002X" not in json.dumps(verdict.as_dict(), ensure_ascii=False)
        assert verdict.issuer == issuer_id(city)
        assert verdict.vct == VCT
        assert verdict.expires_at is not None and verdict.issued_at == verdict.valid_from
        assert "有效" in verdict.message_zh and "Valid" in verdict.message_en
    # The id number is in no part of the presentation, not even hashed in clear.
    assert "11010519491231002X" not in shown
    assert len(parts(shown)[2]) == 2


def test_the_whole_sd_jwt_verifies_with_every_claim(city: City) -> None:
    issued = issue(city)
    for verdict in both(city, issued.sd_jwt):
        assert verdict.valid and verdict.claims == CLAIMS


def test_the_record_keeps_no_claims(city: City) -> None:
    record = issue(city).credential
    stored = json.dumps(
        {c.name: str(getattr(record, c.key)) for c in record.__table__.columns},
        ensure_ascii=False,
    )
    for value in ("Li Ming", "11010519491231002X", "SV-2026-0042", "Night Market"):
        assert value not in stored
    assert record.subject_ref == "application:A-1001" and record.vct == VCT


def test_presenting_a_claim_the_credential_lacks_is_refused(city: City) -> None:
    issued = issue(city)
    with pytest.raises(Problem) as refused:
        service.present(issued.sd_jwt, disclose=["holder_name", "salary"])
    assert refused.value.status == 400 and refused.value.field == "disclose"
    assert "salary" in refused.value.detail
    with pytest.raises(Problem):
        service.present("not an sd-jwt", disclose=[])


def test_the_holder_sees_what_it_may_disclose(city: City) -> None:
    view = service.holder_view(issue(city).sd_jwt)
    assert view.visible == {"permit_number": "SV-2026-0042"}
    assert set(view.disclosable) == {"holder_name", "id_number", "permit_valid", "pitch"}


def test_a_changed_payload_breaks_the_signature(city: City) -> None:
    issued = issue(city)
    later = parts(issued.sd_jwt)[1]["exp"] + 10 * 365 * 86400
    assert reasons(city, with_payload(issued.sd_jwt, {"exp": later})) == {Reason.BAD_SIGNATURE}
    visible = with_payload(issued.sd_jwt, {"permit_number": "SV-2026-9999"})
    assert reasons(city, visible) == {Reason.BAD_SIGNATURE}


def test_a_changed_disclosure_is_refused(city: City) -> None:
    issued = issue(city)
    original = disclosure_of(issued.sd_jwt, "holder_name")
    salt = json.loads(unb64(original))[0]
    forged = b64(json.dumps([salt, "holder_name", "Mallory"]).encode())
    tampered = issued.sd_jwt.replace(original, forged)
    assert reasons(city, tampered) == {Reason.BAD_DISCLOSURE}


def test_a_disclosure_from_another_credential_is_refused(city: City) -> None:
    mine, other = issue(city), issue(city, claims={**CLAIMS, "holder_name": "Someone Else"})
    foreign = disclosure_of(other.sd_jwt, "holder_name")
    presented = service.present(mine.sd_jwt, disclose=["permit_valid"])
    assert reasons(city, presented.removesuffix("~") + "~" + foreign + "~") == {
        Reason.BAD_DISCLOSURE
    }
    twice = disclosure_of(mine.sd_jwt, "permit_valid")
    assert reasons(city, presented + twice + "~") == {Reason.BAD_DISCLOSURE}


def test_an_expired_credential_is_refused(city: City) -> None:
    issued = issue(city)
    expires = datetime.fromtimestamp(parts(issued.sd_jwt)[1]["exp"], UTC)
    for verdict in both(city, issued.sd_jwt, now=expires + timedelta(seconds=1)):
        assert verdict.reason is Reason.EXPIRED and not verdict.claims
        assert expires.date().isoformat() in verdict.message_en


def test_a_credential_not_yet_valid_is_refused(city: City) -> None:
    later = datetime.now(UTC) + timedelta(hours=2)
    issued = issue(city, valid_from=later)
    assert reasons(city, issued.sd_jwt) == {Reason.NOT_YET_VALID}
    assert reasons(city, issued.sd_jwt, now=later + timedelta(minutes=1)) == {Reason.VALID}


def test_a_revoked_credential_is_refused_and_revoking_again_changes_nothing(city: City) -> None:
    issued = issue(city)
    assert reasons(city, issued.sd_jwt) == {Reason.VALID}
    with city.ctx.writing() as session:
        first = service.revoke(
            session, credential_id=issued.credential.id, actor=ADMIN, reason="licence withdrawn"
        ).revoked_at
    with city.ctx.writing() as session:
        again = service.revoke(session, credential_id=issued.credential.id, actor=ADMIN)
        assert again.revoked_at == first and again.revoked_reason == "licence withdrawn"
    assert reasons(city, issued.sd_jwt) == {Reason.REVOKED}
    with city.ctx.reading() as session:
        audited = session.scalars(
            select(AuditEntry).where(AuditEntry.target == f"credential:{issued.credential.id}")
        ).all()
    assert [a.detail["already_revoked"] for a in audited] == [False, True]
    assert {a.action for a in audited} == {"credentials.revoke"}


def test_revoking_an_unknown_credential_is_a_404(city: City) -> None:
    with pytest.raises(Problem) as refused, city.ctx.writing() as session:
        service.revoke(session, credential_id="nope", actor=ADMIN)
    assert refused.value.status == 404


def test_the_status_list_token_carries_the_revoked_bits(city: City) -> None:
    issued = [issue(city, issuer="parks") for _ in range(3)]
    with city.ctx.writing() as session:
        service.revoke(session, credential_id=issued[1].credential.id, actor=ADMIN)
    authority = runtime.authority_of(city.ctx)
    with city.ctx.reading() as session:
        token = service.status_list_token(
            session, authority=authority, issuer_code="parks", number=1, now=datetime.now(UTC)
        )
    jwt = parse_jwt(token)
    assert jwt.header["typ"] == "statuslist+jwt"
    read = statuslist.read_token(jwt)
    assert read.uri == authority.status_uri("parks", 1)
    assert read.expires_at is not None and read.ttl == statuslist.TTL_SECONDS
    assert len(read.bits) == statuslist.LIST_SIZE // 8
    indices = [i.credential.status_idx for i in issued]
    assert [statuslist.bit(read.bits, idx) for idx in indices] == [0, 1, 0]
    assert sum(bin(byte).count("1") for byte in read.bits) == 1


def test_a_credential_signed_by_another_issuers_key_is_refused(city: City) -> None:
    issue(city, issuer="parks")  # parks has a key
    authority = runtime.authority_of(city.ctx)
    with city.ctx.reading() as session:
        parks = keys.current_key(session, vault=authority.vault, issuer_code="parks")
    assert parks is not None
    header, payload, disclosures = parts(issue(city).sd_jwt)
    forged = sign({**header, "kid": parks.kid}, payload, parks.private)
    assert reasons(city, "~".join([forged, *disclosures, ""])) == {Reason.UNKNOWN_KEY}


def test_a_credential_signed_by_a_key_nobody_published_is_refused(city: City) -> None:
    header, payload, disclosures = parts(issue(city).sd_jwt)
    stray = Ed25519PrivateKey.generate()
    same_kid = sign(header, payload, stray)
    new_kid = sign({**header, "kid": "not-a-published-key"}, payload, stray)
    assert reasons(city, "~".join([same_kid, *disclosures, ""])) == {Reason.BAD_SIGNATURE}
    assert reasons(city, "~".join([new_kid, *disclosures, ""])) == {Reason.UNKNOWN_KEY}


def test_an_issuer_the_verifier_does_not_know_is_refused(city: City) -> None:
    issued = issue(city)
    forged = with_payload(issued.sd_jwt, {"iss": "https://evil.example/issuers/urbanmgmt"})
    assert reasons(city, forged) == {Reason.WRONG_ISSUER}
    expecting_parks = reasons(city, issued.sd_jwt, issuer=issuer_id(city, "parks"))
    assert expecting_parks == {Reason.WRONG_ISSUER}
    assert reasons(city, issued.sd_jwt, vct="urn:other:type") == {Reason.WRONG_TYPE}


def test_after_a_rotation_old_and_new_credentials_verify(city: City) -> None:
    before = issue(city, issuer="lighting")
    authority = runtime.authority_of(city.ctx)
    with city.ctx.writing() as session:
        rotated = keys.rotate_key(
            session, vault=authority.vault, issuer_code="lighting", actor=ADMIN
        )
    after = issue(city, issuer="lighting")
    assert parts(after.sd_jwt)[0]["kid"] == rotated.kid != parts(before.sd_jwt)[0]["kid"]
    assert reasons(city, before.sd_jwt) == {Reason.VALID}
    assert reasons(city, after.sd_jwt) == {Reason.VALID}
    metadata = city.client.get("/.well-known/jwt-vc-issuer/issuers/lighting").json()
    kids = [k["kid"] for k in metadata["jwks"]["keys"]]
    assert kids == [before.credential.kid, rotated.kid]


def test_a_retired_key_leaves_the_jwks_once_what_it_signed_has_expired(city: City) -> None:
    authority = runtime.authority_of(city.ctx)
    issued = issue(city, issuer="water", expires_at=datetime.now(UTC) + timedelta(days=3))
    with city.ctx.writing() as session:
        keys.rotate_key(session, vault=authority.vault, issuer_code="water", actor=ADMIN)
    old = issued.credential.kid
    validity = timedelta(seconds=authority.status_valid_seconds)

    def published(at: datetime) -> list[str]:
        with city.ctx.reading() as session:
            rows = keys.published_keys(
                session, now=at, status_validity=validity, issuer_code="water"
            )
            return [row.kid for row in rows]

    assert old in published(datetime.now(UTC) + timedelta(days=2))
    assert old not in published(datetime.now(UTC) + timedelta(days=4))
    assert len(published(datetime.now(UTC) + timedelta(days=4))) == 1  # the current key


def test_private_keys_are_sealed_with_the_app_secret(city: City) -> None:
    issue(city)
    with city.ctx.reading() as session:
        row = session.scalars(select(IssuerKey).where(IssuerKey.issuer_code == ISSUER)).first()
    assert row is not None and "d" not in row.public_jwk
    vault = runtime.authority_of(city.ctx).vault
    private = vault.open(row)
    raw = private.private_bytes_raw()
    assert raw not in bytes(row.private_sealed)
    with pytest.raises(Problem) as sealed:
        keys.KeyVault("another-secret-entirely").open(row)
    assert sealed.value.type_ == "issuer-key-sealed"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "a.b.c~",
        "eyJhbGciOiJFZERTQSJ9.e30.AAAA~",
        "~~~",
        "x" * 70_000,
        "ünïcode~",
    ],
)
def test_text_that_is_no_sd_jwt_is_malformed(city: City, text: str) -> None:
    assert reasons(city, text) == {Reason.MALFORMED}


def test_a_key_binding_jwt_or_another_algorithm_is_malformed(city: City) -> None:
    issued = issue(city)
    assert reasons(city, issued.sd_jwt + "eyJ.eyJ.sig") == {Reason.MALFORMED}
    header = parts(issued.sd_jwt)[0]
    jwt = issued.sd_jwt.split("~")[0]
    hs256 = b64(json.dumps({**header, "alg": "HS256"}).encode()) + jwt[jwt.index(".") :]
    for verdict in both(city, hs256 + "~"):
        assert verdict.reason is Reason.MALFORMED and "EdDSA" in verdict.message_en


def test_a_missing_or_stale_status_list_leaves_the_status_unknown(city: City) -> None:
    issued = issue(city, issuer="roads")
    store = published_trust(city)
    assert verify(issued.sd_jwt, trust=store).valid
    read = statuslist.read_token(parse_jwt(store._tokens[store.status_lists[0]].text))
    assert read.expires_at is not None
    after = datetime.fromtimestamp(read.expires_at, UTC) + timedelta(seconds=1)
    assert issued.credential.expires_at is not None and after < issued.credential.expires_at
    assert verify(issued.sd_jwt, trust=store, now=after).reason is Reason.STATUS_UNAVAILABLE
    bare = TrustStore()
    for uri in store.issuers:
        bare.add_issuer(store._metadata[uri])
    assert verify(issued.sd_jwt, trust=bare).reason is Reason.STATUS_UNAVAILABLE


def test_a_status_list_of_another_list_or_signed_by_a_stranger_is_not_used(city: City) -> None:
    issued = issue(city, issuer="roads")
    store = published_trust(city)
    uri = parts(issued.sd_jwt)[1]["status"]["status_list"]["uri"]
    good = parse_jwt(store._tokens[uri].text)
    authority = runtime.authority_of(city.ctx)
    with city.ctx.reading() as session:
        roads = keys.current_key(session, vault=authority.vault, issuer_code="roads")
    assert roads is not None
    other_list = {**good.payload, "sub": uri.removesuffix("/1") + "/2"}
    for forged in (
        sign(good.header, good.payload, Ed25519PrivateKey.generate()),  # a stranger's key
        sign(good.header, other_list, roads.private),  # the issuer's key, another list
    ):
        store.add_status_list(uri, forged)
        assert verify(issued.sd_jwt, trust=store).reason is Reason.STATUS_UNAVAILABLE
    store.add_status_list(uri, sign(good.header, good.payload, roads.private))
    assert verify(issued.sd_jwt, trust=store).valid


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"vct": "street-vending-permit"}, "vct"),
        ({"claims": {"iss": "https://evil.example"}, "disclosable": ()}, "claims"),
        ({"claims": {"holder_name": float("nan")}, "disclosable": ()}, "claims"),
        ({"claims": {"photo": "x" * 20_000}, "disclosable": ()}, "claims"),
        ({"disclosable": ("salary",)}, "disclosable"),
        ({"issuer": "ministry-of-magic"}, "issuer"),
        ({"expires_at": datetime.now(UTC) - timedelta(days=1)}, "expires_at"),
        ({"expires_at": datetime(2030, 1, 1)}, "expires_at"),
    ],
)
def test_bad_issue_requests_are_400s_naming_the_field(
    city: City, change: dict[str, object], field: str
) -> None:
    with pytest.raises(Problem) as refused:
        issue(city, **change)
    assert refused.value.status == 400 and refused.value.field == field


def test_every_reason_speaks_both_languages() -> None:
    assert set(MESSAGES) == set(Reason)
    for english, chinese in MESSAGES.values():
        assert english and chinese and english != chinese
        assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese)
