"""The search under package_search without a database: the Solr-like query language, the text
lookup, and the snapshot's facets and orderings checked against counting and sorting by hand."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from cityloop.platforms.data.ckan.errors import SearchError
from cityloop.platforms.data.ckan.index import (
    FACETS,
    Entry,
    Snapshot,
    Stamp,
    TextColumn,
    solr_date,
    values_of,
)
from cityloop.platforms.data.ckan.query import (
    AllOf,
    AnyOf,
    Everything,
    Not,
    QuerySyntaxError,
    Range,
    Term,
    parse,
)


def test_terms_side_by_side_must_all_match_and_and_binds_closer_than_or() -> None:
    assert parse("") == Everything() == parse("*:*")
    assert parse('bus tags:"night bus"') == AllOf(
        (Term(None, "bus"), Term("tags", "night bus", phrase=True))
    )
    assert parse("a b OR c") == AnyOf((AllOf((Term(None, "a"), Term(None, "b"))), Term(None, "c")))
    assert parse("-tags:x NOT y +z") == AllOf(
        (Not(Term("tags", "x")), Not(Term(None, "y")), Term(None, "z"))
    )
    assert parse("res_format:(CSV OR JSON)") == AnyOf(
        (Term("res_format", "CSV"), Term("res_format", "JSON"))
    )
    assert parse("metadata_modified:{2025-01-01T00:00:00Z TO *}") == Range(
        "metadata_modified", "2025-01-01T00:00:00Z", "*", inclusive=False
    )


@pytest.mark.parametrize(
    "text", ['tags:"open', "(bus", "bus)", "tags:", "NOT", "name:[a b]", "*:bus", "(" * 30 + "x"]
)
def test_a_query_that_does_not_parse_says_why(text: str) -> None:
    with pytest.raises(QuerySyntaxError, match=r"\S"):
        parse(text)


def test_a_word_is_found_once_per_text_and_an_empty_word_finds_every_text() -> None:
    column = TextColumn(["bus stops bus", "air quality", "", "night buses"])
    assert column.containing("bus") == {0, 3}
    assert column.containing("y") == {1}
    assert column.containing("s a") == set()  # never across two texts
    assert column.containing("\x00") == column.containing("") == {0, 1, 2, 3}


def test_solr_dates_are_iso_times_now_with_steps_or_open() -> None:
    now = datetime(2025, 3, 1, 12, tzinfo=UTC)
    assert solr_date("*") is None
    assert solr_date("NOW-2DAYS+1HOUR", now) == now - timedelta(days=2) + timedelta(hours=1)
    assert solr_date("2025-01-01T00:00:00Z") == datetime(2025, 1, 1, tzinfo=UTC)
    assert solr_date("2025-01-01T08:00:00") == datetime(2025, 1, 1, 8, tzinfo=UTC)
    with pytest.raises(SearchError):
        solr_date("yesterday")


def snapshot(size: int, seed: int = 7) -> Snapshot:
    """``size`` made-up entries with a few organizations, themes, formats and many tags."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    entries = []
    for n in range(size):
        tags = tuple(rng.sample([f"tag{k}" for k in range(40)], rng.randint(0, 3)))
        title = f"{rng.choice(['bus', 'air', 'tree'])} {n}"
        entries.append(
            Entry(
                dataset_id=n + 1,
                name=f"d{n:04d}",
                package_id=f"p{n}",
                organization=rng.choice(["roads", "water", "parks"]),
                owner_org="o",
                group=rng.choice(["tran", "envi"]),
                license_id=rng.choice(["CC-BY-4.0", "CC0-1.0"]),
                tags=tags,
                formats=tuple(sorted(rng.sample(["CSV", "JSON", "Parquet"], 2))),
                title_sort=title,
                created=start + timedelta(hours=rng.randrange(1000)),
                modified=start + timedelta(minutes=rng.randrange(10**6)),
                text=f"{title} {' '.join(tags)} notes",
                titles=f"{title} {' '.join(tags)}",
                notes="notes",
            )
        )
    return Snapshot(Stamp(size, 0, 0, None), entries)


@pytest.mark.parametrize("share", [0.02, 0.5, 1.0], ids=["few matches", "half", "all"])
def test_facets_count_what_counting_by_hand_counts(share: float) -> None:
    found = snapshot(800)
    rng = random.Random(3)
    matches = {i for i in range(800) if rng.random() < share}
    counted = found.facets(matches, fields=FACETS, limit=-1, mincount=1)
    for name in FACETS:
        by_hand = Counter(v for i in matches for v in values_of(found.entries[i], name))
        assert dict(counted[name]) == dict(by_hand), name
        assert [n for _, n in counted[name]] == sorted(by_hand.values(), reverse=True)
    tags = Counter(tag for i in matches for tag in found.entries[i].tags)
    limited = found.facets(matches, fields=["tags"], limit=3, mincount=2)["tags"]
    assert (
        limited
        == sorted(
            ((t, n) for t, n in tags.items() if n >= 2), key=lambda item: (-item[1], item[0])
        )[:3]
    )


@pytest.mark.parametrize(
    "sort",
    [
        [("metadata_modified", True)],
        [("metadata_modified", False)],
        [("name", False)],
        [("title_string", True), ("metadata_created", False)],
        [("score", True), ("metadata_modified", True)],
        [("score", False), ("name", True)],
    ],
)
def test_a_page_comes_in_the_order_sorting_by_hand_gives(sort: list[tuple[str, bool]]) -> None:
    found = snapshot(500)
    matches = set(range(0, 500, 3))
    words = ["bus"]

    def by_hand(i: int) -> tuple[object, ...]:
        entry, key = found.entries[i], []
        for name, descending in sort:
            value = {
                "score": int("bus" in entry.titles),
                "metadata_modified": entry.modified,
                "metadata_created": (entry.created, entry.dataset_id),
                "name": entry.name,
                "title_string": (entry.title_sort, entry.name),
            }[name]
            key.append(_Reversed(value) if descending else value)
        return (*key, _Reversed((entry.modified, entry.dataset_id)))

    expected = sorted(matches, key=by_hand)
    assert found.ordered(matches, sort=sort, words=words, first=0, count=500) == expected
    assert found.ordered(matches, sort=sort, words=words, first=10, count=5) == expected[10:15]


class _Reversed:
    """A value that sorts the other way round."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __lt__(self, other: _Reversed) -> bool:
        return bool(other.value < self.value)  # type: ignore[operator]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and bool(self.value == other.value)
