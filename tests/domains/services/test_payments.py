"""Online payment is a provider interface: with none installed (the default) a fee is paid at
the counter and the online routes say so; an installed provider's verified notification settles
the fee and issues the licence, and a forged one changes nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest

from cityloop.domains.services import payments
from cityloop.domains.services.payments import PaymentResult, PaymentStart
from tests.support.city import City
from tests.support.services import call, definition, save_service, staff, step_of, submitted

SECRET = b"bank-shared-secret"


class SignedBank:
    """A stand-in for a city's bank: it signs its notifications with a shared secret."""

    name = "testbank"

    def start(self, *, application_id: int, amount_cents: int, description: str) -> PaymentStart:
        return PaymentStart(f"https://bank.example/pay/{application_id}", f"T{application_id}")

    def confirm(self, *, headers: dict[str, str], body: bytes) -> PaymentResult:
        expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get("x-signature", "")):
            raise ValueError("the notification's signature does not match")
        data = json.loads(body)
        return PaymentResult(data["reference"], data["application"], data["amount"], data["paid"])


@pytest.fixture(scope="module", autouse=True)
def fee_service(city: City) -> None:
    save_service(
        city,
        definition(
            "paid-online", fee={"amount_cents": 2500, "note": "", "note_zh": ""},
            workflow=[{"departments": ["parks"], "days": 3}],
        ),
    )  # fmt: skip


@pytest.fixture
def bank(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(payments, "installed", lambda: {"testbank": SignedBank()})
    yield


def notify(city: City, body: dict[str, object], secret: bytes = SECRET) -> object:
    raw = json.dumps(body).encode()
    signature = hmac.new(secret, raw, hashlib.sha256).hexdigest()
    return city.client.post(
        "/api/v1/payments/testbank/notifications", content=raw,
        headers={"X-Signature": signature, "Content-Type": "application/json"},
    )  # fmt: skip


def test_without_a_provider_the_fee_is_paid_at_the_counter(city: City) -> None:
    application = submitted(city, "paid-online")
    path = f"/api/v1/applications/{application['id']}/payments"
    refused = call(city, "POST", path, "citizen", 409, json={"provider": "testbank"})
    assert refused["type"].endswith("/no-online-payment")
    assert (
        city.client.post("/api/v1/payments/testbank/notifications", content=b"{}").status_code
        == 409
    )


def test_a_verified_notification_settles_the_fee_and_a_forged_one_does_not(
    city: City, bank: None
) -> None:
    application = submitted(city, "paid-online")
    number = application["id"]
    started = call(
        city,
        "POST",
        f"/api/v1/applications/{number}/payments",
        "citizen",
        201,
        json={"provider": "testbank"},
    )
    assert started["redirect_url"].endswith(f"/pay/{number}")
    call(
        city,
        "POST",
        f"/api/v1/applications/{number}/payments",
        "citizen",
        404,
        json={"provider": "nobank"},
    )
    paid = {"reference": started["reference"], "application": number, "amount": 2500, "paid": True}
    forged = notify(city, paid, secret=b"guess")
    assert forged.status_code == 400  # type: ignore[attr-defined]
    wrong = notify(city, {**paid, "amount": 1})
    assert wrong.status_code == 409  # type: ignore[attr-defined]
    assert notify(city, paid).json() == {"application_id": number, "paid": True}  # type: ignore[attr-defined]
    mine = call(city, "GET", f"/api/v1/applications/{number}", "citizen")
    assert mine["fee_paid_at"] and mine["timeline"][-1]["message_zh"] == "已在线缴纳费用 ¥25.00"
    # The provider may repeat its notification: nothing changes the second time.
    assert notify(city, paid).json()["paid"] is True  # type: ignore[attr-defined]
    accepted = staff(city, number, "accept", "handler-urbanmgmt")
    approved = staff(
        city, number, f"steps/{step_of(accepted, 'parks')['id']}/approve", "handler-parks"
    )
    assert approved["status"] == "approved"
    call(
        city,
        "POST",
        f"/api/v1/applications/{number}/payments",
        "citizen",
        409,
        json={"provider": "testbank"},
    )
