"""What the access platform tells people, in English and Chinese, by message code (registered with
the base's message catalogue)."""

from __future__ import annotations

from cityloop.base.messages import Message, register

__all__ = ["PROBLEMS", "Message"]

# The details of this package's problem answers, by code.
PROBLEMS: dict[str, tuple[str, str]] = {
    "access.choices": (
        "{name} must be one of {items}, not {value}",
        "{name} 必须是以下之一：{items}，而不是 {value}",
    ),
    "access.department_does_exist": (
        "department {department} does not exist",
        "部门 {department} 不存在",
    ),
    "access.until_before_since": (
        "until must not be before since",
        "until 不能早于 since",
    ),
    "access.iso_date_date_time": (
        "{name} must be an ISO date (2026-11-30) or date-time (2026-11-30T09:00:00+08:00), not "
        "{value}",
        "{name} 必须是 ISO 日期（2026-11-30）或日期时间（2026-11-30T09:00:00+08:00），而不是 "
        "{value}",
    ),
    "access.role_may_read_access": (
        "role {actor_role} may not read the access log; it needs one of {roles}",
        "角色 {actor_role} 不能查看访问日志；需要以下角色之一：{roles}",
    ),
    "access.account_named": (
        "no account is named {username}",
        "没有名为 {username} 的账号",
    ),
    "access.user_id_username_name": (
        "user_id and username name two accounts",
        "user_id 和 username 指向两个不同的账号",
    ),
}
register(PROBLEMS)
