"""Why a read was refused, in English and Chinese, by message code (the base's catalogue): the
403 carries both, and the services domain's prefill shows the applicant the same lines."""

from __future__ import annotations

from cityloop.base.messages import Message, register

# Where a department asks for a grant: the console's screen, or the API.
REQUEST_AT = "the console's Data sharing screen (POST /api/v1/data/grants)"
REQUEST_AT_ZH = "控制台“数据共享”页面（POST /api/v1/data/grants）"

TEMPLATES: dict[str, tuple[str, str]] = {
    "sharing.no-grant": (
        "your department {department} holds no grant for {target}: request one at {request_at}",
        "贵部门（{department_zh}）没有{target_zh}的共享授权：请在{request_at_zh}申请",
    ),
    "sharing.grant-expired": (
        "grant #{grant} for {target} expired at {at}: request a new one at {request_at}",
        "{target_zh}的共享授权 #{grant} 已于 {at} 到期：请在{request_at_zh}重新申请",
    ),
    "sharing.grant-revoked": (
        "grant #{grant} for {target} was revoked at {at}: {reason}",
        "{target_zh}的共享授权 #{grant} 已于 {at} 被撤销：{reason}",
    ),
    "sharing.grant-refused": (
        "grant #{grant} for {target} was refused: {reason}",
        "{target_zh}的共享授权申请 #{grant} 未获批准：{reason}",
    ),
    "sharing.grant-pending": (
        "grant #{grant} for {target} is waiting for {owner} to decide",
        "{target_zh}的共享授权申请 #{grant} 正等待{owner_zh}审批",
    ),
    "sharing.field-not-granted": (
        "grant #{grant} for {target} does not cover {fields}; it covers {granted}",
        "{target_zh}的共享授权 #{grant} 不含 {fields}；授权范围为 {granted}",
    ),
    "sharing.outside-grant": (
        "grant #{grant} for {target} covers only {scope}",
        "{target_zh}的共享授权 #{grant} 仅限 {scope}",
    ),
    "sharing.no-department": (
        "only staff of a department read shared data: your account belongs to none",
        "只有部门工作人员可以读取共享数据：您的账号不属于任何部门",
    ),
}
register(TEMPLATES)


def coded(code: str, **params: str) -> Message:
    """The message of ``code`` with the request address filled in; an empty Chinese name
    falls back to the English one."""
    values = {"request_at": REQUEST_AT, "request_at_zh": REQUEST_AT_ZH, **params}
    for key, value in list(values.items()):
        if key.endswith("_zh") and not value:
            values[key] = values.get(key.removesuffix("_zh"), "")
    return Message(code, values)
