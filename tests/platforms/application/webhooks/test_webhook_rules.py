"""The webhook queue's pure rules: endpoint origins, response classes, backoff bounds."""

from __future__ import annotations

import random

import pytest

from cityloop.platforms.application.webhooks.rules import (
    DELIVERY_WORKFLOW,
    PENDING,
    WebhookConfig,
    backoff_seconds,
    classify_response,
    endpoint_origin,
)


@pytest.mark.parametrize(
    ("endpoint", "origin"),
    [
        ("http://Example.org/hook", "http://example.org:80"),
        ("https://example.org/hook?x=1", "https://example.org:443"),
        ("HTTPS://example.org:8443/", "https://example.org:8443"),
        ("http://[::1]:9000/n", "http://[::1]:9000"),
    ],
)
def test_an_origin_is_scheme_host_and_port(endpoint: str, origin: str) -> None:
    assert endpoint_origin(endpoint) == origin


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, "success"),
        (204, "success"),
        (301, "permanent"),
        (400, "permanent"),
        (401, "permanent"),
        (404, "permanent"),
        (408, "retryable"),
        (425, "retryable"),
        (429, "retryable"),
        (500, "retryable"),
        (503, "retryable"),
    ],
)
def test_responses_are_classified(status: int, kind: str) -> None:
    assert classify_response(status).kind == kind


def test_retry_after_is_read_from_a_rate_limit_answer() -> None:
    assert classify_response(429, "30").retry_after_seconds == 30.0
    assert classify_response(429, "soon").retry_after_seconds is None


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(7)
    for attempt, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (10, 60.0), (40, 60.0)]:
        delays = {backoff_seconds(attempt, 2.0, 60.0, rng) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered, so many rows do not retry in lockstep


def test_every_outcome_has_a_transition_from_pending() -> None:
    assert set(DELIVERY_WORKFLOW.actions_from(PENDING)) == {
        "success",
        "retryable",
        "exhausted",
        "permanent",
    }


def test_the_lease_always_outlasts_a_request() -> None:
    assert WebhookConfig(timeout_seconds=100, lease_seconds=10).effective_lease_seconds > 100
