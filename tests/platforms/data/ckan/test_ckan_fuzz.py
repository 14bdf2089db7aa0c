"""Random parameters to every action, and random Solr-like queries to package_search, never get a
500 and never show a shared or personal dataset: a client's mistake is always CKAN's 4xx."""

from __future__ import annotations

import json
import random
from typing import Any

from cityloop.platforms.data.ckan.registry import ACTIONS
from tests.platforms.data.ckan.conftest import Catalogue
from tests.support.city import City
from tests.support.fuzz import Leaf, garbage

LEAVES: list[Leaf] = [
    lambda rng: None,
    lambda rng: rng.choice([True, False, 0, -1, 10**30, 1.5, "", "*:*", "\x00", "-5"]),
    lambda rng: rng.choice(["test-bus-stops", "test-secret-roster", "roads", "tran", "CSV"]),
    lambda rng: "".join(rng.choice('ab:*"()[]{} -+!TO,') for _ in range(rng.randrange(12))),
]
KEYS = [
    "id", "q", "fq", "fq_list", "rows", "start", "sort", "facet.field", "facet.limit",
    "facet.mincount", "fl", "limit", "offset", "all_fields", "filters", "fields", "resource_id",
    "include_total", "records_format", "name", "query", "include_datasets", "organizations",
]  # fmt: skip
QUERY_WORDS = [
    "tags:bus", "bus", "AND", "OR", "NOT", "-", "+", "(", ")", '"', "tags:(", "name:*",
    "metadata_modified:[", "TO", "*]", "NOW-1DAY", "{", "}", "*:*", "organization:", "公交", "\\",
    "id:", "groups:tran", "x:y", "[* TO *]", "&&", "||",
]  # fmt: skip


def test_random_parameters_to_every_action_never_give_a_500(
    city: City, catalogue: Catalogue
) -> None:
    rng = random.Random(20261206)
    hidden = ("test-secret-roster", "test-citizen-files", "hidden-keyword")
    for n in range(300):
        action = sorted(ACTIONS)[n % len(ACTIONS)]
        body = garbage(rng, LEAVES, KEYS, max_depth=2, width=5)
        if not isinstance(body, dict):
            body = {"q": body}
        if n % 4 == 0 and action == "datastore_search":
            body["resource_id"] = catalogue.resources["test-bus-stops"]["CSV"]
        response = city.client.post(f"/api/3/action/{action}", json=body)
        assert response.status_code < 500, (action, body, response.text)
        # An answer may quote the request back, never more of a hidden dataset.
        sent = json.dumps(body, ensure_ascii=False)
        assert not any(w in response.text for w in hidden if w not in sent), (action, body)


def test_random_queries_never_give_a_500(city: City, catalogue: Catalogue) -> None:
    rng = random.Random(311)
    for _ in range(300):
        q = " ".join(rng.choice(QUERY_WORDS) for _ in range(rng.randrange(1, 6)))
        params: dict[str, Any] = {"q" if rng.random() < 0.5 else "fq": q}
        response = city.client.get("/api/action/package_search", params=params)
        assert response.status_code in (200, 400, 409), (q, response.text)
        assert response.json()["success"] is (response.status_code == 200), q
