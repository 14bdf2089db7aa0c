"""Reading an action's parameters as CKAN's validators do (``ckan/logic/validators.py``): the same
coercions (a GET sends every value as text) and the same messages, gathered per field into one
409 Validation Error."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cityloop.platforms.data.ckan.errors import ValidationError

MISSING = "Missing value"
# The widest whole number a database column holds (a BIGINT): anything wider is no number here.
WIDEST = 2**63 - 1
TRUE_WORDS = ("true", "yes", "t", "y", "1")


class Invalid(ValueError):
    """One parameter's problem, in CKAN's words."""


def integer(value: Any) -> int | None:
    """A whole number from a number or its text (None for nothing), as CKAN's int_validator."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: int
    if isinstance(value, int):  # a bool too
        number = int(value)
    elif isinstance(value, float):
        if not value.is_integer():
            raise Invalid("Invalid integer")
        number = int(value)
    else:
        try:
            number = int(str(value).strip())
        except ValueError:
            raise Invalid("Invalid integer") from None
    if abs(number) > WIDEST:
        raise Invalid("Invalid integer")
    return number


def natural(value: Any) -> int:
    """A whole number of at least 0."""
    number = integer(value)
    if number is None:
        raise Invalid("Invalid integer")
    if number < 0:
        raise Invalid("Must be a natural number")
    return number


def boolean(value: Any) -> bool:
    """True for true, "true", "yes", "t", "y" and "1"; False for anything else."""
    if isinstance(value, bool | int):
        return bool(value)
    return isinstance(value, str) and value.strip().lower() in TRUE_WORDS


def listed(value: Any) -> list[Any]:
    """A list from a list or a comma-separated text."""
    if isinstance(value, list):
        return value
    return [part.strip() for part in str(value).split(",") if part.strip()]


class Params:
    """One action's parameters: read each with a validator; ``done`` raises every problem."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, list[str]] = {}

    def problem(self, key: str, message: str) -> None:
        """Note a problem of one parameter."""
        self.errors.setdefault(key, []).append(message)

    def text(self, key: str, default: str = "") -> str:
        """A text parameter (absent: the default)."""
        value = self.data.get(key)
        return default if value is None else str(value)

    def required(self, key: str) -> str:
        """A text parameter that must be given."""
        value = self.data.get(key)
        if value is None or value == "":
            self.problem(key, MISSING)
            return ""
        return str(value)

    def natural(
        self, key: str, default: int | None = None, maximum: int | None = None
    ) -> int | None:
        """A whole number ≥ 0; over ``maximum`` it is cut to it, as CKAN's configured limits."""
        value = self.data.get(key)
        if value is None or value == "":
            return default
        try:
            number = natural(value)
        except Invalid as problem:
            self.problem(key, str(problem))
            return default
        return min(number, maximum) if maximum is not None else number

    def integer(self, key: str, default: int | None = None) -> int | None:
        """A whole number, negative allowed."""
        try:
            number = integer(self.data.get(key))
        except Invalid as problem:
            self.problem(key, str(problem))
            return default
        return default if number is None else number

    def flag(self, key: str, default: bool = False) -> bool:
        """A yes/no parameter."""
        value = self.data.get(key)
        return default if value is None or value == "" else boolean(value)

    def json(self, key: str, message: str = "Cannot parse JSON") -> Any:
        """A parameter that is JSON, given as a value or as its text."""
        value = self.data.get(key)
        if value is None or not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            self.problem(key, message)
            return None

    def done(self) -> None:
        """Raise every problem noted, as one Validation Error."""
        if self.errors:
            raise ValidationError(dict(self.errors))
