"""What the media platform tells people, in English and Chinese, by message code (registered with
the base's message catalogue)."""

from __future__ import annotations

from cityloop.base.messages import Message, register

__all__ = ["PROBLEMS", "Message"]

# The details of this package's problem answers, by code.
PROBLEMS: dict[str, tuple[str, str]] = {
    "media.pdf_complete_end_file": (
        "the PDF is not complete (no end-of-file marker)",
        "PDF 文件不完整（缺少文件结束标记）",
    ),
    "media.pdf_encrypted_hand_copy": (
        "the PDF is encrypted: hand in a copy without a password",
        "PDF 已加密：请提交无密码的副本",
    ),
    "media.pdf_carries_active_content": (
        "the PDF carries active content ({items})",
        "PDF 含有活动内容（{items}）",
    ),
    "media.file_over_bytes": (
        "the file is over {max_bytes} bytes",
        "文件超过 {max_bytes} 字节",
    ),
    "media.file_accepted_here_send": (
        "a {value} file is not accepted here: send {accepted}",
        "此处不接受 {value} 文件：请提交 {accepted}",
    ),
    "media.pdf_accepted_here_send": (
        "a PDF is not accepted here: send {items}",
        "此处不接受 PDF：请提交 {items}",
    ),
    "media.uploaded_file_empty": (
        "the uploaded file is empty",
        "上传的文件为空",
    ),
    "media.file_bytes_limit_bytes": (
        "the file is {size} bytes; the limit is {max_bytes} bytes",
        "文件大小为 {size} 字节，上限为 {max_bytes} 字节",
    ),
    "media.file_recognisable_image_expected": (
        "the file is not a recognisable image (expected JPEG, PNG or WebP)",
        "无法识别的图片文件（应为 JPEG、PNG 或 WebP）",
    ),
    "media.images_are_accepted_please": (
        "{sniffed} images are not accepted; please upload JPEG, PNG or WebP",
        "不接受 {sniffed} 图片，请上传 JPEG、PNG 或 WebP",
    ),
    "media.image_x_pixels_limit": (
        "the image is {width}x{height} ({value} pixels); the limit is {limit} pixels",
        "图片尺寸为 {width}x{height}（{value} 像素），上限为 {limit} 像素",
    ),
    "media.file_looks_like_but": (
        "the file looks like {sniffed} but is damaged or cut off",
        "文件看似 {sniffed} 图片，但已损坏或不完整",
    ),
    "media.images_are_accepted": (
        "{format} images are not accepted",
        "不接受 {format} 图片",
    ),
    "media.image_too_large_decode": (
        "the image is too large to decode",
        "图片过大，无法解码",
    ),
    "media.image_data_truncated_corrupt": (
        "the {pillow_name} image data is truncated or corrupt",
        "{pillow_name} 图片数据不完整或已损坏",
    ),
    "media.image_s_pixel_format": (
        "the image's pixel format ({mode}) is not supported",
        "不支持该图片的像素格式（{mode}）",
    ),
    "media.most_photos": (
        "at most 10 photos",
        "最多 10 张照片",
    ),
    "media.unknown_media_id_upload": (
        "unknown media id {media_id}: upload it first",
        "未知的媒体编号 {media_id}：请先上传",
    ),
    "media.send_image_multipart_field": (
        "send the image as multipart field 'file'",
        "请以 multipart 字段“file”提交图片",
    ),
    "media.too_many_pixels": (
        "{reason}",
        "图片像素过多，无法处理（{reason}）",
    ),
}
register(PROBLEMS)
