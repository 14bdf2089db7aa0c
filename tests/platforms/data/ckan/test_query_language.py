"""The Solr-like query language package_search reads, and the text lookup under it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cityloop.platforms.data.ckan.errors import SearchError
from cityloop.platforms.data.ckan.index import TextColumn, solr_date
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
