"""Open311 output: one payload, rendered as JSON or as the XML the GeoReport v2 spec shows.

Routes build plain lists of dicts; this module alone knows the two wire formats, so a record can
never differ between them except in syntax.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from fastapi import Request, Response

from cityloop.base.fastjson import FastJSONResponse
from cityloop.base.problems import Problem
from cityloop.domains.governance.messages import Message

FORMATS = ("json", "xml")
XML_MEDIA_TYPE = "application/xml; charset=utf-8"

# Roots and item elements, as in the spec's XML examples.
SERVICES = ("services", "service")
REQUESTS = ("service_requests", "request")
UPDATES = ("service_request_updates", "request_update")
ERRORS = ("errors", "error")

# A list nested inside a record: its element name, and the name of each item in it.
_ITEM_TAGS = {
    "attributes": "attribute",
    "values": "value",
    "notes": "note",
    "photos": "photo",
}

# Characters XML 1.0 cannot carry at all, not even escaped; ElementTree would write them raw
# and produce a document no parser accepts, so user text loses them on the way out.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# What the Open311 error list keeps of our statuses: the spec knows 400, 403 and 404; transport
# statuses a client can act on (405, 413, 415, 429) and server faults stay what they are.
_KEPT_STATUSES = frozenset({400, 403, 404, 405, 413, 415, 429})


def require_format(fmt: str) -> str:
    """The suffix picks the format; any other suffix names no resource."""
    if fmt not in FORMATS:
        raise Problem(
            404, "not-found", Message("governance.unknown_format_use_json", {"fmt": str(fmt)})
        )
    return fmt


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _append(parent: ET.Element, tag: str, value: Any) -> None:
    element = ET.SubElement(parent, tag)
    if isinstance(value, Mapping):
        for key, child in value.items():
            _append(element, str(key), child)
    elif isinstance(value, list | tuple):
        item_tag = _ITEM_TAGS.get(tag, "item")
        for child in value:
            _append(element, item_tag, child)
    else:
        element.text = _text(value)


def to_xml(root_tag: str, item_tag: str | None, payload: Any) -> bytes:
    """A list becomes ``<root><item>…</item>…</root>``; a single dict becomes ``<root>…</root>``."""
    root = ET.Element(root_tag)
    if isinstance(payload, Mapping):
        for key, value in payload.items():
            _append(root, str(key), value)
    else:
        for item in payload:
            _append(root, item_tag or "item", item)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def render(
    fmt: str,
    payload: Any,
    roots: tuple[str, str | None],
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """``payload`` as Open311 JSON, or as XML under the ``roots`` element names."""
    if fmt == "xml":
        return Response(
            to_xml(roots[0], roots[1], payload),
            status_code=status_code,
            media_type=XML_MEDIA_TYPE,
            headers=dict(headers or {}),
        )
    return FastJSONResponse(payload, status_code=status_code, headers=dict(headers or {}))


def open311_status(status_code: int) -> int:
    """The status Open311 clients expect for one of ours: 403 for credentials, 400 otherwise."""
    if status_code in _KEPT_STATUSES or status_code >= 500:
        return status_code
    if status_code == 401:  # the only credential Open311 knows is the api_key: 403
        return 403
    return 400  # 409, 422 and the rest: the spec's "anything else"


def error_response(
    request: Request, status_code: int, detail: str, headers: Mapping[str, str] | None
) -> Response:
    """The formatter base/problems.py calls for every error under /open311/."""
    fmt = "xml" if request.url.path.endswith(".xml") else "json"
    status = open311_status(status_code)
    # Body-describing headers belong to the problem+json body we are not sending.
    kept = {
        k: v
        for k, v in (headers or {}).items()
        if k.lower() not in ("content-length", "content-type")
    }
    return render(fmt, [{"code": status, "description": detail}], ERRORS, status, kept)
