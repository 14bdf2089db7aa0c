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


# The details of this package's problem answers, by code.
PROBLEMS: dict[str, tuple[str, str]] = {
    "sharing.district_city": (
        "{district} is not a district of this city",
        "{district} 不是本市的区",
    ),
    "sharing.dataset_marks_subject_column": (
        "dataset {name} marks no subject column: its owner must mark one before it is read",
        "数据集 {name} 未标注数据主体列：其所有部门须先标注后才能读取",
    ),
    "sharing.lookup_answers_answers": (
        "lookup {name} answers no {unknown}; it answers {list}",
        "查询 {name} 不提供 {unknown}；它提供 {list}",
    ),
    "sharing.only_handlers_which_owns": (
        "only handlers of {owner_department}, which owns the data, decide grant #{grant_id}",
        "只有数据所有部门 {owner_department} 的经办人可以审批授权 #{grant_id}",
    ),
    "sharing.grant_between_other_departments": (
        "grant #{grant_id} is between other departments",
        "授权 #{grant_id} 属于其他部门之间",
    ),
    "sharing.text_required": (
        "{field} is required: {what}",
        "{field} 必填：{what_zh}",
    ),
    "sharing.may_most_characters": (
        "{field} may be at most {limit} characters",
        "{field} 最多 {limit} 个字符",
    ),
    "sharing.unknown_department": (
        "there is no department {code}",
        "没有部门 {code}",
    ),
    "sharing.department_s_handler_requests": (
        "a department's handler requests grants for it",
        "由部门的经办人为本部门申请授权",
    ),
    "sharing.name_department_grant": (
        "name the department the grant is for",
        "请指明授权给哪个部门",
    ),
    "sharing.dataset_open_anyone_may": (
        "dataset {name} is open: anyone may read it, there is nothing to grant",
        "数据集 {name} 是开放数据：任何人都可读取，无需授权",
    ),
    "sharing.department_owns_grant_read": (
        "department {department} owns {kind} {name}: it needs no grant to read it",
        "部门 {department} 拥有 {kind} {name}：读取无需授权",
    ),
    "sharing.belongs_department_which_city": (
        "{kind} {name} belongs to department {owner}, which this city does not have",
        "{kind} {name} 属于部门 {owner}，但本市没有该部门",
    ),
    "sharing.unknown_fields": (
        "{kind} {name} has no fields {unknown}; it has {list}",
        "{kind} {name} 没有字段 {unknown}；可用字段为 {list}",
    ),
    "sharing.grant_already_waiting": (
        "grant #{pending_id} for {kind} {name} is already waiting for {owner}",
        "{kind} {name} 的授权申请 #{pending_id} 已在等待 {owner} 审批",
    ),
    "sharing.row_filter_give_values": (
        "row_filter.{name}: give 1 to {limit} values",
        "row_filter.{name}：请提供 1 到 {limit} 个值",
    ),
    "sharing.choose_least_field_grant": (
        "choose at least one field the grant allows",
        "请至少选择一个授权字段",
    ),
    "sharing.unknown_fields_2": (
        "{kind} {target_name} has no fields {unknown}; it has {list}",
        "{kind} {target_name} 没有字段 {unknown}；可用字段为 {list}",
    ),
    "sharing.expires_time_zone_e": (
        "expires_at needs a time zone (e.g. +08:00 or Z)",
        "expires_at 需要时区（如 +08:00 或 Z）",
    ),
    "sharing.expires_future": (
        "expires_at must be in the future",
        "expires_at 必须在将来",
    ),
    "sharing.expires_may_most_years": (
        "expires_at may be at most {limit} years ahead: "
        "renew a grant rather than give it for longer",
        "expires_at 最多为 {limit} 年后：请续期授权，而不是一次授权更久",
    ),
    "sharing.note_may_most_characters": (
        "note may be at most {limit} characters",
        "备注最多 {limit} 个字符",
    ),
    "sharing.view_choices": (
        "view must be one of {list}",
        "view 必须是以下之一：{list}",
    ),
    "sharing.status_choices": (
        "status must be one of {list}",
        "status 必须是以下之一：{list}",
    ),
    "sharing.act_department": (
        "you act for department {department_code}, not {department}",
        "您代表部门 {department_code}，而不是 {department}",
    ),
    "sharing.row_filter_value_field": (
        "row_filter.{name}: {item} is not a value of a {kind} field",
        "row_filter.{name}：{item} 不是 {kind} 字段的取值",
    ),
    "sharing.row_filter_unknown": (
        "row_filter: {kind} {target_name} has no {what} {name}; it has {list}",
        "row_filter：{kind} {target_name} 没有{what_zh} {name}；可用的有 {list}",
    ),
    "sharing.grants_belong_departments_yours": (
        "grants belong to departments: yours has none",
        "授权属于部门：您的账号不属于任何部门",
    ),
    "sharing.kind_choices": (
        "kind must be one of {list}",
        "kind 必须是以下之一：{list}",
    ),
    "sharing.dataset_does_exist": (
        "dataset {name} does not exist",
        "数据集 {name} 不存在",
    ),
    "sharing.lookup_does_exist": (
        "lookup {name} does not exist",
        "查询 {name} 不存在",
    ),
    "sharing.there_dataset": (
        "there is no dataset {name}",
        "没有数据集 {name}",
    ),
    "sharing.there_lookup_lookups_are": (
        "there is no lookup {name}; the lookups are {known}",
        "没有查询 {name}；可用的查询为 {known}",
    ),
    "sharing.filters_json_object_field": (
        'filters must be a JSON object: {{"field": value}}',
        'filters 必须是 JSON 对象：{{"field": value}}',
    ),
    "sharing.filters_json": (
        "filters is not JSON: {error}",
        "filters 不是有效的 JSON：{error}",
    ),
    "sharing.sort_field_field_desc": (
        "sort: {part} is not 'field' or 'field desc'",
        "sort：{part} 的格式不是 'field' 或 'field desc'",
    ),
    "sharing.hint_purpose": ("say what the data is for", "请说明数据用途"),
    "sharing.hint_legal_basis": (
        "cite the regulation that allows the use",
        "请引用允许该用途的法规",
    ),
    "sharing.hint_reason": ("tell the requester why", "请告知申请方原因"),
    "sharing.parameters": ("parameters", "参数"),
    "sharing.filterable_fields": ("filterable fields", "可筛选字段"),
    "sharing.illegal_transition": (
        "grant #{grant} is {status}: it cannot be {action}d{allowed}",
        "授权 #{grant} 的状态为 {status}：不能执行 {action}{allowed_zh}",
    ),
    "sharing.allowed_actions": (" (it may be: {actions})", "（可执行：{actions}）"),
    "sharing.unmarked_personal": (
        "dataset {name} cannot be shared yet: {problems}",
        "数据集 {name} 暂不能共享：{problems}",
    ),
}
register(PROBLEMS)
