"""A child process that writes to an SQLite database for the write lock tests
(``python -m tests.base.write_lock_probe URL MODE WHO [COUNT]``).

Each write adds a row (``who``) to ``write_lock_probe`` in a unit of work of its own, so the rows'
ids give the order in which the processes committed. ``write`` makes COUNT writes once a line
arrives on stdin (so several children can start together) and prints ``done``; ``hold`` enters a
unit of work, prints ``holding`` and stays inside it until stdin closes or the child is killed.
"""

from __future__ import annotations

import sys

from sqlalchemy import text

from cityloop.base.db import Database

TABLE = "write_lock_probe"


def create_probe_table(db: Database) -> None:
    with db.writing() as session:
        session.execute(
            text(f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY, who TEXT)")
        )


def add_row(db: Database, who: str) -> None:
    with db.writing() as session:
        session.execute(text(f"INSERT INTO {TABLE} (who) VALUES (:who)"), {"who": who})


def writers_in_order(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.scalars(text(f"SELECT who FROM {TABLE} ORDER BY id")))


def main(url: str, mode: str, who: str, count: str = "1") -> None:
    db = Database(url)
    if mode == "write":
        sys.stdin.readline()
        for _ in range(int(count)):
            add_row(db, who)
        print("done", flush=True)
    elif mode == "hold":
        with db.writing() as session:
            session.execute(text(f"INSERT INTO {TABLE} (who) VALUES (:who)"), {"who": who})
            print("holding", flush=True)
            sys.stdin.read()
    db.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:])
