"""What the perception platform (devices, telemetry, rules, alarms) tells people, in English
and Chinese, by message code (registered with the base's message catalogue). NGSI-LD keeps its
own error format and English details."""

from __future__ import annotations

from cityloop.base.messages import Message, register

__all__ = ["PROBLEMS", "Message"]

# The details of this package's problem answers, by code.
PROBLEMS: dict[str, tuple[str, str]] = {
    "perception.illegal_alarm_transition": (
        "alarm {alarm_id} is {alarm_status}; it cannot be {action}ed",
        "告警 {alarm_id} 的状态为 {alarm_status}，不能执行 {action}",
    ),
    "perception.status_choices": (
        "status must be one of {items}",
        "status 必须是以下之一：{items}",
    ),
    "perception.severity_choices": (
        "severity must be one of {items}",
        "severity 必须是以下之一：{items}",
    ),
    "perception.since_until_need_time": (
        "since and until need a time zone",
        "since 和 until 需要时区",
    ),
    "perception.since_before_until": (
        "since must be before until",
        "since 必须早于 until",
    ),
    "perception.ask_most_days_once": (
        "ask for at most {days} days at once",
        "一次最多查询 {days} 天",
    ),
    "perception.kind_choices": (
        "kind must be one of {items}",
        "kind 必须是以下之一：{items}",
    ),
    "perception.definition_object": (
        "definition must be an object",
        "definition 必须是对象",
    ),
    "perception.name_characters": (
        "name must be 1-200 characters",
        "名称须为 1 到 200 个字符",
    ),
    "perception.give_exactly_profile_code": (
        "give exactly one of profile_code and entity_type",
        "profile_code 和 entity_type 须且只能提供一个",
    ),
    "perception.profile_code_device_profile": (
        "profile_code is not a device profile code",
        "profile_code 不是设备档案代码",
    ),
    "perception.entity_type_type_name": (
        "entity_type must be a type name such as ManholeCover",
        "entity_type 必须是类型名，如 ManholeCover",
    ),
    "perception.alarm_type_capitals_digits": (
        "alarm_type must be 1-60 capitals, digits or '_', such as MANHOLE_OPEN",
        "alarm_type 须为 1 到 60 个大写字母、数字或“_”，如 MANHOLE_OPEN",
    ),
    "perception.case_attributes_object": (
        "case_attributes must be an object",
        "case_attributes 必须是对象",
    ),
    "perception.case_domain_installed_file": (
        "no case domain is installed to file cases",
        "未安装可立案的案卷业务",
    ),
    "perception.case_attributes_need_category": (
        "case_attributes need a category_code",
        "case_attributes 需要 category_code",
    ),
    "perception.codec_config_object": (
        "codec_config must be an object",
        "codec_config 必须是对象",
    ),
    "perception.code_letters_digits": (
        "code must be 1-60 letters, digits, '.', '_' or '-'",
        "code 须为 1 到 60 个字母、数字、“.”、“_”或“-”",
    ),
    "perception.device_profile_exists": (
        "device profile {code} exists",
        "设备档案 {code} 已存在",
    ),
    "perception.name_longer_than_characters": (
        "name is longer than {limit} characters",
        "名称超过 {limit} 个字符",
    ),
    "perception.apikey_printable_characters_without": (
        "apikey must be {min_length} to {max_length} printable characters without spaces",
        "apikey 须为 {min_length} 到 {max_length} 个不含空格的可打印字符",
    ),
    "perception.resource_path_such_iot": (
        "resource must be a path such as /iot/d",
        "resource 必须是路径，如 /iot/d",
    ),
    "perception.device_profile": (
        "no device profile {profile_code}",
        "没有设备档案 {profile_code}",
    ),
    "perception.provisioning_group_apikey_exists": (
        "a provisioning group with this apikey exists",
        "已存在使用该 apikey 的接入组",
    ),
    "perception.lie_within": (
        "{name} must lie within ±{limit}",
        "{name} 须在 ±{limit} 以内",
    ),
    "perception.device_id_letters_digits": (
        "device_id must be 1-100 letters, digits, '.', '_', ':' or '-'",
        "device_id 须为 1 到 100 个字母、数字、“.”、“_”、“:”或“-”",
    ),
    "perception.name_device_s_group": (
        "name the device's group by group_id or apikey",
        "请用 group_id 或 apikey 指明设备所属的接入组",
    ),
    "perception.give_both_lat_lon": (
        "give both lat and lon, or neither",
        "请同时提供 lat 和 lon，或都不提供",
    ),
    "perception.attributes_object": (
        "attributes must be an object",
        "attributes 必须是对象",
    ),
    "perception.device_exists": (
        "device {device_id} exists",
        "设备 {device_id} 已存在",
    ),
    "perception.csv_empty": (
        "the CSV is empty",
        "CSV 为空",
    ),
    "perception.file_csv_text": (
        "the file is not CSV text",
        "该文件不是 CSV 文本",
    ),
    "perception.csv_header_but_rows": (
        "the CSV has a header but no rows",
        "CSV 只有表头，没有数据行",
    ),
    "perception.number_got": (
        "{name} must be a number, got {value}",
        "{name} 必须是数字，实际为 {value}",
    ),
    "perception.provisioning_group": (
        "no provisioning group {group_id}",
        "没有接入组 {group_id}",
    ),
    "perception.csv_read": (
        "the CSV cannot be read: {exc}",
        "无法读取 CSV：{exc}",
    ),
    "perception.csv_more_than_rows": (
        "the CSV has more than {limit} rows",
        "CSV 超过 {limit} 行",
    ),
    "perception.provisioning_group_apikey": (
        "no provisioning group has this apikey",
        "没有使用该 apikey 的接入组",
    ),
    "perception.csv_read_line": (
        "the CSV cannot be read at line {line_num}: {exc}",
        "无法读取 CSV 第 {line_num} 行：{exc}",
    ),
    "perception.date_from": (
        "{name} must be a date from {min_year} to {max_year}",
        "{name} 必须是 {min_year} 到 {max_year} 年之间的日期",
    ),
    "perception.csv_over_bytes": (
        "the CSV is over {limit} bytes",
        "CSV 超过 {limit} 字节",
    ),
    "perception.csv_utf_text": (
        "the CSV must be UTF-8 text",
        "CSV 必须是 UTF-8 文本",
    ),
    "perception.send_csv_multipart_field": (
        "send the CSV as multipart field 'file'",
        "请以 multipart 字段“file”提交 CSV",
    ),
    "perception.measure_most_bytes": (
        "a measure is at most {limit} bytes",
        "一条测量数据最多 {limit} 字节",
    ),
    "perception.csv_header": (
        "the CSV header must name the columns {columns}; missing: {missing}; unknown: {unknown}",
        "CSV 表头须列出以下列：{columns}；缺少：{missing}；未知：{unknown}",
    ),
    # An alarm rule's definition.
    "perception.rule.required": ("{name} is required", "{name} 为必填项"),
    "perception.rule.not_a_number": (
        "{name} must be a finite number, got {given}",
        "{name} 必须是有限的数字，收到的是 {given}",
    ),
    "perception.rule.attribute": (
        "attribute must name a reading attribute (1-200 characters)",
        "attribute 须为读数的属性名（1 到 200 个字符）",
    ),
    "perception.rule.unknown_key": (
        "unknown key {key}; this kind takes {keys}",
        "未知的键 {key}；此类规则只接受：{keys}",
    ),
    "perception.rule.op_choices": ("op must be one of {items}", "op 必须是以下之一：{items}"),
    "perception.rule.clear_above": (
        "clear must not be above value for op {op}",
        "op 为 {op} 时，clear 不能高于 value",
    ),
    "perception.rule.clear_below": (
        "clear must not be below value for op {op}",
        "op 为 {op} 时，clear 不能低于 value",
    ),
    "perception.rule.values_list": (
        "values must be a list of 1-{limit} values",
        "values 须为包含 1 到 {limit} 个值的列表",
    ),
    "perception.rule.value_kind": (
        "values must be strings, numbers or booleans, got {given}",
        "values 只能是字符串、数字或布尔值，收到的是 {given}",
    ),
    "perception.rule.seconds_range": (
        "seconds must be a whole number from {low} to {high}",
        "seconds 须为 {low} 到 {high} 之间的整数",
    ),
    "perception.rule.inside": (
        "inside must be true (alarm inside) or false (alarm outside)",
        "inside 须为 true（在区域内告警）或 false（在区域外告警）",
    ),
    "perception.rule.polygon_type": (
        "polygon must be a GeoJSON Polygon or MultiPolygon geometry",
        "polygon 须为 GeoJSON 的 Polygon 或 MultiPolygon 几何",
    ),
    "perception.rule.polygon_points": (
        "polygon has more than {limit} points",
        "polygon 的点数超过 {limit} 个",
    ),
    "perception.rule.polygon_invalid": (
        "polygon is not a valid GeoJSON geometry: {reason}",
        "polygon 不是有效的 GeoJSON 几何：{reason}",
    ),
    "perception.rule.polygon_empty": (
        "polygon is empty or not valid (self-intersecting?)",
        "polygon 为空或无效（是否自相交？）",
    ),
    "perception.rule.polygon_degrees": (
        "polygon coordinates must be [longitude, latitude] in degrees",
        "polygon 的坐标须为以度表示的 [经度, 纬度]",
    ),
    # The device list's filters, the alarm list's period and an import's row errors.
    "perception.state_choices": ("state must be one of {states}", "state 必须是以下之一：{states}"),
    "perception.text_too_long": (
        "q is longer than {limit} characters",
        "q 不能超过 {limit} 个字符",
    ),
    "perception.no_district": ("no district {code}", "没有 {code} 这个区"),
    "perception.until_after_since": ("until must be after since", "until 必须晚于 since"),
    "perception.rule_ids": (
        "rule is up to {limit} alarm rule ids separated by commas, e.g. 3,7",
        "rule 为最多 {limit} 个以逗号分隔的告警规则编号，如 3,7",
    ),
    "perception.csv_row_values": (
        "expected {expected} values, got {given}",
        "应有 {expected} 个值，实际为 {given} 个",
    ),
}
register(PROBLEMS)
