"""The message catalogue: every line the server writes for a person to read (a timeline line, a
notification), as a code with parameters and a template in English and Chinese.

Each package registers its templates once at import (``register``); a row stores the code and
its parameters (``Message.as_dict``), so every reader sees the line in their own language.
Codes are global, so a package prefixes its own (``application.accepted``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

LOCALES = ("en", "zh-CN")

_TEMPLATES: dict[str, tuple[str, str]] = {}


def register(templates: dict[str, tuple[str, str]]) -> None:
    """Add a package's (English, Chinese) templates; a code may be registered only once."""
    for code, pair in templates.items():
        known = _TEMPLATES.get(code)
        if known is not None and known != pair:
            raise ValueError(f"message code {code!r} is registered twice")
        _TEMPLATES[code] = pair


def templates() -> dict[str, tuple[str, str]]:
    """Every registered template, by code."""
    return dict(_TEMPLATES)


@dataclass(frozen=True)
class Message:
    code: str
    params: dict[str, str] = field(default_factory=dict)

    def render(self, locale: str = "en") -> str:
        """The line in ``locale`` (Chinese for any zh locale, English otherwise)."""
        english, chinese = _TEMPLATES[self.code]
        template = chinese if locale.startswith("zh") else english
        values = {**self.params}
        for key, value in self.params.items():
            values.setdefault(f"{key}_zh", value)  # a Chinese name falls back to the English
        return template.format(**values)

    def texts(self) -> dict[str, str]:
        """The line in every locale, keyed by locale."""
        return {locale: self.render(locale) for locale in LOCALES}

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "params": self.params}


def stored_message(stored: object) -> Message | None:
    """The message kept in a row's data, or None when there is none (or its code is unknown)."""
    if not isinstance(stored, dict) or stored.get("code") not in _TEMPLATES:
        return None
    params = stored.get("params") or {}
    return Message(str(stored["code"]), {k: str(v) for k, v in params.items()})


def render_stored(stored: object, locale: str) -> str | None:
    """Render a message kept in a row's data, or None when there is none."""
    message = stored_message(stored)
    return message.render(locale) if message else None
