"""Per-client rate limiting (a sliding one-minute window): public intake, anonymous @context
fetches."""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from starlette.requests import Request

from cityloop.base.messages import Message
from cityloop.base.problems import Problem


def client_key(request: Request) -> str:
    """Who is asking, for rate limits: the client address (behind a proxy, configure uvicorn's
    --forwarded-allow-ips so this is the real client)."""
    return request.client.host if request.client else "unknown"


class RateLimiter:
    """In-process limiter. Behind a load balancer each process enforces its own share, which is
    the usual trade-off for not needing a shared store on the embedded default."""

    def __init__(
        self,
        per_minute: int,
        window_seconds: float = 60.0,
        what: str = "reports",
        what_zh: str = "上报",
    ) -> None:
        self.per_minute = per_minute
        self.window = window_seconds
        self.what, self.what_zh = what, what_zh  # what is counted, for the 429's detail
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(client, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.per_minute:
                retry = max(1, math.ceil(hits[0] + self.window - now))
                raise Problem(
                    429,
                    "rate-limited",
                    Message(
                        "rate_limited",
                        {
                            "per_minute": str(self.per_minute),
                            "what": self.what,
                            "what_zh": self.what_zh,
                            "seconds": str(retry),
                        },
                    ),
                    headers={"Retry-After": str(retry)},
                )
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle clients so memory stays bounded
                for key in [k for k, v in self._hits.items() if not v or v[-1] < now - 60]:
                    del self._hits[key]
