"""Open311 POST requests: the form fields of a submission, checked and translated into a report
for governance's intake, and the notice that answers it."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from cityloop.base.problems import bad_request
from cityloop.domains.governance.intake import IntakeResult, ReportInput
from cityloop.domains.governance.messages import Message
from cityloop.domains.governance.workflow import MAX_TEXT
from cityloop.platforms.application.identity import service as identity

# ---------------------------------------------------------------- POST requests.{fmt}

# Longest value each text field may carry: the column it lands in, or a sane bound.
_TEXT_LIMITS = {
    "api_key": 200,
    "jurisdiction_id": 200,
    "service_code": 20,
    "lat": 40,
    "long": 40,
    "address_string": 400,
    "address_id": 200,
    "email": 254,
    "device_id": 200,
    "account_id": 200,
    "first_name": 100,
    "last_name": 99,  # first + " " + last fits the 200-character contact name
    "phone": 40,
    "media_url": 2000,
}
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,100})\](\[\])?$")
_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)

# Markup is stripped rather than refused: GeoReport v2 says "no HTML", and mobile clients paste
# rich text without knowing it; refusing would lose a real report over formatting.
_BLOCKS = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENTS = re.compile(r"<!--.*?(-->|$)", re.DOTALL)
_TAGS = re.compile(r"</?[A-Za-z][^<>]*>|<![^<>]*>|<\?[^<>]*>")
_SPACES = re.compile(r"[ \t]{2,}")


def strip_html(text: str) -> str:
    """Text without markup: scripts, styles, comments and tags removed."""
    # Unescape first so entity-encoded tags are stripped too; output is escaped again by the
    # JSON and XML writers.
    text = html.unescape(text)
    text = _COMMENTS.sub(" ", _BLOCKS.sub(" ", text))
    text = _TAGS.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


@dataclass
class Submission:
    """One POST requests.{fmt}, parsed and checked for shape (not yet against the database)."""

    api_key: str | None = None
    jurisdiction_id: str | None = None
    service_code: str | None = None
    lat: float | None = None
    lon: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    description: str = ""
    media_url: str | None = None

    def report_input(self, client_name: str, media_ids: list[str]) -> ReportInput:
        # Without lat/long, an address_id is the only location text we have: geocode it.
        address = self.address_string
        if address is None and self.lat is None and self.lon is None:
            address = self.address_id
        name = " ".join(p for p in (self.first_name, self.last_name) if p) or None
        # Staff-only provenance: the client, its own ids and the URL of a photo we do not fetch
        # (no runtime internet). account_id is private, like every reporter detail.
        source_ref = {
            "open311_client": client_name,
            "address_id": self.address_id,
            "account_id": self.account_id,
            "media_url": self.media_url,
        }
        return ReportInput(
            category=self.service_code,
            lat=self.lat,
            lon=self.lon,
            address=address,
            description=self.description,
            media_ids=media_ids,
            attributes=self.attributes,
            contact_name=name,
            contact_email=self.email,
            contact_phone=self.phone,
            device_id=self.device_id,
            source_ref={k: v for k, v in source_ref.items() if v is not None},
        )


def _coordinate(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError as exc:
        raise bad_request(
            Message("governance.decimal_number_wgs", {"name": str(name)}), field=name
        ) from exc
    if not math.isfinite(number):
        raise bad_request(Message("governance.finite_number_2", {"name": str(name)}), field=name)
    return number


def parse_submission(items: Iterable[tuple[str, str]]) -> Submission:
    """Read the spec's form fields. ``items`` are the raw multi-items, so repeated
    ``attribute[code][]`` values survive; an empty value means "not given", as form clients
    send every field of their form whether filled or not. Unknown fields are ignored."""
    sub = Submission()
    singles: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    listed: set[str] = set()
    for key, raw in items:
        value = raw.strip()
        match = _ATTRIBUTE.match(key)
        if match:
            code = match.group(1)
            if match.group(2):
                listed.add(code)
            if value:
                attributes.setdefault(code, []).append(value)
            continue
        if key == "description":
            singles[key] = raw  # keep its line breaks; trimmed after stripping markup
        elif value:
            singles[key] = value  # a repeated single field: the last one wins, as in PHP
    for name, limit in _TEXT_LIMITS.items():
        if name in singles and len(singles[name]) > limit:
            raise bad_request(
                Message("governance.over_characters", {"name": str(name), "limit": str(limit)}),
                field=name,
            )

    sub.api_key = singles.get("api_key")
    sub.jurisdiction_id = singles.get("jurisdiction_id")
    sub.service_code = singles.get("service_code")
    if "lat" in singles:
        sub.lat = _coordinate(singles["lat"], "lat")
    if "long" in singles:
        sub.lon = _coordinate(singles["long"], "long")
    sub.address_string = singles.get("address_string")
    sub.address_id = singles.get("address_id")
    # A code sent with [] or more than once is a list (multivaluelist); otherwise one value.
    sub.attributes = {
        code: values if (code in listed or len(values) > 1) else values[0]
        for code, values in attributes.items()
    }
    if "email" in singles:
        try:
            sub.email = _EMAIL.validate_python(singles["email"])
        except ValidationError as exc:
            raise bad_request(Message("governance.email_valid_e_mail"), field="email") from exc
    sub.device_id = singles.get("device_id")
    sub.account_id = singles.get("account_id")
    sub.first_name = singles.get("first_name")
    sub.last_name = singles.get("last_name")
    sub.phone = singles.get("phone")
    description = singles.get("description", "")
    if len(description) > MAX_TEXT:
        raise bad_request(
            Message("governance.description_over_characters", {"limit": str(MAX_TEXT)}),
            field="description",
        )
    sub.description = strip_html(description)
    media_url = singles.get("media_url")
    if media_url is not None and not re.match(r"^https?://[^\s]+$", media_url, re.IGNORECASE):
        raise bad_request(Message("governance.media_url_http_https"), field="media_url")
    sub.media_url = media_url
    return sub


def service_notice(session: Session, *, result: IntakeResult) -> str:
    """What the POST answers beside the id: a new request, or the case it joined."""
    case = result.case
    if result.joined_existing:
        return (
            f"Joined existing request {case.id} as a supporter; "
            "that request's updates apply to this report"
        )
    if case.department_code:
        department = identity.get_department(session, code=case.department_code)
        name = department.name if department else case.department_code
        return f"Received as request {case.id} and dispatched to {name}"
    return f"Received as request {case.id}; the city will review it"
