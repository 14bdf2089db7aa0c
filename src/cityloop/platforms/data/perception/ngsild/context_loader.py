"""Where @context documents come from: the shipped core context, memory, the ngsild_contexts
table, and (once per URL) the network through the outbound client.

Fetches go through the outbound client (its address policy, one deadline, a size cap). Every
fetch that gets no document answers the same 504 LdContextNotAvailable detail, whatever went
wrong, so the answer says nothing about what listens at an address; the reason is logged here.
A document that arrives but is not JSON, or has no @context member, is a 400 BadRequestData
(clause 5.5.6). A context that failed is neither cached nor listed by /jsonldContexts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityloop.base.db import Database, utcnow
from cityloop.base.outbound import Outbound, OutboundError
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data
from cityloop.platforms.data.perception.ngsild.models import NgsiContext
from cityloop.platforms.data.perception.ngsild.texts import text

log = logging.getLogger(__name__)

# The core context a response names: v1.8, shipped with its v1.9 successor (clause 5.13).
CORE_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
CORE_V19_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld"
_CORE_PATTERN = re.compile(
    r"^https?://uri\.etsi\.org/ngsi-ld/v1/ngsi-ld-core-context(-v1\.([3-9])(\.\d+)?)?\.jsonld$"
)
HOSTED_PATH = re.compile(r"/ngsi-ld/v1/jsonldContexts/([A-Za-z0-9_-]{1,64})$")
# The one answer to any failed fetch: refused, closed, silent, not JSON, too large.
UNAVAILABLE = text("context_unavailable").render()
_USE_STAMP_EVERY = timedelta(minutes=10)


def _shipped(name: str) -> dict[str, Any]:
    return dict(json.loads(resources.files(__package__).joinpath(name).read_text("utf-8")))


CORE_DOCUMENT = _shipped("ngsi-ld-core-context-v1.8.jsonld")
CORE_V19_DOCUMENT = _shipped("ngsi-ld-core-context-v1.9.jsonld")


def is_core_url(url: str) -> bool:
    """Whether ``url`` names the core context (any version): it is never fetched."""
    return bool(_CORE_PATTERN.match(url))


def core_document(url: str) -> dict[str, Any]:
    """The shipped core context a core URL names: v1.9 for v1.9, else v1.8 (the versions
    before it only lack terms; the unversioned URL stays on the default)."""
    match = _CORE_PATTERN.match(url)
    return CORE_V19_DOCUMENT if match and match.group(2) == "9" else CORE_DOCUMENT


@dataclass(frozen=True)
class ContextLimits:
    timeout_seconds: float = 5.0  # for the whole fetch, not per read
    max_bytes: int = 1_000_000
    cache_max: int = 500  # Cached rows kept in ngsild_contexts


class Bounded(dict[str, Any]):
    """A cache that starts over when full: contexts in use come back on the next request."""

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize

    def __setitem__(self, key: str, value: Any) -> None:
        if len(self) >= self.maxsize and key not in self:
            self.clear()
        super().__setitem__(key, value)


# Documents fetched by URL, per process; ``lock`` guards removals that race with a fetch.
fetched: Bounded = Bounded(512)
lock = threading.Lock()


def local_id(text: str) -> str:
    """A stored context's id: a hash of its URL (Cached) or of its body (Hosted)."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _row_for(session: Session, url: str) -> NgsiContext | None:
    """The stored context a URL names: one served here (Hosted or ImplicitlyCreated) by its
    path, else a Cached one."""
    hosted = HOSTED_PATH.search(url.split("?", 1)[0])
    row = None
    if hosted:
        row = session.get(NgsiContext, hosted.group(1))
        if row is not None and row.kind == "Cached":
            row = None
    if row is None:
        row = session.scalar(select(NgsiContext).where(NgsiContext.url == url))
    return row


class DocumentLoader:
    """What pyld calls to load a context URL; remembers the error of the last failed load,
    since pyld wraps it in its own."""

    failure: NgsiError | None = None

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        try:
            document = self.load(url)
        except NgsiError as exc:
            self.failure = exc
            raise
        return {"contextUrl": None, "documentUrl": url, "document": document}

    def load(self, url: str) -> dict[str, Any]:
        raise NotImplementedError


class Loader(DocumentLoader):
    """The pyld document loader: core context from the package, others from memory, the
    database or (once) the network through ``outbound``; without it, never the network.
    ``gate`` runs before each network fetch and may refuse it (a rate limit)."""

    def __init__(
        self,
        db: Database | None,
        limits: ContextLimits,
        outbound: Outbound | None,
        gate: Callable[[], None] | None,
    ) -> None:
        self.db = db
        self.limits = limits
        self.outbound = outbound
        self.gate = gate

    def load(self, url: str) -> dict[str, Any]:
        if is_core_url(url):
            return core_document(url)
        cached = fetched.get(url)
        if cached is not None:
            return cached
        document = self._from_database(url)
        if document is None:
            document = self.fetch(url)
            self._store(url, document)
        fetched[url] = document
        return document

    def _from_database(self, url: str) -> dict[str, Any] | None:
        if self.db is None:
            return None
        with self.db.read() as session:
            row = _row_for(session, url)
            if row is None:
                return None
            body, row_id, used = row.body, row.id, row.last_used_at
        if used is None or utcnow() - used > _USE_STAMP_EVERY:
            # Keeps the eviction order "least recently used" (and numberOfHits, of every kind)
            # without a write per request.
            with self.db.writing() as session:
                row = session.get(NgsiContext, row_id)
                if row is not None:
                    row.last_used_at = utcnow()
                    row.access_count = (row.access_count or 0) + 1
        return dict(json.loads(body))

    def fetch(self, url: str) -> dict[str, Any]:
        """Fetch ``url`` from the network now, whatever is cached (a reload); stores nothing."""
        if not url.startswith(("http://", "https://")) or len(url) > 2000:
            raise NgsiError("LdContextNotAvailable", text("context_not_http", url=url[:200]))
        if self.gate is not None:
            self.gate()
        try:
            content = self._download(url)
        except OutboundError as exc:
            log.warning("@context %s could not be fetched: %s", url[:300], exc.reason)
            raise NgsiError("LdContextNotAvailable", text("context_unavailable")) from None
        try:
            document = json.loads(content)
        except (ValueError, RecursionError):
            document = None
        if not isinstance(document, dict) or "@context" not in document:
            log.warning("@context %s is not a JSON-LD context document", url[:300])
            raise bad_data(text("context_not_document", url=url[:200]))
        return document

    def _download(self, url: str) -> bytes:
        if self.outbound is None:
            raise OutboundError("no outbound client here (a hosted context)", "refused")
        reply = self.outbound.get(
            url,
            timeout=self.limits.timeout_seconds,
            read_limit=self.limits.max_bytes,
            headers={"Accept": "application/ld+json, application/json"},
        )
        if reply.status_code != 200:
            raise OutboundError(f"answered HTTP {reply.status_code}", "status")
        return bytes(reply.content)

    def _store(self, url: str, document: dict[str, Any]) -> None:
        if self.db is None:
            return
        evicted: list[str] = []
        try:
            with self.db.writing() as session:
                if session.scalar(select(NgsiContext.id).where(NgsiContext.url == url)) is None:
                    session.add(
                        NgsiContext(
                            id=local_id(url),
                            url=url,
                            kind="Cached",
                            body=json.dumps(document),
                            created_at=utcnow(),
                            last_used_at=utcnow(),
                            access_count=1,
                        )
                    )
                    session.flush()
                    evicted = _evict(session, self.limits.cache_max)
        except IntegrityError:
            pass  # another worker cached it at the same moment
        with lock:
            for gone in evicted:
                fetched.pop(gone, None)


def _evict(session: Session, keep: int) -> list[str]:
    """Delete the least recently used Cached contexts beyond ``keep`` (Hosted ones stay);
    returns their URLs."""
    count = session.scalar(
        select(func.count()).select_from(NgsiContext).where(NgsiContext.kind == "Cached")
    )
    excess = (count or 0) - keep
    if excess <= 0:
        return []
    oldest = session.execute(
        select(NgsiContext.id, NgsiContext.url)
        .where(NgsiContext.kind == "Cached")
        .order_by(func.coalesce(NgsiContext.last_used_at, NgsiContext.created_at), NgsiContext.id)
        .limit(excess)
    ).all()
    session.execute(delete(NgsiContext).where(NgsiContext.id.in_([r.id for r in oldest])))
    return [r.url for r in oldest if r.url]


class CachedLoader(DocumentLoader):
    """The loader for code inside a transaction: memory, then the documents the caller kept,
    then the ngsild_contexts table read through the caller's own session; never the
    network, never a write."""

    def __init__(self, session: Session | None, documents: dict[str, Any]) -> None:
        self.session = session
        self.documents = documents

    def load(self, url: str) -> dict[str, Any]:
        if is_core_url(url):
            return core_document(url)
        document = fetched.get(url) or self.documents.get(url)
        if document is None and self.session is not None:
            row = _row_for(self.session, url)
            document = json.loads(row.body) if row is not None else None
        if not isinstance(document, dict):
            raise NgsiError("LdContextNotAvailable", text("context_not_cached", url=url))
        return document
