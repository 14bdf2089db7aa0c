"""The NGSI-LD error details of the temporal modules, in English and Chinese (registered by
``texts`` as ``ngsild.<code>``)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # Temporal query parameters (temporal.py, temporal_aggregation.py, views/temporal.py)
    "temporal_option_unknown": (
        "options/format: '{option}' is not one of {options}",
        "options/format：'{option}' 不是以下之一：{options}",
    ),
    "temporal_dataset_not_uri": (
        "datasetId '{value}' is not a URI",
        "datasetId '{value}' 不是 URI",
    ),
    "temporal_timerel_unknown": (
        "timerel must be before, after or between",
        "timerel 必须是 before、after 或 between",
    ),
    "temporal_timerel_needs_time_at": ("timerel needs timeAt", "timerel 需要 timeAt"),
    "temporal_time_at_needs_timerel": ("timeAt needs timerel", "timeAt 需要 timerel"),
    "temporal_between_needs_end": (
        "timerel=between needs endTimeAt",
        "timerel=between 需要 endTimeAt",
    ),
    "temporal_date_not_datetime": (
        "{name} must be a date-time (with a time and a zone), not a date",
        "{name} 必须是日期时间（含时间和时区），不能只是日期",
    ),
    "temporal_end_not_after_start": (
        "endTimeAt must be after timeAt",
        "endTimeAt 必须晚于 timeAt",
    ),
    "temporal_last_n": (
        "lastN must be a positive whole number",
        "lastN 必须是正整数",
    ),
    "temporal_timeproperty_unknown": (
        "timeproperty must be one of {properties}",
        "timeproperty 必须是以下之一：{properties}",
    ),
    "temporal_query_too_wide": (
        "name at least one of type, attrs, q, scopeQ or georel (or local=true)",
        "请至少指定 type、attrs、q、scopeQ 或 georel 之一（或 local=true）",
    ),
    "temporal_duration_invalid": (
        "aggrPeriodDuration '{value}' is not an ISO 8601 duration",
        "aggrPeriodDuration '{value}' 不是 ISO 8601 时长",
    ),
    "temporal_duration_too_long": (
        "aggrPeriodDuration may be at most 1000 years",
        "aggrPeriodDuration 最长为 1000 年",
    ),
    "temporal_duration_not_string": (
        "aggrPeriodDuration must be an ISO 8601 duration string",
        "aggrPeriodDuration 必须是 ISO 8601 时长字符串",
    ),
    "temporal_methods_not_names": (
        "aggrMethods must name aggregation methods",
        "aggrMethods 必须列出聚合方法",
    ),
    "temporal_methods_missing": (
        "aggregatedValues needs aggrMethods",
        "aggregatedValues 需要 aggrMethods",
    ),
    "temporal_method_unknown": (
        "aggrMethods: '{method}' is not one of {methods}",
        "aggrMethods：'{method}' 不是以下之一：{methods}",
    ),
    "temporal_pick_linked": (
        "pick and omit of a temporal read cannot reach into linked entities",
        "时态读取的 pick 和 omit 不能涉及关联实体",
    ),
    "temporal_order_by": (
        "orderBy of a temporal query may only name id (id or id;desc)",
        "时态查询的 orderBy 只能指定 id（id 或 id;desc）",
    ),
    "temporal_query_body": (
        "the body must be a Query object: {example}",
        "请求体必须是 Query 对象：{example}",
    ),
    "temporal_q_not_object": (
        "temporalQ must be an object (timerel, timeAt, endTimeAt, lastN, ...)",
        "temporalQ 必须是对象（timerel、timeAt、endTimeAt、lastN 等）",
    ),
    "temporal_aggr_params_not_object": (
        "aggrParams must be an object (aggrMethods, aggrPeriodDuration)",
        "aggrParams 必须是对象（aggrMethods、aggrPeriodDuration）",
    ),
    "temporal_q_member_not_string": (
        "temporalQ.{name} must be a string",
        "temporalQ.{name} 必须是字符串",
    ),
    # Temporal reads that find nothing (temporal.py)
    "temporal_no_history": ("entity {entity} has no history", "实体 {entity} 没有历史记录"),
    "temporal_no_history_of_attributes": (
        "entity {entity} has no history of the attributes asked for",
        "实体 {entity} 没有所请求属性的历史记录",
    ),
    "temporal_nothing_left": (
        "nothing of entity {entity} is left after pick and omit",
        "经 pick 和 omit 后，实体 {entity} 没有剩余内容",
    ),
    # Temporal writes (temporal_provision.py, views/temporal.py)
    "temporal_attribute_not_instances": (
        "temporal attribute '{name}' must be an instance or a list of instances",
        "时态属性 '{name}' 必须是一个实例或实例列表",
    ),
    "temporal_scope_instance": (
        "a scope instance must be a Property with a value",
        "scope 实例必须是带 value 的 Property",
    ),
    "temporal_scope_member": (
        "a scope instance may not have '{member}'",
        "scope 实例不能含有 '{member}'",
    ),
    "temporal_entity_not_object": (
        "a temporal entity must be a JSON object",
        "时态实体必须是 JSON 对象",
    ),
    "temporal_entity_unknown": (
        "entity {entity} has no temporal representation",
        "实体 {entity} 没有时态表示",
    ),
    "temporal_attributes_body": (
        "the body must be a JSON object of temporal attributes",
        "请求体必须是由时态属性组成的 JSON 对象",
    ),
    "temporal_nothing_to_delete": (
        "entity {entity} has no instances of {name} to delete",
        "实体 {entity} 没有可删除的 {name} 实例",
    ),
    "temporal_instance_not_uri": (
        "the instanceId '{instance}' is not a URI",
        "instanceId '{instance}' 不是 URI",
    ),
    "temporal_instance_unknown": (
        "attribute {name} of {entity} has no instance {instance}",
        "{entity} 的属性 {name} 没有实例 {instance}",
    ),
    "temporal_instance_body": (
        "the body must be an attribute instance (a JSON object)",
        "请求体必须是属性实例（JSON 对象）",
    ),
    "temporal_instance_empty": (
        "the body is an empty attribute instance",
        "请求体是空的属性实例",
    ),
    "temporal_instance_time_taken": (
        "{name} already has an instance observed at {time}",
        "{name} 已有观测时间为 {time} 的实例",
    ),
    "temporal_patch_needs_instance": (
        "PATCH needs an instanceId after the attribute name",
        "PATCH 需要在属性名之后给出 instanceId",
    ),
    "temporal_path_id_empty": (
        "the entity id in the path is empty",
        "路径中的实体 id 为空",
    ),
    "temporal_path_attribute_empty": (
        "the attribute name in the path is empty",
        "路径中的属性名为空",
    ),
    # Entity and attribute writes (writes.py, rows.py)
    "write_id_differs": (
        "the id in the body differs from the id in the URL",
        "请求体中的 id 与 URL 中的 id 不同",
    ),
    "write_attributes_body": (
        "the body must be a JSON object of attributes",
        "请求体必须是由属性组成的 JSON 对象",
    ),
    "write_no_attributes": ("the body names no attributes", "请求体没有列出任何属性"),
    "write_fragment_body": (
        "the body must be a JSON object with the attribute's members",
        "请求体必须是含该属性成员的 JSON 对象",
    ),
    "write_fragment_empty": (
        "the body names no member to change",
        "请求体没有列出要修改的成员",
    ),
    "write_no_attribute": (
        "entity {entity} has no attribute {name}",
        "实体 {entity} 没有属性 {name}",
    ),
    "write_no_dataset_instance": (
        "attribute {name} has no instance with datasetId {dataset}",
        "属性 {name} 没有 datasetId 为 {dataset} 的实例",
    ),
    "write_no_default_instance": (
        "attribute {name} has no instance with the default instance (no datasetId)",
        "属性 {name} 没有默认实例（无 datasetId 的实例）",
    ),
    "write_not_one_instance": (
        "{name}: the body must be one attribute instance",
        "{name}：请求体必须是单个属性实例",
    ),
    "write_not_patchable": (
        "'{name}' is no attribute and cannot be partially updated",
        "'{name}' 不是属性，不能部分更新",
    ),
    "write_no_scope": ("entity {entity} has no scope", "实体 {entity} 没有 scope"),
    "write_entity_unknown": ("entity {entity} does not exist", "实体 {entity} 不存在"),
    "write_entity_not_of_type": (
        "entity {entity} is not of the type asked for",
        "实体 {entity} 不属于所请求的类型",
    ),
    # The reasons of a 207 answer to an attribute update (writes.py)
    "write_no_scope_to_update": (
        "the entity has no scope to update",
        "该实体没有可更新的 scope",
    ),
    "write_no_instance_to_update": (
        "no instance with this datasetId exists to update",
        "没有此 datasetId 的实例可更新",
    ),
    "write_exists_no_overwrite": (
        "attribute exists and noOverwrite was given",
        "属性已存在，且给出了 noOverwrite",
    ),
}
