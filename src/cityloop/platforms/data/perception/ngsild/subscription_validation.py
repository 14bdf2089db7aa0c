"""Validating a subscription body (create or PATCH) into the spec and columns it is stored as
(clause 5.2.12), and checking its endpoint against the outbound address policy.

The ``notification`` member is :mod:`.subscription_notification`'s. An endpoint must be an
address the outbound policy admits when it is registered (checked before the unit of work opens,
since it resolves DNS) and again on every send.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

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
from cityloop.platforms.data.perception.ngsild.errors import NgsiError, bad_data
from cityloop.platforms.data.perception.ngsild.geo import parse_geoquery
from cityloop.platforms.data.perception.ngsild.mqtt_notifier import check_mqtt_host
from cityloop.platforms.data.perception.ngsild.notifier import geo_parts
from cityloop.platforms.data.perception.ngsild.query import parse_q, safe_regex
from cityloop.platforms.data.perception.ngsild.scopes import parse_scope_q
from cityloop.platforms.data.perception.ngsild.subscription_notification import (
    attribute_names,
    is_mqtt,
    mqtt_target,
    notification,
)
from cityloop.platforms.data.perception.ngsild.texts import text

log = logging.getLogger(__name__)

MAX_TEXT = 2000
MAX_LIST = 100
# Members a client may send back from a GET; they are computed, so a create or patch ignores them.
READ_ONLY = frozenset({"status", "createdAt", "modifiedAt", "@context"})
# Longer than this, a subscription would in effect never notify again; and timedelta overflows.
MAX_THROTTLING_SECONDS = 30 * 24 * 3600
TRIGGERS = (
    "entityCreated",
    "entityUpdated",
    "entityDeleted",
    "attributeCreated",
    "attributeUpdated",
    "attributeDeleted",
)
_LANGUAGE_TAG = r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*"


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise bad_data(text("subscription_text", member=what, limit=MAX_TEXT))
    return value


def _entity_type(value: Any, active: ActiveContext) -> str | list[str]:
    """An entities item's type: one name, or a selection of alternatives such as
    ``(Building|Tower)`` (clause 4.17; ``,`` also means or), stored as a list."""
    if not isinstance(value, str) or not any(c in value for c in "|,();"):
        check_name(value, "entity type")
        return active.expand(value)
    if ";" in value:
        raise bad_data(text("subscription_type_selection"))
    names = [name.strip() for name in re.split(r"[|,]", value.replace("(", "").replace(")", ""))]
    for name in names:
        check_name(name, "entity type")
    return list(dict.fromkeys(active.expand(name) for name in names))


def _entities(value: Any, active: ActiveContext) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value or len(value) > MAX_LIST:
        raise bad_data(text("subscription_entities_list", limit=MAX_LIST))
    out: list[dict[str, Any]] = []
    for item in value:
        if not isinstance(item, dict):
            raise bad_data(text("subscription_entities_item_object"))
        unknown = set(item) - {"type", "id", "idPattern"}
        if unknown:
            raise bad_data(text("subscription_entities_item_members", members=sorted(unknown)))
        if "type" not in item:
            raise bad_data(text("subscription_entities_item_type"))
        selector: dict[str, Any] = {"type": _entity_type(item["type"], active)}
        if "id" in item and "idPattern" in item:
            raise bad_data(text("subscription_entities_id_or_pattern"))
        if "id" in item:
            if not is_uri(item["id"]):
                raise bad_data(
                    text("subscription_entities_id_not_uri", value=repr(str(item["id"])[:100]))
                )
            selector["id"] = item["id"]
        if "idPattern" in item:
            if not isinstance(item["idPattern"], str) or not item["idPattern"]:
                raise bad_data(text("subscription_id_pattern"))
            safe_regex(item["idPattern"], "idPattern")
            selector["idPattern"] = item["idPattern"]
        out.append(selector)
    return out


def _q(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT * 2:
        raise bad_data(text("subscription_q"))
    # A q sent URL-escaped inside the JSON body ("a%3D%3D1") is decoded once, as in a URL.
    if "%" in value:
        value = unquote(value)
    parse_q(value)
    return value


def _triggers(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise bad_data(text("subscription_triggers_list", triggers=", ".join(TRIGGERS)))
    for item in value:
        if item not in TRIGGERS:
            raise bad_data(
                text(
                    "subscription_trigger_unknown",
                    value=repr(str(item)[:60]),
                    triggers=", ".join(TRIGGERS),
                )
            )
    return list(dict.fromkeys(value))


def _lang(value: Any) -> str:
    parts = value.split(",") if isinstance(value, str) else []
    if not parts or not all(
        p.strip() == "*" or re.fullmatch(_LANGUAGE_TAG, p.strip()) for p in parts
    ):
        raise bad_data(text("subscription_lang"))
    return value


def _seconds(value: Any, what: str, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise bad_data(text("subscription_seconds", member=what))
    if value < 0 or (positive and value == 0):
        code = "subscription_seconds_positive" if positive else "subscription_seconds_non_negative"
        raise bad_data(text(code, member=what))
    if value > MAX_THROTTLING_SECONDS:
        raise bad_data(
            text("subscription_seconds_too_many", member=what, limit=MAX_THROTTLING_SECONDS)
        )
    return float(value)


def _dataset_ids(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > MAX_LIST:
        raise bad_data(text("subscription_dataset_ids"))
    for item in value:
        if item != "@none" and not is_uri(item):
            raise bad_data(text("subscription_dataset_id_not_uri", value=repr(str(item)[:100])))
    return list(dict.fromkeys(value))


def _geo_q(value: Any, active: ActiveContext) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_data(text("subscription_geo_q_not_object"))
    unknown = set(value) - {"georel", "geometry", "coordinates", "geoproperty"}
    if unknown:
        raise bad_data(text("subscription_geo_q_members", members=unknown))
    georel, geometry, coordinates = geo_parts(value)
    if not (georel and geometry and coordinates):
        raise bad_data(text("subscription_geo_q_incomplete"))
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


def _expires(value: Any, now: datetime) -> datetime:
    moment = parse_time(value, "expiresAt")
    if moment <= now:
        raise bad_data(text("subscription_expires_past"))
    return moment


def _is_active(value: Any) -> bool:
    if not isinstance(value, bool):
        raise bad_data(text("subscription_is_active"))
    return value


@dataclass
class Parsed:
    """A validated subscription body: spec members and column values that were given, and the
    optional members a PATCH removed (sent as null)."""

    spec: dict[str, Any]
    columns: dict[str, Any]
    subscription_id: str | None = None
    removed: frozenset[str] = frozenset()


SPEC_MEMBERS = frozenset(
    {
        "entities",
        "watchedAttributes",
        "notificationTrigger",
        "q",
        "geoQ",
        "scopeQ",
        "lang",
        "datasetId",
        "notification",
        "description",
        "subscriptionName",
        "jsonldContext",
    }
)
COLUMN_MEMBERS = {
    "isActive": "is_active",
    "expiresAt": "expires_at",
    "throttling": "throttling",
    "timeInterval": "time_interval",
}
KNOWN = SPEC_MEMBERS | COLUMN_MEMBERS.keys() | {"id", "type"}
# Members a PATCH may remove by sending null (merge-patch); the others are required.
REMOVABLE = (SPEC_MEMBERS - {"notification"}) | COLUMN_MEMBERS.keys() - {"isActive"}


def _spec_member(name: str, value: Any, active: ActiveContext, previous: dict[str, Any]) -> Any:
    if name == "entities":
        return _entities(value, active)
    if name == "watchedAttributes":
        return attribute_names(value, "watchedAttributes", active)
    if name == "notificationTrigger":
        return _triggers(value)
    if name == "q":
        return _q(value)
    if name == "geoQ":
        return _geo_q(value, active)
    if name == "scopeQ":
        if not isinstance(value, str):
            raise bad_data(text("subscription_scope_q"))
        parse_scope_q(value)
        return value
    if name == "lang":
        return _lang(value)
    if name == "datasetId":
        return _dataset_ids(value)
    if name == "notification":
        return notification(value, active, previous.get("notification"))
    if name == "jsonldContext":
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise bad_data(text("subscription_jsonld_context"))
        return value
    return _text(value, name)  # description, subscriptionName


def _column_member(name: str, value: Any, now: datetime) -> Any:
    if name == "isActive":
        if not isinstance(value, bool):
            raise bad_data(text("subscription_is_active"))
        return value
    if name == "expiresAt":
        return _expires(value, now)
    return _seconds(value, name, positive=name == "timeInterval")


def parse_subscription(
    body: Any,
    active: ActiveContext,
    *,
    previous: dict[str, Any] | None = None,
    previous_columns: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Parsed:
    """Validate a subscription (create), or a fragment of one when ``previous`` is given (PATCH)."""
    # Every problem is a 400 BadRequestData naming the member.
    now = now or utcnow()
    if not isinstance(body, dict):
        raise bad_data(text("subscription_body_not_object"))
    unknown = set(body) - KNOWN - READ_ONLY
    if unknown:
        raise bad_data(text("subscription_members_unknown", members=sorted(unknown)))
    patch = previous is not None
    if (not patch or "type" in body) and body.get("type") != "Subscription":
        raise bad_data(text("subscription_type"))
    subscription_id = None
    if "id" in body:
        if not is_uri(body["id"]):
            raise bad_data(text("subscription_id_not_uri", value=repr(str(body["id"])[:100])))
        subscription_id = body["id"]
    parsed = Parsed({}, {}, subscription_id)
    removed: set[str] = set()
    for name, value in body.items():
        if name not in SPEC_MEMBERS and name not in COLUMN_MEMBERS:
            continue
        if value is None and patch and name in REMOVABLE:
            removed.add(name)
        elif value is None:
            raise bad_data(text("member_null", where=name))
        elif name in SPEC_MEMBERS:
            parsed.spec[name] = _spec_member(name, value, active, previous or {})
        else:
            parsed.columns[COLUMN_MEMBERS[name]] = _column_member(name, value, now)
    if "q" in parsed.spec:
        parsed.spec["qContext"] = active.user
    if "notification" not in body and not patch:
        raise bad_data(text("subscription_needs_notification"))
    if patch and not parsed.spec and not parsed.columns and not removed:
        raise bad_data(text("subscription_patch_empty"))
    parsed.removed = frozenset(removed)
    _coherent(parsed, previous or {}, previous_columns or {})
    return parsed


def _coherent(parsed: Parsed, previous: dict[str, Any], previous_columns: dict[str, Any]) -> None:
    """Rules between members (clause 5.2.12), on the subscription as it will be stored."""
    spec = {k: v for k, v in {**previous, **parsed.spec}.items() if k not in parsed.removed}
    gone = {COLUMN_MEMBERS[name] for name in parsed.removed if name in COLUMN_MEMBERS}
    columns = {k: v for k, v in {**previous_columns, **parsed.columns}.items() if k not in gone}
    if not spec.get("entities") and not spec.get("watchedAttributes"):
        raise bad_data(text("subscription_needs_selection"))
    if columns.get("time_interval") is not None:
        if spec.get("watchedAttributes"):
            raise bad_data(text("subscription_interval_and_watched"))
        if columns.get("throttling") is not None:
            raise bad_data(text("subscription_interval_and_throttling"))


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
        if is_mqtt(uri):
            host, port, _topic = mqtt_target(uri)
            check_mqtt_host(outbound, host, port)
        else:
            endpoint_origin(uri)
            outbound.check_url(uri)
    except (NgsiError, WebhookInputError):
        return  # malformed: parse_subscription names what is wrong with it
    except OutboundError as exc:
        log.info("subscription endpoint %s refused: %s", uri[:300], exc.reason)
        raise bad_data(text("subscription_endpoint_refused")) from None
