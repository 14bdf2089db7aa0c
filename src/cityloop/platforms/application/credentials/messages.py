"""A verdict's reason codes and what each says to a person, in English and Chinese."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    VALID = "valid"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad-signature"
    BAD_DISCLOSURE = "bad-disclosure"
    UNKNOWN_KEY = "unknown-key"
    WRONG_ISSUER = "wrong-issuer"
    WRONG_TYPE = "wrong-type"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    REVOKED = "revoked"
    STATUS_UNAVAILABLE = "status-unavailable"


MESSAGES: dict[Reason, tuple[str, str]] = {
    Reason.VALID: (
        "Valid: issued by {issuer}, signature and status checked",
        "有效：由 {issuer} 签发，签名与状态均已核验",
    ),
    Reason.MALFORMED: (
        "Not a credential this verifier can read: {detail}",
        "无法识别的凭证格式：{detail}",
    ),
    Reason.BAD_SIGNATURE: (
        "The signature does not match: the credential was altered or forged",
        "签名不符：凭证已被篡改或伪造",
    ),
    Reason.BAD_DISCLOSURE: (
        "A disclosed claim was altered or does not belong to this credential",
        "披露的信息已被篡改或不属于该凭证",
    ),
    Reason.UNKNOWN_KEY: (
        "Signed with a key that {issuer} does not publish",
        "签名密钥不属于 {issuer} 公布的密钥",
    ),
    Reason.WRONG_ISSUER: (
        "Issued by {issuer}, which this verifier does not trust for this",
        "签发方 {issuer} 不在本核验方信任的范围内",
    ),
    Reason.WRONG_TYPE: (
        "This is a {vct}, not the kind of credential asked for",
        "凭证类型为 {vct}，并非所需类型",
    ),
    Reason.EXPIRED: ("Expired on {expires_at}", "已于 {expires_at} 过期"),
    Reason.NOT_YET_VALID: ("Not valid before {valid_from}", "在 {valid_from} 之前无效"),
    Reason.REVOKED: ("Revoked by its issuer", "已被签发方撤销"),
    Reason.STATUS_UNAVAILABLE: (
        "Its revocation status cannot be checked now: the status list is missing or out of date",
        "暂时无法核验其撤销状态：状态列表缺失或已过期",
    ),
}


def render(reason: Reason, locale: str, params: dict[str, str]) -> str:
    """The message of ``reason`` in ``locale`` (any zh* is Chinese; anything else English)."""
    english, chinese = MESSAGES[reason]
    template = chinese if locale.startswith("zh") else english
    values = {"issuer": "?", "vct": "?", "expires_at": "?", "valid_from": "?", "detail": ""}
    return template.format(**{**values, **params})
