"""The actions this CKAN API knows, each with the help ``help_show`` gives for it, and the CKAN
actions that write, which it knows only to refuse (403, as CKAN refuses an anonymous caller)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from cityloop.platforms.data.ckan import actions, groups
from cityloop.platforms.data.ckan.actions import Call
from cityloop.platforms.data.ckan.datastore_search import datastore_search
from cityloop.platforms.data.ckan.errors import NotFound
from cityloop.platforms.data.ckan.params import Params

Run = Callable[..., Any]


@dataclass(frozen=True)
class Action:
    run: Run
    help: str


def help_show(session: Session, *, call: Call, data: Mapping[str, Any]) -> str:
    """The help text of an action."""
    params = Params(data)
    name = params.required("name")
    params.done()
    action = ACTIONS.get(name)
    if action is None:
        raise NotFound("Action function not found")
    return action.help


ACTIONS: dict[str, Action] = {
    "status_show": Action(
        actions.status_show,
        "Return a dictionary with information about the site's configuration.",
    ),
    "help_show": Action(
        help_show,
        "Return the help string for a particular API action.\n\n:param name: action name",
    ),
    "license_list": Action(
        actions.license_list, "Return the list of licenses available for datasets on the site."
    ),
    "package_list": Action(
        actions.package_list,
        "Return a list of the names of the site's open datasets (packages).\n\n"
        ":param limit: at most this many (optional)\n:param offset: skip this many (optional)",
    ),
    "package_show": Action(
        actions.package_show,
        "Return the metadata of a dataset (package) and its resources.\n\n"
        ":param id: the id or name of the dataset",
    ),
    "package_search": Action(
        actions.package_search,
        "Search the open datasets.\n\n"
        ":param q: words, or field:value terms (name, id, title, notes, tags, organization,\n"
        "    owner_org, groups, license_id, res_format, metadata_modified,\n"
        "    metadata_created), with AND, OR, NOT, quotes, parentheses and [a TO b] ranges\n"
        ":param fq: more such terms, all of which must match\n"
        ":param sort: score, metadata_modified, metadata_created, name or title_string,\n"
        "    asc or desc (default: score desc, metadata_modified desc)\n"
        ":param rows: at most this many (default 10, at most 1000)\n"
        ":param start: skip this many\n"
        ":param facet.field: a JSON list of organization, groups, tags, res_format, license_id\n"
        ":param facet.limit: values per facet (default 50; negative: all)\n"
        ":param facet.mincount: leave out values with fewer datasets (default 1)",
    ),
    "resource_show": Action(
        actions.resource_show, "Return the metadata of a resource.\n\n:param id: the resource id"
    ),
    "organization_list": Action(
        groups.organization_list,
        "Return a list of the names of the site's organizations (city departments).\n\n"
        ":param all_fields: return dictionaries instead of names\n"
        ":param sort: name, title or package_count, asc or desc (default: title)\n"
        ":param limit: at most this many\n:param offset: skip this many",
    ),
    "organization_show": Action(
        groups.organization_show,
        "Return the details of an organization.\n\n:param id: the id or name\n"
        ":param include_datasets: include its first 10 datasets",
    ),
    "group_list": Action(
        groups.group_list,
        "Return a list of the names of the site's groups (data themes).\n\n"
        ":param all_fields: return dictionaries instead of names",
    ),
    "group_show": Action(
        groups.group_show,
        "Return the details of a group.\n\n:param id: the id or name\n"
        ":param include_datasets: include its first 10 datasets",
    ),
    "tag_list": Action(
        groups.tag_list,
        "Return a list of the site's tags.\n\n:param query: only tags containing this\n"
        ":param all_fields: return dictionaries instead of names",
    ),
    "datastore_search": Action(
        datastore_search,
        "Search a DataStore resource.\n\n:param resource_id: the resource id\n"
        ':param filters: a JSON object of field: value (or a list of values), e.g. {"a": 1}\n'
        ":param q: text to find in every text field, or a JSON object of field: text\n"
        ":param fields: the fields to return (a list or comma-separated)\n"
        ':param sort: comma-separated fields, each "asc" or "desc"\n'
        ":param limit: at most this many rows (default 100, at most 32000)\n"
        ":param offset: skip this many rows\n"
        ":param include_total: count the matches (default true)\n"
        ":param records_format: objects (default), lists, csv or tsv",
    ),
}

# CKAN actions that change data: a client may call them, and is refused.
WRITE_ACTIONS = frozenset(
    f"{thing}_{verb}"
    for thing in ("package", "resource", "organization", "group", "tag", "user", "resource_view")
    for verb in ("create", "update", "patch", "delete", "purge")
) | frozenset(
    {"datastore_create", "datastore_upsert", "datastore_delete", "datastore_records_delete",
     "package_revise", "package_resource_reorder", "member_create", "member_delete"}
)  # fmt: skip
