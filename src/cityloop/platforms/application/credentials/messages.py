"""A verdict's reason codes and what each says to a person, in English and Chinese."""

from __future__ import annotations

from enum import StrEnum

from cityloop.base.messages import Message, register

__all__ = ["MESSAGES", "PROBLEMS", "Message", "Reason", "render"]


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


# The details of this package's problem answers, by code.
PROBLEMS: dict[str, tuple[str, str]] = {
    "credentials.private_key_opened_server": (
        "the private key {kid} of {owner} cannot be opened with this server's secret key; rotate "
        "the key (see docs/credentials.md)",
        "无法用本服务器的密钥打开 {owner} 的私钥 {kid}；请轮换密钥（见 docs/credentials.md）",
    ),
    "credentials.vct_uri_urn_most": (
        "vct must be a URI or URN of at most 300 characters",
        "vct 必须是不超过 300 个字符的 URI 或 URN",
    ),
    "credentials.claims_object_named_members": (
        "claims must be an object with named members",
        "claims 必须是含有具名成员的对象",
    ),
    "credentials.claims_may_set": (
        "claims may not set {items}",
        "claims 不能设置 {items}",
    ),
    "credentials.claim_named_disclose": (
        "no claim named {items} to disclose",
        "没有可披露的声明 {items}",
    ),
    "credentials.claims_are_limited_bytes": (
        "claims are limited to {limit} bytes of JSON",
        "claims 的 JSON 不能超过 {limit} 字节",
    ),
    "credentials.expires_time_zone": (
        "expires_at needs a time zone",
        "expires_at 需要时区",
    ),
    "credentials.expires_future": (
        "expires_at must be in the future",
        "expires_at 必须在将来",
    ),
    "credentials.sd_jwt_jwt_payload": (
        "not an SD-JWT: its JWT payload cannot be read",
        "不是 SD-JWT：无法读取其 JWT 载荷",
    ),
    "credentials.credential_claim": (
        "the credential has no claim {items}",
        "凭证中没有声明 {items}",
    ),
    "credentials.claims_plain_json_values": (
        "claims must be plain JSON values",
        "claims 必须是普通 JSON 值",
    ),
    "credentials.not_sd_jwt": (
        "not an SD-JWT: {exc}",
        "不是 SD-JWT：{exc}",
    ),
    "credentials.send_either_presentation_qr": (
        "send either a presentation or a qr payload",
        "请发送 presentation 或 qr 载荷之一",
    ),
    "credentials.presentation_empty": (
        "the presentation is empty",
        "presentation 为空",
    ),
}
register(PROBLEMS)
