"""API keys are checked against the process's cache of active keys (``base.lookups``), which
holds only their hashes: a revocation here refuses the key at once, one in another process
after the recheck, and a key created elsewhere is let in on its first use."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import insert, update

from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.models import ApiKey
from tests.support.city import City


@pytest.fixture
def trusted_for_an_hour(monkeypatch: pytest.MonkeyPatch) -> None:
    """No recheck within the test: only a change event can drop the cached keys."""
    monkeypatch.setattr(identity._api_keys, "recheck_seconds", 3600.0)


def _new_key(city: City, *scopes: str) -> tuple[str, int]:
    key = secrets.token_urlsafe(24)
    with city.ctx.writing() as session:
        created = identity.create_api_key(
            session, key=key, name="a 311 app", scopes=scopes or ("open311",)
        )
        return key, created.id


def _checked(city: City, key: str) -> identity.ApiKeyClient | None:
    with city.ctx.reading() as session:
        return identity.check_api_key(session, key=key)


def _post(city: City, key: str) -> int:
    report = {"service_code": "C-02-01", "lat": "30.2466", "long": "120.1406", "api_key": key}
    return city.client.post("/open311/v2/requests.json", data=report).status_code


@pytest.mark.usefixtures("trusted_for_an_hour")
def test_a_key_revoked_in_this_process_is_refused_at_once(city: City) -> None:
    key, key_id = _new_key(city)
    assert _checked(city, key) == identity.ApiKeyClient(key_id, "a 311 app", ("open311",))
    with city.ctx.writing() as session:
        identity.revoke_api_key(session, key_id=key_id)
    assert _checked(city, key) is None
    assert _post(city, key) == 403


def test_a_key_revoked_in_another_process_is_refused_after_the_recheck(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, key_id = _new_key(city)
    monkeypatch.setattr(identity._api_keys, "recheck_seconds", 3600.0)
    assert _checked(city, key) is not None
    # Written straight to the table, as another process's revocation is: this process hears
    # no event of it, and trusts its cache until the recheck.
    with city.ctx.writing() as session:
        session.execute(update(ApiKey).where(ApiKey.id == key_id).values(active=False))
    assert _checked(city, key) is not None
    monkeypatch.setattr(identity._api_keys, "recheck_seconds", 0.0)
    assert _checked(city, key) is None
    assert _post(city, key) == 403


def test_a_revocation_elsewhere_is_seen_even_when_a_key_was_created_alongside(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, key_id = _new_key(city)
    _checked(city, key)
    with city.ctx.writing() as session:  # another process rotates: a new key, the old revoked
        session.execute(update(ApiKey).where(ApiKey.id == key_id).values(active=False))
        session.execute(
            insert(ApiKey).values(key_hash="0" * 64, name="rotated", scopes=["open311"])
        )
    monkeypatch.setattr(identity._api_keys, "recheck_seconds", 0.0)
    assert _checked(city, key) is None


@pytest.mark.usefixtures("trusted_for_an_hour")
def test_a_key_created_in_another_process_is_let_in_on_its_first_use(city: City) -> None:
    _new_key(city)  # the cache is warm
    key = secrets.token_urlsafe(24)
    with city.ctx.writing() as session:
        session.execute(
            insert(ApiKey).values(
                key_hash=identity._key_hash(key), name="elsewhere", scopes=["open311"]
            )
        )
    found = _checked(city, key)
    assert found is not None and found.name == "elsewhere"


@pytest.mark.usefixtures("trusted_for_an_hour")
def test_new_scopes_open_the_other_api_at_once(city: City) -> None:
    key, key_id = _new_key(city)
    assert not identity.has_scope(_checked(city, key), "ngsild")  # type: ignore[arg-type]
    with city.ctx.writing() as session:
        row = session.get(ApiKey, key_id)
        assert row is not None
        identity.set_api_key_scopes(session, api_key=row, scopes=["open311", "ngsild"])
    assert identity.has_scope(_checked(city, key), "ngsild")  # type: ignore[arg-type]


def test_the_cache_holds_hashes_never_keys(city: City) -> None:
    key, _ = _new_key(city)
    with city.ctx.reading() as session:
        cached = identity._api_keys.get(session)
    assert identity._key_hash(key) in cached
    assert key not in repr(cached)


def test_no_key_or_an_unknown_one_is_refused(city: City) -> None:
    assert _checked(city, "") is None
    assert _checked(city, secrets.token_urlsafe(24)) is None
