"""The webhook queue in tests: a dispatcher running against the city's database, and an empty
queue for each test of a module that shares one city."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from cityloop.platforms.application.webhooks.dispatcher import (
    WebhookDispatcher,
    notify_dispatcher_after_commit,
)
from cityloop.platforms.application.webhooks.models import WebhookDelivery, WebhookSourceStats
from cityloop.platforms.application.webhooks.rules import WebhookConfig
from tests.support.city import City


@contextmanager
def dispatching(city: City, **config: Any) -> Iterator[WebhookDispatcher]:
    """A dispatcher with ``config`` (WebhookConfig's fields) running for the block, woken by
    each commit that queues a delivery, as in the app."""
    dispatcher = WebhookDispatcher(city.ctx.db, WebhookConfig(**config), outbound=city.ctx.outbound)
    undo = notify_dispatcher_after_commit(city.ctx.db, dispatcher=dispatcher)
    dispatcher.start()
    try:
        yield dispatcher
    finally:
        dispatcher.stop()
        undo()


def clear_webhook_queue(session: Session) -> None:
    """Delete every queued delivery and every endpoint's statistics."""
    session.execute(delete(WebhookDelivery))
    session.execute(delete(WebhookSourceStats))
