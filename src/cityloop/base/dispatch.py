"""Route selection by path prefix, in front of FastAPI's router.

FastAPI matches a request against every route of every included router in turn, and routes
of an included router are tried through a slow path (a scope key set and restored per route):
with some 300 routes, a request to the last package's routes (Open311) spent more CPU finding
its route than running it. :class:`PrefixDispatch` keeps, per path prefix, the app's routes that
could match a path under it, in their original order, and lets a copy of the app's router try
only those. A route can only match a path that begins with its path's literal part (what comes
before the first ``{``), so the answer is the one the full router would give, 404, 405 and
slash redirects included. Paths with no known prefix (``/healthz``) go to the full router.

The app's router stays whole: OpenAPI, ``url_for`` and tests that list ``app.routes`` see
every route.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRouter
from starlette._utils import get_route_path
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send


def literal_part(path_format: str) -> str:
    """The part of a route's path before its first parameter: every path it matches begins so."""
    return path_format.split("{", 1)[0]


def route_literals(route: BaseRoute) -> list[str]:
    """The literal parts of what ``route`` can match; "" (anything) for a route without a path,
    such as a Host route."""
    # An included router (FastAPI's _IncludedRouter) lists the routes it brings, as included.
    contexts = getattr(route, "effective_route_contexts", None)
    if contexts is not None:
        return [
            literal
            for context in contexts()
            for literal in route_literals(getattr(context, "starlette_route", None) or context)
        ]
    path_format = getattr(route, "path_format", None)
    return [literal_part(path_format)] if isinstance(path_format, str) else [""]


def segment_prefixes(literal: str) -> Iterator[str]:
    """``/a/b/c`` gives ``/a/`` and ``/a/b/``: each prefix that ends a path segment."""
    end = literal.find("/", 1)
    while end != -1:
        yield literal[: end + 1]
        end = literal.find("/", end + 1)


def could_match(literals: Iterable[str], prefix: str) -> bool:
    """Whether a route with these literal parts may match some path that begins with
    ``prefix``."""
    return any(literal.startswith(prefix) or prefix.startswith(literal) for literal in literals)


class PrefixDispatch:
    """The app router's entry point: HTTP requests under a known prefix are matched against
    that prefix's routes only; everything else (lifespan, websockets, other paths) goes to the
    full router."""

    def __init__(self, router: APIRouter) -> None:
        self.router = router
        self.full = router.app
        self.table: dict[str, APIRouter] = {}
        self.built_for = -1

    def rebuild(self) -> None:
        """Group the routes by prefix again (routes were added since the last time)."""
        routes = list(self.router.routes)
        literals = [route_literals(route) for route in routes]
        prefixes = {prefix for each in literals for lit in each for prefix in segment_prefixes(lit)}
        table: dict[str, APIRouter] = {}
        for prefix in prefixes:
            # A shallow copy: the same settings (slash redirects, the 404 default, form limits)
            # and the same low-priority routes, which it tries after its own as the original does.
            part = copy.copy(self.router)
            part.routes = [
                route
                for route, lits in zip(routes, literals, strict=True)
                if could_match(lits, prefix)
            ]
            table[prefix] = part
        self.table = table
        self.built_for = len(routes)

    def router_for(self, path: str) -> APIRouter | None:
        """The partial router of the longest known prefix that ``path`` strictly extends, if any.

        Strictly: the slash redirect of ``/a/`` tries ``/a``, which lies outside ``/a/``."""
        end = path.rfind("/", 0, len(path) - 1)
        while end > 0:
            part = self.table.get(path[: end + 1])
            if part is not None:
                return part
            end = path.rfind("/", 0, end)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self.built_for != len(self.router.routes):
                self.rebuild()
            part = self.router_for(get_route_path(scope))
            if part is not None:
                # url_for and friends look routes up in the whole router.
                scope.setdefault("router", self.router)
                await part.app(scope, receive, send)
                return
        await self.full(scope, receive, send)


def install_prefix_dispatch(app: FastAPI) -> PrefixDispatch:
    """Put a :class:`PrefixDispatch` at the entrance of ``app``'s router."""
    router: Any = app.router
    # Starlette's Router calls its middleware stack, which is its own ``app`` unless the router
    # was given middleware or a body limit of its own, which this would skip.
    if router.middleware_stack != router.app:
        raise ValueError("the app's router has middleware of its own")
    dispatch = PrefixDispatch(router)
    dispatch.rebuild()
    router.middleware_stack = dispatch
    return dispatch
