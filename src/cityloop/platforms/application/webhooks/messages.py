"""Why a notification cannot be queued as given, in English and Chinese (``webhooks.*``)."""

from __future__ import annotations

from cityloop.base.messages import Message, register

__all__ = ["Message"]

register(
    {
        "webhooks.endpoint_empty": (
            "the endpoint must be a non-empty URL",
            "接收地址必须是非空的 URL",
        ),
        "webhooks.endpoint_too_long": (
            "the endpoint is longer than {limit} characters",
            "接收地址超过 {limit} 个字符",
        ),
        "webhooks.endpoint_whitespace": (
            "the endpoint contains whitespace or control characters",
            "接收地址含有空白或控制字符",
        ),
        "webhooks.endpoint_scheme": (
            "the endpoint scheme must be http or https, not {scheme}",
            "接收地址的协议必须是 http 或 https，而不是 {scheme}",
        ),
        "webhooks.endpoint_credentials": (
            "the endpoint must not carry credentials; send them as a header instead",
            "接收地址不能带凭据，请改用请求头发送",
        ),
        "webhooks.endpoint_no_host": ("the endpoint has no host", "接收地址没有主机名"),
        "webhooks.endpoint_port": ("the endpoint has an invalid port", "接收地址的端口无效"),
        "webhooks.endpoint_fragment": (
            "the endpoint must not have a #fragment",
            "接收地址不能带 # 片段",
        ),
        "webhooks.headers_not_object": (
            "headers must be an object of names to values",
            "headers 必须是由名称到值的对象",
        ),
        "webhooks.headers_not_strings": (
            "header names and values must be strings",
            "请求头的名称和值都必须是字符串",
        ),
        "webhooks.header_name_invalid": (
            "invalid header name {name}",
            "无效的请求头名称 {name}",
        ),
        "webhooks.header_line_break": (
            "header {name} has a line break in its value",
            "请求头 {name} 的值含有换行",
        ),
        "webhooks.header_reserved": (
            "header {name} is set by the sender",
            "请求头 {name} 由发送方设置",
        ),
        "webhooks.body_not_bytes": ("the body must be bytes", "正文必须是字节串"),
        "webhooks.content_type_invalid": (
            "the content type must be a single-line media type",
            "内容类型必须是单行的媒体类型",
        ),
        "webhooks.source_length": (
            "source must be 1 to 80 characters",
            "source 必须是 1 到 80 个字符",
        ),
        "webhooks.source_id_length": (
            "source_id must be 1 to 300 characters",
            "source_id 必须是 1 到 300 个字符",
        ),
    }
)
