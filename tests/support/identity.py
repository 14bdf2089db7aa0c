"""Citizens of a test's own and their way to real-name levels 2 and 3."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from stdnum.cn import ric

from cityloop.base.db import utcnow
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.models import PhoneChallenge
from cityloop.platforms.application.notify.models import Notification
from tests.support.city import City

# Made-up identity numbers that pass GB 11643's check character (and name nobody).
ID_NUMBERS = (
    "11010519491231002X",  # Riverton Hongtu Construction's legal representative
    "110105198503121234",  # Riverton Qingyuan Catering's
    "44030519920415007X",  # Zhang's Snacks'
    "11010819780920511X",
)
CATERING = "91110105MA01AB12CB"  # legal representative ID_NUMBERS[1]
CONSTRUCTION = "91310115MA1FG5678T"  # legal representative ID_NUMBERS[0]

_serial = itertools.count(1)
_order = itertools.count(1)


def fresh_id_number() -> str:
    """A made-up identity number no other test has used (born 1990-03-07 in Dongcheng)."""
    body = f"11010119900307{next(_order) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def new_citizen(city: City, prefix: str = "person") -> tuple[str, int]:
    """A fresh citizen account (password ``demo``): its username and id."""
    username = f"{prefix}-{next(_serial)}-{city.backend}"
    with city.ctx.db.writing() as session:
        user = identity.create_user(session, username=username, password="demo", role="citizen")
        return username, user.id


def sent_code(city: City, user_id: int) -> str:
    """The code in the newest text message queued for this account."""
    with city.ctx.db.read() as session:
        message = session.scalar(
            select(Notification.message)
            .where(Notification.user_id == user_id, Notification.kind == "identity.phone_code")
            .order_by(Notification.id.desc())
            .limit(1)
        )
    assert message is not None, "no code was queued"
    found = re.search(r"\b(\d{6})\b", message)
    assert found is not None, message
    return found.group(1)


def age_codes(city: City, user_id: int, minutes: float) -> None:
    """Make the account's codes ``minutes`` older, as if time had passed."""
    with city.ctx.db.writing() as session:
        for challenge in session.scalars(
            select(PhoneChallenge).where(PhoneChallenge.user_id == user_id)
        ):
            challenge.created_at -= timedelta(minutes=minutes)
            challenge.expires_at -= timedelta(minutes=minutes)


def expire_codes(city: City, user_id: int) -> None:
    """Let the account's current code run out."""
    with city.ctx.db.writing() as session:
        session.execute(
            update(PhoneChallenge)
            .where(PhoneChallenge.user_id == user_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


def post(city: City, path: str, who: str, /, **body: Any) -> Any:
    """POST a JSON body to an API path as ``who``."""
    return city.client.post(f"/api/v1{path}", json=body, headers=city.headers(who))


def reach_level_2(city: City, username: str, user_id: int, id_number: str) -> dict[str, Any]:
    """Give the identity number and verify a phone through HTTP; the answer of the last step."""
    given = post(city, "/me/identity", username, legal_name="测试 市民", id_number=id_number)
    assert given.status_code == 200, given.text
    asked = post(city, "/me/identity/phone-code", username, phone="13800138000")
    assert asked.status_code == 202, asked.text
    confirmed = post(city, "/me/identity/phone", username, code=sent_code(city, user_id))
    assert confirmed.status_code == 200, confirmed.text
    return dict(confirmed.json())


def reach_level_3(city: City, username: str, id_number: str) -> dict[str, Any]:
    """The demo clerk checks the person's document at a counter."""
    checked = post(
        city,
        "/identity/counter-verifications",
        "clerk",
        username=username,
        id_number=id_number,
        counter="window 3",
    )
    assert checked.status_code == 200, checked.text
    return dict(checked.json())
