"""The lines an applicant and the staff read on an application's timeline and in notifications,
in English and Chinese (the base's message catalogue keeps them by code)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cityloop.base.messages import Message, register
from cityloop.platforms.application.identity import service as identity

TEMPLATES: dict[str, tuple[str, str]] = {
    "application.submitted": (
        "Application submitted for {service}",
        "已提交{service_zh}申请",
    ),
    "application.accepted": (
        "Accepted by {department} (受理); the time limit ends on {due}",
        "{department_zh}已受理，承诺办结时间 {due}",
    ),
    "application.not_accepted": (
        "Not accepted: {reason}",
        "不予受理：{reason}",
    ),
    "application.step_started": (
        "Review by {department} has started",
        "{department_zh}开始审查",
    ),
    "application.step_approved": (
        "{department} approved",
        "{department_zh}审查通过",
    ),
    "application.step_denied": (
        "{department} refused: {reason} (legal basis: {legal_basis})",
        "{department_zh}审查不通过：{reason}（依据：{legal_basis}）",
    ),
    "application.supplement_requested": (
        "{department} asks for more: {items}. The time limit is paused until you answer",
        "{department_zh}要求补正：{items}。补正期间暂停计时",
    ),
    "application.supplement_answered": (
        "Supplement handed in; the review continues",
        "已提交补正材料，审查继续",
    ),
    "application.approved": (
        "Approved",
        "审批通过",
    ),
    "application.denied": (
        "Denied: {reason} (legal basis: {legal_basis})",
        "不予许可：{reason}（依据：{legal_basis}）",
    ),
    "application.issued": (
        "Licence issued: {licence}; it is in your wallet",
        "已发放{licence_zh}，已存入您的证照夹",
    ),
    "application.licence_revoked": (
        "The licence was revoked: {reason}",
        "证照已被吊销：{reason}",
    ),
    "application.update": (
        "Application {number}: {line}",
        "办件 {number}：{line_zh}",
    ),
    "application.appointment_booked": (
        "Counter appointment booked for {slot}",
        "已预约窗口办理时间：{slot}",
    ),
    "application.appointment_cancelled": (
        "The counter appointment for {slot} was cancelled",
        "{slot} 的窗口预约已取消",
    ),
    "application.withdrawn": (
        "Withdrawn by the applicant",
        "申请人已撤回申请",
    ),
    "application.fee_paid": (
        "Fee of {amount} paid at the counter",
        "已在窗口缴纳费用 {amount}",
    ),
    "application.fee_paid_online": (
        "Fee of {amount} paid online",
        "已在线缴纳费用 {amount}",
    ),
    "application.step_overdue_staff": (
        "Application {number}: {department}'s review is past its time limit",
        "办件 {number}：{department_zh}审查已超出时限",
    ),
    "application.step_overdue": (
        "{department}'s review is past its time limit",
        "{department_zh}审查已超出时限",
    ),
}

register(TEMPLATES)


def department_names(session: Session, code: str) -> dict[str, str]:
    """A department's English and Chinese names as message parameters."""
    department = identity.get_department(session, code=code)
    if department is None:
        return {"department": code, "department_zh": code}
    return {"department": department.name, "department_zh": department.name_zh or department.name}


__all__ = ["TEMPLATES", "Message", "department_names"]
