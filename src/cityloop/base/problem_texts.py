"""The base's own lines for problem answers, in English and Chinese: the title of every problem
type, the things a 404 names, request validation, and the errors the base itself raises."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cityloop.base.messages import Message, register, templates

# The title of each problem type (``Problem.type_``), registered as ``title.<type>``.
TITLES: dict[str, tuple[str, str]] = {
    "already-agent": ("Already an agent", "已是经办人"),
    "already-booked": ("Already booked", "已预约"),
    "already-revoked": ("Already revoked", "已撤销"),
    "bad-checksum": ("Check character wrong", "校验位错误"),
    "bad-phone": ("Invalid phone number", "手机号无效"),
    "code-exhausted": ("Too many wrong codes", "验证码错误次数过多"),
    "code-expired": ("Code expired", "验证码已过期"),
    "invalid-identity-number": ("Invalid identity number", "身份证号无效"),
    "storage-unavailable": ("Storage unavailable", "存储暂不可用"),
    "database-unavailable": ("Database unavailable", "数据库暂不可用"),
    "wrong-code": ("Wrong code", "验证码错误"),
    "wrong-format": ("Wrong format", "格式错误"),
    "wrong-length": ("Wrong length", "长度错误"),
    "already-rated": ("Already rated", "已评价"),
    "application-action-not-allowed": ("Not allowed on this application", "该办件不允许此操作"),
    "code-throttled": ("Too many codes asked for", "验证码请求过于频繁"),
    "concurrent-update": ("Changed by someone else", "已被他人修改"),
    "conflict": ("Conflict", "冲突"),
    "consent-required": ("Consent required", "需要授权同意"),
    "counter-closed": ("Counter closed", "窗口不办理"),
    "dataset-exists": ("Dataset exists", "数据集已存在"),
    "dataset-not-uploadable": ("Dataset not uploadable", "该数据集不能上传"),
    "device-exists": ("Device exists", "设备已存在"),
    "document-active-content": ("Document has active content", "文件含有活动内容"),
    "document-encrypted": ("Document encrypted", "文件已加密"),
    "document-mismatch": ("Document does not match", "文件不符"),
    "document-truncated": ("Document incomplete", "文件不完整"),
    "document-too-large": ("Document too large", "文件过大"),
    "document-type-not-accepted": ("Document type not accepted", "不接受该文件类型"),
    "fee-already-paid": ("Fee already paid", "费用已缴纳"),
    "file-too-large": ("File too large", "文件过大"),
    "forbidden": ("Forbidden", "无权操作"),
    "foreignkey": ("Unknown reference", "引用的对象不存在"),
    "form-too-large": ("Form too large", "表单过大"),
    "front-end-not-built": ("Front end not built", "前端尚未构建"),
    "field-not-granted": ("Field not granted", "字段未获授权"),
    "grant-expired": ("Grant expired", "授权已过期"),
    "grant-pending": ("Grant pending", "授权待审批"),
    "grant-refused": ("Grant refused", "授权未获批准"),
    "grant-revoked": ("Grant revoked", "授权已撤销"),
    "no-department": ("No department", "不属于任何部门"),
    "no-grant": ("No grant", "没有共享授权"),
    "outside-grant": ("Outside the grant", "超出授权范围"),
    "group-exists": ("Group exists", "分组已存在"),
    "http-error": ("HTTP error", "HTTP 错误"),
    "id-number-taken": ("Identity number taken", "身份证号已被使用"),
    "idempotency-key-reused": ("Idempotency key reused", "幂等键已被使用"),
    "identity-locked": ("Identity locked", "实名信息已锁定"),
    "illegal-alarm-transition": ("Not allowed for this alarm", "该告警不允许此操作"),
    "illegal-transition": ("Not allowed in this state", "当前状态不允许此操作"),
    "internal-error": ("Internal error", "内部错误"),
    "invalid-credentials": ("Wrong credentials", "账号或密码错误"),
    "invalid-data": ("Invalid data", "数据无效"),
    "invalid-dataset": ("Invalid dataset", "数据集无效"),
    "invalid-form": ("Invalid form", "表单无效"),
    "invalid-input": ("Invalid input", "输入无效"),
    "invalid-query": ("Invalid query", "查询无效"),
    "invalid-rule": ("Invalid rule", "规则无效"),
    "invalid-service-definition": ("Invalid service definition", "事项定义无效"),
    "invalid-table": ("Invalid table", "表格无效"),
    "invalid-token": ("Invalid token", "令牌无效"),
    "issuer-key-sealed": ("Issuer key sealed", "签发密钥已封存"),
    "licence-revoked": ("Licence revoked", "证照已吊销"),
    "login-throttled": ("Too many sign-in attempts", "登录尝试过于频繁"),
    "materials-missing": ("Materials missing", "材料不齐"),
    "media-empty": ("Empty file", "文件为空"),
    "media-not-an-image": ("Not an image", "不是图片"),
    "media-too-large": ("Media too large", "媒体文件过大"),
    "media-too-many-pixels": ("Image too large", "图片像素过多"),
    "media-truncated": ("Image damaged", "图片已损坏"),
    "media-unsupported-format": ("Unsupported image format", "不支持的图片格式"),
    "method-not-allowed": ("Method not allowed", "不支持该请求方法"),
    "needs-level-2": ("Real-name level 2 needed", "需要二级实名认证"),
    "no-contact": ("No contact details", "无联系方式"),
    "no-fee": ("No fee", "无需缴费"),
    "no-online-payment": ("No online payment", "不支持在线缴费"),
    "no-owner": ("No owner", "无归属部门"),
    "not-a-slot": ("Not a slot", "不是可预约时段"),
    "not-authorised-for-enterprise": ("Not authorised for this enterprise", "未获该企业授权"),
    "not-found": ("Not found", "未找到"),
    "nothing-to-prefill": ("Nothing to prefill", "没有可预填的信息"),
    "open-dataset": ("Open dataset", "开放数据集"),
    "outside-city": ("Outside the city", "不在本市范围内"),
    "own-account": ("Your own account", "不能操作自己的账号"),
    "own-data": ("Your own data", "本部门自有数据"),
    "payload-too-large": ("Request too large", "请求过大"),
    "payment-amount-mismatch": ("Payment amount mismatch", "支付金额不符"),
    "payment-notification-refused": ("Payment notification refused", "支付通知被拒绝"),
    "profile-exists": ("Profile exists", "设备档案已存在"),
    "rate-limited": ("Too many requests", "请求过于频繁"),
    "real-name-level": ("Real-name level too low", "实名认证级别不足"),
    "service-closed": ("Service closed", "事项暂停办理"),
    "slot-full": ("Slot full", "该时段已约满"),
    "slot-in-past": ("Slot in the past", "该时段已过"),
    "step-action-not-allowed": ("Not allowed at this step", "当前环节不允许此操作"),
    "supplement-limit": ("Supplement limit reached", "补正次数已达上限"),
    "too-far-ahead": ("Too far ahead", "预约时间过远"),
    "too-large": ("Too large", "过大"),
    "unauthorized": ("Sign-in needed", "需要登录"),
    "unique": ("Already exists", "已存在"),
    "unknown-category": ("Unknown category", "未知类别"),
    "unknown-dataset": ("Unknown dataset", "未知数据集"),
    "unknown-lookup": ("Unknown lookup", "未知查询"),
    "unmarked-personal-dataset": ("Personal data not marked", "个人数据未标注"),
    "unsupported-media-type": ("Unsupported media type", "不支持的媒体类型"),
    "unsupported-table-format": ("Unsupported table format", "不支持的表格格式"),
    "username-taken": ("Username taken", "用户名已被使用"),
    "window-passed": ("Too late", "已超过期限"),
    "wrong-applicant-kind": ("Wrong kind of applicant", "申请人类型不符"),
    "year-unknown-to-package": ("Year not covered", "不支持该年份"),
    "already-requested": ("Already requested", "已提出请求"),
    "crew-name-taken": ("Crew name taken", "班组名称已被使用"),
    "department-in-use": ("Department in use", "部门仍在使用中"),
    "last-admin": ("Last admin", "最后一个管理员"),
    "no-enrolment": ("No enrolment started", "尚未开始绑定"),
    "not-staff": ("Not a staff account", "不是工作人员账号"),
    "password-change-required": ("Password change required", "需要修改密码"),
    "rule-conflict": ("Rule conflict", "规则冲突"),
    "same-password": ("Same password", "新旧密码相同"),
    "second-factor-required": ("Second factor required", "需要第二重验证"),
    "stale-version": ("Stale version", "版本已过期"),
    "totp-enabled": ("Second factor on", "已启用第二重验证"),
    "totp-not-enabled": ("No second factor", "未启用第二重验证"),
    "totp-required": ("Second factor required", "必须保留第二重验证"),
    "version-required": ("Version required", "需要版本号"),
    "weak-password": ("Weak password", "密码强度不足"),
    "wrong-password": ("Wrong password", "密码错误"),
}

# The things a 404 names (``not_found(what, ident)``), registered as ``thing.<what>``.
THINGS: dict[str, tuple[str, str]] = {
    "API key": ("API key", "API 密钥"),
    "agent grant": ("agent grant", "代办授权"),
    "alarm": ("alarm", "告警"),
    "alarm rule": ("alarm rule", "告警规则"),
    "application": ("application", "办件"),
    "appointment": ("appointment", "预约"),
    "calendar day": ("calendar day", "日历日"),
    "case": ("case", "案卷"),
    "category": ("category", "类别"),
    "counter": ("counter", "窗口"),
    "crew": ("crew", "班组"),
    "crew member": ("crew member", "班组成员"),
    "credential": ("credential", "凭证"),
    "dataset": ("dataset", "数据集"),
    "department": ("department", "部门"),
    "device": ("device", "设备"),
    "device group": ("device group", "设备分组"),
    "device profile": ("device profile", "设备档案"),
    "distribution": ("distribution", "数据分发"),
    "enterprise": ("enterprise", "企业"),
    "grant": ("grant", "共享授权"),
    "issuer": ("issuer", "签发方"),
    "jurisdiction": ("jurisdiction", "辖区"),
    "jurisdiction_id": ("jurisdiction_id", "jurisdiction_id"),
    "licence": ("licence", "证照"),
    "material": ("material", "材料"),
    "media": ("media", "媒体文件"),
    "payment provider": ("payment provider", "支付渠道"),
    "report": ("report", "上报"),
    "routing rule": ("routing rule", "分派规则"),
    "rule": ("rule", "规则"),
    "service": ("service", "事项"),
    "service request": ("service request", "服务请求"),
    "service version": ("service version", "事项版本"),
    "service_code": ("service_code", "service_code"),
    "status list": ("status list", "状态列表"),
    "step": ("step", "环节"),
    "user": ("user", "用户"),
    "vital sign": ("vital sign", "城市体征指标"),
}

# Request validation: pydantic's error types we say in both languages; others fall back to
# ``validation.other`` with pydantic's English words.
VALIDATION: dict[str, tuple[str, str]] = {
    "validation.missing": ("{field}: this field is required", "{field}：此项必填"),
    "validation.too_long": (
        "{field}: at most {max_length} characters or items",
        "{field}：最多 {max_length} 个字符或条目",
    ),
    "validation.too_short": (
        "{field}: at least {min_length} characters or items",
        "{field}：至少 {min_length} 个字符或条目",
    ),
    "validation.number": ("{field}: must be a number", "{field}：必须是数字"),
    "validation.integer": ("{field}: must be a whole number", "{field}：必须是整数"),
    "validation.boolean": ("{field}: must be true or false", "{field}：必须是 true 或 false"),
    "validation.date": (
        "{field}: must be a date (YYYY-MM-DD)",
        "{field}：必须是日期（YYYY-MM-DD）",
    ),
    "validation.datetime": (
        "{field}: must be a date and time (ISO 8601)",
        "{field}：必须是日期时间（ISO 8601）",
    ),
    "validation.choice": ("{field}: must be one of {expected}", "{field}：必须是 {expected} 之一"),
    "validation.pattern": ("{field}: does not have the expected form", "{field}：格式不正确"),
    "validation.greater_than": ("{field}: must be more than {limit}", "{field}：必须大于 {limit}"),
    "validation.at_least": ("{field}: must be at least {limit}", "{field}：不能小于 {limit}"),
    "validation.less_than": ("{field}: must be less than {limit}", "{field}：必须小于 {limit}"),
    "validation.at_most": ("{field}: must be at most {limit}", "{field}：不能大于 {limit}"),
    "validation.json": ("{field}: the body is not valid JSON", "{field}：请求体不是有效的 JSON"),
    "validation.text": ("{field}: must be text", "{field}：必须是文本"),
    "validation.list": ("{field}: must be a list", "{field}：必须是列表"),
    "validation.object": ("{field}: must be an object", "{field}：必须是对象"),
    "validation.extra": ("{field}: this field is not allowed", "{field}：不允许此字段"),
    "validation.other": ("{field}: {reason}", "{field}：取值无效（{reason}）"),
}

BASE: dict[str, tuple[str, str]] = {
    "not_found": ("{what} {ident} does not exist", "{what_zh} {ident} 不存在"),
    "http_error": ("{phrase}", "{phrase_zh}"),
    "concurrent_update": (
        "someone else changed this first; reload",
        "已被他人先行修改，请刷新后重试",
    ),
    "storage_unavailable": (
        "file storage cannot be reached right now; this request changed nothing, try again shortly",
        "文件存储暂时无法访问，本次请求未做任何更改，请稍后重试",
    ),
    "database_unavailable": (
        "the database cannot be reached right now; nothing was acknowledged, try again shortly",
        "数据库暂时无法访问，本次请求未被受理，请稍后重试",
    ),
    "simultaneous_change": (
        "this conflicts with a change made at the same time",
        "与同时进行的另一项修改冲突，请重试",
    ),
    "value_not_storable": (
        "a value in the request cannot be stored",
        "请求中的某个值无法保存",
    ),
    "unexpected_error": (
        "an unexpected error happened; it was logged",
        "发生了意外错误，已记录",
    ),
    "rate_limited": (
        "more than {per_minute} {what} a minute from this client; retry in {seconds} s",
        "该客户端每分钟{what_zh}超过 {per_minute} 次，请 {seconds} 秒后重试",
    ),
    "idempotency_key_invalid": (
        "Idempotency-Key must be 1-{max_length} printable characters",
        "Idempotency-Key 必须是 1 到 {max_length} 个可打印字符",
    ),
    "idempotency_key_reused": (
        "this Idempotency-Key was already used for a different request",
        "该 Idempotency-Key 已用于另一个不同的请求",
    ),
    "body_too_large": (
        "the request body is larger than {limit} bytes",
        "请求体超过 {limit} 字节",
    ),
    "front_end_not_built": (
        "the {name} front end is not built: run `make demo`",
        "{name} 前端尚未构建：请运行 `make demo`",
    ),
}

register({f"title.{slug}": pair for slug, pair in TITLES.items()})
register({f"thing.{what}": pair for what, pair in THINGS.items()})
register(VALIDATION)
register(BASE)


# Starlette's own errors in Chinese, by status; any other reads 请求无法处理.
HTTP_PHRASES_ZH: dict[int, str] = {
    400: "请求无效",
    401: "需要登录",
    403: "无权访问",
    404: "未找到该地址",
    405: "不支持该请求方法",
    413: "请求过大",
    415: "不支持的媒体类型",
}


def http_error(status: int, phrase: str) -> Message:
    """Starlette's error of ``status`` (its English ``phrase``) in both languages."""
    chinese = HTTP_PHRASES_ZH.get(status, f"请求无法处理（HTTP {status}）")
    return Message("http_error", {"phrase": phrase, "phrase_zh": chinese})


def title_of(type_: str, locale: str) -> str:
    """The title of a problem type in ``locale`` (its slug in words when it has none)."""
    code = f"title.{type_}"
    if code in templates():
        return Message(code).render(locale)
    return type_.replace("-", " ").capitalize()


def thing(what: str) -> tuple[str, str]:
    """A thing's English and Chinese names (the English twice when it has no entry)."""
    return THINGS.get(what, (what, what))


# pydantic error type → (our code, how its context gives our parameters)
_KINDS: dict[str, str] = {
    "missing": "validation.missing",
    "string_too_long": "validation.too_long",
    "too_long": "validation.too_long",
    "string_too_short": "validation.too_short",
    "too_short": "validation.too_short",
    "float_parsing": "validation.number",
    "float_type": "validation.number",
    "decimal_parsing": "validation.number",
    "int_parsing": "validation.integer",
    "int_type": "validation.integer",
    "int_from_float": "validation.integer",
    "bool_parsing": "validation.boolean",
    "bool_type": "validation.boolean",
    "date_parsing": "validation.date",
    "date_from_datetime_parsing": "validation.date",
    "date_type": "validation.date",
    "datetime_parsing": "validation.datetime",
    "datetime_from_date_parsing": "validation.datetime",
    "datetime_type": "validation.datetime",
    "literal_error": "validation.choice",
    "enum": "validation.choice",
    "string_pattern_mismatch": "validation.pattern",
    "greater_than": "validation.greater_than",
    "greater_than_equal": "validation.at_least",
    "less_than": "validation.less_than",
    "less_than_equal": "validation.at_most",
    "json_invalid": "validation.json",
    "string_type": "validation.text",
    "list_type": "validation.list",
    "dict_type": "validation.object",
    "model_type": "validation.object",
    "model_attributes_type": "validation.object",
    "extra_forbidden": "validation.extra",
}
_LIMITS = {"gt", "ge", "lt", "le"}


def validation_message(field: str, error: Mapping[str, Any]) -> Message:
    """One pydantic validation error as a message naming ``field``."""
    code = _KINDS.get(str(error.get("type", "")), "validation.other")
    context = error.get("ctx") or {}
    params = {"field": field}
    if code == "validation.other":
        params["reason"] = str(error.get("msg", "invalid value"))
    for key in ("max_length", "min_length", "expected"):
        if key in context:
            params[key] = str(context[key])
    for key in _LIMITS & set(context):
        limit = context[key]
        # 90.0 reads as 90: pydantic keeps a float bound of a float field.
        params["limit"] = (
            str(int(limit)) if isinstance(limit, float) and limit.is_integer() else str(limit)
        )
    # A message whose context lacked a parameter says what pydantic said instead.
    english = templates()[code][0]
    try:
        english.format(**params)
    except KeyError:
        return Message("validation.other", {"field": field, "reason": str(error.get("msg", ""))})
    return Message(code, params)
