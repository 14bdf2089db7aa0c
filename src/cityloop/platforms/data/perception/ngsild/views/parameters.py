"""The query parameters each /ngsi-ld/v1 route takes (clause 6.3.20: any other is refused with
400 InvalidRequest, naming it)."""

from __future__ import annotations

import re

from fastapi import Request

from cityloop.platforms.data.perception.ngsild.errors import invalid
from cityloop.platforms.data.perception.ngsild.texts import text

PREFIX = "/ngsi-ld/v1"

# The query parameters each route takes (clause 6.3.20: any other is an InvalidRequest), by
# method and path under PREFIX with every {placeholder} written "{}". The lists follow the
# specification, so a parameter a route does not act on yet passes here and is ignored there.
# A route missing from the table is not checked; tests/…/test_ngsild_common.py fails for it.
_PAGING = frozenset({"limit", "offset", "count"})
_OUTPUT = frozenset({"options", "format", "lang", "local", "join", "joinLevel", "containedBy"})
_RETRIEVE = _OUTPUT | {"attrs", "pick", "omit", "geometryProperty", "datasetId", "entityMap"}
_ENTITY_QUERY = (
    _RETRIEVE
    | _PAGING
    | {"id", "type", "idPattern", "q", "csf", "scopeQ", "orderBy"}
    | {"georel", "geometry", "coordinates", "geoproperty"}
)
_TEMPORAL = frozenset(
    {"timerel", "timeAt", "endTimeAt", "timeproperty", "lastN", "aggrMethods", "aggrPeriodDuration"}
)
_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
PARAMETERS: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/entities"): frozenset(),
    ("GET", "/entities"): _ENTITY_QUERY | {"expandValues", "collation", "orderFrom"},
    ("DELETE", "/entities"): frozenset(
        {"id", "type", "idPattern", "attrs", "q", "scopeQ", "local", "keep", "drop"}
        | {"georel", "geometry", "coordinates", "geoproperty"}
    ),
    ("GET", "/entities/{}"): _RETRIEVE | {"type"},
    ("PUT", "/entities/{}"): frozenset(),
    ("PATCH", "/entities/{}"): frozenset({"options", "format", "observedAt", "lang"}),
    ("DELETE", "/entities/{}"): frozenset({"type", "local"}),
    ("POST", "/entities/{}/attrs"): frozenset({"options", "type"}),
    ("PATCH", "/entities/{}/attrs"): frozenset({"options", "type"}),
    ("PATCH", "/entities/{}/attrs/{}"): frozenset({"type"}),
    ("PUT", "/entities/{}/attrs/{}"): frozenset({"type"}),
    ("DELETE", "/entities/{}/attrs/{}"): frozenset({"datasetId", "deleteAll", "lang", "type"}),
    ("POST", "/entityOperations/{}"): frozenset({"options"}),
    ("POST", "/entityOperations/query"): _OUTPUT | _PAGING | {"geometryProperty"},
    ("GET", "/types"): frozenset({"details", "local"}),
    ("GET", "/types/{}"): frozenset({"local"}),
    ("GET", "/attributes"): frozenset({"details", "local"}),
    ("GET", "/attributes/{}"): frozenset({"local"}),
    ("GET", "/jsonldContexts"): frozenset({"details", "kind"}),
    ("GET", "/jsonldContexts/{}"): frozenset({"details"}),
    ("POST", "/jsonldContexts"): frozenset(),
    ("DELETE", "/jsonldContexts/{}"): frozenset({"reload"}),
    ("GET", "/temporal/entities"): _ENTITY_QUERY | _TEMPORAL,
    ("POST", "/temporal/entities"): frozenset(),
    ("GET", "/temporal/entities/{}"): _RETRIEVE | _TEMPORAL,
    ("DELETE", "/temporal/entities/{}"): frozenset(),
    ("POST", "/temporal/entities/{}/attrs"): frozenset(),
    ("DELETE", "/temporal/entities/{}/attrs/{}"): frozenset({"datasetId", "deleteAll"}),
    ("PATCH", "/temporal/entities/{}/attrs/{}/{}"): frozenset(),
    ("DELETE", "/temporal/entities/{}/attrs/{}/{}"): frozenset(),
    ("POST", "/temporal/entityOperations/query"): _OUTPUT | _PAGING | _TEMPORAL,
    ("POST", "/subscriptions"): frozenset(),
    ("GET", "/subscriptions"): _PAGING | {"options"},
    ("GET", "/subscriptions/{}"): frozenset({"options"}),
    ("PATCH", "/subscriptions/{}"): frozenset(),
    ("DELETE", "/subscriptions/{}"): frozenset(),
}
# Answered 400 BadRequestData whatever they are given (PATCH without an entity id, an empty id
# or attribute name): they take any parameter another route takes, so the answer names the path.
_ANY = frozenset().union(*PARAMETERS.values())
PARAMETERS |= {
    ("PATCH", "/entities"): _ANY,
    **{(method, "/entities//attrs{}"): _ANY for method in _METHODS},
    **{(method, "/temporal/entities//attrs{}"): _ANY for method in _METHODS},
    ("DELETE", "/temporal/entities/{}/attrs//{}"): _ANY,
}
_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def route_key(method: str, path: str) -> tuple[str, str]:
    """A route's key in :data:`PARAMETERS`: its method and its path under PREFIX, placeholders
    written "{}", without a trailing slash (the trailing-slash copy of a route takes the same)."""
    return method, _PLACEHOLDER.sub("{}", path.removeprefix(PREFIX).rstrip("/"))


def check_parameters(request: Request) -> None:
    """Refuse query parameters the matched route does not take (400 InvalidRequest, naming them)."""
    route = request.scope.get("route")
    allowed = PARAMETERS.get(route_key(request.method, getattr(route, "path", "")))
    if allowed is None:
        return
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed))
        raise invalid(
            text(
                "request_parameter_unknown",
                names=", ".join(unknown),
                takes=takes or "none",
                takes_zh=takes or "无",
            )
        )
