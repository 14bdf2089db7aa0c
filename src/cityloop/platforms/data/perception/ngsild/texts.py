"""What the NGSI-LD broker tells people in its error details, in English and Chinese, by message
code (registered with the base's message catalogue). The ProblemDetails type and title stay the
ETSI names clients match on; only the detail is translated."""

from __future__ import annotations

from cityloop.base.messages import Message, register

from . import texts_queries, texts_subscriptions, texts_temporal

# The Chinese names of the things a detail names by kind ("entity type", "attribute name").
WHAT_ZH = {
    "attribute name": "属性名",
    "entity type": "实体类型",
    "attribute": "属性",
}

TEXTS: dict[str, tuple[str, str]] = {
    # Names, ids, times (identifiers.py)
    "scope_grammar": (
        "scope must be a path like /city/district or a list of them",
        "scope 必须是形如 /city/district 的路径或这类路径的列表",
    ),
    "id_not_string": ("id: the entity id must be a string", "id：实体 id 必须是字符串"),
    "id_not_uri": ("id: the entity id '{value}' is not a URI", "id：实体 id '{value}' 不是 URI"),
    "id_null": (
        "id: the NGSI-LD Null cannot identify an entity",
        "id：NGSI-LD Null 不能作为实体 id",
    ),
    "name_empty": ("an {what} must be a non-empty string", "{what_zh}必须是非空字符串"),
    "name_too_long": (
        "{what} '{name}'… is longer than {limit} characters",
        "{what_zh} '{name}'… 超过 {limit} 个字符",
    ),
    "name_forbidden_character": (
        "{what} '{name}' holds a forbidden character (<>\"'=;() or spaces)",
        "{what_zh} '{name}' 含有不允许的字符（<>\"'=;() 或空白）",
    ),
    "name_not_term": (
        "{what} '{name}' is not a name (a letter, then letters, digits or _) nor an IRI",
        "{what_zh} '{name}' 既不是名称（字母开头，其后为字母、数字或 _），也不是 IRI",
    ),
    "time_not_string": (
        "{what} must be an ISO 8601 date-time string",
        "{what} 必须是 ISO 8601 日期时间字符串",
    ),
    "time_invalid": (
        "{what} '{text}' is not an ISO 8601 date-time",
        "{what} '{text}' 不是 ISO 8601 日期时间",
    ),
    "time_not_utc": (
        "{what} must be an ISO 8601 UTC date-time ending in Z",
        "{what} 必须是以 Z 结尾的 ISO 8601 UTC 日期时间",
    ),
    # Attributes (attributes.py)
    "reserved_name": (
        "'{name}' is reserved and cannot name an attribute",
        "'{name}' 是保留名，不能用作属性名",
    ),
    "dataset_null": (
        "datasetId: a datasetId cannot be deleted with the NGSI-LD Null",
        "datasetId：不能用 NGSI-LD Null 删除 datasetId",
    ),
    "dataset_not_uri": ("datasetId must be a URI", "datasetId 必须是 URI"),
    "value_too_deep": ("{name}: a value is nested too deeply", "{name}：值的嵌套层级过深"),
    "value_null_inside": (
        "{name}: null is not allowed inside a value",
        "{name}：值中不允许出现 null",
    ),
    "value_ngsi_null_inside": (
        "{name}: the NGSI-LD Null cannot be stored inside a value",
        "{name}：值中不能存放 NGSI-LD Null",
    ),
    "value_not_finite": ("{name}: numbers must be finite", "{name}：数值必须是有限数"),
    "not_geometry": (
        "{name}.value must be a GeoJSON geometry",
        "{name}.value 必须是 GeoJSON 几何对象",
    ),
    "bad_geometry": ("{name}.value: {reason}", "{name}.value 不是有效的几何对象：{reason}"),
    "not_uris": ("{where} must be a URI or a list of URIs", "{where} 必须是 URI 或 URI 列表"),
    "not_object_list": (
        "{where} must be a list of URIs or of objects with an object member",
        "{where} 必须是 URI 列表，或含 object 成员的对象列表",
    ),
    "not_terms": ("{where} must be a term or a list of terms", "{where} 必须是术语或术语列表"),
    "not_json": ("{where} must be a JSON object or array", "{where} 必须是 JSON 对象或数组"),
    "not_list": ("{where} must be a list", "{where} 必须是列表"),
    "not_language_map": (
        "{where} must be a non-empty map of language tag to string",
        "{where} 必须是非空的语言标签到字符串的映射",
    ),
    "not_language_tag": ("{where}: '{tag}' is not a language tag", "{where}：'{tag}' 不是语言标签"),
    "language_text": (
        "{where}.{tag} must be a string or a list of strings",
        "{where}.{tag} 必须是字符串或字符串列表",
    ),
    "member_null": ("{where} may not be null", "{where} 不能为 null"),
    "member_not_of_type": (
        "{where}: a {kind} has no '{key}' member",
        "{where}：{kind} 没有 '{key}' 成员",
    ),
    "lang_string_only": (
        "{where} of a LanguageProperty can only be langString",
        "LanguageProperty 的 {where} 只能是 langString",
    ),
    "not_type_names": (
        "{where} must be a type name or a list of them",
        "{where} 必须是类型名或类型名列表",
    ),
    "not_short_string": ("{where} must be a short string", "{where} 必须是较短的字符串"),
    "too_many_instances": (
        "attribute '{name}' has more than {limit} instances",
        "属性 '{name}' 的实例超过 {limit} 个",
    ),
    "dataset_twice": (
        "{name}.datasetId: two instances share a datasetId",
        "{name}.datasetId：两个实例使用了同一个 datasetId",
    ),
    "attribute_null": ("attribute '{name}' may not be null", "属性 '{name}' 不能为 null"),
    "unknown_attribute_type": (
        "{name}.type: unknown attribute type '{given}'",
        "{name}.type：未知的属性类型 '{given}'",
    ),
    "attribute_type_differs": (
        "{name}.type: the attribute is a {kind}, not a {given}",
        "{name}.type：该属性是 {kind}，不是 {given}",
    ),
    "attribute_needs_type": (
        "attribute '{name}' needs a type (Property, Relationship, …)",
        "属性 '{name}' 需要 type（Property、Relationship 等）",
    ),
    "must_be_geo": ("attribute '{name}' must be a GeoProperty", "属性 '{name}' 必须是 GeoProperty"),
    "needs_content": (
        "{name}: a {kind} needs a '{member}' member",
        "{name}：{kind} 需要 '{member}' 成员",
    ),
    "null_not_creatable": (
        "{name}.{member}: the NGSI-LD Null cannot be created",
        "{name}.{member}：不能创建 NGSI-LD Null",
    ),
    "output_only": (
        "{name}.{key} is output-only and cannot be sent",
        "{name}.{key} 只用于输出，不能提交",
    ),
    "sub_attributes_too_deep": (
        "attribute '{name}' nests sub-attributes too deeply",
        "属性 '{name}' 的子属性嵌套过深",
    ),
    # Entities and merges (entities.py, merge.py)
    "entity_not_object": ("an entity must be a JSON object", "实体必须是 JSON 对象"),
    "entity_needs_type": ("the entity needs a type", "实体需要 type"),
    "entity_types_empty": ("type: the entity type list is empty", "type：实体类型列表为空"),
    "type_not_iri": (
        "type: entity type '{name}' does not expand to an IRI",
        "type：实体类型 '{name}' 展开后不是 IRI",
    ),
    "type_iri_too_long": (
        "entity type '{name}' expands to an IRI over {limit} chars",
        "实体类型 '{name}' 展开后的 IRI 超过 {limit} 个字符",
    ),
    "fragment_not_object": (
        "the body must be a JSON object: an entity fragment",
        "请求体必须是 JSON 对象（实体片段）",
    ),
    "fragment_id_differs": (
        "id: the id in the body differs from the id of the entity merged into",
        "id：请求体中的 id 与被合并实体的 id 不同",
    ),
    # Tenants and access (tenants.py, access.py)
    "tenant_name": (
        "NGSILD-Tenant must be 1-100 letters, digits, '-' or '_'",
        "NGSILD-Tenant 必须是 1 到 100 个字母、数字、'-' 或 '_'",
    ),
    "tenant_missing": ("tenant '{tenant}' does not exist", "租户 '{tenant}' 不存在"),
    "api_key_unknown": (
        "the API key is not known or not active",
        "该 API 密钥不存在或未启用",
    ),
    "credentials_needed": (
        "send 'Authorization: Bearer <token>' (a staff token or an API key) or 'X-Api-Key'",
        "请发送 'Authorization: Bearer <token>'（工作人员令牌或 API 密钥）或 'X-Api-Key'",
    ),
    "role_not_allowed": (
        "role {role} may not use the NGSI-LD API; it needs admin or dispatcher",
        "角色 {role} 不能使用 NGSI-LD API，需要 admin 或 dispatcher",
    ),
    "bearer_unknown": (
        "the bearer token is neither a valid access token nor an API key",
        "该 Bearer 令牌既不是有效的访问令牌，也不是 API 密钥",
    ),
    "key_without_scope": (
        "this API key has no ngsild scope; create one with --scope ngsild",
        "该 API 密钥没有 ngsild 权限范围，请用 --scope ngsild 创建",
    ),
    # Geo-queries, purge, @contexts, types (geo.py, purge.py, jsonld_contexts.py, views)
    "geometry_kinds": (
        "a GeoProperty value must be a GeoJSON geometry ({kinds})",
        "GeoProperty 的值必须是 GeoJSON 几何对象（{kinds}）",
    ),
    "geometry_coordinates": (
        "a GeoJSON geometry needs a coordinates array",
        "GeoJSON 几何对象需要 coordinates 数组",
    ),
    "geometry_invalid": (
        "invalid GeoJSON {kind}: {reason}",
        "无效的 GeoJSON {kind}：{reason}",
    ),
    "geometry_empty": (
        "a GeoJSON geometry may not be empty",
        "GeoJSON 几何对象不能为空",
    ),
    "coordinates_not_finite": (
        "GeoJSON coordinates must be finite numbers",
        "GeoJSON 坐标必须是有限数",
    ),
    "coordinates_out_of_range": (
        "GeoJSON coordinates must be longitude, latitude within range",
        "GeoJSON 坐标必须是取值范围内的经度、纬度",
    ),
    "geo_member_not_string": (
        "{name} must be a string",
        "{name} 必须是字符串",
    ),
    "geo_query_incomplete": (
        "a geo-query needs georel, geometry and coordinates together",
        "地理查询需要同时提供 georel、geometry 和 coordinates",
    ),
    "coordinates_too_long": (
        "coordinates are too long",
        "coordinates 过长",
    ),
    "georel_unknown": (
        "georel '{relation}' is not one of {relations}",
        "georel '{relation}' 不是以下之一：{relations}",
    ),
    "near_one_distance": (
        "georel near takes one distance: maxDistance==<m> or minDistance==<m>",
        "georel near 只接受一个距离：maxDistance==<米> 或 minDistance==<米>",
    ),
    "georel_modifier": (
        "georel modifier '{modifier}' is not understood",
        "无法理解 georel 修饰符 '{modifier}'",
    ),
    "distance_not_number": (
        "{name} must be a number of metres",
        "{name} 必须是以米为单位的数值",
    ),
    "distance_not_positive": (
        "{name} must be a positive number of metres",
        "{name} 必须是以米为单位的正数",
    ),
    "near_needs_distance": (
        "near needs maxDistance==<m> or minDistance==<m>",
        "near 需要 maxDistance==<米> 或 minDistance==<米>",
    ),
    "coordinates_not_array": (
        "coordinates must be a JSON array",
        "coordinates 必须是 JSON 数组",
    ),
    "purge_keep_and_drop": (
        "keep and drop may not be given together",
        "keep 和 drop 不能同时提供",
    ),
    "purge_too_wide": (
        "a purge needs type, attrs or q over a non-system attribute, or a geo-query"
        " (id and idPattern only narrow it), or local=true",
        "清除需要 type、针对非系统属性的 attrs 或 q，或地理查询"
        "（id 和 idPattern 只能缩小范围），或 local=true",
    ),
    "purge_linked": (
        "{linked}: linked entity queries are not allowed in a purge",
        "{linked}：清除中不允许关联实体查询",
    ),
    "purge_scope_q": (
        "scopeQ is not offered in a purge",
        "清除不支持 scopeQ",
    ),
    "context_body": (
        "the body must be a JSON object with an @context member",
        "请求体必须是含 @context 成员的 JSON 对象",
    ),
    "context_member": (
        "@context must be an object, a URL or a list of them",
        "@context 必须是对象、URL 或它们的列表",
    ),
    "context_unknown": (
        "@context {context} is not known here",
        "此处没有 @context {context}",
    ),
    "context_kind": (
        "kind must be Hosted, Cached or ImplicitlyCreated",
        "kind 必须是 Hosted、Cached 或 ImplicitlyCreated",
    ),
    "core_context_kept": (
        "the core @context cannot be deleted",
        "核心 @context 不能删除",
    ),
    "reload_cached_only": (
        "reload=true applies to a cached @context only",
        "reload=true 只适用于缓存的 @context",
    ),
    "merge_id_missing": (
        "the entity id to merge into is missing from the path",
        "路径中缺少要合并到的实体 id",
    ),
    "type_unknown": (
        "no entity has type {name}",
        "没有实体的类型是 {name}",
    ),
    "attribute_unknown": (
        "no entity has attribute {name}",
        "没有实体含有属性 {name}",
    ),
    # scopeQ, @context processing, batches (scopes.py, context*.py, batch.py)
    "scope_q_unexpected": (
        "scopeQ: unexpected '{char}' at position {pos}",
        "scopeQ：位置 {pos} 处出现意外的 '{char}'",
    ),
    "scope_q_too_deep": (
        "scopeQ: too deeply nested at position {pos}",
        "scopeQ：位置 {pos} 处嵌套过深",
    ),
    "scope_q_missing_paren": (
        "scopeQ: missing ')' at position {pos}",
        "scopeQ：位置 {pos} 处缺少 ')'",
    ),
    "scope_q_level_expected": (
        "scopeQ: expected a scope level at position {pos}",
        "scopeQ：位置 {pos} 处应为范围层级",
    ),
    "scope_q_hash_end": (
        "scopeQ: '#' may only end a scope at position {pos}",
        "scopeQ：位置 {pos} 处的 '#' 只能位于范围末尾",
    ),
    "scope_q_slash_expected": (
        "scopeQ: expected a scope starting with '/' at position {pos}",
        "scopeQ：位置 {pos} 处应为以 '/' 开头的范围",
    ),
    "scope_q_empty": (
        "scopeQ is empty",
        "scopeQ 为空",
    ),
    "scope_q_too_long": (
        "scopeQ is longer than {limit} characters",
        "scopeQ 超过 {limit} 个字符",
    ),
    "context_not_url_or_object": (
        "@context must be a URL, an object or a list of them",
        "@context 必须是 URL、对象或它们的列表",
    ),
    "context_invalid_jsonld": (
        "the @context is not valid JSON-LD: {reason}",
        "该 @context 不是有效的 JSON-LD：{reason}",
    ),
    "context_not_http": (
        "@context '{url}' is not an http(s) URL",
        "@context '{url}' 不是 http(s) 地址",
    ),
    "context_unavailable": (
        "@context: the address could not be fetched",
        "@context：无法获取该地址",
    ),
    "context_not_document": (
        "@context: {url} is not a JSON object with an @context member",
        "@context：{url} 不是含 @context 成员的 JSON 对象",
    ),
    "context_not_cached": (
        "@context {url} is not cached here",
        "此处没有缓存 @context {url}",
    ),
    "batch_not_array": (
        "the body must be a JSON array",
        "请求体必须是 JSON 数组",
    ),
    "batch_empty": (
        "the body is an empty array; a batch needs at least one item",
        "请求体是空数组，批量操作至少需要一项",
    ),
    "batch_too_large": (
        "a batch holds at most {limit} entities",
        "一次批量操作最多 {limit} 个实体",
    ),
    "batch_item_not_id": (
        "item {index} of the array is not an entity id string",
        "数组第 {index} 项不是实体 id 字符串",
    ),
    "batch_item_not_object": (
        "item {index} of the array is not an object",
        "数组第 {index} 项不是对象",
    ),
    "entity_exists": (
        "entity {entity} already exists",
        "实体 {entity} 已存在",
    ),
    "entity_value_refused": (
        "entity {entity} holds a value the database refuses",
        "实体 {entity} 含有数据库拒绝的值",
    ),
    "entity_twice_in_batch": (
        "entity {entity} appears twice in the batch",
        "实体 {entity} 在批量操作中出现了两次",
    ),
    "no_attributes_to_update": (
        "the entity names no attributes to update",
        "该实体没有列出要更新的属性",
    ),
    "not_overwritten": (
        "attributes not updated (they exist and noOverwrite was given): {names}",
        "属性未更新（已存在且指定了 noOverwrite）：{names}",
    ),
    "batch_item_id_string": (
        "each item must be an entity id string",
        "每一项都必须是实体 id 字符串",
    ),
    "batch_operation_unknown": (
        "entityOperations/{operation} is not offered",
        "不支持 entityOperations/{operation}",
    ),
    "batch_ld_link": (
        "an application/ld+json request may not carry a JSON-LD Link header",
        "application/ld+json 请求不能带 JSON-LD Link 头",
    ),
    "batch_item_needs_context": (
        "each application/ld+json entity must carry @context",
        "每个 application/ld+json 实体都必须带 @context",
    ),
    "batch_item_no_context": (
        "application/json entities may not carry @context",
        "application/json 实体不能带 @context",
    ),
}


def _every_area() -> dict[str, tuple[str, str]]:
    """The details of every area; a code defined in two areas is refused at import."""
    merged: dict[str, tuple[str, str]] = {}
    for area in (TEXTS, texts_queries.TEXTS, texts_subscriptions.TEXTS, texts_temporal.TEXTS):
        if clash := merged.keys() & area.keys():
            raise RuntimeError(f"NGSI-LD message codes defined twice: {sorted(clash)}")
        merged.update(area)
    return merged


register({f"ngsild.{code}": pair for code, pair in _every_area().items()})


def text(code: str, **params: object) -> Message:
    """The detail ``ngsild.<code>`` with its parameters (a ``what`` gets its Chinese name)."""
    values = {key: str(value) for key, value in params.items()}
    if "what" in values:
        values["what_zh"] = WHAT_ZH.get(values["what"], values["what"])
    return Message(f"ngsild.{code}", values)
