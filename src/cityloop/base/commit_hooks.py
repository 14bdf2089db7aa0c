"""Work to do once a transaction has committed: wake a relay, drop a cache, take a count.

SQLAlchemy fires its ``after_commit`` hook when a savepoint is released, too, while the
transaction around it is still open. Every write unit of the group commit runs in a savepoint,
so a hook that took that for the commit would wake a relay before its events were visible (and
then, having cleared its flag, not wake it at the real commit), or drop a cache that another
thread could rebuild from the data as it was before the commit. Hooks registered here run
only at the commit of the outermost transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session


def on_commit(target: Any, hook: Callable[[Session], None]) -> Callable[[], None]:
    """Call ``hook(session)`` after each outermost commit of ``target`` (the Session class or a
    sessionmaker); answers a function that removes the hook again."""

    def after_commit(session: Session) -> None:
        if not session.in_nested_transaction():  # not a savepoint's release
            hook(session)

    event.listen(target, "after_commit", after_commit)
    return lambda: event.remove(target, "after_commit", after_commit)
