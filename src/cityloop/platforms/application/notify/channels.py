"""Outbound channels for citizen notifications. E-mail over SMTP ships with CityLoop; SMS and
messaging apps plug in through the ``cityloop.notify_channels`` entry-point group."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit


class Channel(Protocol):
    name: str

    def send(self, to: str, subject: str, body: str) -> None: ...


class SmtpChannel:
    """``smtp://user:pass@host:port?from=cityloop@city.example`` (``smtps://`` for TLS,
    ``?starttls=1`` to upgrade). One connection per message: notifications are low volume and
    a pooled connection would need its own health checks."""

    name = "email"

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"not an SMTP URL: {url!r}")
        query = parse_qs(parts.query)
        self.tls = parts.scheme == "smtps"
        self.starttls = query.get("starttls", ["0"])[0] in ("1", "true")
        self.host = parts.hostname
        self.port = parts.port or (465 if self.tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = query.get("from", ["cityloop@localhost"])[0]
        self.timeout = timeout

    def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        client_type = smtplib.SMTP_SSL if self.tls else smtplib.SMTP
        with client_type(self.host, self.port, timeout=self.timeout) as client:
            if self.starttls:
                client.starttls()
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(message)


def channel_from_url(url: str) -> Channel:
    """The channel for a URL: SMTP built in, other schemes from plug-ins (entry points)."""
    scheme = urlsplit(url).scheme
    if scheme in ("smtp", "smtps"):
        return SmtpChannel(url)
    from importlib.metadata import entry_points

    for entry in entry_points(group="cityloop.notify_channels"):
        if entry.name == scheme:
            return entry.load()(url)  # type: ignore[no-any-return]
    raise ValueError(f"no notification channel for scheme {scheme!r}")
