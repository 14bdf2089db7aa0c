"""JSON-LD @context processing: a client's context (None: the core context alone) becomes an
:class:`ActiveContext` that expands terms on the way in and compacts IRIs on the way out, with
pyld. Where the documents come from is :mod:`.context_loader`'s work; the /jsonldContexts
resource is :mod:`.jsonld_contexts`.

A client's context is resolved before any unit of work opens (fetching may take seconds), and
its processed form is cached per context, with expansions cached per (context, term). Code
that runs inside a transaction (the subscription matcher) uses :func:`resolve_cached`, which
never fetches or stores.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyld import jsonld
from pyld.context_resolver import ContextResolver
from sqlalchemy.orm import Session

from cityloop.base.db import Database
from cityloop.base.outbound import Outbound
from cityloop.platforms.data.perception.ngsild import context_loader as loaders
from cityloop.platforms.data.perception.ngsild.context_loader import (
    CORE_URL,
    Bounded,
    CachedLoader,
    ContextLimits,
    Loader,
    is_core_url,
)
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data
from cityloop.platforms.data.perception.ngsild.texts import text

NGSI_LD = "https://uri.etsi.org/ngsi-ld/"
DEFAULT_VOCAB = NGSI_LD + "default-context/"
JSONLD_CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"

# Processed contexts and pyld's own resolved contexts, per process.
_active: Bounded = Bounded(512)
_pyld_cache: Bounded = Bounded(512)


def forget(url: str | None = None) -> None:
    """Drop cached documents and processed contexts (after a context is deleted or reloaded)."""
    with loaders.lock:
        if url is None:
            loaders.fetched.clear()
        else:
            loaders.fetched.pop(url, None)
        _active.clear()
        _pyld_cache.clear()


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
            raise bad_data(text("context_not_url_or_object"))


def resolve(
    db: Database | None,
    *,
    user: Any,
    limits: ContextLimits | None = None,
    outbound: Outbound | None = None,
    gate: Callable[[], None] | None = None,
) -> ActiveContext:
    """Process a client's @context (None means the core context alone)."""
    # Call it outside any unit of work: an unknown URL is fetched through ``outbound`` (after
    # ``gate``, which may refuse) and cached in its own transaction; without ``outbound`` only
    # cached contexts resolve. The core context is applied last, as the specification requires.
    return _resolve(user, Loader(db, limits or ContextLimits(), outbound, gate))


def resolve_cached(
    session: Session | None, *, user: Any, documents: dict[str, Any] | None = None
) -> ActiveContext:
    """Like :func:`resolve`, for code inside a transaction: never fetches, never writes."""
    # Remote contexts come only from memory, ``documents`` (URL -> document) or the ngsild_contexts
    # table through ``session``. A context found nowhere is LdContextNotAvailable, at once.
    return _resolve(user, CachedLoader(session, documents or {}))


def _resolve(user: Any, loader: Loader | CachedLoader) -> ActiveContext:
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
        raise bad_data(text("context_invalid_jsonld", reason=_reason(exc))) from exc
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


def _remote_documents(user: Any, loader: Loader | CachedLoader) -> dict[str, Any]:
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
    """The core context alone: what a request without a @context uses."""
    return resolve(None, user=None)


def expand_term(active: ActiveContext, term: str) -> str:
    """``active.expand(term)``, as a function."""
    return active.expand(term)


def compact_term(active: ActiveContext, iri: str) -> str:
    """``active.compact(iri)``, as a function."""
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
    """A Link header naming ``url`` as the JSON-LD context."""
    return f'<{url}>; rel="{JSONLD_CONTEXT_REL}"; type="application/ld+json"'
