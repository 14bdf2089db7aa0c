"""The reader's language: the signed-in account's own setting when it has one, else the
request's ``Accept-Language`` (any zh is zh-CN, anything else English).

Routes take it as a dependency (``ReaderLocale``) rather than parsing headers; the problem
handler uses the same function, so an error reads in the language of the rest of the answer.
Base knows no accounts: identity registers how a request's account gives its setting
(``use_account_locale``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from cityloop.base.messages import LOCALES

DEFAULT_LOCALE = "en"

# Set by identity: the locale of the request's signed-in account, or None.
_account_locale: Callable[[Request], str | None] | None = None


def use_account_locale(resolver: Callable[[Request], str | None]) -> None:
    """Tell the base how to find the setting of the account behind a request."""
    global _account_locale
    _account_locale = resolver


def normalise(locale: str | None) -> str | None:
    """'zh-CN' for any Chinese tag, 'en' for any English one, None for anything else."""
    tag = (locale or "").strip().lower()
    if tag.startswith("zh"):
        return "zh-CN"
    if tag.startswith("en"):
        return "en"
    return None


def negotiate(header: str | None) -> str:
    """The locale an ``Accept-Language`` header prefers (q-weights honoured): zh-CN when its
    best-weighted language we speak is any zh, else English."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        locale = normalise(tag)
        if locale is None or weight <= 0:
            continue
        # The higher weight wins; between equal weights the earlier tag does.
        if best is None or weight > best[0]:
            best = (weight, position, locale)
    return best[2] if best else DEFAULT_LOCALE


def request_locale(request: Request) -> str:
    """The reader's locale for this request: the account's setting, else Accept-Language."""
    cached = getattr(request.state, "locale", None)
    if cached in LOCALES:
        return str(cached)
    account = _account_locale(request) if _account_locale else None
    locale = normalise(account) or negotiate(request.headers.get("accept-language"))
    request.state.locale = locale
    return locale


ReaderLocale = Annotated[str, Depends(request_locale)]
