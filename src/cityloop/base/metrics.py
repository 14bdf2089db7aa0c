"""A small Prometheus text-format registry: counters, gauges and histograms with labels.

Process-wide, like the Prometheus client libraries; a gauge may be computed at scrape time.
A count of something a transaction writes is taken when that transaction commits
(:meth:`Counter.inc_on_commit`), so a rolled-back savepoint, or a group commit whose units are
retried one by one, counts nothing twice.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

from cityloop.base.commit_hooks import after_this_commit

LabelKey = tuple[tuple[str, str], ...]


def _labels(key: LabelKey, extra: tuple[tuple[str, str], ...] = ()) -> str:
    pairs = key + extra
    if not pairs:
        return ""
    body = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in pairs
    )
    return "{" + body + "}"


class Metric:
    kind = "untyped"

    def __init__(self, name: str, help_: str) -> None:
        self.name = name
        self.help = help_
        self._lock = threading.Lock()
        REGISTRY.register(self)

    def samples(self) -> Iterable[str]:
        return ()

    def render(self) -> str:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        lines.extend(self.samples())
        return "\n".join(lines)


class Counter(Metric):
    kind = "counter"

    def __init__(self, name: str, help_: str) -> None:
        super().__init__(name, help_)
        self._values: dict[LabelKey, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def inc_on_commit(self, session: Session, amount: float = 1.0, **labels: str) -> None:
        """Count once the session's transaction commits; nothing if it, or the savepoint the
        count was taken in, rolls back."""
        after_this_commit(session, lambda: self.inc(amount, **labels))

    def value(self, **labels: str) -> float:
        return self._values.get(tuple(sorted(labels.items())), 0.0)

    def samples(self) -> Iterable[str]:
        with self._lock:
            items = list(self._values.items())
        return [f"{self.name}{_labels(k)} {v}" for k, v in items]


class Gauge(Metric):
    """A gauge whose values come from a callback at scrape time."""

    kind = "gauge"

    def __init__(self, name: str, help_: str) -> None:
        super().__init__(name, help_)
        self.collector: Callable[[], dict[LabelKey, float]] | None = None

    def samples(self) -> Iterable[str]:
        if self.collector is None:
            return []
        try:
            values = self.collector()
        except Exception:  # a scrape must not fail because the database is briefly away
            return []
        return [f"{self.name}{_labels(k)} {v}" for k, v in values.items()]


class Histogram(Metric):
    kind = "histogram"
    BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

    def __init__(self, name: str, help_: str) -> None:
        super().__init__(name, help_)
        self._data: dict[LabelKey, tuple[list[int], list[float]]] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            counts, sums = self._data.setdefault(key, ([0] * (len(self.BUCKETS) + 1), [0.0]))
            counts[bisect.bisect_left(self.BUCKETS, value)] += 1
            sums[0] += value

    def samples(self) -> Iterable[str]:
        out: list[str] = []
        with self._lock:
            items = [(k, (list(c), s[0])) for k, (c, s) in self._data.items()]
        for key, (counts, total) in items:
            running = 0
            for bound, count in zip(self.BUCKETS, counts, strict=False):
                running += count
                out.append(f"{self.name}_bucket{_labels(key, (('le', str(bound)),))} {running}")
            running += counts[-1]
            out.append(f"{self.name}_bucket{_labels(key, (('le', '+Inf'),))} {running}")
            out.append(f"{self.name}_sum{_labels(key)} {total}")
            out.append(f"{self.name}_count{_labels(key)} {running}")
        return out


class Registry:
    def __init__(self) -> None:
        self.metrics: dict[str, Metric] = {}

    def register(self, metric: Metric) -> None:
        if metric.name in self.metrics:
            raise ValueError(f"metric {metric.name} registered twice")
        self.metrics[metric.name] = metric

    def render(self) -> str:
        return "\n".join(m.render() for m in self.metrics.values()) + "\n"


REGISTRY = Registry()

HTTP_REQUESTS = Counter("cityloop_http_requests_total", "HTTP requests by method, route, status")
HTTP_LATENCY = Histogram("cityloop_http_request_seconds", "HTTP request latency by route")
EVENTS_DELIVERED = Counter("cityloop_events_delivered_total", "Outbox events handled, by consumer")
EVENTS_FAILED = Counter("cityloop_events_failed_total", "Outbox consumer failures, by consumer")
REPORTS_RECEIVED = Counter("cityloop_reports_total", "Reports received, by channel and outcome")
CASE_ACTIONS = Counter("cityloop_case_actions_total", "Case workflow actions, by action")
INPUT_REJECTED = Counter("cityloop_input_rejected_total", "Rejected input, by reason")
CASES_BY_STATUS = Gauge("cityloop_cases", "Cases by status")
OUTBOX_PENDING = Gauge("cityloop_outbox_pending", "Outbox events not yet delivered")
INGEST_READINGS = Counter("cityloop_ingest_readings_total", "Device readings stored")
INGEST_REJECTED = Counter("cityloop_ingest_rejected_total", "Rejected device messages, by reason")
MQTT_MESSAGES = Counter("cityloop_mqtt_messages_total", "MQTT device messages, by outcome")
WEBHOOKS_DELIVERED = Counter("cityloop_webhooks_delivered_total", "Webhook notifications delivered")
WEBHOOKS_RETRIED = Counter("cityloop_webhooks_retried_total", "Webhook attempts to retry later")
WEBHOOKS_FAILED = Counter("cityloop_webhooks_failed_total", "Webhook notifications given up on")
WEBHOOK_LATENCY = Histogram("cityloop_webhook_seconds", "Webhook request latency, by outcome")
WEBHOOK_QUEUE = Gauge("cityloop_webhook_queue", "Webhook notifications in the queue, by status")
GROUP_COMMITS = Counter("cityloop_group_commits_total", "Transactions committed by group commit")
GROUP_COMMIT_UNITS = Counter(
    "cityloop_group_commit_units_total", "Units of work run by group commit, by outcome"
)
