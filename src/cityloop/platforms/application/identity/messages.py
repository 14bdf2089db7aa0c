"""Texts identity sends to people, in English and Chinese, by message code: the SMS it sends,
and the details of its problem answers (registered with the base's message catalogue)."""

from __future__ import annotations

from cityloop.base.messages import Message, register

__all__ = ["PROBLEMS", "TEMPLATES", "Message", "both", "render"]

# The details of identity's problem answers; sign-in first, as people meet them most.
PROBLEMS: dict[str, tuple[str, str]] = {
    "identity.password_change_first": (
        "choose a new password first: POST /api/v1/me/password",
        "请先设置新密码：POST /api/v1/me/password",
    ),
    "identity.totp_enrolment_first": (
        "enrol a second factor first: POST /api/v1/me/totp",
        "请先绑定第二重验证（动态口令）：POST /api/v1/me/totp",
    ),
    # Positions reported by field workers' devices (positions.py).
    "identity.position_field_roles": (
        "only field workers and grid inspectors report a position",
        "只有一线作业员和网格员上报位置",
    ),
    "identity.position_needs_time_zone": (
        "at needs a time zone, e.g. 2026-12-06T09:00:00Z",
        "at 需要时区，如 2026-12-06T09:00:00Z",
    ),
    "identity.position_in_future": (
        "at lies in the future; check the device's clock",
        "at 晚于当前时间；请检查设备时钟",
    ),
    "identity.invalid_credentials": ("wrong username or password", "用户名或密码错误"),
    "identity.invalid_credentials_or_code": (
        "wrong username, password or code",
        "用户名、密码或动态口令错误",
    ),
    "identity.login_throttled": (
        "too many failed sign-in attempts; try again in {seconds} s",
        "登录失败次数过多，请 {seconds} 秒后再试",
    ),
    "identity.sign_in_first": (
        "sign in first: send 'Authorization: Bearer <token>' from POST /api/v1/auth/token",
        "请先登录：携带 POST /api/v1/auth/token 返回的 'Authorization: Bearer <token>'",
    ),
    "identity.token_invalid": (
        "the access token is invalid or expired",
        "访问令牌无效或已过期，请重新登录",
    ),
    "identity.account_deactivated": ("the account is deactivated", "该账号已停用"),
    "identity.staff_only": ("this needs a staff account", "此操作需要工作人员账号"),
    "identity.role_not_allowed": (
        "role {role} may not do this; it needs one of {roles}",
        "角色 {role} 无权执行此操作；需要以下角色之一：{roles}",
    ),
    "identity.unknown_department": ("unknown department {code}", "未知部门 {code}"),
    "identity.bad_username": (
        "username must be 2-80 characters of a-z, 0-9, '.', '_' or '-'",
        "用户名须为 2 到 80 个字符，只能包含 a-z、0-9、“.”、“_”或“-”",
    ),
    "identity.unknown_role": ("unknown role {role}", "未知角色 {role}"),
    "identity.password_too_short": ("password is too short", "密码太短"),
    "identity.needs_department": ("a {role} belongs to a department", "{role} 必须属于某个部门"),
    "identity.username_taken": ("username {username} is taken", "用户名 {username} 已被使用"),
    "identity.own_account": (
        "you cannot deactivate your own account",
        "不能停用自己的账号",
    ),
    "identity.bad_scopes": ("scopes must be some of {scopes}", "scopes 只能取以下值：{scopes}"),
    "identity.bad_key_name": ("name must be 1 to 200 characters", "名称须为 1 到 200 个字符"),
    "identity.number_length": (
        "{what} must be 18 characters long",
        "{what_zh}必须是 18 位",
    ),
    "identity.number_format": (
        "{what} has characters that cannot be in it",
        "{what_zh}含有不允许的字符",
    ),
    "identity.number_checksum": (
        "{what} fails its check character: a character is mistyped",
        "{what_zh}校验位不符：有字符输错了",
    ),
    "identity.number_meaningless": (
        "{what} names no real birth date or region",
        "{what_zh}中的出生日期或地区码不存在",
    ),
    "identity.born_in_future": (
        "the identity number names a birth date in the future",
        "身份证号中的出生日期在未来",
    ),
    "identity.bad_enterprise_status": (
        "status must be one of {statuses}",
        "status 必须是以下之一：{statuses}",
    ),
    "identity.negative_capital": (
        "registered capital cannot be negative",
        "注册资本不能为负数",
    ),
    "identity.not_for_enterprise": (
        "you may not act for enterprise {uscc}: only its legal representative "
        "(at real-name level 2) and the agents they authorise may",
        "您无权代表企业 {uscc} 办理：只有其法定代表人（实名二级）及其授权的经办人可以",
    ),
    "identity.only_legal_rep": (
        "only the legal representative of {uscc} (at real-name level 2) manages its agents",
        "只有 {uscc} 的法定代表人（实名二级）可以管理经办人",
    ),
    "identity.agent_is_self": (
        "you act for your enterprise already; grant another account",
        "您已可代表本企业办理，请授权其他账号",
    ),
    "identity.not_active_citizen": (
        "{username} is not an active citizen account",
        "{username} 不是有效的市民账号",
    ),
    "identity.already_agent": (
        "{username} is already an agent of {uscc}",
        "{username} 已是 {uscc} 的经办人",
    ),
    "identity.grant_already_revoked": (
        "grant {grant} was already revoked",
        "授权 {grant} 已被撤销",
    ),
    "identity.needs_level": (
        "this service needs real-name level {level}: {how}",
        "此事项需要实名认证 {level} 级：{how_zh}",
    ),
    "identity.level_how_2": (
        "verify your identity number and phone",
        "请核验身份证号和手机号",
    ),
    "identity.level_how_3": (
        "have your identity document checked at a service counter",
        "请到服务窗口核验身份证件",
    ),
    "identity.level_how": ("raise your real-name level", "请提升实名认证级别"),
    "identity.citizens_only": (
        "real-name levels are for citizen accounts",
        "实名认证级别仅适用于市民账号",
    ),
    "identity.legal_name_empty": ("legal_name is empty", "legal_name 不能为空"),
    "identity.identity_locked": (
        "your identity is already verified; a service counter can correct it",
        "您的身份已核验；如需更正请到服务窗口办理",
    ),
    "identity.id_number_taken": (
        "this identity number belongs to another account; a service counter can help",
        "该身份证号已属于另一个账号；服务窗口可以协助处理",
    ),
    "identity.bad_phone": (
        "phone must be a phone number of 6 to 20 digits",
        "手机号须为 6 到 20 位数字",
    ),
    "identity.phone_missing": ("give the phone number to verify", "请填写要核验的手机号"),
    "identity.code_throttled": (
        "a code was sent a moment ago; ask again in {seconds} s",
        "验证码刚刚已发送，请 {seconds} 秒后再试",
    ),
    "identity.code_wrong": (
        "the code is wrong; {tries} tries left",
        "验证码错误，还可尝试 {tries} 次",
    ),
    "identity.code_expired": (
        "the code has expired; ask for a new one",
        "验证码已过期，请重新获取",
    ),
    "identity.code_exhausted": (
        "too many wrong codes; ask for a new one",
        "验证码错误次数过多，请重新获取",
    ),
    "identity.no_code": ("no code is waiting; ask for one first", "没有待验证的验证码，请先获取"),
    "identity.counter_only": (
        "only counter clerks verify people in person",
        "只有窗口工作人员可以现场核验身份",
    ),
    "identity.not_citizen": ("{username} is not a citizen account", "{username} 不是市民账号"),
    "identity.not_a_district": (
        "{code} is not a district of this city",
        "{code} 不是本市的区",
    ),
    "identity.address_without_district": (
        "give the document's address together with its district",
        "证件地址须与所在区一同填写",
    ),
    "identity.document_mismatch": (
        "the document's number does not match the one this account gave",
        "证件号码与该账号填写的不一致",
    ),
    "identity.bad_level": ("level must be 1, 2 or 3", "level 必须是 1、2 或 3"),
    "identity.needs_level_2": (
        "{username} has not reached real-name level 2 (identity number and phone)",
        "{username} 尚未达到实名二级（身份证号和手机号）",
    ),
    # Account administration, the second factor, crews and versioned configuration.
    "identity.old_password_wrong": ("the old password is wrong", "原密码错误"),
    "identity.not_editable": ("{field} cannot be changed here", "{field} 不能在此修改"),
    "identity.citizen_staff_switch": (
        "a citizen account cannot become staff, nor the reverse",
        "市民账号不能改为工作人员账号，反之亦然",
    ),
    "identity.display_name_empty": ("the display name cannot be empty", "显示名称不能为空"),
    "identity.reset_staff_only": (
        "only a staff account's password is reset here",
        "此处只能重置工作人员账号的密码",
    ),
    "identity.same_password": (
        "the new password must differ from the old one",
        "新密码不能与原密码相同",
    ),
    "identity.audit_needs_time_zone": (
        "give a time zone (2026-12-01T00:00:00+08:00)",
        "请带上时区（如 2026-12-01T00:00:00+08:00）",
    ),
    "identity.audit_to_before_from": (
        "'to' must be later than 'from'",
        "“to”必须晚于“from”",
    ),
    "identity.own_department_workers": (
        "you see only your own department's workers",
        "您只能查看本部门的作业人员",
    ),
    "identity.own_department_crews": (
        "you see only your own department's crews",
        "您只能查看本部门的班组",
    ),
    "identity.crews_own_department_only": (
        "a handler manages only their own department's crews",
        "处置人员只能管理本部门的班组",
    ),
    "identity.crews_managers": (
        "crews are managed by an admin or the department's handler",
        "班组由管理员或本部门的处置人员管理",
    ),
    "identity.crews_readers": (
        "crews are for city-wide staff and the department's own staff",
        "班组仅供全市工作人员和本部门工作人员查看",
    ),
    "identity.crew_name_length": (
        "name must be 1 to {max} characters",
        "名称须为 1 到 {max} 个字符",
    ),
    "identity.not_active_worker": (
        "user {user} is not an active worker of {department}",
        "用户 {user} 不是 {department} 的在岗作业人员",
    ),
    "identity.not_active_crew": (
        "crew {crew} is not an active crew of {department}",
        "班组 {crew} 不是 {department} 的在用班组",
    ),
    "identity.crew_name_taken": (
        "{department} already has a crew named {name}",
        "{department} 已有名为 {name} 的班组",
    ),
    "identity.no_such_account": ("no account is named {username}", "没有名为 {username} 的账号"),
    "identity.department_exists": ("department {code} exists already", "部门 {code} 已存在"),
    "identity.department_in_use": (
        "department {code} is still in use: {blockers}",
        "部门 {code} 仍在使用中：{blockers_zh}",
    ),
    "identity.blocker_account": ("active account {username}", "在用账号 {username}"),
    "identity.blocker": ("{what}", "{what_zh}"),
    "identity.second_factor_required": (
        "enter the code from your authenticator app (or a recovery code)",
        "请输入身份验证器应用中的动态口令（或一个恢复码）",
    ),
    "identity.own_admin_rights": (
        "you cannot take admin rights away from your own account",
        "不能取消自己账号的管理员权限",
    ),
    "identity.last_admin": (
        "the city must keep at least one active admin",
        "全市必须至少保留一个在用的管理员",
    ),
    "identity.totp_code_wrong": (
        "the code is wrong or was used already",
        "动态口令错误或已被使用",
    ),
    "identity.totp_staff_only": (
        "the second factor is for staff accounts",
        "第二重验证仅适用于工作人员账号",
    ),
    "identity.totp_enabled": (
        "this account already has a second factor",
        "该账号已启用第二重验证",
    ),
    "identity.totp_no_enrolment": ("start the enrolment first", "请先开始绑定"),
    "identity.totp_not_enabled": (
        "this account has no second factor",
        "该账号未启用第二重验证",
    ),
    "identity.totp_required": (
        "a {role} account must keep its second factor",
        "{role} 账号必须保留第二重验证",
    ),
    "identity.bad_if_match": (
        "If-Match must be a version number",
        "If-Match 必须是版本号",
    ),
    "identity.version_required": (
        "say which version of {kind} {key} you edited: a version field or If-Match",
        "请说明您编辑的是{kind_zh} {key} 的哪个版本：填写 version 字段或 If-Match",
    ),
    "identity.stale_version": (
        "{kind} {key} is at version {current}, not {given}: someone changed it; reload",
        "{kind_zh} {key} 当前为第 {current} 版而不是第 {given} 版：已被他人修改，请刷新",
    ),
}

# The numbers identity checks, as a message names them.
NUMBER_NAMES: dict[str, tuple[str, str]] = {
    "id_number": ("the identity number", "身份证号"),
    "uscc": ("the unified social credit code", "统一社会信用代码"),
}

TEMPLATES: dict[str, tuple[str, str]] = {
    "phone_code": (
        "CityLoop: your verification code is {code}. It is valid for {minutes} minutes; "
        "nobody from the city will ask you for it.",
        "【CityLoop】您的验证码是 {code}，{minutes} 分钟内有效。请勿告诉他人。",
    ),
}

register({f"identity.{code}": pair for code, pair in TEMPLATES.items()})
register(PROBLEMS)


def render(message: str, locale: str = "en", **params: object) -> str:
    """The text of a message code in one language (zh… for Chinese, else English)."""
    english, chinese = TEMPLATES[message]
    return (chinese if locale.startswith("zh") else english).format(**params)


def both(message: str, **params: object) -> str:
    """The Chinese and the English text on two lines, for a channel with no reader language
    (an SMS goes to a phone, and an account keeps no language preference)."""
    return f"{render(message, 'zh-CN', **params)}\n{render(message, 'en', **params)}"
