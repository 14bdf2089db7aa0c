"""The password policy: a minimum length, a mix of character classes, never the username, and
never one of the passwords people choose most often (``data/common-passwords.txt``).

Applied where a person sets a password (an admin creating an account or resetting one, anyone
changing theirs), not at sign-in: an old password keeps working until it is changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from cityloop.base.messages import Message, register
from cityloop.base.problems import Problem
from cityloop.settings import Settings

register(
    {
        "identity.password.too_short": (
            "the password must be at least {min_length} characters long",
            "密码至少需要 {min_length} 个字符",
        ),
        "identity.password.too_few_classes": (
            "the password must mix at least {min_classes} of: lower-case letters, upper-case "
            "letters, digits, other characters",
            "密码至少需要包含以下 {min_classes} 类字符：小写字母、大写字母、数字、其他字符",
        ),
        "identity.password.is_username": (
            "the password must not be the username",
            "密码不能与用户名相同",
        ),
        "identity.password.common": (
            "this password is one of the most common ones; choose another",
            "该密码过于常见，请另选一个",
        ),
        "identity.password.too_long": (
            "the password must be at most {max_length} characters long",
            "密码最多 {max_length} 个字符",
        ),
    }
)

MAX_LENGTH = 200


@cache
def common_passwords() -> frozenset[str]:
    """The common passwords the project keeps, in lower case."""
    text = resources.files(__package__).joinpath("data/common-passwords.txt").read_text("utf-8")
    lines = (line.strip().lower() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def character_classes(password: str) -> int:
    """How many of lower case, upper case, digits and anything else the password holds."""
    # Any non-ASCII letter (a Chinese character) counts as "anything else".
    lower = any("a" <= c <= "z" for c in password)
    upper = any("A" <= c <= "Z" for c in password)
    digit = any("0" <= c <= "9" for c in password)
    other = any(not ("a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9") for c in password)
    return lower + upper + digit + other


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 10
    min_classes: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordPolicy:
        """The policy the deployment's settings describe."""
        return cls(settings.password_min_length, settings.password_min_classes)

    def broken_rule(self, *, password: str, username: str) -> Message | None:
        """The first rule the password breaks, as a message, or None when it keeps them all."""
        if len(password) < self.min_length:
            return Message("identity.password.too_short", {"min_length": str(self.min_length)})
        if len(password) > MAX_LENGTH:
            return Message("identity.password.too_long", {"max_length": str(MAX_LENGTH)})
        if character_classes(password) < self.min_classes:
            return Message(
                "identity.password.too_few_classes", {"min_classes": str(self.min_classes)}
            )
        if password.strip().lower() == username.strip().lower():
            return Message("identity.password.is_username")
        if password.strip().lower() in common_passwords():
            return Message("identity.password.common")
        return None

    def check(self, *, password: str, username: str, field: str = "password") -> None:
        """Raise a 400 naming ``field`` and the rule when the password breaks one."""
        broken = self.broken_rule(password=password, username=username)
        if broken is not None:
            raise weak_password(broken, field)


def weak_password(message: Message, field: str) -> Problem:
    """The 400 for a password that breaks a rule: the rule's code, in English and Chinese."""
    rule = message.code.rsplit(".", 1)[1].replace("_", "-")
    return Problem(
        400,
        "weak-password",
        message,
        field=field,
        extra={"rule": rule, "message": message.as_dict(), "detail_zh": message.render("zh-CN")},
    )
