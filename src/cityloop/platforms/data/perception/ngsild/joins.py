"""Linked entity retrieval (ETSI GS CIM 009 4.5.23): ``join=inline`` puts the entities a
Relationship points at inside it (``entity``; in keyValues the entity replaces the object),
``join=flat`` appends them to the answer. ``joinLevel`` bounds how many hops are followed, and
a nested pick or omit (``locatedAt{name}``) projects the entities reached through that member."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.platforms.data.perception.ngsild import rows
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import EntityView, relationship_objects
from cityloop.platforms.data.perception.ngsild.models import NgsiEntity
from cityloop.platforms.data.perception.ngsild.projection import ReadOptions, Tree, filter_datasets

MAX_LINKED = 1000  # linked entities one answer may carry


@dataclass
class _Linker:
    """One answer's linked-entity lookups, each entity read once."""

    session: Session
    tenant: str
    active: ActiveContext
    options: ReadOptions
    found: dict[str, NgsiEntity | None] = field(default_factory=dict)

    def load(self, ids: list[str]) -> list[NgsiEntity]:
        ids = [i for i in ids if i not in self.options.contained_by]
        missing = [i for i in ids if i not in self.found]
        if missing and len(self.found) < MAX_LINKED:
            statement = select(NgsiEntity).where(
                NgsiEntity.tenant == self.tenant, NgsiEntity.entity_id.in_(missing)
            )
            loaded = {row.entity_id: row for row in self.session.scalars(statement)}
            for entity_id in missing:
                self.found[entity_id] = loaded.get(entity_id)
        return [row for i in ids if (row := self.found.get(i)) is not None]

    def render(self, row: NgsiEntity, pick: Tree | None, omit: Tree | None) -> dict[str, Any]:
        """A linked entity: the read's options, its own projection, all its attributes."""
        options = replace(self.options, pick=pick, omit=omit, attrs=None)
        return options.render(rows.view_of(row), self.active)

    def links(
        self, row: NgsiEntity, rendered: dict[str, Any]
    ) -> list[tuple[str, int | None, list[str]]]:
        """(member name, instance position or None, linked ids) of each relationship kept."""
        out = []
        for iri, attribute in filter_datasets(row.attrs or {}, self.options.dataset_ids).items():
            name = self.active.compact(iri)
            if name not in rendered:
                continue
            if isinstance(attribute, list):
                out.extend(
                    (name, n, ids)
                    for n, i in enumerate(attribute)
                    if (ids := relationship_objects(i))
                )
            elif ids := relationship_objects(attribute):
                out.append((name, None, ids))
        return out

    def inline(
        self,
        row: NgsiEntity,
        rendered: dict[str, Any],
        pick: Tree | None,
        omit: Tree | None,
        level: int,
    ) -> None:
        """Put the linked entities into ``rendered``'s relationships, ``level`` hops deep."""
        if level <= 0:
            return
        for name, index, ids in self.links(row, rendered):
            sub_pick, sub_omit = _nested(pick, name), _nested(omit, name)
            entities = []
            for linked in self.load(ids):
                entity = self.render(linked, sub_pick, sub_omit)
                self.inline(linked, entity, sub_pick, sub_omit, level - 1)
                entities.append(entity)
            if entities:
                _attach(rendered, name, index, entities, self.options.key_values)

    def flat(
        self,
        row: NgsiEntity,
        rendered: dict[str, Any],
        pick: Tree | None,
        omit: Tree | None,
        level: int,
        answer: dict[str, dict[str, Any]],
    ) -> None:
        """Add the linked entities to ``answer`` (by id, first come first kept)."""
        if level <= 0:
            return
        for name, _instance, ids in self.links(row, rendered):
            sub_pick, sub_omit = _nested(pick, name), _nested(omit, name)
            for linked in self.load(ids):
                if linked.entity_id in answer:
                    continue
                entity = self.render(linked, sub_pick, sub_omit)
                answer[linked.entity_id] = entity
                self.flat(linked, entity, sub_pick, sub_omit, level - 1, answer)


def _nested(tree: Tree | None, name: str) -> Tree | None:
    return tree.get(name) if tree else None


def _attach(
    rendered: dict[str, Any], name: str, index: int | None, entities: list[Any], key_values: bool
) -> None:
    """Inline ``entities`` where the relationship was rendered: in keyValues they replace the
    object, otherwise they go in its ``entity`` member."""
    linked: Any = entities[0] if len(entities) == 1 else entities
    if index is not None and not isinstance(rendered[name], list):
        return  # several instances rendered as one (a keyValues dataset map): nowhere to go
    holder, key = (rendered, name) if index is None else (rendered[name], index)
    if key_values:
        holder[key] = linked
    elif isinstance(holder[key], dict):
        holder[key]["entity"] = linked


def join_linked(
    session: Session,
    *,
    tenant: str,
    found: list[tuple[NgsiEntity, dict[str, Any]]],
    active: ActiveContext,
    options: ReadOptions,
) -> list[dict[str, Any]]:
    """The answer's entities with their linked entities, inline or flat, as ``options`` say."""
    linker = _Linker(session, tenant, active, options)
    if options.join == "inline":
        for row, rendered in found:
            linker.inline(row, rendered, options.pick, options.omit, options.join_level)
        return [rendered for _, rendered in found]
    answer = {row.entity_id: rendered for row, rendered in found}
    for row, rendered in found:
        linker.flat(row, rendered, options.pick, options.omit, options.join_level, answer)
    return list(answer.values())


def join_views(
    out: dict[str, Any],
    attrs: dict[str, Any],
    *,
    join: str | None,
    levels: int,
    active: ActiveContext,
    load: Callable[[str], EntityView | None],
    render: Callable[[EntityView], tuple[dict[str, Any], dict[str, Any]]],
    key_values: bool,
) -> list[dict[str, Any]]:
    """The linked entities of an entity already rendered as ``out`` from ``attrs`` (as a
    notification renders it): put inline into its relationships, or returned to follow it
    (flat), ``levels`` hops deep. ``render`` gives a linked entity and the attributes it was
    rendered from."""
    if join not in ("flat", "inline") or levels <= 0:
        return []
    flat: dict[str, dict[str, Any]] = {}
    for iri, attribute in attrs.items():
        name = active.compact(iri)
        if name not in out:
            continue
        several = isinstance(attribute, list)
        for index, instance in enumerate(attribute if several else [attribute]):
            entities = []
            for target_id in relationship_objects(instance):
                target = load(target_id)
                if target is None:
                    continue
                target_out, target_attrs = render(target)
                deeper = join_views(
                    target_out,
                    target_attrs,
                    join=join,
                    levels=levels - 1,
                    active=active,
                    load=load,
                    render=render,
                    key_values=key_values,
                )
                entities.append(target_out)
                for entity in (target_out, *deeper):
                    flat.setdefault(entity["id"], entity)
            if entities and join == "inline":
                _attach(out, name, index if several else None, entities, key_values)
    return list(flat.values()) if join == "flat" else []
