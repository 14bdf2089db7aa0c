"""Validating a subscription's ``notification`` member (clause 5.2.14, NotificationParams) and
its ``endpoint`` (clause 5.2.15): what to send, in which format, and where to."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from cityloop.platforms.application.webhooks.rules import WebhookInputError, endpoint_origin
from cityloop.platforms.data.perception.ngsild.context import ActiveContext
from cityloop.platforms.data.perception.ngsild.entities import check_name
from cityloop.platforms.data.perception.ngsild.errors import bad_data
from cityloop.platforms.data.perception.ngsild.texts import text

JSON = "application/json"
LD_JSON = "application/ld+json"
ACCEPTS = (JSON, LD_JSON)
# "simplified" is the declared synonym of keyValues (Table 5.2.14.1-1); it is stored as keyValues.
FORMATS = {
    "normalized": "normalized",
    "keyValues": "keyValues",
    "simplified": "keyValues",
    "concise": "concise",
}
JOINS = ("flat", "inline", "@none")
MQTT_SCHEMES = ("mqtt", "mqtts")
MQTT_VERSIONS = ("mqtt3.1.1", "mqtt5.0")
MQTT_QOS = ("0", "1", "2")
MAX_TEXT = 2000
MAX_LIST = 100
MAX_KEY_VALUES = 50
MAX_JOIN_LEVEL = 5
# Members a client may send back from a GET; they are computed, so a create or patch ignores them.
READ_ONLY = frozenset(
    {"status", "timesSent", "timesFailed", "lastNotification", "lastSuccess", "lastFailure"}
)
MEMBERS = frozenset(
    {
        "attributes",
        "format",
        "endpoint",
        "sysAttrs",
        "showChanges",
        "join",
        "joinLevel",
        "pick",
        "omit",
    }
)
ENTITY_MEMBERS = frozenset({"id", "type", "scope", "createdAt", "modifiedAt"})
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
SENDER_HEADERS = frozenset(
    {"host", "content-length", "content-type", "transfer-encoding", "connection", "upgrade"}
)


def attribute_names(value: Any, what: str, active: ActiveContext) -> list[str]:
    """A non-empty list of attribute names, checked and expanded (duplicates dropped)."""
    if not isinstance(value, list) or not value or len(value) > MAX_LIST:
        raise bad_data(text("notification_names", member=what, limit=MAX_LIST))
    out: list[str] = []
    for name in value:
        check_name(name, f"{what} item")
        iri = active.expand(name)
        if iri not in out:
            out.append(iri)
    return out


def _members(value: Any, what: str, active: ActiveContext) -> list[str]:
    """pick / omit: entity members (id, type, ...) kept as they are, attributes expanded."""
    if not isinstance(value, list) or not value or len(value) > MAX_LIST:
        raise bad_data(text("notification_names", member=what, limit=MAX_LIST))
    out: list[str] = []
    for name in value:
        check_name(name, f"{what} item")
        member = name if name in ENTITY_MEMBERS else active.expand(name)
        if member not in out:
            out.append(member)
    return out


def _key_values(value: Any, what: str) -> list[dict[str, str]]:
    """A KeyValuePair list (clause 5.2.22): both members strings, nothing else."""
    if not isinstance(value, list) or len(value) > MAX_KEY_VALUES:
        raise bad_data(text("notification_key_values", member=what, limit=MAX_KEY_VALUES))
    out = []
    for item in value:
        if (
            not isinstance(item, dict)
            or set(item) != {"key", "value"}
            or not isinstance(item["key"], str)
            or not isinstance(item["value"], str)
        ):
            raise bad_data(text("notification_key_value_item", member=what))
        if not HEADER_NAME.match(item["key"]):
            raise bad_data(
                text("notification_header_name", member=what, key=repr(item["key"][:60]))
            )
        if any(c in "\r\n\0" for c in item["value"]) or len(item["value"]) > MAX_TEXT:
            raise bad_data(text("notification_header_value", member=what, key=item["key"]))
        out.append({"key": item["key"], "value": item["value"]})
    return out


def _receiver_info(value: Any) -> list[dict[str, str]]:
    out = _key_values(value, "notification.endpoint.receiverInfo")
    for item in out:
        if item["key"].lower() in SENDER_HEADERS:
            raise bad_data(text("notification_sender_header", key=item["key"]))
    return out


def _notifier_info(value: Any) -> list[dict[str, str]]:
    out = _key_values(value, "notification.endpoint.notifierInfo")
    for item in out:
        if item["key"] == "MQTT-Version" and item["value"] not in MQTT_VERSIONS:
            raise bad_data(text("notification_mqtt_version", versions=", ".join(MQTT_VERSIONS)))
        if item["key"] == "MQTT-QoS" and item["value"] not in MQTT_QOS:
            raise bad_data(text("notification_mqtt_qos"))
    return out


def is_mqtt(uri: str) -> bool:
    """Whether an endpoint is an MQTT broker (clause 5.2.15: mqtt:// or mqtts://)."""
    return uri.split(":", 1)[0].lower() in MQTT_SCHEMES


def mqtt_target(uri: str) -> tuple[str, int, str]:
    """(host, port, topic) of an mqtt(s) endpoint; 400 naming the uri when it is not one."""
    parts = urlsplit(uri)
    try:
        port = parts.port or (8883 if parts.scheme.lower() == "mqtts" else 1883)
    except ValueError:
        raise bad_data(text("notification_uri_port")) from None
    topic = parts.path.lstrip("/")
    if not parts.hostname or not topic or any(c in topic for c in "+#\0"):
        raise bad_data(text("notification_mqtt_uri"))
    return parts.hostname, port, topic


def _uri(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise bad_data(text("notification_uri"))
    if any(c.isspace() or ord(c) < 0x20 for c in value):
        raise bad_data(text("notification_uri_whitespace"))
    if is_mqtt(value):
        mqtt_target(value)
        return value
    try:
        endpoint_origin(value)
    except WebhookInputError as exc:
        raise bad_data(
            text(
                "notification_uri_invalid",
                reason=exc.detail_in("en"),
                reason_zh=exc.detail_in("zh-CN"),
            )
        ) from exc
    return value


def endpoint(value: Any) -> dict[str, Any]:
    """A notification endpoint: uri (http, https, mqtt, mqtts), accept, receiverInfo,
    notifierInfo."""
    if not isinstance(value, dict):
        raise bad_data(text("notification_endpoint_not_object"))
    unknown = set(value) - {"uri", "accept", "receiverInfo", "notifierInfo"}
    if unknown:
        raise bad_data(text("notification_endpoint_members", members=sorted(unknown)))
    out: dict[str, Any] = {"uri": _uri(value.get("uri")), "accept": value.get("accept", JSON)}
    if out["accept"] not in ACCEPTS:
        raise bad_data(text("notification_accept", accepts=", ".join(ACCEPTS)))
    if "receiverInfo" in value:
        out["receiverInfo"] = _receiver_info(value["receiverInfo"])
    if "notifierInfo" in value:
        out["notifierInfo"] = _notifier_info(value["notifierInfo"])
    return out


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise bad_data(text("notification_flag", member=what))
    return value


def _join_level(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_JOIN_LEVEL:
        raise bad_data(text("notification_join_level", limit=MAX_JOIN_LEVEL))
    return value


def notification(
    value: Any, active: ActiveContext, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """A notification object; in a PATCH (``previous`` given) the members sent replace theirs."""
    if not isinstance(value, dict):
        raise bad_data(text("notification_not_object"))
    unknown = set(value) - MEMBERS - READ_ONLY
    if unknown:
        raise bad_data(text("notification_members", members=sorted(unknown)))
    out = dict(previous or {})
    if "endpoint" in value:
        out["endpoint"] = endpoint(value["endpoint"])
    elif "endpoint" not in out:
        raise bad_data(text("notification_needs_endpoint"))
    if "attributes" in value:
        out["attributes"] = attribute_names(value["attributes"], "notification.attributes", active)
    for name in ("pick", "omit"):
        if name in value:
            out[name] = _members(value[name], f"notification.{name}", active)
    if "format" in value:
        if value["format"] not in FORMATS:
            raise bad_data(text("notification_format", formats=", ".join(FORMATS)))
        out["format"] = FORMATS[value["format"]]
    out.setdefault("format", "normalized")
    for name in ("sysAttrs", "showChanges"):
        if name in value:
            out[name] = _flag(value[name], name)
    if "join" in value:
        if value["join"] not in JOINS:
            raise bad_data(text("notification_join", joins=", ".join(JOINS)))
        out["join"] = value["join"]
    if "joinLevel" in value:
        out["joinLevel"] = _join_level(value["joinLevel"])
    _coherent(out)
    return out


def _coherent(out: dict[str, Any]) -> None:
    """The restrictions of Table 5.2.14.1-1 and clause 4.21 between members."""
    if out.get("showChanges") and out["format"] == "keyValues":
        raise bad_data(text("notification_changes_key_values"))
    if "attributes" in out and ("pick" in out or "omit" in out):
        raise bad_data(text("notification_attributes_and_pick"))
    both = set(out.get("pick", [])) & set(out.get("omit", []))
    if both:
        raise bad_data(text("notification_pick_and_omit"))
