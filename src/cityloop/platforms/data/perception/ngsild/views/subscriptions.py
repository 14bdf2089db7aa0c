"""Subscriptions: POST and GET /subscriptions, GET, PATCH and DELETE /subscriptions/{id}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityloop.platforms.data.perception.ngsild import subscriptions
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import is_uri
from cityloop.platforms.data.perception.ngsild.errors import bad_data
from cityloop.platforms.data.perception.ngsild.identifiers import path_segment
from cityloop.platforms.data.perception.ngsild.subscription_validation import (
    check_endpoint_address,
)
from cityloop.platforms.data.perception.ngsild.texts import text
from cityloop.platforms.data.perception.ngsild.views.common import (
    JSON,
    LD_JSON,
    PREFIX,
    Call,
    call_for,
    call_with_body,
    check_limit,
    int_param,
    options,
    read_body,
    respond,
    results_count,
    run,
    user_context,
)

router = APIRouter()


def _subscription_id(value: str) -> str:
    if not is_uri(value):
        raise bad_data(text("subscription_id_not_uri", value=repr(value[:100])))
    return value


def _contexts(call: Call, body: Any, media: str) -> tuple[ActiveContext, ActiveContext | None]:
    """The request's context and the one its ``jsonldContext`` names, both resolved (and the
    endpoint checked) before the unit of work opens: they may fetch and resolve DNS."""
    active = call.resolve(user_context(call, body, media))
    check_endpoint_address(call.ctx.outbound, body)
    notify_context = None
    if isinstance(body, dict) and isinstance(body.get("jsonldContext"), str):
        # Fetched now, so a broken one is a 503 here; its documents are kept on the row.
        notify_context = call.resolve(body["jsonldContext"])
    return active, notify_context


@router.post("/subscriptions")
async def create_subscription(request: Request) -> Response:
    """Subscribe to entity changes, notified to an endpoint; admins, dispatchers and API keys."""
    call, body, media = await call_with_body(request)
    return await run(_create, call, body, media)


def _create(call: Call, body: Any, media: str) -> Response:
    active, notify_context = _contexts(call, body, media)
    with call.ctx.writing() as session:
        row = subscriptions.create_subscription(
            session,
            tenant=call.tenant,
            body=body,
            active=active,
            notify_context=notify_context,
        )
        subscription_id = row.subscription_id
    return Response(
        status_code=201,
        headers={"Location": f"{PREFIX}/subscriptions/{path_segment(subscription_id)}"},
    )


@router.get("/subscriptions")
def list_subscriptions(request: Request) -> Response:
    """The subscriptions with their status, paged; admins, dispatchers and API keys (anyone, when
    reads are public)."""
    call = call_for(request)
    active = call.resolve(call.link)
    settings = call.ctx.settings
    limit = int_param(request, "limit", settings.ngsild_default_limit)
    check_limit(limit, settings)
    offset = int_param(request, "offset", 0)
    count = request.query_params.get("count", "").lower() == "true"
    with call.ctx.reading() as session:
        rows, total = subscriptions.list_subscriptions(
            session, tenant=call.tenant, limit=limit, offset=offset, count=True
        )
        found = subscriptions.statuses(session, subscriptions=rows)
        sys_attrs = "sysAttrs" in options(request)
        data = [
            subscriptions.render_subscription(
                row, active, found.get(str(row.id)), sys_attrs=sys_attrs
            )
            for row in rows
        ]
    response = respond(call, active, data, headers=results_count(total if count else None))
    assert total is not None
    pages = _page_links(call, limit=limit, offset=offset, total=total)
    if pages:
        links = [response.headers.get("Link"), *pages]
        response.headers["Link"] = ", ".join(link for link in links if link)
    return response


def _page_links(call: Call, *, limit: int, offset: int, total: int) -> list[str]:
    """The previous and next pages as Link headers (clause 6.3.13, pagination)."""
    media = LD_JSON if call.ld else JSON

    def link(at: int, rel: str) -> str:
        return f'<{PREFIX}/subscriptions?limit={limit}&offset={at}>;rel="{rel}";type="{media}"'

    links = []
    if offset > 0 and limit > 0:
        links.append(link(max(0, offset - limit), "prev"))
    if limit > 0 and offset + limit < total:
        links.append(link(offset + limit, "next"))
    return links


@router.get("/subscriptions/{subscription_id}")
def get_subscription(request: Request, subscription_id: str) -> Response:
    """One subscription with its status; admins, dispatchers and API keys (anyone, when reads are
    public)."""
    call = call_for(request)
    _subscription_id(subscription_id)
    active = call.resolve(call.link)
    with call.ctx.reading() as session:
        row = subscriptions.get_subscription(
            session, tenant=call.tenant, subscription_id=subscription_id
        )
        found = subscriptions.statuses(session, subscriptions=[row])
        data = subscriptions.render_subscription(
            row, active, found.get(str(row.id)), sys_attrs="sysAttrs" in options(request)
        )
    return respond(call, active, data)


@router.patch("/subscriptions/{subscription_id}")
async def update_subscription(request: Request, subscription_id: str) -> Response:
    """Change some members of a subscription (JSON, JSON-LD or merge-patch; null removes an
    optional member); admins, dispatchers and API keys."""
    call = call_for(request)
    _subscription_id(subscription_id)
    body, media = await read_body(request, call)  # merge-patch+json reads as JSON
    # A merge-patch body is plain JSON: its @context comes from the Link header (clause 6.3.5).
    return await run(_update, call, body, media, subscription_id)


def _update(call: Call, body: Any, media: str, subscription_id: str) -> Response:
    with call.ctx.reading() as session:
        # An unknown subscription is a 404 before its body is looked at (clause 5.8.2).
        subscriptions.get_subscription(session, tenant=call.tenant, subscription_id=subscription_id)
    active, notify_context = _contexts(call, body, media)
    with call.ctx.writing() as session:
        subscriptions.update_subscription(
            session,
            tenant=call.tenant,
            subscription_id=subscription_id,
            body=body,
            active=active,
            notify_context=notify_context,
        )
    return Response(status_code=204)


@router.delete("/subscriptions/{subscription_id}")
def delete_subscription(request: Request, subscription_id: str) -> Response:
    """Delete a subscription; admins, dispatchers and API keys."""
    call = call_for(request)
    _subscription_id(subscription_id)
    with call.ctx.writing() as session:
        subscriptions.delete_subscription(
            session, tenant=call.tenant, subscription_id=subscription_id
        )
    return Response(status_code=204)
