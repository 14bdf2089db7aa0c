"""CKAN's read actions over the open catalogue (``ckan/logic/action/get.py``): each takes the
session, what the call carries and the action's parameters, and answers CKAN's result.

Only open, active datasets exist here: a shared or personal one is not found, not forbidden, so
not even its name is given away.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.platforms.data.catalogue.models import Dataset, Distribution
from cityloop.platforms.data.catalogue.vocabularies import LICENCES, THEMES
from cityloop.platforms.data.ckan import ids
from cityloop.platforms.data.ckan.errors import NotFound, SearchError, SearchQueryError
from cityloop.platforms.data.ckan.index import SearchIndex, Snapshot, is_open, parse_sort
from cityloop.platforms.data.ckan.packages import Site, departments, load_packages
from cityloop.platforms.data.ckan.params import Params, listed
from cityloop.platforms.data.ckan.query import AllOf, Node, QuerySyntaxError, Term, parse

DEFAULT_SORT = "score desc, metadata_modified desc"
ROWS_DEFAULT, ROWS_MAX = 10, 1000
FACET_LIMIT = 50
# What package_search passes on to the search engine, and what it takes out before.
SEARCH_PARAMETERS = frozenset(
    {"q", "fl", "fq", "rows", "sort", "start", "wt", "qf", "bf", "boost", "facet",
     "facet.mincount", "facet.limit", "facet.field", "extras", "fq_list", "tie", "defType",
     "mm", "df"}
)  # fmt: skip
SEARCH_SWITCHES = frozenset(
    {"include_private", "include_drafts", "include_deleted", "use_default_schema"}
)


@dataclass(frozen=True)
class Call:
    """What an action gets besides its parameters: the site, the search index, the request's
    path and query (DataStore answers link their next page from it)."""

    site: Site
    index: SearchIndex
    url: str


# ---------------------------------------------------------------------------- site


def status_show(session: Session, *, call: Call, data: Mapping[str, Any]) -> dict[str, Any]:
    """The site: its title, address, CKAN version and extensions."""
    return {
        "site_title": f"{call.site.title} Open Data",
        "site_description": f"Open data of {call.site.title} · {call.site.title_zh}开放数据",
        "site_url": call.site.base_url,
        "error_emails_to": None,
        "locale_default": "en",
        "extensions": ["datastore", "dcat"],
        "ckan_version": ids.CKAN_VERSION,
    }


def license_list(session: Session, *, call: Call, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The licences datasets may carry."""
    return [
        {"id": code, "title": title, "url": url, "status": "active", "is_okd_compliant": bool(url)}
        for code, (title, _, url) in LICENCES.items()
        if url
    ]


# ---------------------------------------------------------------------------- packages


def package_list(session: Session, *, call: Call, data: Mapping[str, Any]) -> list[str]:
    """The names of the open datasets, in name order (a page of them with limit and offset)."""
    params = Params(data)
    limit, offset = params.natural("limit"), params.natural("offset")
    params.done()
    query = select(Dataset.name).where(*is_open()).order_by(Dataset.name)
    if limit:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    return list(session.scalars(query))


def package_show(session: Session, *, call: Call, data: Mapping[str, Any]) -> dict[str, Any]:
    """One open dataset by name or id, with its resources."""
    params = Params(data)
    name_or_id = params.text("id") or params.required("name_or_id")
    params.done()
    snapshot = call.index.current(session)
    entry = snapshot.find(name_or_id)
    if entry is None:
        raise NotFound()
    packages = packages_of(session, call, snapshot, [entry.dataset_id])
    if not packages:
        raise NotFound()
    return packages[0]


def resource_show(session: Session, *, call: Call, data: Mapping[str, Any]) -> dict[str, Any]:
    """One distribution of an open dataset, as a resource."""
    params = Params(data)
    resource_id = params.required("id")
    params.done()
    dataset_id = session.scalar(
        select(Distribution.dataset_id)
        .join(Dataset, Dataset.id == Distribution.dataset_id)
        .where(Distribution.id == resource_id, *is_open())
    )
    if dataset_id is None:
        raise NotFound()
    packages = packages_of(session, call, call.index.current(session), [dataset_id])
    for resource in packages[0]["resources"] if packages else ():
        if resource["id"] == resource_id:
            return dict(resource)
    raise NotFound("Resource was not found.")


def packages_of(
    session: Session, call: Call, snapshot: Snapshot, dataset_ids: list[int]
) -> list[dict[str, Any]]:
    """The packages of these open datasets, in this order."""
    created = {code: first for code, (_, first) in snapshot.summary("organization").items()}
    return load_packages(session, call.site, dataset_ids=dataset_ids, organizations_created=created)


def _facet_fields(params: Params) -> list[str]:
    value = params.json("facet.field", "Could not parse as valid JSON")
    if value is None:
        return []
    if not isinstance(value, list):
        params.problem("facet.field", "Not a list")
        return []
    for item in value:
        if not isinstance(item, str):
            params.problem("facet.field", f"Not a string: {item}")
            return []
    return value


def _texts(value: Any) -> list[str]:
    """A parameter given once or as a list, as texts."""
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _free_words(node: Node) -> list[str]:
    """The words of a query that search the text (not those under NOT): they rank matches."""
    if isinstance(node, Term):
        word = node.value.lower().strip("*?")
        return [word] if node.field in (None, "text") and word else []
    parts = getattr(node, "parts", ())  # AND and OR; NOT and ranges have none
    return [w for part in parts for w in _free_words(part)]


def package_search(session: Session, *, call: Call, data: Mapping[str, Any]) -> dict[str, Any]:
    """Open datasets matching q and fq, sorted and paged, with facet counts."""
    params = Params(data)
    q = " ".join(_texts(data.get("q")))
    rows = params.natural("rows", ROWS_DEFAULT, maximum=ROWS_MAX) or 0
    start = params.natural("start", 0) or 0
    mincount = params.natural("facet.mincount", 1)
    limit = params.integer("facet.limit", FACET_LIMIT)
    facet_fields = _facet_fields(params)
    params.done()
    unknown = sorted(
        k for k in data if k not in SEARCH_PARAMETERS | SEARCH_SWITCHES and not k.startswith("ext_")
    )
    if unknown:
        raise SearchQueryError(f"Invalid search parameters: {unknown}")
    sort = params.text("sort") or DEFAULT_SORT
    if sort == "rank":
        sort = DEFAULT_SORT
    order = parse_sort(sort)
    # Solr takes fq more than once; CKAN's fq_list adds more: each must match.
    filter_texts = [*_texts(data.get("fq")), *_texts(data.get("fq_list"))]
    try:
        query = parse(q.strip() if q.strip() not in ('""', "''") else "")
        filters = [parse(text) for text in filter_texts if text.strip()]
    except QuerySyntaxError as problem:
        raise SearchError(str(problem)) from None
    snapshot = call.index.current(session)
    matches = snapshot.matching(AllOf((query, *filters)))
    positions = snapshot.ordered(
        matches, sort=order, words=_free_words(query), first=start, count=rows
    )
    results = packages_of(
        session, call, snapshot, [snapshot.entries[i].dataset_id for i in positions]
    )
    fl = data.get("fl")
    if fl:
        wanted = [f for part in listed(fl) for f in str(part).replace(",", " ").split()]
        results = [{k: package.get(k) for k in wanted if k in package} for package in results]
    faceting = str(data.get("facet", "true")).lower() != "false"
    counted = snapshot.facets(
        matches,
        fields=facet_fields if faceting else [],
        limit=FACET_LIMIT if limit is None else limit,
        mincount=1 if mincount is None else mincount,
    )
    return {
        "count": len(matches),
        "facets": {name: dict(items) for name, items in counted.items()},
        "results": results,
        "sort": sort,
        "search_facets": _search_facets(session, counted),
    }


def _search_facets(
    session: Session, counted: Mapping[str, list[tuple[str, int]]]
) -> dict[str, Any]:
    """The facets as CKAN restructures them: titled items, in reverse display-name order."""
    titles: dict[str, dict[str, str]] = {
        "organization": {code: d.name for code, d in departments(session).items()}
        if "organization" in counted
        else {},
        "groups": {code.lower(): names[0] for code, names in THEMES.items()},
        "license_id": {code: names[0] for code, names in LICENCES.items()},
    }
    restructured = {}
    for name, items in counted.items():
        shown = titles.get(name, {})
        entries = [
            {"name": value, "display_name": shown.get(value) or value, "count": count}
            for value, count in items
        ]
        entries.sort(key=lambda item: str(item["display_name"]), reverse=True)
        restructured[name] = {"title": name, "items": entries}
    return restructured
