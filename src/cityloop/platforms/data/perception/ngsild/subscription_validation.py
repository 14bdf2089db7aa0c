"""Validating a subscription body (create or PATCH) into the spec and columns it is stored as,
and checking its endpoint against the outbound address policy.

An endpoint must be an address the outbound policy admits when it is registered (checked
before the unit of work opens, since it resolves DNS) and again on every send.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cityloop.base.db import utcnow
from cityloop.base.outbound import Outbound, OutboundError
from cityloop.platforms.application.webhooks.rules import WebhookInputError, endpoint_origin
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import (
    LOCATION,
    check_name,
    is_uri,
    parse_time,
)
from cityloop.platforms.data.perception.ngsild.errors import bad_data
from cityloop.platforms.data.perception.ngsild.geo import parse_geoquery
from cityloop.platforms.data.perception.ngsild.notifier import JSON, LD_JSON, geo_parts
from cityloop.platforms.data.perception.ngsild.query import parse_q, safe_regex

log = logging.getLogger(__name__)

FORMATS = ("normalized", "keyValues", "concise")
ACCEPTS = (JSON, LD_JSON)
MAX_TEXT = 2000
MAX_LIST = 100
# Members a client may send back from a GET; they are computed, so a create or patch ignores them.
READ_ONLY = frozenset({"status", "createdAt", "modifiedAt", "@context"})
NOTIFICATION_READ_ONLY = frozenset(
    {"status", "timesSent", "lastNotification", "lastSuccess", "lastFailure"}
)
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
# Longer than this, a subscription would in effect never notify again; and timedelta overflows.
MAX_THROTTLING_SECONDS = 30 * 24 * 3600
SENDER_HEADERS = frozenset(
    {"host", "content-length", "content-type", "transfer-encoding", "connection", "upgrade"}
)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise bad_data(f"{what} must be a string of at most {MAX_TEXT} characters")
    return value


def _names(value: Any, what: str, active: ActiveContext) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > MAX_LIST:
        raise bad_data(f"{what} must be a non-empty list of at most {MAX_LIST} names")
    out: list[str] = []
    for name in value:
        check_name(name, "attribute name")
        iri = active.expand(name)
        if iri not in out:
            out.append(iri)
    return out


def _entities(value: Any, active: ActiveContext) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value or len(value) > MAX_LIST:
        raise bad_data(f"entities must be a non-empty list of at most {MAX_LIST} selectors")
    out: list[dict[str, str]] = []
    for item in value:
        if not isinstance(item, dict):
            raise bad_data("each entities item must be an object with a type")
        unknown = set(item) - {"type", "id", "idPattern"}
        if unknown:
            raise bad_data(f"entities items take type, id and idPattern, not {sorted(unknown)}")
        if "type" not in item:
            raise bad_data("each entities item needs a type")
        check_name(item["type"], "entity type")
        selector = {"type": active.expand(item["type"])}
        if "id" in item and "idPattern" in item:
            raise bad_data("an entities item takes id or idPattern, not both")
        if "id" in item:
            if not is_uri(item["id"]):
                raise bad_data(f"entities id {str(item['id'])[:100]!r} is not a URI")
            selector["id"] = item["id"]
        if "idPattern" in item:
            if not isinstance(item["idPattern"], str) or not item["idPattern"]:
                raise bad_data("idPattern must be a non-empty string")
            safe_regex(item["idPattern"], "idPattern")
            selector["idPattern"] = item["idPattern"]
        out.append(selector)
    return out


def _q(value: Any) -> str:
    if not isinstance(value, str):
        raise bad_data("q must be a string")
    parse_q(value)
    return value


def _geo_q(value: Any, active: ActiveContext) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_data("geoQ must be an object with georel, geometry and coordinates")
    unknown = set(value) - {"georel", "geometry", "coordinates", "geoproperty"}
    if unknown:
        raise bad_data(f"geoQ takes georel, geometry, coordinates and geoproperty, not {unknown}")
    georel, geometry, coordinates = geo_parts(value)
    if not (georel and geometry and coordinates):
        raise bad_data("geoQ needs georel, geometry and coordinates")
    parse_geoquery(georel, geometry, coordinates, None)
    stored: dict[str, Any] = {
        "georel": georel,
        "geometry": geometry,
        "coordinates": value["coordinates"],
        "geoproperty": LOCATION,
    }
    if value.get("geoproperty") is not None:
        check_name(value["geoproperty"], "geoproperty")
        stored["geoproperty"] = active.expand(value["geoproperty"])
    return stored


def _receiver_info(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or len(value) > 50:
        raise bad_data("receiverInfo must be a list of at most 50 {key, value} objects")
    out = []
    for item in value:
        if (
            not isinstance(item, dict)
            or set(item) != {"key", "value"}
            or not isinstance(item["key"], str)
            or not isinstance(item["value"], str)
        ):
            raise bad_data("each receiverInfo item must be {key, value} with string members")
        if not HEADER_NAME.match(item["key"]):
            raise bad_data(f"receiverInfo key {item['key'][:60]!r} is not a valid header name")
        if item["key"].lower() in SENDER_HEADERS:
            raise bad_data(f"receiverInfo may not set {item['key']}; the sender sets it")
        if any(c in "\r\n\0" for c in item["value"]) or len(item["value"]) > MAX_TEXT:
            raise bad_data(f"receiverInfo {item['key']} has a line break or is too long")
        out.append({"key": item["key"], "value": item["value"]})
    return out


def _endpoint(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_data("notification.endpoint must be an object with a uri")
    unknown = set(value) - {"uri", "accept", "receiverInfo"}
    if unknown:
        raise bad_data(f"notification.endpoint takes uri, accept and receiverInfo, not {unknown}")
    uri = value.get("uri")
    if not isinstance(uri, str) or not uri:
        raise bad_data("notification.endpoint.uri must be a URI")
    try:
        endpoint_origin(uri)
    except WebhookInputError as exc:
        raise bad_data(f"notification.endpoint.uri: {exc.detail}") from exc
    accept = value.get("accept", JSON)
    if accept not in ACCEPTS:
        raise bad_data(f"notification.endpoint.accept must be one of {', '.join(ACCEPTS)}")
    out: dict[str, Any] = {"uri": uri, "accept": accept}
    if "receiverInfo" in value:
        out["receiverInfo"] = _receiver_info(value["receiverInfo"])
    return out


def _notification(
    value: Any, active: ActiveContext, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """A notification object; in a PATCH (``previous`` given) the members sent replace theirs."""
    if not isinstance(value, dict):
        raise bad_data("notification must be an object")
    unknown = set(value) - {"attributes", "format", "endpoint"} - NOTIFICATION_READ_ONLY
    if unknown:
        raise bad_data(f"notification takes attributes, format and endpoint, not {sorted(unknown)}")
    out = dict(previous or {})
    if "endpoint" in value:
        out["endpoint"] = _endpoint(value["endpoint"])
    elif "endpoint" not in out:
        raise bad_data("notification needs an endpoint")
    if "attributes" in value:
        out["attributes"] = _names(value["attributes"], "notification.attributes", active)
    if "format" in value:
        if value["format"] not in FORMATS:
            raise bad_data(f"notification.format must be one of {', '.join(FORMATS)}")
        out["format"] = value["format"]
    out.setdefault("format", "normalized")
    return out


def _throttling(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_data("throttling must be a number of seconds")
    if not math.isfinite(value) or value < 0:
        raise bad_data("throttling must be a non-negative number of seconds")
    if value > MAX_THROTTLING_SECONDS:
        raise bad_data(f"throttling may be at most {MAX_THROTTLING_SECONDS} seconds (30 days)")
    return float(value)


def _expires(value: Any, now: datetime) -> datetime:
    moment = parse_time(value, "expiresAt")
    if moment <= now:
        raise bad_data("expiresAt must lie in the future")
    return moment


def _is_active(value: Any) -> bool:
    if not isinstance(value, bool):
        raise bad_data("isActive must be true or false")
    return value


@dataclass
class Parsed:
    """A validated subscription body: spec members and column values that were given."""

    spec: dict[str, Any]
    columns: dict[str, Any]
    subscription_id: str | None = None


KNOWN = frozenset(
    {
        "id",
        "type",
        "entities",
        "watchedAttributes",
        "q",
        "geoQ",
        "notification",
        "isActive",
        "expiresAt",
        "throttling",
        "description",
        "subscriptionName",
        "jsonldContext",
    }
)


def parse_subscription(
    body: Any,
    active: ActiveContext,
    *,
    previous: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Parsed:
    """Validate a subscription (create), or a fragment of one when ``previous`` is given (PATCH)."""
    # Every problem is a 400 BadRequestData naming the member.
    now = now or utcnow()
    if not isinstance(body, dict):
        raise bad_data("the body must be a JSON object")
    unknown = set(body) - KNOWN - READ_ONLY
    if unknown:
        raise bad_data(f"unsupported subscription members: {sorted(unknown)}")
    patch = previous is not None
    if not patch and body.get("type") != "Subscription":
        raise bad_data('type must be "Subscription"')
    if patch and "type" in body and body["type"] != "Subscription":
        raise bad_data('type must be "Subscription"')
    spec: dict[str, Any] = {}
    columns: dict[str, Any] = {}
    subscription_id = None
    if "id" in body:
        if not is_uri(body["id"]):
            raise bad_data(f"the subscription id {str(body['id'])[:100]!r} is not a URI")
        subscription_id = body["id"]
    if "entities" in body:
        spec["entities"] = _entities(body["entities"], active)
    if "watchedAttributes" in body:
        spec["watchedAttributes"] = _names(body["watchedAttributes"], "watchedAttributes", active)
    if "q" in body:
        spec["q"] = _q(body["q"])
        spec["qContext"] = active.user
    if "geoQ" in body:
        spec["geoQ"] = _geo_q(body["geoQ"], active)
    if "notification" in body:
        spec["notification"] = _notification(
            body["notification"], active, (previous or {}).get("notification")
        )
    elif not patch:
        raise bad_data("a subscription needs a notification")
    for name in ("description", "subscriptionName"):
        if name in body:
            spec[name] = _text(body[name], name)
    if "jsonldContext" in body:
        value = body["jsonldContext"]
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise bad_data("jsonldContext must be an http(s) URL of an @context")
        spec["jsonldContext"] = value
    if "isActive" in body:
        columns["is_active"] = _is_active(body["isActive"])
    if "expiresAt" in body:
        columns["expires_at"] = _expires(body["expiresAt"], now)
    if "throttling" in body:
        columns["throttling"] = _throttling(body["throttling"])
    merged = {**(previous or {}), **spec}
    if not merged.get("entities") and not merged.get("watchedAttributes"):
        raise bad_data("a subscription needs entities or watchedAttributes (or both)")
    if patch and not spec and not columns:
        raise bad_data("the patch changes nothing")
    return Parsed(spec, columns, subscription_id)


def check_endpoint_address(outbound: Outbound, body: Any) -> None:
    """Refuse (400) a notification endpoint the outbound policy would refuse to send to."""
    # Call it before the unit of work opens: it resolves the host. A malformed endpoint is left to
    # :func:`parse_subscription`, which names what is wrong with it. The answer is the same whatever
    # the reason (a private address, a name that does not resolve).
    notification = body.get("notification") if isinstance(body, dict) else None
    endpoint = notification.get("endpoint") if isinstance(notification, dict) else None
    uri = endpoint.get("uri") if isinstance(endpoint, dict) else None
    if not isinstance(uri, str):
        return
    try:
        endpoint_origin(uri)
    except WebhookInputError:
        return
    try:
        outbound.check_url(uri)
    except OutboundError as exc:
        log.info("subscription endpoint %s refused: %s", uri[:300], exc.reason)
        raise bad_data(
            "notification.endpoint.uri is not an address this server may send notifications to"
        ) from None
