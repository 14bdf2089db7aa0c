"""Transition tables: one helper for every workflow whose states move by named actions.

A table lists rows of (action, the states it starts from, the state it leads to). The case
workflow, alarms and webhook deliveries each keep theirs as data; whether a move is legal is
looked up here and nowhere else. Callers add what only they know (roles, guards, effects) as
fields of their own row type and raise their own 409 wording.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

State = TypeVar("State", bound=str)
Row = TypeVar("Row", bound="Transition")  # type: ignore[type-arg]


@dataclass(frozen=True)
class Transition(Generic[State]):
    """One row: ``action`` moves any of ``sources`` to ``target`` (None keeps the state)."""

    action: str
    sources: frozenset[State]
    target: State | None


class TransitionTable(Generic[Row]):
    """Rows indexed by (state, action); an action may lead to different states from different
    sources, but each (state, action) pair has at most one row."""

    def __init__(self, name: str, rows: Iterable[Row]) -> None:
        self.name = name
        self.rows: tuple[Row, ...] = tuple(rows)
        self._index: dict[tuple[str, str], Row] = {}
        for row in self.rows:
            for source in row.sources:
                key = (str(source), row.action)
                if key in self._index:
                    raise ValueError(f"{name}: two rows for {row.action} from {source}")
                self._index[key] = row
        self.actions: tuple[str, ...] = tuple(dict.fromkeys(row.action for row in self.rows))

    def find(self, state: str, action: str) -> Row | None:
        """The row that lets ``action`` happen in ``state``, if any."""
        return self._index.get((str(state), action))

    def target(self, state: str, action: str) -> str | None:
        """The state ``action`` leads to from ``state`` (the same state for a row with no
        target), or None when the table does not allow it."""
        row = self.find(state, action)
        if row is None:
            return None
        return str(row.target) if row.target is not None else str(state)

    def row(self, action: str) -> Row | None:
        """The first row of an action (for tables with one row per action)."""
        return next((r for r in self.rows if r.action == action), None)

    def actions_from(self, state: str) -> list[str]:
        """Actions the table allows in ``state``, in table order."""
        return [a for a in self.actions if (str(state), a) in self._index]
