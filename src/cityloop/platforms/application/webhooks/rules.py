"""The webhook queue's pure rules: what a valid notification is, how an answer is classed,
how long to back off, and the settings they read."""

from __future__ import annotations

import random
from dataclasses import dataclass
from urllib.parse import urlsplit

from cityloop.base.problems import Problem
from cityloop.base.statemachine import Transition, TransitionTable
from cityloop.platforms.application.webhooks.messages import Message
from cityloop.settings import Settings

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# Outcome of one attempt -> the row's next status. A retryable outcome on the last allowed
# attempt becomes "exhausted", which fails the row too.
DELIVERY_WORKFLOW = TransitionTable(
    "webhook delivery",
    [
        Transition("success", frozenset({PENDING}), DELIVERED),
        Transition("retryable", frozenset({PENDING}), PENDING),
        Transition("exhausted", frozenset({PENDING}), FAILED),
        Transition("permanent", frozenset({PENDING}), FAILED),
    ],
)
# Statuses worth another try: timeouts, rate limits and server errors. Any other 4xx (and 3xx,
# since redirects are not followed) means the request itself is wrong; resending cannot help.
RETRYABLE_STATUSES = frozenset({408, 425, 429})
# Set by the HTTP client, or meaningless on a stored request.
RESERVED_HEADERS = frozenset(
    {"host", "content-length", "content-type", "transfer-encoding", "connection", "upgrade"}
)
MAX_ENDPOINT_LENGTH = 2000


class WebhookInputError(Problem, ValueError):
    """A notification that cannot be queued as given (a 400 naming the field)."""

    def __init__(self, detail: Message, field: str) -> None:
        super().__init__(400, "invalid-webhook", detail, field=field)


@dataclass(frozen=True)
class WebhookConfig:
    timeout_seconds: float = 10.0
    max_attempts: int = 8
    backoff_base_seconds: float = 2.0
    backoff_cap_seconds: float = 600.0
    endpoint_concurrency: int = 4
    global_concurrency: int = 64
    batch_size: int = 50
    lease_seconds: float = 120.0
    poll_seconds: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookConfig:
        return cls(
            timeout_seconds=settings.webhook_timeout_seconds,
            max_attempts=settings.webhook_max_attempts,
            backoff_base_seconds=settings.webhook_backoff_base_seconds,
            backoff_cap_seconds=settings.webhook_backoff_cap_seconds,
            endpoint_concurrency=settings.webhook_endpoint_concurrency,
            global_concurrency=settings.webhook_global_concurrency,
            batch_size=settings.webhook_batch_size,
            lease_seconds=settings.webhook_lease_seconds,
            poll_seconds=settings.webhook_poll_seconds,
        )

    @property
    def effective_lease_seconds(self) -> float:
        # A lease shorter than a request would let a second process resend a live attempt.
        return max(self.lease_seconds, self.timeout_seconds * 2 + 30)


def endpoint_origin(endpoint: str) -> str:
    """Validate a notification endpoint and return its origin, ``scheme://host:port``."""
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise WebhookInputError(Message("webhooks.endpoint_empty"), "endpoint")
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise WebhookInputError(
            Message("webhooks.endpoint_too_long", {"limit": str(MAX_ENDPOINT_LENGTH)}), "endpoint"
        )
    if any(c.isspace() or ord(c) < 0x20 for c in endpoint):
        raise WebhookInputError(Message("webhooks.endpoint_whitespace"), "endpoint")
    parts = urlsplit(endpoint)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookInputError(
            Message("webhooks.endpoint_scheme", {"scheme": repr(parts.scheme or "missing")}),
            "endpoint",
        )
    if parts.username is not None or parts.password is not None:
        raise WebhookInputError(Message("webhooks.endpoint_credentials"), "endpoint")
    if not parts.hostname:
        raise WebhookInputError(Message("webhooks.endpoint_no_host"), "endpoint")
    try:
        port = parts.port
    except ValueError:
        raise WebhookInputError(Message("webhooks.endpoint_port"), "endpoint") from None
    if port == 0:
        raise WebhookInputError(Message("webhooks.endpoint_port"), "endpoint")
    if parts.fragment:
        raise WebhookInputError(Message("webhooks.endpoint_fragment"), "endpoint")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or (443 if scheme == 'https' else 80)}"


def check_headers(headers: dict[str, str]) -> dict[str, str]:
    """The extra headers to send, checked; WebhookInputError naming ``headers`` otherwise."""
    if not isinstance(headers, dict):
        raise WebhookInputError(Message("webhooks.headers_not_object"), "headers")
    clean: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise WebhookInputError(Message("webhooks.headers_not_strings"), "headers")
        # RFC 9110 token characters only; CR/LF in a value would split the request.
        if not name or not all(c.isalnum() or c in "!#$%&'*+-.^_`|~" for c in name):
            raise WebhookInputError(
                Message("webhooks.header_name_invalid", {"name": repr(name)}), "headers"
            )
        if any(c in "\r\n\0" for c in value):
            raise WebhookInputError(
                Message("webhooks.header_line_break", {"name": name}), "headers"
            )
        if name.lower() in RESERVED_HEADERS:
            raise WebhookInputError(Message("webhooks.header_reserved", {"name": name}), "headers")
        clean[name] = value
    return clean


@dataclass(frozen=True)
class Outcome:
    """What one HTTP attempt came to."""

    kind: str  # success | retryable | permanent
    status_code: int | None = None
    error: str | None = None
    retry_after_seconds: float | None = None


def classify_response(status_code: int, retry_after: str | None = None) -> Outcome:
    """What an HTTP status (and its Retry-After) means for this delivery."""
    if 200 <= status_code < 300:
        return Outcome("success", status_code)
    delay: float | None = None
    if retry_after and retry_after.strip().isdigit():
        delay = float(retry_after.strip())
    if status_code >= 500 or status_code in RETRYABLE_STATUSES:
        return Outcome("retryable", status_code, f"HTTP {status_code}", delay)
    return Outcome("permanent", status_code, f"HTTP {status_code}")


def backoff_seconds(
    attempt: int, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Exponential backoff with jitter for the ``attempt``-th failure (1-based)."""
    # Half of min(cap, base * 2^(attempt-1)) is fixed and half random, so retries of many rows
    # spread out.
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)
