"""A reporter who left an e-mail address hears about every public change by e-mail."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from cityloop.platforms.application.notify.channels import SmtpChannel
from cityloop.platforms.application.notify.models import Notification
from cityloop.platforms.application.notify.service import send_pending
from tests.support.city import City, fresh_point, make_city
from tests.support.databases import BACKENDS
from tests.support.servers import free_port


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def mailing_city(
    request: pytest.FixtureRequest,
    templates: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    mailbox: tuple[Mailbox, int],
) -> Iterator[City]:
    url = f"smtp://127.0.0.1:{mailbox[1]}?from=noreply@riverton.example"
    directory = Path(tmp_path_factory.mktemp("mail"))
    yield from make_city(templates, request.param, directory, smtp_url=url)


def test_reporter_and_supporter_get_an_email_for_each_public_change(
    mailing_city: City, mailbox: tuple[Mailbox, int]
) -> None:
    box = mailbox[0]
    lat, lon = fresh_point()
    first = mailing_city.report(
        category="C-02-01", lat=lat, lon=lon, contact_email="first@example.org"
    )
    mailing_city.report(category="C-02-01", lat=lat, lon=lon, contact_email="second@example.org")
    mailing_city.drain()
    send_pending(mailing_city.ctx.db, channel=mailing_city.ctx.extras["email"])
    box.messages.clear()
    mailing_city.act(first["case_id"], "dispatcher", action="register")
    mailing_city.drain()
    send_pending(mailing_city.ctx.db, channel=mailing_city.ctx.extras["email"])
    recipients = sorted(m["To"] for m in box.messages)
    assert recipients == ["first@example.org", "second@example.org"]
    body = box.messages[0].get_payload()
    assert "Registered" in str(body)
    assert box.messages[0]["From"] == "noreply@riverton.example"
    # Internal notes never go out.
    box.messages.clear()
    mailing_city.act(first["case_id"], "dispatcher", action="comment", note="internal only")
    mailing_city.drain()
    send_pending(mailing_city.ctx.db, channel=mailing_city.ctx.extras["email"])
    assert box.messages == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_unreachable_mail_server_delays_but_never_loses_a_notification(
    backend: str, templates: dict[str, str], tmp_path: Path, mailbox: tuple[Mailbox, int]
) -> None:
    dead = f"smtp://127.0.0.1:{free_port()}"
    for city in make_city(templates, backend, tmp_path, smtp_url=dead):
        lat, lon = fresh_point()
        answer = city.report(category="C-02-01", lat=lat, lon=lon, contact_email="x@example.org")
        city.drain()
        # The inbox does not wait for the mail server.
        notes = city.client.get(f"/api/v1/track/{answer['tracking_token']}/notifications").json()
        assert len(notes) == 1
        assert send_pending(city.ctx.db, channel=city.ctx.extras["email"]) == 0
        with city.ctx.reading() as session:
            queued = session.scalars(
                select(Notification).where(Notification.channel == "email")
            ).all()
        assert [(n.sent_at, n.attempts) for n in queued] == [(None, 1)]
        assert queued[0].last_error
        # The server comes back: the same message goes out, once.
        box, port = mailbox
        box.messages.clear()
        live = SmtpChannel(f"smtp://127.0.0.1:{port}")
        assert send_pending(city.ctx.db, channel=live) == 1
        assert send_pending(city.ctx.db, channel=live) == 0
        assert [m["To"] for m in box.messages] == ["x@example.org"]
