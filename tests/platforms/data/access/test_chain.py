"""The access log is tamper-evident: each entry hashes the one before it, the chain's head and
signed checkpoints cover its end, and `cityloop datalog verify` names the first entry an edit,
a deletion, a reordering or a rewrite broke."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from cityloop.base.db import Database
from cityloop.cli import app
from cityloop.platforms.application.credentials.keys import KeyVault
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.data.access import chain
from cityloop.platforms.data.access.models import ChainCheckpoint, ChainHead, DataAccess
from cityloop.platforms.data.access.service import record_access
from cityloop.settings import Settings
from tests.support.city import City, make_city
from tests.support.databases import BACKENDS, seeded_data_dir


@pytest.fixture(params=BACKENDS)
def fresh(
    request: pytest.FixtureRequest, templates: dict[str, str], tmp_path: Path
) -> Iterator[City]:
    """A city of its own for each test: every test here damages its log."""
    yield from make_city(templates, request.param, tmp_path)


def logged(city: City, count: int = 5) -> list[int]:
    with city.ctx.writing() as session:
        citizen = identity.find_user(session, username="citizen")
        assert citizen is not None
        ids = [
            record_access(
                session, user_id=citizen.id, actor=f"clerk-{n}", actor_role="clerk",
                fields=["legal_name", "id_number"], purpose="counter_verification",
                reference=f"test:{n}",
            ).id
            for n in range(count)
        ]  # fmt: skip
    return ids


def report(city: City) -> chain.ChainReport:
    with city.ctx.reading() as session:
        return chain.verify(session)


def vault(city: City) -> KeyVault:
    return KeyVault(city.ctx.settings.resolved_secret_key)


def test_an_untouched_log_verifies_with_its_signed_checkpoints(fresh: City) -> None:
    logged(fresh, 3)
    with fresh.ctx.writing() as session:
        assert chain.checkpoint(session, vault=vault(fresh)) is not None
        assert chain.checkpoint(session, vault=vault(fresh)) is None  # nothing new to sign
    logged(fresh, 2)
    found = report(fresh)
    assert found.intact and found.entries >= 5 and found.checkpoints == 1 and found.kind == ""


def test_an_edited_entry_is_named(fresh: City) -> None:
    ids = logged(fresh)
    with fresh.ctx.writing() as session:
        session.execute(update(DataAccess).where(DataAccess.id == ids[2]).values(purpose="review"))
    found = report(fresh)
    assert found.broken_at == ids[2] and "edited" in found.reason
    assert found.kind == "edited"


def test_a_deleted_entry_breaks_the_link_of_the_next(fresh: City) -> None:
    ids = logged(fresh)
    with fresh.ctx.writing() as session:
        session.execute(delete(DataAccess).where(DataAccess.id == ids[1]))
    found = report(fresh)
    assert found.broken_at == ids[2] and "removed or reordered" in found.reason
    assert found.kind == "unlinked"


def test_entries_deleted_from_the_end_are_noticed(fresh: City) -> None:
    ids = logged(fresh)
    with fresh.ctx.writing() as session:
        session.execute(delete(DataAccess).where(DataAccess.id.in_(ids[-2:])))
    found = report(fresh)
    assert not found.intact and "removed" in found.reason and found.kind == "truncated"


def test_reordered_entries_are_named(fresh: City) -> None:
    ids = logged(fresh)
    with fresh.ctx.writing() as session:
        first, second = (session.get(DataAccess, n) for n in ids[1:3])
        assert first is not None and second is not None
        swapped = {c: getattr(second, c) for c in ("actor", "reference", "prev_hash", "entry_hash")}
        for column in swapped:
            setattr(second, column, getattr(first, column))
            setattr(first, column, swapped[column])
    assert report(fresh).broken_at == ids[1]


def test_a_rewritten_chain_fails_its_signed_checkpoint(fresh: City) -> None:
    ids = logged(fresh)
    with fresh.ctx.writing() as session:
        chain.checkpoint(session, vault=vault(fresh))
    # A forger edits an entry and recomputes every hash after it, and the head: the links hold,
    # but the signature covers the old chain.
    with fresh.ctx.writing() as session:
        rows = session.scalars(select(DataAccess).order_by(DataAccess.id)).all()
        previous = chain.GENESIS
        for row in rows:
            if row.id == ids[0]:
                row.reference = "nothing to see"
            row.prev_hash = previous
            row.entry_hash = chain.link(previous, row)
            previous = row.entry_hash
        head = session.get(ChainHead, chain.HEAD_ID)
        assert head is not None
        head.last_hash = previous
    found = report(fresh)
    assert found.broken_at == ids[-1] and "checkpoint signed" in found.reason
    assert found.kind == "rewritten"


def test_a_forged_checkpoint_signature_is_refused(fresh: City) -> None:
    logged(fresh)
    with fresh.ctx.writing() as session:
        chain.checkpoint(session, vault=vault(fresh))
        session.execute(update(ChainCheckpoint).values(signature="AAAA" * 22))
    found = report(fresh)
    assert "signature is not valid" in found.reason and found.kind == "bad_signature"


def test_the_cli_verifies_and_signs_the_log(templates: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    data_dir = str(seeded_data_dir(templates, tmp_path / "city"))
    db = Database(Settings(data_dir=Path(data_dir)).resolved_database_url)
    with db.writing() as session:
        citizen = identity.find_user(session, username="citizen")
        assert citizen is not None
        for n in range(3):
            record_access(
                session, user_id=citizen.id, actor="clerk", actor_role="clerk",
                fields=["id_number"], purpose="counter_verification", reference=f"cli:{n}",
            )  # fmt: skip
    signed = runner.invoke(app, ["datalog", "checkpoint", "--data-dir", data_dir])
    assert signed.exit_code == 0 and "signed up to entry" in signed.output, signed.output
    intact = runner.invoke(app, ["datalog", "verify", "--data-dir", data_dir])
    assert intact.exit_code == 0, intact.output
    assert intact.output.startswith("intact: 3 entries, 1 signed checkpoints")
    with db.writing() as session:
        session.execute(update(DataAccess).where(DataAccess.reference == "cli:1").values(actor="x"))
    broken = runner.invoke(app, ["datalog", "verify", "--data-dir", data_dir])
    assert broken.exit_code == 1 and "broken at entry 2" in broken.output
    db.dispose()


def test_entries_written_at_once_still_form_one_chain(fresh: City) -> None:
    with fresh.ctx.reading() as session:
        citizen = identity.find_user(session, username="citizen")
        assert citizen is not None
        user_id = citizen.id

    def write(worker: int) -> None:
        for n in range(10):
            with fresh.ctx.writing() as session:
                record_access(
                    session, user_id=user_id, actor=f"clerk-{worker}", actor_role="clerk",
                    fields=["id_number"], purpose="counter_verification",
                    reference=f"race:{worker}:{n}",
                )  # fmt: skip

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, range(4)))
    found = report(fresh)
    assert found.intact, found
    assert found.entries >= 40
