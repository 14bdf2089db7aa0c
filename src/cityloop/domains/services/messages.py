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

# The details of this package's problem answers, by code.
PROBLEMS: dict[str, tuple[str, str]] = {
    "services.applications_are_filed_signed": (
        "applications are filed by a signed-in citizen account",
        "申请须由已登录的市民账号提交",
    ),
    "services.service_takes_new_applications": (
        "service {service_code} takes no new applications",
        "事项 {service_code} 暂不受理新申请",
    ),
    "services.not_for_applicant_kind": (
        "service {service_code} is not for {who}",
        "事项 {service_code} 不面向{who_zh}",
    ),
    "services.materials_are_handed_draft": (
        "materials are handed in with a draft or a supplement, not while {application_status}",
        "材料须在草稿或补正时提交，当前状态为 {application_status}",
    ),
    "services.service_asks_material_asks": (
        "this service asks for no material {material_code} (it asks for: {known})",
        "本事项不需要材料 {material_code}（所需材料：{known}）",
    ),
    "services.may_most_bytes": (
        "{material_code} may be at most {max_bytes} bytes",
        "{material_code} 最大 {max_bytes} 字节",
    ),
    "services.material_type_not_accepted": (
        "{material_code} must be one of: {items}",
        "{material_code} 必须是以下之一：{items}",
    ),
    "services.hand_required_materials": (
        "hand in the required materials: {codes}",
        "请提交必需的材料：{codes}",
    ),
    "services.score_whole_number_from": (
        "score must be a whole number from 1 to 5",
        "评分须为 1 到 5 的整数",
    ),
    "services.application_already_rated": (
        "application {application_id} is already rated",
        "办件 {application_id} 已评价",
    ),
    "services.note_longer_than_characters": (
        "the note is longer than {limit} characters",
        "备注超过 {limit} 个字符",
    ),
    "services.service_definition_valid": (
        "the service definition is not valid: {named}",
        "事项定义无效：{named}",
    ),
    "services.definition_s_code": (
        "the definition's code {definition_code} is not {code}",
        "定义中的编码 {definition_code} 不是 {code}",
    ),
    "services.form_complete_valid": (
        "the form is not complete or not valid: {fields}",
        "表单不完整或无效：{fields}",
    ),
    "services.form_json_object": (
        "the form must be a JSON object",
        "表单必须是 JSON 对象",
    ),
    "services.form_larger_than_bytes": (
        "the form is larger than {limit} bytes",
        "表单超过 {limit} 字节",
    ),
    "services.licence_claim_disclose_named": (
        "the licence has no claim to disclose named {items}",
        "证照中没有可披露的字段 {items}",
    ),
    "services.reason_required_most_characters": (
        "reason is required (at most 500 characters)",
        "必须填写理由（最多 500 个字符）",
    ),
    "services.licence_application_already_revoked": (
        "the licence of application {application_id} is already revoked",
        "办件 {application_id} 的证照已被吊销",
    ),
    "services.allowed_while_application": (
        "{action} is not allowed while the application is {application_status}",
        "办件状态为 {application_status} 时不允许 {action}",
    ),
    "services.allowed_while_step": (
        "{action} is not allowed while the step is {status}",
        "环节状态为 {status} 时不允许 {action}",
    ),
    "services.application_fee_pay": (
        "application {application_id} has no fee to pay",
        "办件 {application_id} 无需缴费",
    ),
    "services.fee_application_paid": (
        "the fee of application {application_id} is paid",
        "办件 {application_id} 的费用已缴纳",
    ),
    "services.city_takes_fees_counter": (
        "this city takes fees at the counter: no online payment provider is installed",
        "本市在窗口收费：未安装在线支付渠道",
    ),
    "services.paid_fen_fee": (
        "paid {amount_cents} fen, the fee is {fee_cents}",
        "已付 {amount_cents} 分，应缴 {fee_cents} 分",
    ),
    "services.prefilling_reads_records_send": (
        "prefilling reads your records: send consent: true to allow it for this application",
        "预填会读取您的记录：请发送 consent: true 以允许本次申请使用",
    ),
    "services.service_prefills_field": (
        "service {definition_code} prefills no field",
        "事项 {definition_code} 没有可预填的字段",
    ),
    "services.work_queue_staff_department": (
        "the work queue is for staff of a department",
        "工作队列仅供部门工作人员使用",
    ),
    "services.text_required": (
        "{field} is required",
        "{field} 必填",
    ),
    "services.longer_than_characters": (
        "{field} is longer than {limit} characters",
        "{field} 超过 {limit} 个字符",
    ),
    "services.unknown_step_action_use": (
        "unknown step action {action}; use one of {items}",
        "未知的环节操作 {action}；请使用以下之一：{items}",
    ),
    "services.only_supervisor_may_allow": (
        "only a supervisor may allow another supplement request",
        "只有主管可以允许再次要求补正",
    ),
    "services.step_active": (
        "the step is {status}, not active",
        "环节状态为 {status}，不在办理中",
    ),
    "services.role_does_take_fees": (
        "role {actor_role} does not take fees at the counter",
        "角色 {actor_role} 不在窗口收费",
    ),
    "services.receipt_longer_than_characters": (
        "receipt is longer than 80 characters",
        "收据号超过 80 个字符",
    ),
    "services.items_list_from_things": (
        "items must list from 1 to {limit} things that are missing",
        "items 须列出 1 到 {limit} 项缺少的材料",
    ),
    "services.step_asked_supplement_s": (
        "this step has asked for {supplements_used} supplement(s), its limit; "
        "a supervisor may allow one more",
        "本环节已要求补正 {supplements_used} 次，已达上限；主管可允许再要求一次",
    ),
    "services.send_document_multipart_field": (
        "send the document as multipart field 'file'",
        "请以 multipart 字段“file”提交文件",
    ),
    "services.only_admins_list_closed": (
        "only admins list closed services (include_inactive)",
        "只有管理员可以列出已停办的事项（include_inactive）",
    ),
    "services.role_does_act_applications": (
        "role {actor_role} does not act on applications",
        "角色 {actor_role} 不能办理申请",
    ),
    "services.only_s_staff_may": (
        "only {department}'s staff may do this",
        "只有{department_zh}的工作人员可以这样做",
    ),
}
register(PROBLEMS)
