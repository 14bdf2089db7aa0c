"""Scratch PostgreSQL databases for the HTTP benchmarks: the demo city seeded once into a
template, then a fresh copy (CREATE DATABASE … TEMPLATE) for every server run, all dropped at
the end. The admin URL is the machine's PostgreSQL (trust auth), or CITYLOOP_BENCH_POSTGRES."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit, urlunsplit

import psycopg

ADMIN_URL = os.environ.get(
    "CITYLOOP_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


class ScratchDatabases:
    """Databases named ``cityloop_bench_<pid>_<n>`` on the server of ``admin_url``."""

    def __init__(self, admin_url: str = ADMIN_URL) -> None:
        self.admin_url = admin_url
        self.prefix = f"cityloop_bench_{os.getpid()}"
        self.made: list[str] = []

    def url(self, name: str) -> str:
        """The URL of database ``name`` on the same server."""
        return urlunsplit(urlsplit(self.admin_url)._replace(path=f"/{name}"))

    def create(self, template: str | None = None) -> str:
        """A new empty database, or a copy of ``template``; its name."""
        name = f"{self.prefix}_{len(self.made)}"
        copy = f" TEMPLATE {_safe(template)}" if template else ""
        self._admin(f"CREATE DATABASE {name}{copy}")
        self.made.append(name)
        return name

    def drop(self, name: str) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {_safe(name)} WITH (FORCE)")
        if name in self.made:
            self.made.remove(name)

    def drop_all(self) -> None:
        for name in list(reversed(self.made)):
            self.drop(name)

    def _admin(self, statement: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(statement)  # names checked by _safe; DDL takes no parameters


def _safe(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"not a plain database name: {name!r}")
    return name
