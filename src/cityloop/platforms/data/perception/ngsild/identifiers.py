"""The value spaces NGSI-LD names are checked against: IRIs (entity ids, relationship objects,
datasetIds), attribute and type names, and date-times."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from cityloop.platforms.data.perception.ngsild.errors import bad_data
from cityloop.platforms.data.perception.ngsild.texts import text

NGSI_LD_NULL = "urn:ngsi-ld:null"
MAX_ID_LENGTH = 300
MAX_NAME_LENGTH = 200
_FORBIDDEN = re.compile(r"[<>\"'=;()\s\x00-\x1f\x7f]")
_TERM = re.compile(r"([^\W\d_]\w*:)?[^\W\d_]\w*")
# Clause 4.18: levels of a letter then letters, digits or "_", each after a "/".
_SCOPE = re.compile(r"(/[^\W\d_]\w*)+")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`\x00-\x1f\x7f]+$")
# Unicode's default-ignorable code points (DerivedCoreProperties.txt) and the blank Braille
# pattern: RFC 3987's ucschar admits them, but they render as nothing, so an id holding one
# reads as another id in logs and user interfaces (RFC 3987 §8 on visually equivalent IRIs).
_INVISIBLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
# RFC 3987 ucschar leaves out the noncharacters U+FDD0..FDEF and U+xFFFE/U+xFFFF.
_NONCHARACTER = (0xFDD0, 0xFDEF)
# RFC 3986's pchar besides the unreserved characters, which quote() never escapes.
_SEGMENT_SAFE = "!$&'()*+,;=:@"


def _iri_character(char: str) -> bool:
    """Whether a non-ASCII character may appear in an identifying IRI."""
    point = ord(char)
    if _NONCHARACTER[0] <= point <= _NONCHARACTER[1] or point & 0xFFFE == 0xFFFE:
        return False
    if any(low <= point <= high for low, high in _INVISIBLE):
        return False
    # Separators (Z*) and other/control/format/private/unassigned (C*) are no IRI characters.
    return unicodedata.category(char)[0] not in "ZC"


def is_uri(value: Any) -> bool:
    """Whether the value is an IRI (RFC 3987) short enough to be an id."""
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH or not _URI.fullmatch(value):
        return False
    return all(char.isascii() or _iri_character(char) for char in value)


def path_segment(iri: str) -> str:
    """An id as one URI path segment, as a Location header needs it: non-ASCII characters
    percent-encoded as UTF-8 (RFC 3987 §3.1), and "/", "?", "#" and "%" too (RFC 3986 §3.3)."""
    return quote(iri, safe=_SEGMENT_SAFE)


def check_scope(value: Any) -> list[str]:
    """A scope (clause 4.18): one path like ``/city/district`` or a non-empty list of them."""
    scopes = value if isinstance(value, list) else [value]
    if not scopes or not all(isinstance(s, str) and _SCOPE.fullmatch(s) for s in scopes):
        raise bad_data(text("scope_grammar"))
    return scopes


def check_entity_id(value: Any) -> str:
    """The entity id, checked to be an IRI other than the NGSI-LD Null; 400 otherwise."""
    if not isinstance(value, str) or not value:
        raise bad_data(text("id_not_string"))
    if not is_uri(value):
        raise bad_data(text("id_not_uri", value=value[:100]))
    if value == NGSI_LD_NULL:
        raise bad_data(text("id_null"))
    return value


def check_name(name: Any, what: str = "attribute name") -> str:
    """The name, checked for length and forbidden characters; 400 BadRequestData otherwise."""
    if not isinstance(name, str) or not name:
        raise bad_data(text("name_empty", what=what))
    if len(name) > MAX_NAME_LENGTH:
        raise bad_data(text("name_too_long", what=what, name=name[:60], limit=MAX_NAME_LENGTH))
    if _FORBIDDEN.search(name):
        raise bad_data(text("name_forbidden_character", what=what, name=name))
    return name


def check_term(name: Any, what: str = "attribute name") -> str:
    """A name a client writes (entity type, attribute): clause 4.6.2's ``name`` (a letter, then
    letters, digits or "_"), optionally ``prefix:name``, or an absolute IRI; 400 otherwise."""
    check_name(name, what)
    if not (_TERM.fullmatch(name) or ("://" in name and is_uri(name))):
        raise bad_data(text("name_not_term", what=what, name=name))
    return str(name)


def now_iso() -> str:
    """The current time as an NGSI-LD date-time (UTC, ``Z``)."""
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    """A moment as an NGSI-LD date-time (UTC, ``Z``; microseconds only when there are some)."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any, what: str) -> datetime:
    """An ISO 8601 date-time with a zone (Z or an offset), as UTC."""
    if not isinstance(value, str) or len(value) > 40:
        raise bad_data(text("time_not_string", what=what))
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise bad_data(text("time_invalid", what=what, text=value)) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def check_utc_time(value: Any, what: str) -> str:
    """A temporal property's value, kept exactly as sent: an ISO 8601 date-time ending in ``Z``
    (clause 4.6.3: all timestamps are UTC, with no offset); 400 BadRequestData otherwise."""
    if not isinstance(value, str) or not value.endswith("Z"):
        raise bad_data(text("time_not_utc", what=what))
    parse_time(value, what)
    return value
