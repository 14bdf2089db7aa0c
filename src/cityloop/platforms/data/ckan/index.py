"""The open catalogue as ``package_search`` reads it: one entry per open, active dataset, kept in
memory with the value lists each field term and facet needs, so a search over ten thousand
datasets is set arithmetic rather than ten thousand rows read and decoded per request.

Every request first reads the catalogue's stamp (how many open datasets, their id sums, the
latest change): when it differs from the snapshot's, the snapshot is rebuilt, in full when the
set of open datasets changed and from the changed rows alone when only their content did (a
change sets a dataset's ``modified_at``). Each process keeps its own, so this is no state to
share between processes. The answers themselves are read from the database (``packages.py``),
open and active rechecked there, so even a snapshot one change behind never shows what is not
open.
"""

from __future__ import annotations

import bisect
import fnmatch
import heapq
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, cast, func, select
from sqlalchemy.orm import Session

from cityloop.platforms.data.catalogue.models import Dataset, Distribution
from cityloop.platforms.data.catalogue.vocabularies import THEMES
from cityloop.platforms.data.ckan import ids
from cityloop.platforms.data.ckan.errors import SearchError, SearchQueryError
from cityloop.platforms.data.ckan.query import AllOf, AnyOf, Everything, Node, Not, Range, Term

# Fields a term may name, by how they match.
EXACT = ("name", "id", "tags", "organization", "owner_org", "groups", "license_id", "res_format")
CASELESS = ("license_id", "res_format")
TEXTS = ("text", "title", "notes")
DATES = ("metadata_modified", "metadata_created")
# Fields every open dataset has with one value: a client may filter on them as on CKAN.
CONSTANTS = {
    "capacity": "public", "state": "active", "private": "false", "type": "dataset",
    "dataset_type": "dataset", "entity_type": "package",
}  # fmt: skip
ANYTHING = ("site_id",)
FACETS = ("organization", "groups", "tags", "res_format", "license_id")
SORTS = ("score", "metadata_modified", "metadata_created", "name", "title_string")
_DATE_MATH = re.compile(r"^NOW((?:[+-]\d+(?:SECOND|MINUTE|HOUR|DAY|WEEK)S?)*)$")
_DATE_STEP = re.compile(r"([+-]\d+)(SECOND|MINUTE|HOUR|DAY|WEEK)S?")


def is_open() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The condition of a dataset CKAN shows: open and active."""
    return (Dataset.active.is_(True), Dataset.sensitivity == "open")


@dataclass(frozen=True)
class Entry:
    """One open dataset as search sees it."""

    dataset_id: int
    name: str
    package_id: str
    organization: str
    owner_org: str
    group: str
    license_id: str
    tags: tuple[str, ...]
    formats: tuple[str, ...]
    title_sort: str
    created: datetime
    modified: datetime
    # Lower-case text: everything searchable; the titles (and name and tags) alone; the notes.
    text: str
    titles: str
    notes: str


def values_of(entry: Entry, name: str) -> Sequence[str]:
    """An entry's values of an exact field."""
    one: dict[str, str] = {
        "name": entry.name, "id": entry.package_id, "organization": entry.organization,
        "owner_org": entry.owner_org, "groups": entry.group, "license_id": entry.license_id,
    }  # fmt: skip
    if name in one:
        return (one[name],)
    return entry.tags if name == "tags" else entry.formats


@dataclass(frozen=True)
class Stamp:
    """What changes whenever the open catalogue does."""

    count: int
    id_sum: int
    id_square_sum: int
    latest: datetime | None

    def same_datasets(self, other: Stamp) -> bool:
        """Whether both stamps count the same open datasets (their content may differ)."""
        return (self.count, self.id_sum, self.id_square_sum) == (
            other.count,
            other.id_sum,
            other.id_square_sum,
        )


def read_stamp(session: Session) -> Stamp:
    """The open catalogue's stamp now."""
    key = cast(Dataset.id, BigInteger)
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(key), 0),
            func.coalesce(func.sum(key * key), 0),
            func.max(Dataset.modified_at),
        ).where(*is_open())
    ).one()
    return Stamp(int(row[0]), int(row[1]), int(row[2]), row[3])


def load_entries(session: Session, *, domain: str, since: datetime | None = None) -> list[Entry]:
    """The open datasets (changed at or after ``since``, when given) as entries."""
    query = select(
        Dataset.id, Dataset.name, Dataset.title, Dataset.title_zh, Dataset.description,
        Dataset.description_zh, Dataset.keywords, Dataset.owner_department, Dataset.theme,
        Dataset.licence, Dataset.created_at, Dataset.modified_at,
    ).where(*is_open())  # fmt: skip
    formats_query = (
        select(Distribution.dataset_id, Distribution.format)
        .join(Dataset, Dataset.id == Distribution.dataset_id)
        .where(*is_open())
    )
    if since is not None:
        query = query.where(Dataset.modified_at >= since)
        formats_query = formats_query.where(Dataset.modified_at >= since)
    formats: dict[int, list[str]] = defaultdict(list)
    for dataset_id, fmt in session.execute(formats_query):
        formats[dataset_id].append(fmt)
    entries = []
    for row in session.execute(query):
        (dataset_id, name, title, title_zh, description, description_zh, keywords, owner,
         theme, licence, created, modified) = row  # fmt: skip
        tags = tuple(str(k) for k in keywords or ())
        theme_names = THEMES.get(theme, ("", ""))
        titles = " ".join((name, title, title_zh, *tags)).lower()
        notes = f"{description} {description_zh}".lower()
        extra = " ".join((owner, theme.lower(), *theme_names, licence)).lower()
        entries.append(
            Entry(
                dataset_id=dataset_id,
                name=name,
                package_id=ids.package_id(domain, name),
                organization=owner,
                owner_org=ids.organization_id(domain, owner),
                group=theme.lower(),
                license_id=licence,
                tags=tags,
                formats=tuple(sorted(set(formats.get(dataset_id, ())))),
                title_sort=title.strip().lower(),
                created=created,
                modified=modified,
                text=f"{titles} {notes} {extra}",
                titles=titles,
                notes=notes,
            )
        )
    return entries


class TextColumn:
    """One lower-case text per entry, joined into one string, so a word is looked for with
    ``str.find`` across all of them at C speed instead of once per entry."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.starts: list[int] = []
        offset = 0
        for text in texts:
            self.starts.append(offset)
            offset += len(text) + 1
        self.text = "\x00".join(t.replace("\x00", " ") for t in texts)

    def containing(self, word: str) -> set[int]:
        """The positions of the texts that contain ``word``."""
        word = word.replace("\x00", "")
        if not word:
            return set(range(len(self.starts)))
        found: set[int] = set()
        find, starts, end = self.text.find, self.starts, len(self.text)
        at = find(word)
        while at >= 0:
            position = bisect.bisect_right(starts, at) - 1
            found.add(position)
            # One hit is enough: carry on from the next text.
            following = starts[position + 1] if position + 1 < len(starts) else end
            at = find(word, following)
        return found


@dataclass
class Snapshot:
    """The open datasets at one stamp, newest change first, with what searching them needs."""

    stamp: Stamp
    entries: list[Entry]
    universe: frozenset[int] = field(init=False)
    texts: dict[str, TextColumn] = field(init=False)
    values: dict[str, list[Sequence[str]]] = field(init=False)
    postings: dict[str, dict[str, set[int]]] = field(init=False)
    by_package_id: dict[str, int] = field(init=False)
    by_name: dict[str, int] = field(init=False)
    created_rank: list[int] = field(init=False)
    name_rank: list[int] = field(init=False)
    title_rank: list[int] = field(init=False)
    _summaries: dict[str, dict[str, tuple[int, datetime]]] = field(init=False)

    def __post_init__(self) -> None:
        self.entries.sort(key=lambda e: (e.modified, e.dataset_id), reverse=True)
        self.universe = frozenset(range(len(self.entries)))
        self.texts = {
            "text": TextColumn([e.text for e in self.entries]),
            "title": TextColumn([e.titles for e in self.entries]),
            "notes": TextColumn([e.notes for e in self.entries]),
        }
        self.values = {name: [values_of(e, name) for e in self.entries] for name in EXACT}
        self.postings = {}
        for name in EXACT:
            postings: defaultdict[str, set[int]] = defaultdict(set)
            for position, values in enumerate(self.values[name]):
                for value in values:
                    postings[value].add(position)
            # A plain dict: a lookup of a missing value must not add it to a shared snapshot.
            self.postings[name] = dict(postings)
        self.by_package_id = {e.package_id: i for i, e in enumerate(self.entries)}
        self.by_name = {e.name: i for i, e in enumerate(self.entries)}
        self.created_rank = _ranks(self.entries, lambda e: (e.created, e.dataset_id))
        self.name_rank = _ranks(self.entries, lambda e: e.name)
        self.title_rank = _ranks(self.entries, lambda e: (e.title_sort, e.name))
        self._summaries = {}

    def find(self, name_or_id: str) -> Entry | None:
        """The entry of a dataset named so, or of this package id."""
        position = self.by_name.get(name_or_id, self.by_package_id.get(name_or_id))
        return None if position is None else self.entries[position]

    # ------------------------------------------------------------------ matching

    def matching(self, node: Node) -> set[int]:
        """The positions of the entries the query matches."""
        if isinstance(node, Everything):
            return set(self.universe)
        if isinstance(node, AllOf):
            parts = sorted((self.matching(p) for p in node.parts), key=len)
            return set.intersection(*parts)
        if isinstance(node, AnyOf):
            return set().union(*(self.matching(p) for p in node.parts))
        if isinstance(node, Not):
            return set(self.universe - self.matching(node.part))
        if isinstance(node, Range):
            return self._range(node)
        return self._term(node)

    def _term(self, term: Term) -> set[int]:
        name = term.field or "text"
        if name in TEXTS:
            words = term.value.lower().strip("*?")
            return self.texts[name].containing(words) if words else set(self.universe)
        if name in EXACT:
            postings = self.postings[name]
            if term.value == "*":
                return set().union(*postings.values())
            caseless = name in CASELESS
            value = term.value.lower() if caseless else term.value
            if not term.phrase and ("*" in value or "?" in value):
                keys = [
                    k for k in postings if fnmatch.fnmatchcase(k.lower() if caseless else k, value)
                ]
            elif caseless:
                keys = [k for k in postings if k.lower() == value]
            else:
                keys = [value] if value in postings else []
            return set().union(*(postings[k] for k in keys))
        if name in CONSTANTS:
            hit = term.value in ("*", CONSTANTS[name]) or term.value.lower() == CONSTANTS[name]
            return set(self.universe) if hit else set()
        if name in ANYTHING:
            return set(self.universe)
        if name in DATES:
            return self._range(Range(name, term.value, term.value, inclusive=True))
        raise SearchError(f"undefined field {name}")

    def _range(self, node: Range) -> set[int]:
        if node.field not in DATES:
            raise SearchError(f"range queries are for {' and '.join(DATES)}, not {node.field}")
        low, high = solr_date(node.low), solr_date(node.high)
        attribute = "modified" if node.field == "metadata_modified" else "created"
        found = set()
        for position, entry in enumerate(self.entries):
            value = getattr(entry, attribute)
            above = low is None or (value >= low if node.inclusive else value > low)
            below = high is None or (value <= high if node.inclusive else value < high)
            if above and below:
                found.add(position)
        return found

    # ------------------------------------------------------------------ ordering

    def ordered(
        self, matches: set[int], *, sort: Sequence[tuple[str, bool]], words: Sequence[str],
        first: int, count: int,
    ) -> list[int]:  # fmt: skip
        """The positions of one page of matches, in the sort given ((field, descending))."""
        size = len(self.entries)
        # Each match gets one integer key, its clauses' values (smaller first) in mixed radix,
        # its position (newest change first) last: comparing ints keeps a sort in C.
        keys = dict.fromkeys(matches, 0)
        for name, descending in sort:
            if name == "score":
                if not words:  # without words every match scores the same
                    continue
                hits = [self.texts["title"].containing(w) for w in words]
                span = len(words) + 1
                for i in keys:
                    score = sum(i in found for found in hits)
                    keys[i] = keys[i] * span + (span - 1 - score if descending else score)
                continue
            if name == "metadata_modified":
                ranks: Sequence[int] = range(size)  # positions run newest change first
                descending = not descending
            else:
                ranks = {
                    "metadata_created": self.created_rank,
                    "name": self.name_rank,
                    "title_string": self.title_rank,
                }[name]
            for i in keys:
                keys[i] = keys[i] * size + (size - 1 - ranks[i] if descending else ranks[i])
        for i in keys:
            keys[i] = keys[i] * size + i
        return heapq.nsmallest(first + count, keys, key=keys.__getitem__)[first:]

    # ------------------------------------------------------------------ facets

    def facets(
        self, matches: set[int], *, fields: Sequence[str], limit: int, mincount: int
    ) -> dict[str, list[tuple[str, int]]]:
        """Per field, its values among the matches with their counts, most frequent first."""
        counted: dict[str, list[tuple[str, int]]] = {}
        for name in fields:
            if name not in FACETS:
                raise SearchError(f"undefined field {name}")
            postings = self.postings[name]
            if len(postings) * 8 <= len(matches):
                # Few values, many matches: intersect each value's datasets with them, in C.
                counter: Mapping[str, int] = {v: len(p & matches) for v, p in postings.items()}
            else:
                values = self.values[name]
                counter = Counter(chain.from_iterable(map(values.__getitem__, matches)))
            least = max(mincount, 1)
            items = sorted(
                ((v, n) for v, n in counter.items() if n >= least), key=lambda x: (-x[1], x[0])
            )
            counted[name] = items if limit < 0 else items[:limit]
        return counted

    def summary(self, name: str) -> dict[str, tuple[int, datetime]]:
        """Per value of ``organization`` or ``groups``: its open datasets and the first's time."""
        known = self._summaries.get(name)
        if known is not None:
            return known
        found: dict[str, tuple[int, datetime]] = {}
        for entry, values in zip(self.entries, self.values[name], strict=True):
            for value in values:
                count, created = found.get(value, (0, entry.created))
                found[value] = (count + 1, min(created, entry.created))
        self._summaries[name] = found
        return found


def _ranks(entries: Sequence[Entry], key: Callable[[Entry], Any]) -> list[int]:
    order = sorted(range(len(entries)), key=lambda i: key(entries[i]))
    ranks = [0] * len(entries)
    for rank, position in enumerate(order):
        ranks[position] = rank
    return ranks


def solr_date(text: str, now: datetime | None = None) -> datetime | None:
    """A date of a Solr query: ISO 8601 (``Z`` for UTC), ``NOW`` with day/hour steps, or ``*``."""
    if text == "*":
        return None
    now = now or datetime.now(UTC)
    math = _DATE_MATH.match(text.upper())
    if math:
        moment = now
        for amount, unit in _DATE_STEP.findall(math.group(1)):
            moment += timedelta(**{f"{unit.lower()}s": int(amount)})
        return moment
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise SearchError(f"Invalid Date String:'{text}'") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_sort(text: str) -> list[tuple[str, bool]]:
    """``"score desc, metadata_modified desc"`` as [(field, descending)]; 400 when unknown."""
    clauses = []
    for part in text.split(","):
        words = part.split()
        if not words:
            continue
        if len(words) > 2 or words[0] not in SORTS:
            raise SearchQueryError('Invalid "sort" parameter')
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise SearchQueryError('Invalid "sort" parameter')
        clauses.append((words[0], direction == "desc"))
    return clauses


class SearchIndex:
    """This process's snapshot of the open catalogue, brought up to date on each use."""

    def __init__(self, domain: str) -> None:
        self.domain = domain
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    def current(self, session: Session) -> Snapshot:
        """The snapshot of the catalogue as it is now."""
        stamp = read_stamp(session)
        snapshot = self._snapshot
        if snapshot is not None and snapshot.stamp == stamp:
            return snapshot
        with self._lock:
            snapshot = self._snapshot
            if snapshot is None or snapshot.stamp != stamp:
                snapshot = self._rebuilt(session, snapshot, stamp)
                self._snapshot = snapshot
        return snapshot

    def _rebuilt(self, session: Session, old: Snapshot | None, stamp: Stamp) -> Snapshot:
        same_datasets = old is not None and old.stamp.same_datasets(stamp)
        if old is None or not same_datasets or old.stamp.latest is None:
            return Snapshot(stamp, load_entries(session, domain=self.domain))
        changed = load_entries(session, domain=self.domain, since=old.stamp.latest)
        replaced = {e.dataset_id for e in changed}
        kept = [e for e in old.entries if e.dataset_id not in replaced]
        return Snapshot(stamp, kept + changed)
