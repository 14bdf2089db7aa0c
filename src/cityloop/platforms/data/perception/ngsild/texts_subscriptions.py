"""The NGSI-LD error details of the subscriptions modules, in English and Chinese (registered by
``texts`` as ``ngsild.<code>``)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # The subscription body (subscription_validation.py, subscriptions.py, views/subscriptions.py)
    "subscription_body_not_object": ("the body must be a JSON object", "请求体必须是 JSON 对象"),
    "subscription_members_unknown": (
        "unsupported subscription members: {members}",
        "不支持的订阅成员：{members}",
    ),
    "subscription_type": ('type must be "Subscription"', 'type 必须是 "Subscription"'),
    "subscription_id_not_uri": (
        "the subscription id {value} is not a URI",
        "订阅 id {value} 不是 URI",
    ),
    "subscription_id_differs": (
        "the id in the body differs from the id in the URL",
        "请求体中的 id 与 URL 中的 id 不同",
    ),
    "subscription_not_found": (
        "subscription {subscription} does not exist",
        "订阅 {subscription} 不存在",
    ),
    "subscription_exists": (
        "subscription {subscription} already exists",
        "订阅 {subscription} 已存在",
    ),
    "subscription_needs_notification": (
        "a subscription needs a notification",
        "订阅需要 notification",
    ),
    "subscription_patch_empty": ("the patch changes nothing", "该补丁没有任何改动"),
    "subscription_needs_selection": (
        "a subscription needs entities or watchedAttributes (or both)",
        "订阅需要 entities 或 watchedAttributes（或两者都有）",
    ),
    "subscription_interval_and_watched": (
        "timeInterval and watchedAttributes cannot both be given",
        "timeInterval 和 watchedAttributes 不能同时提供",
    ),
    "subscription_interval_and_throttling": (
        "timeInterval and throttling cannot both be given",
        "timeInterval 和 throttling 不能同时提供",
    ),
    "subscription_text": (
        "{member} must be a string of at most {limit} characters",
        "{member} 必须是不超过 {limit} 个字符的字符串",
    ),
    "subscription_type_selection": (
        "entities type: only alternatives (| or ,) are offered in a type selection",
        "entities type：类型选择只支持备选（| 或 ,）",
    ),
    "subscription_entities_list": (
        "entities must be a non-empty list of at most {limit} selectors",
        "entities 必须是非空列表，最多 {limit} 个选择器",
    ),
    "subscription_entities_item_object": (
        "each entities item must be an object with a type",
        "entities 的每一项都必须是含 type 的对象",
    ),
    "subscription_entities_item_members": (
        "entities items take type, id and idPattern, not {members}",
        "entities 的项只接受 type、id 和 idPattern，不接受 {members}",
    ),
    "subscription_entities_item_type": (
        "each entities item needs a type",
        "entities 的每一项都需要 type",
    ),
    "subscription_entities_id_or_pattern": (
        "an entities item takes id or idPattern, not both",
        "entities 的项只能有 id 或 idPattern 之一，不能两者都有",
    ),
    "subscription_entities_id_not_uri": (
        "entities id {value} is not a URI",
        "entities 的 id {value} 不是 URI",
    ),
    "subscription_id_pattern": (
        "idPattern must be a non-empty string",
        "idPattern 必须是非空字符串",
    ),
    "subscription_q": ("q must be a non-empty query string", "q 必须是非空的查询字符串"),
    "subscription_triggers_list": (
        "notificationTrigger must be a non-empty list of {triggers}",
        "notificationTrigger 必须是由以下各项组成的非空列表：{triggers}",
    ),
    "subscription_trigger_unknown": (
        "notificationTrigger {value} is not one of {triggers}",
        "notificationTrigger {value} 不是以下之一：{triggers}",
    ),
    "subscription_lang": (
        "lang must be a language tag, a comma list of them, or *",
        "lang 必须是语言标签、以逗号分隔的语言标签列表或 *",
    ),
    "subscription_seconds": (
        "{member} must be a number of seconds",
        "{member} 必须是以秒为单位的数值",
    ),
    "subscription_seconds_positive": (
        "{member} must be a positive number of seconds",
        "{member} 必须是以秒为单位的正数",
    ),
    "subscription_seconds_non_negative": (
        "{member} must be a non-negative number of seconds",
        "{member} 必须是以秒为单位的非负数",
    ),
    "subscription_seconds_too_many": (
        "{member} may be at most {limit} seconds (30 days)",
        "{member} 最多为 {limit} 秒（30 天）",
    ),
    "subscription_dataset_ids": (
        "datasetId must be a non-empty list of URIs",
        "datasetId 必须是非空的 URI 列表",
    ),
    "subscription_dataset_id_not_uri": (
        "datasetId {value} is not a URI",
        "datasetId {value} 不是 URI",
    ),
    "subscription_geo_q_not_object": (
        "geoQ must be an object with georel, geometry and coordinates",
        "geoQ 必须是含 georel、geometry 和 coordinates 的对象",
    ),
    "subscription_geo_q_members": (
        "geoQ takes georel, geometry, coordinates and geoproperty, not {members}",
        "geoQ 只接受 georel、geometry、coordinates 和 geoproperty，不接受 {members}",
    ),
    "subscription_geo_q_incomplete": (
        "geoQ needs georel, geometry and coordinates",
        "geoQ 需要 georel、geometry 和 coordinates",
    ),
    "subscription_geo_q_coordinates": (
        "geoQ coordinates must be a JSON array (or its text)",
        "geoQ 的 coordinates 必须是 JSON 数组（或其文本）",
    ),
    "subscription_geo_q_strings": (
        "geoQ georel and geometry must be strings",
        "geoQ 的 georel 和 geometry 必须是字符串",
    ),
    "subscription_expires_past": (
        "expiresAt must lie in the future",
        "expiresAt 必须是将来的时间",
    ),
    "subscription_is_active": ("isActive must be true or false", "isActive 必须是 true 或 false"),
    "subscription_scope_q": (
        "scopeQ must be a string in the scope query language",
        "scopeQ 必须是范围查询语言的字符串",
    ),
    "subscription_jsonld_context": (
        "jsonldContext must be an http(s) URL of an @context",
        "jsonldContext 必须是某个 @context 的 http(s) 地址",
    ),
    "subscription_endpoint_refused": (
        "notification.endpoint.uri is not an address this server may send notifications to",
        "notification.endpoint.uri 不是本服务器可以发送通知的地址",
    ),
    # The notification member (subscription_notification.py)
    "notification_names": (
        "{member} must be a non-empty list of at most {limit} names",
        "{member} 必须是非空列表，最多 {limit} 个名称",
    ),
    "notification_key_values": (
        "{member} must be a list of at most {limit} objects with a key and a value",
        "{member} 必须是列表，最多 {limit} 个含 key 和 value 的对象",
    ),
    "notification_key_value_item": (
        "each {member} item must be an object of a string key and a string value, nothing else",
        "{member} 的每一项都必须是只含字符串 key 和字符串 value 的对象",
    ),
    "notification_header_name": (
        "{member} key {key} is not a valid header name",
        "{member} 的 key {key} 不是有效的头名称",
    ),
    "notification_header_value": (
        "{member} {key} has a line break or is too long",
        "{member} {key} 含有换行或过长",
    ),
    "notification_sender_header": (
        "receiverInfo may not set {key}; the sender sets it",
        "receiverInfo 不能设置 {key}，它由发送方设置",
    ),
    "notification_mqtt_version": (
        "notifierInfo MQTT-Version must be one of {versions}",
        "notifierInfo 的 MQTT-Version 必须是以下之一：{versions}",
    ),
    "notification_mqtt_qos": (
        "notifierInfo MQTT-QoS must be 0, 1 or 2",
        "notifierInfo 的 MQTT-QoS 必须是 0、1 或 2",
    ),
    "notification_uri_port": (
        "notification.endpoint.uri has an invalid port",
        "notification.endpoint.uri 的端口无效",
    ),
    "notification_mqtt_uri": (
        "notification.endpoint.uri must be mqtt(s)://host[:port]/topic",
        "notification.endpoint.uri 必须是 mqtt(s)://host[:port]/topic",
    ),
    "notification_uri": (
        "notification.endpoint.uri must be a URI",
        "notification.endpoint.uri 必须是 URI",
    ),
    "notification_uri_whitespace": (
        "notification.endpoint.uri contains whitespace or control characters",
        "notification.endpoint.uri 含有空白或控制字符",
    ),
    "notification_uri_invalid": (
        "notification.endpoint.uri: {reason}",
        "notification.endpoint.uri 无效：{reason_zh}",
    ),
    "notification_endpoint_not_object": (
        "notification.endpoint must be an object with a uri",
        "notification.endpoint 必须是含 uri 的对象",
    ),
    "notification_endpoint_members": (
        "notification.endpoint takes uri, accept, receiverInfo and notifierInfo, not {members}",
        "notification.endpoint 只接受 uri、accept、receiverInfo 和 notifierInfo，不接受 {members}",
    ),
    "notification_accept": (
        "notification.endpoint.accept must be one of {accepts}",
        "notification.endpoint.accept 必须是以下之一：{accepts}",
    ),
    "notification_flag": (
        "notification.{member} must be true or false",
        "notification.{member} 必须是 true 或 false",
    ),
    "notification_join_level": (
        "notification.joinLevel must be a whole number from 1 to {limit}",
        "notification.joinLevel 必须是 1 到 {limit} 之间的整数",
    ),
    "notification_not_object": ("notification must be an object", "notification 必须是对象"),
    "notification_members": (
        "notification does not take {members}",
        "notification 不接受 {members}",
    ),
    "notification_needs_endpoint": (
        "notification needs an endpoint",
        "notification 需要 endpoint",
    ),
    "notification_format": (
        "notification.format must be one of {formats}",
        "notification.format 必须是以下之一：{formats}",
    ),
    "notification_join": (
        "notification.join must be one of {joins}",
        "notification.join 必须是以下之一：{joins}",
    ),
    "notification_changes_key_values": (
        "notification.showChanges cannot be true when format is keyValues",
        "format 为 keyValues 时 notification.showChanges 不能为 true",
    ),
    "notification_attributes_and_pick": (
        "notification.attributes cannot be combined with pick or omit",
        "notification.attributes 不能与 pick 或 omit 同时使用",
    ),
    "notification_pick_and_omit": (
        "notification.pick and notification.omit name the same member",
        "notification.pick 和 notification.omit 列出了同一个成员",
    ),
}
