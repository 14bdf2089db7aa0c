"""How a read renders its entities: the representation (``options``/``format``), ``attrs``,
``pick``/``omit`` projection (ETSI GS CIM 009 4.21), the language filter ``lang`` (4.15), the
``datasetId`` filter, ``join``/``joinLevel`` (4.5.23) and GeoJSON's ``geometryProperty``
(4.5.16). Parsing is pure (query parameters in, :class:`ReadOptions` out), so queries,
retrievals and subscriptions share one set of rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import (
    LOCATION,
    EntityView,
    check_entity_id,
    check_name,
    is_uri,
    render_entity,
)
from cityloop.platforms.data.perception.ngsild.errors import bad_data, invalid
from cityloop.platforms.data.perception.ngsild.texts import text

# A pick/omit tree: member name -> the projection of the entities it links to (None: whole).
Tree = dict[str, "Tree | None"]

CORE_MEMBERS = frozenset({"id", "type", "scope", "createdAt", "modifiedAt", "deletedAt"})
REPRESENTATIONS = {
    "normalized": "normalized",
    "keyValues": "keyValues",
    "simplified": "keyValues",
    "concise": "concise",
}
OPTIONS = frozenset(REPRESENTATIONS) | {"sysAttrs"}
FORMATS = frozenset(REPRESENTATIONS) | {"geojson"}
JOINS = ("flat", "inline", "@none")
MAX_JOIN_LEVEL = 5
_PROJECTION_NAME = re.compile(r"[A-Za-z0-9_:/#@.\-]+")
_LANGUAGE_RANGE = re.compile(r"^(\*|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)$")
_QUALITY = re.compile(r"^q=(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$")


@dataclass
class ReadOptions:
    """Everything that shapes how the entities of one read are rendered."""

    key_values: bool = False
    concise: bool = False
    sys_attrs: bool = False
    attrs: set[str] | None = None  # expanded names
    pick: Tree | None = None  # compacted names
    omit: Tree | None = None
    languages: list[str] | None = None  # language ranges, best first
    dataset_ids: set[str] | None = None  # "@none" names the default instance
    join: str | None = None  # "inline" or "flat"
    join_level: int = 1
    contained_by: set[str] = field(default_factory=set)  # entity ids not to follow again
    geojson: bool = False
    geometry_property: str = LOCATION  # expanded

    def render(self, view: EntityView, active: ActiveContext) -> dict[str, Any]:
        """One entity rendered with these options; pick and omit at the top level only."""
        attrs = filter_datasets(view.attrs, self.dataset_ids)
        if self.languages is not None:
            attrs = {iri: pick_language(a, self.languages) for iri, a in attrs.items()}
        out = render_entity(
            replace(view, attrs=attrs),
            active,
            key_values=self.key_values,
            concise=self.concise,
            attrs=self.attrs,
            sys_attrs=self.sys_attrs,
        )
        return project(out, self.pick, self.omit)


def parse_projection(source: str, what: str) -> Tree:
    """A pick or omit list (``a,b{c,d{e}}``, ``|`` as a synonym of ``,``), checked."""
    tree, end = _projection_list(source, 0, what)
    if end != len(source):
        found = repr(source[end])
        raise bad_data(text("read_projection_unexpected", what=what, char=found, pos=end))
    return tree


def _projection_list(source: str, pos: int, what: str) -> tuple[Tree, int]:
    tree: Tree = {}
    while True:
        match = _PROJECTION_NAME.match(source, pos)
        if not match:
            raise bad_data(text("read_projection_name_expected", what=what, pos=pos))
        name, pos = match.group(0), match.end()
        check_name(name, f"{what} member")
        nested: Tree | None = None
        if source.startswith("{", pos):
            nested, pos = _projection_list(source, pos + 1, what)
            if not source.startswith("}", pos):
                raise bad_data(text("read_projection_missing", what=what, char="'}'", pos=pos))
            pos += 1
        tree[name] = nested
        if pos < len(source) and source[pos] in ",|":
            pos += 1
            continue
        return tree, pos


def tree_depth(tree: Tree | None) -> int:
    """How many levels of linked entities a projection reaches into."""
    if not tree:
        return 0
    return max((1 + tree_depth(nested) for nested in tree.values() if nested), default=0)


def _compacted(tree: Tree, active: ActiveContext) -> Tree:
    """The tree's names as rendering writes them: core members as they are, the rest compacted
    under the client's own context (so a full IRI and a term pick the same attribute)."""
    return {
        (name if name in CORE_MEMBERS else active.compact(active.expand(name))): (
            _compacted(nested, active) if nested else None
        )
        for name, nested in tree.items()
    }


def project(entity: dict[str, Any], pick: Tree | None, omit: Tree | None) -> dict[str, Any]:
    """Keep the picked members, then drop the omitted ones (a nested omit keeps the member)."""
    out = {k: v for k, v in entity.items() if pick is None or k in pick or k == "@context"}
    if omit:
        out = {k: v for k, v in out.items() if k not in omit or omit[k]}
    return out


def parse_languages(ranges: str) -> list[str]:
    """A language filter (``fr-CH,fr;q=0.9,*;q=0.5``) as its ranges, best quality first."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(ranges.split(",")):
        language, _, quality = part.strip().partition(";")
        if not _LANGUAGE_RANGE.match(language) or (quality and not _QUALITY.match(quality)):
            raise bad_data(text("read_lang_not_range", part=repr(part.strip())))
        weight = float(quality[2:]) if quality else 1.0
        if weight > 0:
            ranked.append((-weight, position, language.lower()))
    return [language for _, _, language in sorted(ranked)]


def best_language(languages: Mapping[str, Any], ranges: list[str]) -> str | None:
    """The tag of ``languages`` a client with these ranges gets: RFC 4647 lookup (a range
    matches its own tag, longer tags under it, and its truncations), else any language."""
    tags = {tag.lower(): tag for tag in languages}
    for wanted in ranges:
        if wanted == "*":
            break
        candidate = wanted
        while candidate:
            if candidate in tags:
                return tags[candidate]
            longer = [t for t in tags if t.startswith(candidate + "-")]
            if longer:
                return tags[longer[0]]
            candidate = candidate.rpartition("-")[0]
    return next(iter(languages), None)


def pick_language(attribute: Any, ranges: list[str]) -> Any:
    """A LanguageProperty as a Property in the best language, with ``lang`` naming it."""
    if isinstance(attribute, list):
        return [pick_language(instance, ranges) for instance in attribute]
    if not isinstance(attribute, dict) or attribute.get("type") != "LanguageProperty":
        return attribute
    languages = attribute.get("languageMap") or {}
    tag = best_language(languages, ranges)
    out = {k: v for k, v in attribute.items() if k != "languageMap"}
    out.update({"type": "Property", "value": languages.get(tag) if tag else None, "lang": tag})
    return out


def filter_datasets(attrs: dict[str, Any], dataset_ids: set[str] | None) -> dict[str, Any]:
    """Only the instances whose datasetId is asked for ("@none": the default instance);
    attributes left without instances are dropped."""
    if dataset_ids is None:
        return attrs
    out: dict[str, Any] = {}
    for iri, attribute in attrs.items():
        instances = attribute if isinstance(attribute, list) else [attribute]
        kept = [
            i
            for i in instances
            if isinstance(i, dict) and i.get("datasetId", "@none") in dataset_ids
        ]
        if kept:
            out[iri] = kept if len(kept) > 1 else kept[0]
    return out


def _representation(params: Mapping[str, str], option_values: list[str]) -> tuple[str, bool, bool]:
    """(representation, sysAttrs, geojson) from ``options`` and ``format``; format wins."""
    asked: list[str] = []
    for value in option_values:
        asked.extend(part.strip() for part in value.split(","))
    for option in asked:
        if option not in OPTIONS:
            known = ", ".join(sorted(OPTIONS))
            raise invalid(text("read_option_unknown", option=repr(option), options=known))
    chosen = "normalized"
    for option in ("concise", "keyValues", "simplified"):
        if option in asked:
            chosen = REPRESENTATIONS[option]
    geojson = False
    format_ = params.get("format")
    if format_ is not None:
        if format_ not in FORMATS:
            known = ", ".join(sorted(FORMATS))
            raise invalid(text("read_format_unknown", format=repr(format_), formats=known))
        geojson = format_ == "geojson"
        if not geojson:
            chosen = REPRESENTATIONS[format_]
    return chosen, "sysAttrs" in asked, geojson


def read_options(
    params: Mapping[str, str],
    option_values: list[str],
    active: ActiveContext,
    *,
    attrs: list[str],
    geojson_accepted: bool,
) -> ReadOptions:
    """The rendering parameters of GET /entities, GET /entities/{id} or a query, checked;
    ``attrs`` are the expanded attribute names already read from the request."""
    representation, sys_attrs, geojson = _representation(params, option_values)
    options = ReadOptions(
        key_values=representation == "keyValues",
        concise=representation == "concise",
        sys_attrs=sys_attrs,
        attrs=set(attrs) if attrs else None,
        geojson=geojson or geojson_accepted,
    )
    options.pick, options.omit = pick_and_omit(params, active, attrs=attrs)
    lang = params.get("lang")
    if lang is not None:
        options.languages = parse_languages(lang)
    dataset_id = params.get("datasetId")
    if dataset_id is not None:
        options.dataset_ids = set()
        for part in dataset_id.split(","):
            if part != "@none" and not is_uri(part):
                raise bad_data(text("read_dataset_not_uri", part=repr(part[:100])))
            options.dataset_ids.add(part)
    _join(params, options)
    geometry = params.get("geometryProperty")
    if geometry is not None:
        if not options.geojson:
            raise bad_data(text("read_geometry_needs_geojson"))
        check_name(geometry, "geometryProperty")
        options.geometry_property = active.expand(geometry)
    return options


def pick_and_omit(
    params: Mapping[str, str], active: ActiveContext, *, attrs: list[str]
) -> tuple[Tree | None, Tree | None]:
    """``pick`` and ``omit`` (4.21), checked and compacted as rendering writes names; neither
    goes with ``attrs``, and no member may be both picked and omitted."""
    pick, omit = params.get("pick"), params.get("omit")
    picked = _compacted(parse_projection(pick, "pick"), active) if pick is not None else None
    omitted = _compacted(parse_projection(omit, "omit"), active) if omit is not None else None
    if attrs and (pick is not None or omit is not None):
        raise bad_data(text("read_attrs_with_pick"))
    if picked and omitted:
        both = [name for name in picked if name in omitted]
        if both:
            raise bad_data(text("read_pick_and_omit", name=repr(both[0])))
    return picked, omitted


def _join(params: Mapping[str, str], options: ReadOptions) -> None:
    """``join`` and ``joinLevel``: which linked entities come along, and how deep."""
    join, level = params.get("join"), params.get("joinLevel")
    if join is not None and join not in JOINS:
        raise bad_data(text("read_join_unknown", join=repr(join), joins=", ".join(JOINS)))
    options.join = join if join in ("inline", "flat") else None
    if level is not None:
        if not level.isascii() or not level.isdigit() or not 1 <= int(level) <= MAX_JOIN_LEVEL:
            raise bad_data(text("read_join_level", limit=MAX_JOIN_LEVEL))
        options.join_level = int(level)
    for entity_id in (params.get("containedBy") or "").split(","):
        if entity_id:
            options.contained_by.add(check_entity_id(entity_id))
    reach = max(tree_depth(options.pick), tree_depth(options.omit))
    if reach and options.join is None:
        raise bad_data(text("read_nested_needs_join"))
    if reach > options.join_level:
        raise bad_data(text("read_projection_too_deep", reach=reach))
