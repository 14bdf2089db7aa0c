"""Online payment of fees, as a provider interface: a city installs a package that declares a
provider under the entry point group ``cityloop.payment_providers`` (for its bank or payment
platform). None ships with CityLoop, so by default fees are paid at the counter
(``review.record_fee``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Protocol

from sqlalchemy.orm import Session

from cityloop.base.messages import Message
from cityloop.base.problems import Problem, not_found
from cityloop.domains.services import lifecycle
from cityloop.domains.services.applications import definition_of, own_application
from cityloop.domains.services.lifecycle import Setting
from cityloop.domains.services.models import Application
from cityloop.domains.services.presenters import number
from cityloop.domains.services.workflow import PAYABLE
from cityloop.platforms.application.identity.service import SYSTEM, Actor

GROUP = "cityloop.payment_providers"


@dataclass(frozen=True)
class PaymentStart:
    """Where the payer goes to pay, and the provider's reference for this payment."""

    redirect_url: str
    reference: str


@dataclass(frozen=True)
class PaymentResult:
    """What a provider's notification says: which payment, and whether it was paid."""

    reference: str
    application_id: int
    amount_cents: int
    paid: bool


class PaymentProvider(Protocol):
    """A provider a city installs; it must verify its notifications' signatures itself."""

    name: str

    def start(self, *, application_id: int, amount_cents: int, description: str) -> PaymentStart:
        """Create a payment with the provider; where the payer goes next."""
        ...

    def confirm(self, *, headers: dict[str, str], body: bytes) -> PaymentResult:
        """Read (and verify) the provider's notification; raise ValueError when it is forged."""
        ...


@cache
def installed() -> dict[str, PaymentProvider]:
    """The providers installed packages declare, by name."""
    found: dict[str, PaymentProvider] = {}
    for entry in entry_points(group=GROUP):
        provider: Any = entry.load()
        instance = provider() if isinstance(provider, type) else provider
        found[str(instance.name)] = instance
    return found


def provider(name: str) -> PaymentProvider:
    """The installed provider of this name; 409 when no provider is installed, 404 for a name
    that is not."""
    providers = installed()
    if not providers:
        raise Problem(
            409, "no-online-payment",
            Message("services.city_takes_fees_counter"),
        )  # fmt: skip
    if name not in providers:
        raise not_found("payment provider", name)
    return providers[name]


def start_payment(
    session: Session, *, application_id: int, actor: Actor, provider_name: str
) -> PaymentStart:
    """Start paying an application's fee online with an installed provider."""
    application = own_application(session, application_id=application_id, actor=actor)
    chosen = provider(provider_name)
    if application.fee_cents == 0:
        raise Problem(
            409,
            "no-fee",
            Message("services.application_fee_pay", {"application_id": str(application.id)}),
        )
    if application.fee_paid_at is not None:
        raise Problem(
            409,
            "fee-already-paid",
            Message("services.fee_application_paid", {"application_id": str(application.id)}),
        )
    if application.status not in PAYABLE:
        raise lifecycle.not_allowed(application, "record_fee")
    definition = definition_of(session, application)
    return chosen.start(
        application_id=application.id, amount_cents=application.fee_cents,
        description=f"{definition.name_zh} {number(application)}",
    )  # fmt: skip


def confirm_payment(
    session: Session, *, provider_name: str, headers: dict[str, str], body: bytes, setting: Setting
) -> Application:
    """Record a fee the provider says was paid (its notification is verified by the provider)."""
    chosen = provider(provider_name)
    try:
        result = chosen.confirm(headers=headers, body=body)
    except ValueError as error:
        raise Problem(400, "payment-notification-refused", str(error)) from error
    application = session.get(Application, result.application_id)
    if application is None:
        raise not_found("application", result.application_id)
    if not result.paid or application.fee_paid_at is not None:
        return application
    if result.amount_cents != application.fee_cents:
        raise Problem(
            409, "payment-amount-mismatch",
            Message(
                "services.paid_fen_fee",
                {
                    "amount_cents": str(result.amount_cents),
                    "fee_cents": str(application.fee_cents),
                },
            ),
        )  # fmt: skip
    return lifecycle.settle_fee(
        session, application=application, actor=SYSTEM,
        receipt=f"{chosen.name}:{result.reference}"[:80], setting=setting,
        message=Message("application.fee_paid_online", {"amount": lifecycle.amount(application)}),
    )  # fmt: skip
