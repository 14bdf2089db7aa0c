"""Work to do once a transaction has committed: wake a relay, drop a cache, take a count,
publish a message.

SQLAlchemy fires its ``after_commit`` hook when a savepoint is released, too, while the
transaction around it is still open. Every write unit of the group commit runs in a savepoint,
and so does a relay's consumer after a failure, so a hook that took that for the commit would
wake a relay before its events were visible (and then, having cleared its flag, not wake it at
the real commit), drop a cache that another thread could rebuild from the data as it was
before the commit, or publish a message about a change that is then rolled back. Hooks here
run only at the commit of the outermost transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

_PENDING = "cityloop.after_this_commit"


def on_commit(target: Any, hook: Callable[[Session], None]) -> Callable[[], None]:
    """Call ``hook(session)`` after each outermost commit of ``target`` (the Session class or a
    sessionmaker); answers a function that removes the hook again."""

    def after_commit(session: Session) -> None:
        if not session.in_nested_transaction():  # not a savepoint's release
            hook(session)

    event.listen(target, "after_commit", after_commit)
    return lambda: event.remove(target, "after_commit", after_commit)


def after_this_commit(session: Session, callback: Callable[[], None]) -> None:
    """Call ``callback()`` once this session's transaction commits; never if it, or the
    savepoint it was asked for in, rolls back."""
    asked_in = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((asked_in, callback))


def _run_pending(session: Session) -> None:
    for _, callback in session.info.pop(_PENDING, []):
        try:
            callback()
        except Exception:  # the commit stands; a failed follow-up must not report it failed
            log.exception("a follow-up of a committed transaction failed")


on_commit(Session, _run_pending)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        pending[:] = [p for p in pending if not _within(p[0], previous_transaction)]


def _within(asked_in: SessionTransaction | None, rolled_back: SessionTransaction) -> bool:
    while asked_in is not None:
        if asked_in is rolled_back:
            return True
        asked_in = asked_in.parent
    return False
