"""The NGSI-LD error details of the queries modules, in English and Chinese (registered by
``texts`` as ``ngsild.<code>``)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # The q language (query.py); {char} is the character quoted as the parser saw it.
    "q_empty": ("q is empty", "q 为空"),
    "q_too_long": ("q is longer than {limit} characters", "q 超过 {limit} 个字符"),
    "q_unexpected": (
        "q: unexpected {char} at position {pos}",
        "q：位置 {pos} 处出现意外的 {char}",
    ),
    "q_too_deep": ("q: too deeply nested at position {pos}", "q：位置 {pos} 处嵌套过深"),
    "q_missing": ("q: missing {char} at position {pos}", "q：位置 {pos} 处缺少 {char}"),
    "q_operator_expected": (
        "q: expected an operator at position {pos}",
        "q：位置 {pos} 处应为运算符",
    ),
    "q_name_expected": (
        "q: expected an attribute name at position {pos}",
        "q：位置 {pos} 处应为属性名",
    ),
    "q_empty_key": (
        "q: empty key in [..] at position {pos}",
        "q：位置 {pos} 处的 [..] 中有空键",
    ),
    "q_missing_value": ("q: missing value at position {pos}", "q：位置 {pos} 处缺少值"),
    "q_pattern_not_string": (
        "q: a pattern must be a string at position {pos}",
        "q：位置 {pos} 处的模式必须是字符串",
    ),
    "q_range_operator": (
        "q: a range needs == or != at position {pos}",
        "q：位置 {pos} 处的范围只能用 == 或 !=",
    ),
    "q_list_too_long": (
        "q: too many values in a list at position {pos}",
        "q：位置 {pos} 处的值列表过长",
    ),
    "q_list_operator": (
        "q: a list of values needs == or != at position {pos}",
        "q：位置 {pos} 处的值列表只能用 == 或 !=",
    ),
    "q_unterminated_string": (
        "q: unterminated string at position {pos}",
        "q：位置 {pos} 处的字符串没有结束引号",
    ),
    "q_stray_quote": ("q: stray quote at position {pos}", "q：位置 {pos} 处有多余的引号"),
    # Client patterns (patterns.py): idPattern, q's ~=, subscription patterns.
    "pattern_too_expensive": (
        "{what} {pattern} is too expensive to evaluate; simplify it",
        "{what} {pattern} 的匹配代价过高，请简化",
    ),
    "pattern_invalid": (
        "{what} is not a valid regular expression: {reason}",
        "{what} 不是有效的正则表达式：{reason}",
    ),
    "pattern_too_long": (
        "{what} is longer than {limit} characters",
        "{what} 超过 {limit} 个字符",
    ),
    "pattern_backreference": (
        "{what} uses back-references, which are refused",
        "{what} 使用了反向引用，不予接受",
    ),
    # Entity queries (views/queries.py); a body's shape named in {shape}.
    "query_wildcard_not_local": (
        "type=* selects every local entity; it cannot go with local=false",
        "type=* 选择全部本地实体，不能与 local=false 同用",
    ),
    "query_body_not_query": (
        "the body must be a Query object: {shape}",
        "请求体必须是 Query 对象：{shape}",
    ),
    "query_temporal_q": (
        "temporalQ belongs to temporal queries, not to a Query of entities",
        "temporalQ 属于时序查询，不能用于实体 Query",
    ),
    "query_not_attribute_names": (
        "{name} must be a list of attribute names",
        "{name} 必须是属性名列表",
    ),
    "query_geo_q_in_url": (
        "geoQ is not a URL parameter: send georel, geometry and coordinates",
        "geoQ 不是 URL 参数：请发送 georel、geometry 和 coordinates",
    ),
    "query_csf": ("csf: {reason}", "csf 有误：{reason_zh}"),
    "query_attrs_empty": ("attrs may not be an empty list", "attrs 不能是空列表"),
    "query_q_not_string": (
        "q must be a string in the NGSI-LD query language",
        "q 必须是 NGSI-LD 查询语言的字符串",
    ),
    "query_scope_q_not_string": (
        "scopeQ must be a string in the scope query language",
        "scopeQ 必须是范围查询语言的字符串",
    ),
    "query_not_strings": (
        "{name} must be a string or a list of strings",
        "{name} 必须是字符串或字符串列表",
    ),
    "query_attrs_core_member": (
        "attrs: {name} is a core member, not an attribute",
        "attrs：{name} 是核心成员，不是属性",
    ),
    "query_type_parentheses": (
        "type: parentheses do not match",
        "type：括号不匹配",
    ),
    "query_entities_not_selectors": (
        "entities must be a list of {shape} objects",
        "entities 必须是 {shape} 对象的列表",
    ),
    "query_selector_needs_type": (
        "each entity selector needs a type",
        "每个实体选择器都需要 type",
    ),
    "query_selector_ids": (
        "an entity selector's id must be a URI or a list of URIs",
        "实体选择器的 id 必须是 URI 或 URI 列表",
    ),
    "query_geo_q_not_object": (
        "geoQ must be an object with georel, geometry and coordinates",
        "geoQ 必须是含 georel、geometry 和 coordinates 的对象",
    ),
    "query_geo_q_member": ("geoQ {member} must be a string", "geoQ 的 {member} 必须是字符串"),
    "query_geo_q_coordinates": (
        "geoQ coordinates must be an array of coordinates",
        "geoQ 的 coordinates 必须是坐标数组",
    ),
    "query_too_wide": (
        "name at least one of type, attrs, q, scopeQ or georel (or local=true)",
        "请至少提供 type、attrs、q、scopeQ 或 georel 之一（或 local=true）",
    ),
    "query_limit_zero": (
        "limit=0 only makes sense with count=true",
        "limit=0 只能与 count=true 同用",
    ),
    "query_linked_too_deep": (
        "q: a linked-entity query {depth} deep needs join with joinLevel {depth} or more",
        "q：{depth} 层深的关联实体查询需要 join，且 joinLevel 不小于 {depth}",
    ),
    # Ordering (ordering.py, and a Query body's ordering in views/queries.py).
    "order_needs_origin": (
        "dist-asc and dist-desc need the reference coordinates (orderFrom)",
        "dist-asc 和 dist-desc 需要参考坐标（orderFrom）",
    ),
    "order_body_not_object": (
        "ordering must be an object with orderBy and, as needed, coordinates",
        "ordering 必须是含 orderBy（需要时还含 coordinates）的对象",
    ),
    "order_body_order_by": (
        "ordering orderBy must be a list of strings",
        "ordering 的 orderBy 必须是字符串列表",
    ),
    "order_body_member": (
        "ordering {member} must be a string",
        "ordering 的 {member} 必须是字符串",
    ),
    "order_body_coordinates": (
        "ordering coordinates must be an array",
        "ordering 的 coordinates 必须是数组",
    ),
    "order_collation": (
        "collation {tag} is not a BCP 47 language tag",
        "collation {tag} 不是 BCP 47 语言标签",
    ),
    "order_geometry_not_string": (
        "geometry must be a string, a GeoJSON geometry type",
        "geometry 必须是字符串，即 GeoJSON 几何类型",
    ),
    "order_coordinates_not_array": (
        "the ordering coordinates must be a JSON array",
        "排序的参考坐标必须是 JSON 数组",
    ),
    "order_coordinates_invalid": (
        "the ordering coordinates are not a valid {geometry}",
        "排序的参考坐标不是有效的 {geometry}",
    ),
    "order_direction": (
        "orderBy: direction {direction} is not asc, desc, dist-asc or dist-desc",
        "orderBy：方向 {direction} 不是 asc、desc、dist-asc 或 dist-desc",
    ),
    "order_no_distance": (
        "orderBy: {member} has no distance; name a GeoProperty",
        "orderBy：{member} 没有距离，请指定一个 GeoProperty",
    ),
    "order_not_path": (
        "orderBy: {member} is not a member or attribute path",
        "orderBy：{member} 不是成员或属性路径",
    ),
    "order_too_many": (
        "orderBy names more than {limit} members",
        "orderBy 列出的成员超过 {limit} 个",
    ),
    # Rendering a read (projection.py, retrieval.py, views/entities.py).
    "read_projection_unexpected": (
        "{what}: unexpected {char} at position {pos}",
        "{what}：位置 {pos} 处出现意外的 {char}",
    ),
    "read_projection_name_expected": (
        "{what}: expected a member name at position {pos}",
        "{what}：位置 {pos} 处应为成员名",
    ),
    "read_projection_missing": (
        "{what}: missing {char} at position {pos}",
        "{what}：位置 {pos} 处缺少 {char}",
    ),
    "read_lang_not_range": (
        "lang: {part} is not a language range (RFC 4647)",
        "lang：{part} 不是语言范围（RFC 4647）",
    ),
    "read_option_unknown": (
        "options: {option} is not one of {options}",
        "options：{option} 不是以下之一：{options}",
    ),
    "read_format_unknown": (
        "format: {format} is not one of {formats}",
        "format：{format} 不是以下之一：{formats}",
    ),
    "read_dataset_not_uri": (
        "datasetId: {part} is not a URI or @none",
        "datasetId：{part} 既不是 URI 也不是 @none",
    ),
    "read_geometry_needs_geojson": (
        "geometryProperty needs a GeoJSON answer (Accept: application/geo+json)",
        "geometryProperty 需要 GeoJSON 格式的应答（Accept: application/geo+json）",
    ),
    "read_attrs_with_pick": (
        "attrs cannot be combined with pick or omit; use pick alone",
        "attrs 不能与 pick 或 omit 同用，请只用 pick",
    ),
    "read_pick_and_omit": (
        "pick and omit both name {name}",
        "pick 和 omit 都列出了 {name}",
    ),
    "read_join_unknown": (
        "join: {join} is not one of {joins}",
        "join：{join} 不是以下之一：{joins}",
    ),
    "read_join_level": (
        "joinLevel must be a whole number from 1 to {limit}",
        "joinLevel 必须是 1 到 {limit} 之间的整数",
    ),
    "read_nested_needs_join": (
        "a nested pick or omit projects linked entities; it needs join",
        "嵌套的 pick 或 omit 投影的是关联实体，需要 join",
    ),
    "read_projection_too_deep": (
        "pick or omit reaches {reach} levels deep, deeper than joinLevel",
        "pick 或 omit 深入 {reach} 层，超过了 joinLevel",
    ),
    "read_not_of_type": (
        "entity {entity} is not of the type asked for",
        "实体 {entity} 不是所请求的类型",
    ),
    "read_no_asked_attributes": (
        "entity {entity} has none of the attributes asked for",
        "实体 {entity} 没有所请求的任何属性",
    ),
    "read_projected_away": (
        "nothing of entity {entity} is left after pick and omit",
        "经 pick 和 omit 之后，实体 {entity} 已无任何内容",
    ),
    "read_path_id_empty": (
        "the entity id in the path is empty",
        "路径中的实体 id 为空",
    ),
    # Requests (views/common.py, views/parameters.py): parameters, Accept, Content-Type, the body.
    "request_parameter_unknown": (
        "unknown query parameter {names}; this operation takes {takes}",
        "未知的查询参数 {names}；此操作接受的参数：{takes_zh}",
    ),
    "request_not_acceptable": (
        "Accept: cannot answer {accept}, only {offered}",
        "Accept：无法以 {accept} 应答，只能是 {offered}",
    ),
    "request_media_unsupported": (
        "Content-Type: send {json} or {ld_json}, not {media}",
        "Content-Type：请发送 {json} 或 {ld_json}，而不是 {media}",
    ),
    "request_body_too_large": (
        "the body is larger than {limit} bytes",
        "请求体超过 {limit} 字节",
    ),
    "request_body_empty": ("the body is empty", "请求体为空"),
    "request_body_not_json": (
        "the body is not valid JSON: {reason}",
        "请求体不是有效的 JSON：{reason}",
    ),
    "request_link_with_ld": (
        "a Link header with @context cannot come with application/ld+json",
        "带 @context 的 Link 头不能与 application/ld+json 同用",
    ),
    "request_ld_needs_context": (
        "an application/ld+json body must carry @context",
        "application/ld+json 请求体必须带 @context",
    ),
    "request_json_with_context": (
        "an application/json body may not carry @context; use a Link header",
        "application/json 请求体不能带 @context，请使用 Link 头",
    ),
    "request_not_boolean": ("{name} must be true or false", "{name} 必须是 true 或 false"),
    "request_not_whole_number": ("{name} must be a whole number", "{name} 必须是整数"),
    "request_too_small": ("{name} must be at least {low}", "{name} 不能小于 {low}"),
    "request_limit_too_large": ("limit may be at most {limit}", "limit 最大为 {limit}"),
}
