"""The details of governance's problem answers, in English and Chinese, by code (registered
with the status lines by :mod:`cityloop.domains.governance.messages`)."""

from __future__ import annotations

PROBLEMS: dict[str, tuple[str, str]] = {
    "governance.case_merged_into_itself": (
        "a case cannot be merged into itself",
        "案卷不能合并到自身",
    ),
    "governance.merge_target_missing": (
        "case {target_id} does not exist",
        "案卷 {target_id} 不存在",
    ),
    "governance.unknown_resolution": (
        "unknown resolution {proposed}",
        "未知的结案方式 {proposed}",
    ),
    "governance.resolving_fixed_proof_photo": (
        "resolving as fixed needs a proof photo",
        "以“已修复”反馈需要附上处置照片",
    ),
    "governance.resolution_choices": (
        "resolution must be one of {items}",
        "resolution 必须是以下之一：{items}",
    ),
    "governance.referred_case_names_outside": (
        "a referred case names the outside body: referred_to",
        "转交结案须写明接收单位：referred_to",
    ),
    "governance.needs_note": (
        "{transition_action} needs a note",
        "{transition_action} 需要填写说明",
    ),
    "governance.needs_department": (
        "{transition_action} needs a department",
        "{transition_action} 需要指定部门",
    ),
    "governance.merge_merge_into_case": (
        "merge needs merge_into: the case to merge into",
        "合并需要 merge_into：要并入的案卷",
    ),
    "governance.note_public_reason_internal": (
        "the note of {transition_action} is its public reason; it cannot be internal",
        "{transition_action} 的说明是公开理由，不能设为内部",
    ),
    "governance.note_over_characters": (
        "note is over {limit} characters",
        "说明超过 {limit} 个字符",
    ),
    "governance.unknown_action_actions_are": (
        "unknown action {data_action}; actions are {items}",
        "未知操作 {data_action}；可用操作为 {items}",
    ),
    "governance.may_case": (
        "a {actor_role} may not {data_action} a case",
        "{actor_role} 无权对案卷执行 {data_action}",
    ),
    "governance.case_department": (
        "case {case_id} is not with your department",
        "案卷 {case_id} 不属于您的部门",
    ),
    "governance.illegal_transition": (
        "cannot {data_action} a case that is {case_status}",
        "案卷当前状态为 {case_status}，不能执行 {data_action}",
    ),
    "governance.actionable_close_gives_reason": (
        "a not-actionable close gives its reason as the note",
        "以“无法处理”结案须在说明中写明理由",
    ),
    "governance.actionable_close_states_reason": (
        "a not-actionable close states its reason publicly",
        "以“无法处理”结案须公开说明理由",
    ),
    "governance.duplicate_close_names_other": (
        "a duplicate close names the other case: merge_into",
        "以“重复”结案须指明另一案卷：merge_into",
    ),
    "governance.category_required": (
        "a category is required",
        "必须选择类别",
    ),
    "governance.unknown_category": (
        "unknown category {code}",
        "未知类别 {code}",
    ),
    "governance.too_long": (
        "{code} is too long",
        "{code} 过长",
    ),
    "governance.not_a_choice": (
        "{bad} is not a value of {code}",
        "{bad} 不是 {code} 的可选值",
    ),
    "governance.not_the_choice": (
        "{value} is not a value of {code}",
        "{value} 不是 {code} 的可选值",
    ),
    "governance.finite_number": (
        "{code} must be a finite number",
        "{code} 必须是有限数值",
    ),
    "governance.category_attribute": (
        "category {category_code} has no attribute {code}",
        "类别 {category_code} 没有属性 {code}",
    ),
    "governance.attribute_required": (
        "attribute {code} is required",
        "属性 {code} 必填",
    ),
    "governance.iso_datetime": (
        "{code} must be an ISO 8601 datetime",
        "{code} 必须是 ISO 8601 日期时间",
    ),
    "governance.only_reporter_supporter_case": (
        "only a reporter or supporter of this case may do this",
        "只有该案卷的上报人或附议人可以这样做",
    ),
    "governance.case_rated_once_closed": (
        "a case is rated once it is closed",
        "案卷结案后才能评价",
    ),
    "governance.stars_range": (
        "stars must be 1 to 5",
        "评分须为 1 到 5 星",
    ),
    "governance.rating_window_case_passed": (
        "the rating window for this case has passed",
        "该案卷的评价期限已过",
    ),
    "governance.only_closed_case_disputed": (
        "only a closed case can be disputed",
        "只有已结案的案卷可以提出异议",
    ),
    "governance.dispute_window_h_after": (
        "the dispute window ({window_hours} h after close) has passed",
        "异议期限（结案后 {window_hours} 小时）已过",
    ),
    "governance.say_what_still_wrong": (
        "say what is still wrong",
        "请说明仍存在什么问题",
    ),
    "governance.purpose_choices": (
        "purpose must be one of {items}, not {purpose}",
        "purpose 必须是以下之一：{items}，而不是 {purpose}",
    ),
    "governance.report_left_contact_details": (
        "report {report_id} left no contact details",
        "上报 {report_id} 未留联系方式",
    ),
    "governance.give_both_lat_long": (
        "give both lat and long, or an address",
        "请同时提供纬度和经度，或提供地址",
    ),
    "governance.lat_within_long_within": (
        "lat must be within ±90 and long within ±180",
        "纬度须在 ±90 以内，经度须在 ±180 以内",
    ),
    "governance.outside_city": (
        "the point ({lat}, {lon}) is outside the city's jurisdictions",
        "位置（{lat}, {lon}）不在本市辖区内",
    ),
    "governance.unknown_channel": (
        "unknown channel {channel}",
        "未知渠道 {channel}",
    ),
    "governance.description_over_characters": (
        "description is over {limit} characters",
        "描述超过 {limit} 个字符",
    ),
    "governance.priority_choices": (
        "priority must be one of {items}",
        "priority 必须是以下之一：{items}",
    ),
    "governance.location_required_lat_long": (
        "a location is required: lat and long, or an address",
        "必须提供位置：经纬度或地址",
    ),
    "governance.address_was_found_city": (
        "the address {address} was not found in the city; give lat and long",
        "在本市找不到地址 {address}，请提供经纬度",
    ),
    "governance.case_open_report_problem": (
        "case {join_case_id} is not open; report the problem anew",
        "案卷 {join_case_id} 已不在办理中，请重新上报",
    ),
    "governance.unknown_format_use_json": (
        "unknown format .{fmt}; use .json or .xml",
        "未知格式 .{fmt}，请使用 .json 或 .xml",
    ),
    "governance.multipart_body_boundary": (
        "the multipart body has no boundary",
        "multipart 请求体缺少 boundary",
    ),
    "governance.multipart_body_malformed_cut": (
        "the multipart body is malformed or cut short",
        "multipart 请求体格式错误或不完整",
    ),
    "governance.multipart_part_name": (
        "a multipart part has no name",
        "multipart 的某个部分没有名称",
    ),
    "governance.text_field_file": (
        "{field} must be a text field, not a file",
        "{field} 必须是文本字段，不能是文件",
    ),
    "governance.utf_text": (
        "{name} is not UTF-8 text",
        "{name} 不是 UTF-8 文本",
    ),
    "governance.most_form_fields": (
        "at most {max_fields} form fields",
        "表单字段最多 {max_fields} 个",
    ),
    "governance.most_files": (
        "at most {max_files} {file_field} files",
        "{file_field} 文件最多 {max_files} 个",
    ),
    "governance.file_over_bytes": (
        "a {file_field} file is over {max_file_bytes} bytes",
        "{file_field} 文件超过 {max_file_bytes} 字节",
    ),
    "governance.form_s_text_fields": (
        "the form's text fields are over {max_field_bytes} bytes",
        "表单文本字段超过 {max_field_bytes} 字节",
    ),
    "governance.time_zone_such_z": (
        "{name} needs a time zone, such as Z or +08:00",
        "{name} 需要时区，如 Z 或 +08:00",
    ),
    "governance.most_service_request_id": (
        "at most {limit} service_request_id values",
        "service_request_id 最多 {limit} 个",
    ),
    "governance.page_size_range": (
        "page_size must be 1 to {max_page_size}",
        "page_size 须为 1 到 {max_page_size}",
    ),
    "governance.page_starts": (
        "page starts at 1",
        "page 从 1 开始",
    ),
    "governance.status_open_closed": (
        "status must be open or closed, not {status}",
        "status 必须是 open 或 closed，而不是 {status}",
    ),
    "governance.start_date_after_end": (
        "start_date is after end_date",
        "start_date 晚于 end_date",
    ),
    "governance.iso_date_time_such": (
        "{name} must be an ISO 8601 date and time, such as 2024-05-01T00:00:00Z",
        "{name} 必须是 ISO 8601 日期时间，如 2024-05-01T00:00:00Z",
    ),
    "governance.finite_number_2": (
        "{name} must be a finite number",
        "{name} 必须是有限数值",
    ),
    "governance.media_url_http_https": (
        "media_url must be an http or https URL",
        "media_url 必须是 http 或 https 地址",
    ),
    "governance.decimal_number_wgs": (
        "{name} must be a decimal number (WGS84)",
        "{name} 必须是十进制数（WGS84）",
    ),
    "governance.over_characters": (
        "{name} is over {limit} characters",
        "{name} 超过 {limit} 个字符",
    ),
    "governance.email_valid_e_mail": (
        "email is not a valid e-mail address",
        "email 不是有效的电子邮件地址",
    ),
    "governance.send_application_x_www": (
        "send application/x-www-form-urlencoded, or multipart/form-data to attach media",
        "请以 application/x-www-form-urlencoded 提交，附带媒体时用 multipart/form-data",
    ),
    "governance.request_token": (
        "no request has this token",
        "没有与该令牌对应的请求",
    ),
    "governance.api_key_missing_valid": (
        "api_key is missing or not valid",
        "api_key 缺失或无效",
    ),
    "governance.api_key_open_api": (
        "this api_key is not for the Open311 API",
        "该 api_key 不能用于 Open311 API",
    ),
    "governance.service_code_required": (
        "service_code is required",
        "service_code 必填",
    ),
    "governance.service_code_service_city": (
        "service_code {service_code} is not a service of this city; see services.json",
        "service_code {service_code} 不是本市的服务；请查看 services.json",
    ),
    "governance.sort_choices": (
        "sort must be one of {items}",
        "sort 必须是以下之一：{items}",
    ),
    "governance.staff_account": (
        "this needs a staff account",
        "此操作需要工作人员账号",
    ),
    "governance.dispute_queue_supervision_centre": (
        "the dispute queue is for the supervision centre",
        "异议队列仅供监督中心使用",
    ),
    "governance.unknown_status": (
        "unknown status {status}",
        "未知状态 {status}",
    ),
    "governance.start_end_need_time": (
        "start and end need a time zone, e.g. 2026-11-01T00:00:00Z",
        "start 和 end 需要时区，如 2026-11-01T00:00:00Z",
    ),
    "governance.start_before_end": (
        "start must be before end",
        "start 必须早于 end",
    ),
    "governance.needs_resolution": (
        "{transition_action} needs a resolution: {items}",
        "{transition_action} 需要指定结案方式：{items}",
    ),
    # Why an action is not allowed on a case now (the workflow's guards).
    "governance.no_open_dispute": (
        "there is no open dispute on this case",
        "该案卷没有未处理的异议",
    ),
    "governance.reopen_only_on_dispute": (
        "a closed case is reopened only in answer to a citizen's dispute",
        "已结案卷只有在市民提出异议时才能重新打开",
    ),
    "governance.already_with_department": (
        "the case is already with {department}",
        "该案卷已在 {department} 办理",
    ),
    "governance.report_already_public": (
        "the case's report is already public",
        "该案卷的上报内容已公开",
    ),
    "governance.merge_target_not_open": (
        "case {case} is {status}; merge into an open case",
        "案卷 {case} 的状态为 {status}；只能合并到未结案卷",
    ),
    "governance.not_assigned": ("the case is not assigned to anyone", "该案卷尚未指派给任何人"),
    "governance.already_assigned_there": (
        "the case is already assigned there",
        "该案卷已指派给该人员或班组",
    ),
    # Assignment, my work and the workload view.
    "governance.one_assignee": (
        "{transition_action} names one worker (assignee_user_id) or one crew (assignee_crew_id)",
        "{transition_action} 须指定一名作业人员（assignee_user_id）或一个班组（assignee_crew_id）",
    ),
    "governance.my_work_roles": (
        "my work is for a department's handlers and field workers",
        "“我的工作”仅供部门处置人员和外勤作业人员使用",
    ),
    "governance.own_workload_only": (
        "a handler sees only their own department's workload",
        "处置人员只能查看本部门的工作量",
    ),
    "governance.workload_roles": (
        "the workload view is for handlers and city-wide staff",
        "工作量视图仅供处置人员和全市工作人员使用",
    ),
    "governance.name_the_department": ("name the department", "请指定部门"),
    "governance.no_report_for_code": (
        "no report has this case number and code",
        "没有与该案卷号和查询码对应的上报",
    ),
    # Configuration: categories and routing rules.
    "governance.question_needs_choices": (
        "a {datatype} question needs choices",
        "{datatype} 类型的问题需要选项",
    ),
    "governance.question_has_no_choices": (
        "a {datatype} question has no choices",
        "{datatype} 类型的问题不能有选项",
    ),
    "governance.choice_twice": ("choice {choice} is given twice", "选项 {choice} 重复"),
    "governance.attribute_twice": (
        "attribute {name} {value} is used twice",
        "属性的 {name} {value} 重复使用",
    ),
    "governance.priority_two_targets": (
        "priority {priority} has two targets",
        "优先级 {priority} 有两个时限目标",
    ),
    "governance.response_after_resolution": (
        "the response target must not be later than the resolution target",
        "响应时限不能晚于办结时限",
    ),
    "governance.priority_needs_sla": (
        "the category's priority {priority} needs an SLA target",
        "该类别的优先级 {priority} 需要一个时限目标",
    ),
    "governance.category_exists": ("category {code} exists already", "类别 {code} 已存在"),
    "governance.unknown_district": ("unknown district {code}", "未知的区 {code}"),
    "governance.rule_routes_already": (
        "rule #{rule} already routes category {category} in {where}",
        "规则 #{rule} 已在{where_zh}分派类别 {category}",
    ),
    "governance.blocker_rule": (
        "routing rule #{rule} ({category} in {district})",
        "分派规则 #{rule}（{district_zh}的 {category}）",
    ),
    "governance.blocker_category": (
        "category {code} (its default department)",
        "类别 {code}（其默认部门）",
    ),
    "governance.blocker_cases": ("open cases {cases}", "未结案卷 {cases}"),
    "governance.blocker_cases_more": ("open cases {cases} and more", "未结案卷 {cases} 等"),
}
