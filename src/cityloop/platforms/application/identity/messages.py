"""Texts identity sends to people, in English and Chinese, by message code."""

from __future__ import annotations

TEMPLATES: dict[str, tuple[str, str]] = {
    "phone_code": (
        "CityLoop: your verification code is {code}. It is valid for {minutes} minutes; "
        "nobody from the city will ask you for it.",
        "【CityLoop】您的验证码是 {code}，{minutes} 分钟内有效。请勿告诉他人。",
    ),
}


def render(message: str, locale: str = "en", **params: object) -> str:
    """The text of a message code in one language (zh… for Chinese, else English)."""
    english, chinese = TEMPLATES[message]
    return (chinese if locale.startswith("zh") else english).format(**params)


def both(message: str, **params: object) -> str:
    """The Chinese and the English text on two lines, for a channel with no reader language
    (an SMS goes to a phone, and an account keeps no language preference)."""
    return f"{render(message, 'zh-CN', **params)}\n{render(message, 'en', **params)}"
