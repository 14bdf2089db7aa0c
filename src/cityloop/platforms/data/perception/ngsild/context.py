"""JSON-LD @context handling: the shipped core context, user contexts by URL (fetched once and
cached in the database and in memory), and term expansion/compaction with pyld.

A client's context is resolved before any unit of work opens (fetching may take seconds), and
its processed form is cached per context, with expansions cached per (context, term). Code
that runs inside a transaction (the subscription matcher) uses :func:`resolve_cached`, which
never fetches or stores.

Fetches go through the outbound client (its address policy, one deadline, a size cap). Every
failed fetch answers the same LdContextNotAvailable detail, whatever went wrong, so the
answer says nothing about what listens at an address; the reason is logged here. A context
that failed is neither cached nor listed by /jsonldContexts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from typing import Any

from pyld import jsonld
from pyld.context_resolver import ContextResolver
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityloop.base.db import Database, utcnow
from cityloop.base.outbound import GENERIC, Outbound, OutboundError
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data
from cityloop.platforms.data.perception.ngsild.models import NgsiContext

log = logging.getLogger(__name__)

CORE_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
NGSI_LD = "https://uri.etsi.org/ngsi-ld/"
DEFAULT_VOCAB = NGSI_LD + "default-context/"
JSONLD_CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
_CORE_PATTERN = re.compile(
    r"^https?://uri\.etsi\.org/ngsi-ld/v1/ngsi-ld-core-context(-v1\.[3-8](\.\d+)?)?\.jsonld$"
)
HOSTED_PATH = re.compile(r"/ngsi-ld/v1/jsonldContexts/([A-Za-z0-9_-]{1,64})$")
# The one answer to any failed fetch: refused, closed, silent, not JSON, too large.
UNAVAILABLE = f"@context: {GENERIC}"

CORE_DOCUMENT: dict[str, Any] = json.loads(
    resources.files(__package__).joinpath("ngsi-ld-core-context.jsonld").read_text("utf-8")
)


def is_core_url(url: str) -> bool:
    return bool(_CORE_PATTERN.match(url))


@dataclass(frozen=True)
class ContextLimits:
    timeout_seconds: float = 5.0  # for the whole fetch, not per read
    max_bytes: int = 1_000_000
    cache_max: int = 500  # Cached rows kept in ngsild_contexts


class _Bounded(dict[str, Any]):
    """A cache that starts over when full: contexts in use come back on the next request."""

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize

    def __setitem__(self, key: str, value: Any) -> None:
        if len(self) >= self.maxsize and key not in self:
            self.clear()
        super().__setitem__(key, value)


# Documents fetched by URL, processed contexts and pyld's own resolved contexts, per process.
_documents: _Bounded = _Bounded(512)
_active: _Bounded = _Bounded(512)
_pyld_cache: _Bounded = _Bounded(512)
_lock = threading.Lock()


def context_id_for_url(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:32]


def forget(url: str | None = None) -> None:
    """Drop cached documents and processed contexts (after a context is deleted or reloaded)."""
    with _lock:
        if url is None:
            _documents.clear()
        else:
            _documents.pop(url, None)
        _active.clear()
        _pyld_cache.clear()


def _row_for(session: Session, url: str) -> NgsiContext | None:
    """The stored context a URL names: a Hosted one by its path here, else a Cached one."""
    hosted = HOSTED_PATH.search(url.split("?", 1)[0])
    row = None
    if hosted:
        row = session.get(NgsiContext, hosted.group(1))
        if row is not None and row.kind != "Hosted":
            row = None
    if row is None:
        row = session.scalar(select(NgsiContext).where(NgsiContext.url == url))
    return row


class _DocumentLoader:
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


class _Loader(_DocumentLoader):
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
            return CORE_DOCUMENT
        cached = _documents.get(url)
        if cached is not None:
            return cached
        document = self._from_database(url)
        if document is None:
            document = self._fetch(url)
            self._store(url, document)
        _documents[url] = document
        return document

    def _from_database(self, url: str) -> dict[str, Any] | None:
        if self.db is None:
            return None
        with self.db.read() as session:
            row = _row_for(session, url)
            if row is None:
                return None
            body, row_id, kind, used = row.body, row.id, row.kind, row.last_used_at
        if kind == "Cached" and (used is None or utcnow() - used > _USE_STAMP_EVERY):
            # Keeps the eviction order "least recently used" without a write per request.
            with self.db.writing() as session:
                row = session.get(NgsiContext, row_id)
                if row is not None:
                    row.last_used_at = utcnow()
                    row.access_count = (row.access_count or 0) + 1
        return dict(json.loads(body))

    def _fetch(self, url: str) -> dict[str, Any]:
        if not url.startswith(("http://", "https://")) or len(url) > 2000:
            raise NgsiError(
                "LdContextNotAvailable", f"@context {url[:200]!r} is not an http(s) URL"
            )
        if self.gate is not None:
            self.gate()
        try:
            document = self._download(url)
        except (OutboundError, ValueError, RecursionError) as exc:
            reason = exc.reason if isinstance(exc, OutboundError) else f"not JSON: {exc}"
            log.warning("@context %s could not be fetched: %s", url[:300], reason)
            raise NgsiError("LdContextNotAvailable", UNAVAILABLE) from None
        return document

    def _download(self, url: str) -> dict[str, Any]:
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
        document = json.loads(reply.content)
        if not isinstance(document, dict) or "@context" not in document:
            raise OutboundError("holds no @context member", "content")
        return document

    def _store(self, url: str, document: dict[str, Any]) -> None:
        if self.db is None:
            return
        evicted: list[str] = []
        try:
            with self.db.writing() as session:
                if session.scalar(select(NgsiContext.id).where(NgsiContext.url == url)) is None:
                    session.add(
                        NgsiContext(
                            id=context_id_for_url(url),
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
        with _lock:
            for gone in evicted:
                _documents.pop(gone, None)


_USE_STAMP_EVERY = timedelta(minutes=10)


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


class _CachedLoader(_DocumentLoader):
    """The loader for code inside a transaction: memory, then the documents the caller kept,
    then the ngsild_contexts table read through the caller's own session; never the
    network, never a write."""

    def __init__(self, session: Session | None, documents: dict[str, Any]) -> None:
        self.session = session
        self.documents = documents

    def load(self, url: str) -> dict[str, Any]:
        if is_core_url(url):
            return CORE_DOCUMENT
        document = _documents.get(url) or self.documents.get(url)
        if document is None and self.session is not None:
            row = _row_for(self.session, url)
            document = json.loads(row.body) if row is not None else None
        if not isinstance(document, dict):
            raise NgsiError("LdContextNotAvailable", f"@context {url} is not cached here")
        return document


@dataclass
class ActiveContext:
    """One client's processed @context: expands terms on the way in, compacts IRIs out."""

    user: Any
    key: str
    mappings: dict[str, str]
    prefixes: dict[str, str]
    vocab: str | None
    _processed: Any
    _expanded: dict[str, str] = field(default_factory=dict)
    _compacted: dict[str, str] = field(default_factory=dict)
    # URL -> document for every remote context this one uses (not the core context), so a
    # subscription can keep them and be matched without fetching.
    documents: dict[str, Any] = field(default_factory=dict)

    @property
    def link_url(self) -> str:
        """What a Link header names: the client's context URL, or the core context."""
        if isinstance(self.user, str):
            return self.user
        if isinstance(self.user, list) and len(self.user) == 1 and isinstance(self.user[0], str):
            return str(self.user[0])
        return CORE_URL

    @property
    def body_context(self) -> Any:
        return self.user if self.user is not None else CORE_URL

    def expand(self, term: str) -> str:
        """Expand an attribute or type name (vocabulary-relative), cached per term."""
        known = self._expanded.get(term)
        if known is not None:
            return known
        try:
            iri = jsonld.JsonLdProcessor()._expand_iri(self._processed, term, vocab=True)
        except Exception:  # pyld raises on odd terms; the name then stands for itself
            iri = None
        result = iri if isinstance(iri, str) and not iri.startswith("@") else term
        if len(self._expanded) < 50_000:
            self._expanded[term] = result
        return result

    def compact(self, iri: str) -> str:
        """The shortest name this context gives ``iri``: a term, a vocab-relative name, a
        compact IRI, or the IRI itself."""
        known = self._compacted.get(iri)
        if known is not None:
            return known
        result = self._compact(iri)
        if len(self._compacted) < 50_000:
            self._compacted[iri] = result
        return result

    def _compact(self, iri: str) -> str:
        terms = sorted((t for t, target in self.mappings.items() if target == iri), key=_term_order)
        if terms:
            return terms[0]
        if self.vocab and iri.startswith(self.vocab):
            rest = iri[len(self.vocab) :]
            if rest and ":" not in rest and rest not in self.mappings:
                return rest
        candidates = [
            f"{prefix}:{iri[len(base) :]}"
            for prefix, base in self.prefixes.items()
            if iri.startswith(base) and len(iri) > len(base)
        ]
        if candidates:
            return min(candidates, key=_term_order)
        return iri


def _term_order(term: str) -> tuple[int, str]:
    return (len(term), term)


def _as_list(user: Any) -> list[Any]:
    if user is None:
        return []
    return list(user) if isinstance(user, list) else [user]


def _check_shape(user: Any) -> None:
    for item in _as_list(user):
        if not isinstance(item, str | dict):
            raise bad_data("@context must be a URL, an object or a list of them")


def resolve(
    db: Database | None,
    user: Any,
    limits: ContextLimits | None = None,
    *,
    outbound: Outbound | None = None,
    gate: Callable[[], None] | None = None,
) -> ActiveContext:
    """Process a client's @context (None means the core context alone).

    Call it outside any unit of work: an unknown URL is fetched through ``outbound`` (after
    ``gate``, which may refuse) and cached in its own transaction; without ``outbound`` only
    cached contexts resolve. The core context is applied last, as the specification requires.
    """
    return _resolve(user, _Loader(db, limits or ContextLimits(), outbound, gate))


def resolve_cached(
    session: Session | None, user: Any, documents: dict[str, Any] | None = None
) -> ActiveContext:
    """Like :func:`resolve`, for code inside a transaction: remote contexts come only from
    memory, ``documents`` (URL -> document) or the ngsild_contexts table through
    ``session``. A context found nowhere is LdContextNotAvailable, at once."""
    return _resolve(user, _CachedLoader(session, documents or {}))


def _resolve(user: Any, loader: _Loader | _CachedLoader) -> ActiveContext:
    _check_shape(user)
    if isinstance(user, list) and not user:
        user = None
    key = json.dumps(user, sort_keys=True)
    active = _active.get(key)
    if active is not None:
        return active
    processor = jsonld.JsonLdProcessor()
    options = {
        "documentLoader": loader,
        "base": "",
        "processingMode": "json-ld-1.1",
        "contextResolver": ContextResolver(_pyld_cache, loader),
    }
    try:
        processed = processor.process_context(
            processor._get_initial_context(options), [*_as_list(user), CORE_URL], options
        )
    except NgsiError:
        raise
    except Exception as exc:  # pyld wraps loader failures and reports bad contexts alike
        if loader.failure is not None:
            raise loader.failure from exc
        raise bad_data(f"the @context is not valid JSON-LD: {_reason(exc)}") from exc
    mappings: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    for term, definition in processed.get("mappings", {}).items():
        if not isinstance(definition, dict) or definition.get("reverse"):
            continue
        target = definition.get("@id")
        if not isinstance(target, str) or target.startswith("@"):
            continue
        mappings[term] = target
        if definition.get("_prefix"):
            prefixes[term] = target
    active = ActiveContext(
        user=user,
        key=key,
        mappings=mappings,
        prefixes=prefixes,
        vocab=processed.get("@vocab"),
        _processed=processed,
        documents=_remote_documents(user, loader),
    )
    _active[key] = active
    return active


def _remote_documents(user: Any, loader: _Loader | _CachedLoader) -> dict[str, Any]:
    """The documents of the URLs a context names, directly or inside those documents (all
    loaded moments ago, so this reads memory)."""
    found: dict[str, Any] = {}
    pending = [item for item in _as_list(user) if isinstance(item, str)]
    while pending and len(found) < 20:
        url = pending.pop()
        if url in found or is_core_url(url):
            continue
        try:
            document = loader.load(url)
        except NgsiError:
            continue
        found[url] = document
        inner = document.get("@context") if isinstance(document, dict) else None
        pending.extend(item for item in _as_list(inner) if isinstance(item, str))
    return found


def _reason(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return str(message).splitlines()[0][:200]


def core() -> ActiveContext:
    return resolve(None, None)


def expand_term(active: ActiveContext, term: str) -> str:
    return active.expand(term)


def compact_term(active: ActiveContext, iri: str) -> str:
    return active.compact(iri)


def parse_link_header(value: str | None) -> str | None:
    """The @context URL from a Link header with rel="http://www.w3.org/ns/json-ld#context"."""
    if not value:
        return None
    for part in value.split(","):
        match = re.match(r"\s*<([^>]*)>(.*)$", part)
        if not match:
            continue
        params = match.group(2)
        rel = re.search(r'rel\s*=\s*"?([^";]+)"?', params)
        if rel and rel.group(1).strip() == JSONLD_CONTEXT_REL:
            return match.group(1).strip()
    return None


def link_header(url: str) -> str:
    return f'<{url}>; rel="{JSONLD_CONTEXT_REL}"; type="application/ld+json"'


# --- the /jsonldContexts resource -------------------------------------------------------------


def context_info(row: NgsiContext, base_url: str) -> dict[str, Any]:
    url = row.url or f"{base_url}/ngsi-ld/v1/jsonldContexts/{row.id}"
    info: dict[str, Any] = {
        "id": row.id,
        "url": url,
        "URL": url,
        "localId": row.id,
        "kind": row.kind,
        "createdAt": row.created_at.isoformat().replace("+00:00", "Z"),
        "numberOfHits": row.access_count,
    }
    if row.last_used_at is not None:
        info["lastUsage"] = row.last_used_at.isoformat().replace("+00:00", "Z")
    return info


def list_contexts(session: Any, kind: str | None = None) -> list[NgsiContext]:
    statement = select(NgsiContext).order_by(NgsiContext.created_at, NgsiContext.id)
    if kind is not None:
        statement = statement.where(NgsiContext.kind == kind)
    return list(session.scalars(statement))


def find_context(session: Any, context_id: str) -> NgsiContext | None:
    """By local id, or by the URL a cached context came from."""
    row = session.get(NgsiContext, context_id) if len(context_id) <= 64 else None
    if row is None:
        row = session.scalar(select(NgsiContext).where(NgsiContext.url == context_id))
    return row


def host_context(session: Any, body: Any) -> NgsiContext:
    """Store a posted @context document; it is then served at /jsonldContexts/{id}."""
    if not isinstance(body, dict) or "@context" not in body:
        raise bad_data("the body must be a JSON object with an @context member")
    member = body["@context"]
    items = member if isinstance(member, list) else [member]
    if not items or not all(isinstance(item, dict | str) for item in items):
        raise bad_data("@context must be an object, a URL or a list of them")
    # Reject what pyld cannot process before anyone points a Link header at it.
    if any(isinstance(item, dict) for item in items):
        resolve(None, [item for item in items if isinstance(item, dict)])
    serialized = json.dumps({"@context": member})
    local_id = hashlib.sha256(serialized.encode()).hexdigest()[:32]
    row = session.get(NgsiContext, local_id)
    if row is None:
        row = NgsiContext(
            id=local_id, url=None, kind="Hosted", body=serialized, created_at=utcnow()
        )
        session.add(row)
        session.flush()
    return row


def delete_context(session: Any, context_id: str) -> None:
    row = find_context(session, context_id)
    if row is None:
        raise NgsiError("ResourceNotFound", f"@context {context_id} is not known here")
    session.delete(row)
    session.flush()
    forget(row.url)
