"""The processes sharing an SQLite database take its one writer in turn, through a lock file
beside it: held from before BEGIN IMMEDIATE to after COMMIT or ROLLBACK, let go by a process
that dies, and never taken on PostgreSQL nor for reading."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from cityloop.base.db import Database
from cityloop.base.write_lock import QUEUE_SUFFIX, WRITER_SUFFIX
from tests.base.write_lock_probe import add_row, create_probe_table, writers_in_order
from tests.support.databases import PG_URL, a_writer_is_waiting
from tests.support.waiting import HANG_GUARD_SECONDS, wait_until


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "lock.db"


@pytest.fixture
def db(database: Path) -> Iterator[Database]:
    opened = Database(f"sqlite:///{database}")
    create_probe_table(opened)
    try:
        yield opened
    finally:
        opened.dispose()


def writer_lock_is_free(database: Path) -> bool:
    """Whether another open file of the writer's lock could take it now (flock locks belong to
    an open file, so this process's own lock counts as another's)."""
    fd = os.open(f"{database}{WRITER_SUFFIX}", os.O_RDONLY | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def waits_for_the_writer(database: Path, pid: int) -> bool:
    """Whether process ``pid`` is blocked in the kernel on the writer's lock (/proc/locks)."""
    inode = f":{os.stat(f'{database}{WRITER_SUFFIX}').st_ino} "
    with open("/proc/locks") as locks:
        return any("->" in line and f" {pid} " in line and inode in line for line in locks)


def child(database: Path, mode: str, who: str, count: int = 1) -> subprocess.Popen[str]:
    probe = [sys.executable, "-m", "tests.base.write_lock_probe"]
    return subprocess.Popen(
        [*probe, f"sqlite:///{database}", mode, who, str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def answer(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    return process.stdout.readline().strip()


def test_the_writer_lock_is_held_through_a_unit_of_work_and_let_go_at_its_commit(
    db: Database, database: Path
) -> None:
    with db.writing() as session:
        session.execute(text("INSERT INTO write_lock_probe (who) VALUES ('me')"))
        assert not writer_lock_is_free(database)
    assert writer_lock_is_free(database)
    assert writers_in_order(db) == ["me"]


def test_the_writer_lock_is_let_go_when_the_unit_of_work_fails_and_rolls_back(
    db: Database, database: Path
) -> None:
    with pytest.raises(RuntimeError), db.writing() as session:
        session.execute(text("INSERT INTO write_lock_probe (who) VALUES ('me')"))
        raise RuntimeError("the business rule failed")
    assert writer_lock_is_free(database)
    with pytest.raises(Exception, match="no such table"), db.writing() as session:
        session.execute(text("INSERT INTO no_such_table VALUES (1)"))  # the database refuses
    assert writer_lock_is_free(database)
    assert writers_in_order(db) == []


def test_a_unit_of_work_inside_another_on_the_same_thread_keeps_the_lock_until_the_outer_ends(
    db: Database, database: Path
) -> None:
    with db.writing() as outer:
        outer.execute(text("INSERT INTO write_lock_probe (who) VALUES ('outer')"))
        with db.writing():
            pass
        assert not writer_lock_is_free(database)
    assert writer_lock_is_free(database)


def test_reading_takes_no_lock(db: Database, database: Path) -> None:
    with db.read() as session:
        assert session.scalar(text("SELECT count(*) FROM write_lock_probe")) == 0
        assert writer_lock_is_free(database)


def test_two_databases_on_one_file_in_one_process_let_one_thread_write_at_a_time(
    db: Database, database: Path
) -> None:
    other = Database(f"sqlite:///{database}")
    try:
        with db.writing() as session:
            session.execute(text("INSERT INTO write_lock_probe (who) VALUES ('first')"))
            second = threading.Thread(target=add_row, args=(other, "second"))
            second.start()
            wait_until(lambda: a_writer_is_waiting(other), "the second writer queued")
        second.join(HANG_GUARD_SECONDS)
        assert writers_in_order(db) == ["first", "second"]
    finally:
        other.dispose()


def test_two_processes_writing_at_once_both_finish_every_write(
    db: Database, database: Path
) -> None:
    children = [child(database, "write", who, count=100) for who in ("a", "b")]
    for process in children:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    assert [answer(process) for process in children] == ["done", "done"]
    for process in children:
        assert process.wait(HANG_GUARD_SECONDS) == 0
    written = writers_in_order(db)
    assert (written.count("a"), written.count("b")) == (100, 100)


def test_a_writer_that_lets_go_waits_behind_the_process_already_waiting(
    db: Database, database: Path
) -> None:
    # Without the turnstile, this process would take the free lock again at once, before the
    # waiting child is scheduled: the kernel wakes waiters but does not hand the lock over.
    other = child(database, "write", "child")
    try:
        with db.writing() as session:
            session.execute(text("INSERT INTO write_lock_probe (who) VALUES ('me, first')"))
            assert other.stdin is not None
            other.stdin.write("go\n")
            other.stdin.flush()
            wait_until(lambda: waits_for_the_writer(database, other.pid), "the child waits")
        add_row(db, "me, again")
        assert answer(other) == "done"
    finally:
        other.kill()
        other.wait()
    assert writers_in_order(db) == ["me, first", "child", "me, again"]


def test_a_process_killed_while_writing_lets_go_of_the_lock(db: Database, database: Path) -> None:
    holder = child(database, "hold", "killed")
    try:
        assert answer(holder) == "holding"
        assert not writer_lock_is_free(database)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert writer_lock_is_free(database)
    add_row(db, "survivor")
    assert writers_in_order(db) == ["survivor"]


def test_with_the_setting_off_no_lock_file_is_made(tmp_path: Path) -> None:
    off = Database(f"sqlite:///{tmp_path / 'off.db'}", process_lock=False)
    try:
        create_probe_table(off)
        add_row(off, "me")
    finally:
        off.dispose()
    assert sorted(p.name for p in tmp_path.iterdir() if "write" in p.name) == []


@pytest.mark.skipif(not PG_URL, reason="needs CITYLOOP_TEST_DATABASE_URL (PostgreSQL)")
def test_postgresql_writers_take_no_lock_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a lock file named after the database would land here
    assert PG_URL is not None
    server = Database(PG_URL)
    try:
        with server.writing() as session:
            assert session.scalar(text("SELECT 1")) == 1
    finally:
        server.dispose()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_the_lock_files_lie_beside_the_database(db: Database, database: Path) -> None:
    add_row(db, "me")
    beside = {p.name for p in database.parent.iterdir() if "write" in p.name}
    assert beside == {f"lock.db{WRITER_SUFFIX}", f"lock.db{QUEUE_SUFFIX}"}
