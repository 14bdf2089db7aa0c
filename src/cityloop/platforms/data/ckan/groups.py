"""Organizations (the departments that own datasets), groups (the data themes) and tags (the
datasets' keywords), as CKAN's list and show actions answer them. Their dataset counts are of
open datasets only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cityloop.platforms.data.catalogue.vocabularies import THEMES
from cityloop.platforms.data.ckan import ids
from cityloop.platforms.data.ckan.actions import Call, packages_of
from cityloop.platforms.data.ckan.errors import NotFound, ValidationError
from cityloop.platforms.data.ckan.index import Snapshot
from cityloop.platforms.data.ckan.packages import departments, tag_dict
from cityloop.platforms.data.ckan.params import Params, listed

LIST_MAX, ALL_FIELDS_MAX = 1000, 25
SHOWN_DATASETS = 10
SORTABLE = ("name", "packages", "package_count", "title")


@dataclass(frozen=True)
class Holder:
    """An organization or a group: what its dicts are made of."""

    name: str
    id: str
    title: str
    title_zh: str
    organization: bool
    package_count: int
    created: datetime | None


def organizations(session: Session, *, call: Call, snapshot: Snapshot) -> list[Holder]:
    """Every active department, and any other that owns an open dataset."""
    counts = snapshot.summary("organization")
    return [
        Holder(
            name=code,
            id=ids.organization_id(call.site.domain, code),
            title=department.name,
            title_zh=department.name_zh,
            organization=True,
            package_count=counts.get(code, (0, None))[0],
            created=counts.get(code, (0, None))[1],
        )
        for code, department in departments(session).items()
        if department.active or code in counts
    ]


def themes(*, call: Call, snapshot: Snapshot) -> list[Holder]:
    """Every data theme, as a group."""
    counts = snapshot.summary("groups")
    holders = []
    for code, (title, title_zh) in THEMES.items():
        name = code.lower()
        count, created = counts.get(name, (0, None))
        holders.append(
            Holder(
                name, ids.group_id(call.site.domain, name), title, title_zh, False, count, created
            )
        )
    return holders


def holder_dict(holder: Holder, **parts: Any) -> dict[str, Any]:
    """An organization or group as CKAN dictizes it; ``parts`` add or drop optional keys."""
    answer: dict[str, Any] = {
        "approval_status": "approved",
        "created": ids.ckan_time(holder.created),
        "description": "",
        "display_name": holder.title,
        "id": holder.id,
        "image_display_url": "",
        "image_url": "",
        "is_organization": holder.organization,
        "name": holder.name,
        "num_followers": 0,
        "state": "active",
        "title": holder.title,
        "type": "organization" if holder.organization else "group",
    }
    if parts.get("include_dataset_count"):
        answer["package_count"] = holder.package_count
    if parts.get("include_extras"):
        answer["extras"] = [{"key": "title_zh", "value": holder.title_zh}]
    if parts.get("include_groups"):
        answer["groups"] = []
    if parts.get("include_users"):
        answer["users"] = []
    return answer


def _sorted(holders: list[Holder], sort: str) -> list[Holder]:
    if sort.strip() in ("packages", "package_count"):
        sort = "package_count desc"
    clauses = [part.split() for part in sort.split(",") if part.strip()]
    if len(clauses) > 1:
        raise ValidationError({"message": "Too many sort criteria provided only 1 allowed"})
    if not clauses:
        return holders
    field, direction = clauses[0][0], (clauses[0][1].lower() if len(clauses[0]) > 1 else "asc")
    if field not in SORTABLE:
        raise ValidationError({"message": f"Cannot sort by field `{field}`"})
    if direction not in ("asc", "desc"):
        raise ValidationError({"message": f"Invalid sort direction `{direction}`"})
    keys = {"name": lambda h: h.name, "title": lambda h: h.title}
    key = keys.get(field, lambda h: h.package_count)
    return sorted(holders, key=key, reverse=direction == "desc")


def _listed(holders: list[Holder], data: Mapping[str, Any], names_key: str) -> list[Any]:
    params = Params(data)
    limit, offset = params.natural("limit"), params.natural("offset")
    all_fields = params.flag("all_fields")
    counted = params.flag("include_dataset_count", True)
    extras, groups = params.flag("include_extras"), params.flag("include_groups")
    users = params.flag("include_users")
    params.done()
    wanted = listed(data[names_key]) if data.get(names_key) else None
    q = params.text("q").strip().lower()
    chosen = [
        h
        for h in holders
        if (wanted is None or h.name in wanted)
        and (not q or q in h.name.lower() or q in h.title.lower() or q in h.title_zh.lower())
    ]
    chosen = _sorted(chosen, params.text("sort") or "title")
    most = ALL_FIELDS_MAX if all_fields else LIST_MAX
    page = chosen[offset or 0 :][: min(limit, most) if limit else most]
    if not all_fields:
        return [h.name for h in page]
    return [
        holder_dict(
            h,
            include_dataset_count=counted,
            include_extras=extras,
            include_groups=groups,
            include_users=users,
        )
        for h in page
    ]


def _shown(
    session: Session, call: Call, snapshot: Snapshot, holder: Holder, data: Mapping[str, Any]
) -> dict[str, Any]:
    params = Params(data)
    with_datasets = params.flag("include_datasets")
    answer = holder_dict(
        holder,
        include_dataset_count=params.flag("include_dataset_count", True) or with_datasets,
        include_extras=params.flag("include_extras", True),
        include_groups=params.flag("include_groups", True),
        include_users=params.flag("include_users", True),
    )
    if with_datasets:
        field = "organization" if holder.organization else "groups"
        matches = set(snapshot.postings[field].get(holder.name, ()))
        first = snapshot.ordered(matches, sort=[], words=[], first=0, count=SHOWN_DATASETS)
        chosen = [snapshot.entries[i].dataset_id for i in first]
        answer["packages"] = packages_of(session, call, snapshot, chosen)
    return answer


def _find(holders: list[Holder], data: Mapping[str, Any]) -> Holder:
    params = Params(data)
    wanted = params.required("id")
    params.done()
    for holder in holders:
        if wanted in (holder.name, holder.id):
            return holder
    raise NotFound()


def organization_list(session: Session, *, call: Call, data: Mapping[str, Any]) -> list[Any]:
    """The organizations' names (their dicts with all_fields), by title."""
    holders = organizations(session, call=call, snapshot=call.index.current(session))
    return _listed(holders, data, "organizations")


def organization_show(session: Session, *, call: Call, data: Mapping[str, Any]) -> dict[str, Any]:
    """One organization by name or id (its first datasets with include_datasets)."""
    snapshot = call.index.current(session)
    holder = _find(organizations(session, call=call, snapshot=snapshot), data)
    return _shown(session, call, snapshot, holder, data)


def group_list(session: Session, *, call: Call, data: Mapping[str, Any]) -> list[Any]:
    """The groups' names (their dicts with all_fields), by title."""
    return _listed(themes(call=call, snapshot=call.index.current(session)), data, "groups")


def group_show(session: Session, *, call: Call, data: Mapping[str, Any]) -> dict[str, Any]:
    """One group by name or id (its first datasets with include_datasets)."""
    snapshot = call.index.current(session)
    holder = _find(themes(call=call, snapshot=snapshot), data)
    return _shown(session, call, snapshot, holder, data)


def tag_list(session: Session, *, call: Call, data: Mapping[str, Any]) -> list[Any]:
    """The open datasets' tags (containing ``query``, when given), in name order."""
    params = Params(data)
    query = (params.text("query") or params.text("q")).strip().lower()
    if params.text("vocabulary_id"):
        return []  # every tag here is a free tag
    snapshot = call.index.current(session)
    names = sorted({tag for entry in snapshot.entries for tag in entry.tags})
    names = [name for name in names if query in name.lower()]
    if params.flag("all_fields"):
        return [tag_dict(call.site, name) for name in names]
    return names
