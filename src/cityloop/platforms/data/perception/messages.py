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

# Why a codec refuses a payload or a profile's configuration (codecs/): a device owner or an
# admin reads them in an ingest refusal or a profile form.
CODEC_ERRORS: dict[str, tuple[str, str]] = {
    "perception.codec.no_decode": (
        "the codec {name} does not implement decode()",
        "编解码器 {name} 未实现 decode()",
    ),
    "perception.codec.unknown": (
        "no codec named {name} is installed",
        "未安装名为 {name} 的编解码器",
    ),
    "perception.codec.mapping_needs_names": (
        "a mapping needs an object_id and a name",
        "映射需要 object_id 和 name",
    ),
    "perception.codec.mapping_type": (
        "mapping {object_id}: type must be one of {types}",
        "映射 {object_id}：type 必须是以下之一：{types}",
    ),
    "perception.codec.mapping_values": (
        "mapping {object_id}: values must be a non-empty object of text",
        "映射 {object_id}：values 必须是非空的文本对象",
    ),
    "perception.codec.mapping_values_text": (
        "mapping {object_id}: values need type Text",
        "映射 {object_id}：使用 values 时 type 必须为 Text",
    ),
    "perception.codec.mapping_unknown_keys": (
        "unknown mapping keys {keys}",
        "未知的映射字段：{keys}",
    ),
    "perception.codec.mapping_invalid": (
        "invalid mapping {mapping}: {error}",
        "映射 {mapping} 无效：{error}",
    ),
    "perception.codec.mappings_list": ("mappings must be a list", "mappings 必须是列表"),
    "perception.codec.mapping_object": (
        "a mapping must be an object, got {item}",
        "每个映射必须是对象，实际为 {item}",
    ),
    "perception.codec.timestamp_text": (
        "timestamp must be an ISO 8601 string, got {value}",
        "时间戳必须是 ISO 8601 字符串，实际为 {value}",
    ),
    "perception.codec.timestamp_format": (
        "{value} is not an ISO 8601 timestamp",
        "{value} 不是 ISO 8601 时间戳",
    ),
    "perception.codec.not_a_number": (
        "{attribute}: {value} is not a number",
        "{attribute}：{value} 不是数字",
    ),
    "perception.codec.not_finite": (
        "{attribute}: {value} is not a finite number",
        "{attribute}：{value} 不是有限数值",
    ),
    "perception.codec.not_boolean": (
        "{attribute}: {value} is not a boolean",
        "{attribute}：{value} 不是布尔值",
    ),
    "perception.codec.expression_failed": (
        "{attribute}: {error}",
        "属性 {attribute}：{error_zh}",
    ),
    "perception.codec.not_a_choice": (
        "{attribute}: {value} is not one of {choices}",
        "{attribute}：{value} 不在可选值 {choices} 之中",
    ),
    "perception.codec.below_minimum": (
        "{attribute}={value} is below the minimum {minimum}",
        "{attribute}={value} 低于最小值 {minimum}",
    ),
    "perception.codec.above_maximum": (
        "{attribute}={value} is above the maximum {maximum}",
        "{attribute}={value} 高于最大值 {maximum}",
    ),
    "perception.codec.json_constant": (
        "{name} is not a valid JSON value",
        "{name} 不是有效的 JSON 值",
    ),
    "perception.codec.not_utf8": ("the payload is not UTF-8 text", "载荷不是 UTF-8 文本"),
    "perception.codec.not_json": ("the payload is not JSON: {error}", "载荷不是 JSON：{error}"),
    "perception.codec.measure_object": (
        "each measure must be a JSON object",
        "每条测量值必须是 JSON 对象",
    ),
    "perception.codec.empty_attribute": ("an attribute name is empty", "属性名为空"),
    "perception.codec.scalar_value": (
        "{key} must be a number, text or boolean",
        "{key} 必须是数字、文本或布尔值",
    ),
    "perception.codec.empty_payload": ("the payload is empty", "载荷为空"),
    "perception.codec.group_no_measures": (
        "group {index} has a timestamp but no measures",
        "第 {index} 组有时间戳但没有测量值",
    ),
    "perception.codec.group_empty_attribute": (
        "group {index} has an empty attribute name",
        "第 {index} 组的属性名为空",
    ),
    "perception.codec.group_no_value": (
        "group {index}: {key} has no value",
        "第 {index} 组：{key} 没有值",
    ),
    # The binary codec's layout and payload.
    "perception.codec.layout_name": (
        "a layout field needs a name: {field}",
        "布局字段需要名称：{field}",
    ),
    "perception.codec.layout_offset": (
        "{name}: offset must be a non-negative integer",
        "{name}：offset 必须是非负整数",
    ),
    "perception.codec.layout_type": (
        "{name}: type must be one of {types}",
        "{name}：type 必须是以下之一：{types}",
    ),
    "perception.codec.layout_endian": (
        "{name}: endian must be 'big' or 'little'",
        "{name}：endian 必须是 'big' 或 'little'",
    ),
    "perception.codec.layout_scale": ("{name}: scale must be a number", "{name}：scale 必须是数字"),
    "perception.codec.layout_bits": (
        "{name}: bits must be [start, length] inside a {width}-bit integer",
        "{name}：bits 必须是 {width} 位整数内的 [起始位, 长度]",
    ),
    "perception.codec.payload_too_short": (
        "{name}: needs bytes {first}..{last} but the payload has {size}",
        "{name}：需要第 {first}..{last} 字节，但载荷只有 {size} 字节",
    ),
    "perception.codec.unknown_encoding": ("unknown encoding {encoding}", "未知的编码 {encoding}"),
    "perception.codec.not_ascii": (
        "a hex or base64 payload must be ASCII text",
        "十六进制或 base64 载荷必须是 ASCII 文本",
    ),
    "perception.codec.not_hex": ("the payload is not valid hex", "载荷不是有效的十六进制"),
    "perception.codec.not_hex_nor_base64": (
        "the payload is neither hex nor base64",
        "载荷既不是十六进制也不是 base64",
    ),
    "perception.codec.layout_list": (
        "the binary codec needs a non-empty layout list",
        "二进制编解码器需要非空的 layout 列表",
    ),
    "perception.codec.layout_list_config": (
        "layout must be a non-empty list",
        "layout 必须是非空列表",
    ),
    "perception.codec.layout_object": (
        "a layout field must be an object: {item}",
        "布局字段必须是对象：{item}",
    ),
    # A mapping's expression (codecs/expressions.py).
    "perception.expr.needs_numbers": (
        "arithmetic needs numbers, got {value}",
        "算术运算需要数字，实际为 {value}",
    ),
    "perception.expr.too_large": ("the result is too large", "结果过大"),
    "perception.expr.not_finite": ("the result is not a finite number", "结果不是有限数值"),
    "perception.expr.not_real": (
        "the result {value} is not a real number",
        "结果 {value} 不是实数",
    ),
    "perception.expr.not_text": ("an expression must be a string", "表达式必须是字符串"),
    "perception.expr.too_long": (
        "an expression may be at most {limit} characters",
        "表达式最多 {limit} 个字符",
    ),
    "perception.expr.invalid": (
        "invalid expression {text}: {error}",
        "表达式 {text} 无效：{error}",
    ),
    "perception.expr.unknown_names": (
        "unknown name(s) {names} in {text}",
        "表达式 {text} 中有未知名称 {names}",
    ),
    "perception.expr.failed": ("{text} failed: {error}", "表达式 {text} 计算失败：{error}"),
    "perception.expr.node": (
        "{node} is not allowed in an expression",
        "表达式中不允许使用 {node}",
    ),
    "perception.expr.constant": ("the constant {value} is not allowed", "不允许使用常量 {value}"),
    "perception.expr.name": ("the name {name} is not allowed", "不允许使用名称 {name}"),
    "perception.expr.functions": ("only {functions} may be called", "只能调用 {functions}"),
    "perception.expr.positional": (
        "{function}() takes plain positional arguments only",
        "{function}() 只接受位置参数",
    ),
    "perception.expr.arity": (
        "{function}() takes {fewest} to {most} arguments",
        "{function}() 需要 {fewest} 到 {most} 个参数",
    ),
    "perception.expr.exponent": (
        "an exponent must be a number between -{limit} and {limit}",
        "指数必须是 -{limit} 到 {limit} 之间的数字",
    ),
    "perception.expr.round_digits": (
        "round() digits must be an integer up to {limit}",
        "round() 的位数必须是不超过 {limit} 的整数",
    ),
}
register(CODEC_ERRORS)
