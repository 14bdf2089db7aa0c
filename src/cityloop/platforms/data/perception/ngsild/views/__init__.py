"""Routes under /ngsi-ld/v1, one module per resource. Each parses the request by hand (NGSI-LD
clients expect ETSI ProblemDetails, not FastAPI's validation errors), resolves the client's
@context before any unit of work opens, calls one service function, and shapes the answer for
the Accept header; :mod:`.common` holds what they share."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from cityloop.base.locale import request_locale
from cityloop.platforms.data.perception.ngsild.errors import BY_STATUS, NgsiError, problem_details
from cityloop.platforms.data.perception.ngsild.expiry import install_expiry
from cityloop.platforms.data.perception.ngsild.views import (
    batch,
    entities,
    jsonld_contexts,
    merge,
    purge,
    queries,
    subscriptions,
    temporal,
    types,
)
from cityloop.platforms.data.perception.ngsild.views.common import (
    CONTEXT_FETCH_LIMITER,
    JSON,
    PREFIX,
    TransportRules,
    authorize,
)
from cityloop.platforms.data.perception.ngsild.views.parameters import check_parameters

__all__ = ["CONTEXT_FETCH_LIMITER", "install_ngsild", "router"]

router = APIRouter(
    prefix=PREFIX,
    tags=["ngsi-ld"],
    dependencies=[Depends(authorize), Depends(check_parameters)],
)


def _with_trailing_slashes(resource: APIRouter) -> APIRouter:
    """Each route also answers with a trailing slash (POST /entities/): the redirect Starlette
    would send instead is a 307 that many clients do not follow on POST."""
    for route in list(resource.routes):
        if isinstance(route, APIRoute) and not route.path.endswith("/"):
            resource.add_api_route(
                route.path + "/",
                route.endpoint,
                methods=list(route.methods),
                name=f"{route.name}_slash",
                include_in_schema=False,
            )
    return resource


# In this order: POST /entityOperations/query must match before /entityOperations/{operation}.
for _resource in (
    entities,
    queries,
    purge,
    merge,
    batch,
    types,
    jsonld_contexts,
    temporal,
    subscriptions,
):
    router.include_router(_with_trailing_slashes(_resource.router))


def install_ngsild(app: FastAPI) -> None:
    """Mount the routes, hide expired entities, and answer every error under /ngsi-ld/ as ETSI
    ProblemDetails."""
    install_expiry()
    app.include_router(router)
    app.add_middleware(TransportRules)

    @app.exception_handler(NgsiError)
    async def _ngsi_error(request: Request, exc: NgsiError) -> JSONResponse:
        return JSONResponse(
            exc.problem(request_locale(request)),
            status_code=exc.status,
            headers=exc.headers or None,
            media_type=JSON,
        )

    def formatter(
        request: Request, status: int, detail: str, headers: dict[str, str]
    ) -> JSONResponse:
        kind = BY_STATUS.get(status, "InternalError" if status >= 500 else "BadRequestData")
        return JSONResponse(
            problem_details(kind, detail, status),
            status_code=status,
            headers=headers,
            media_type=JSON,
        )

    app.state.error_formatters["/ngsi-ld/"] = formatter
