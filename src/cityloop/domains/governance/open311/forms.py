"""The body of an Open311 POST, read as it streams so that the api_key is checked before a photo.

A form-encoded body is small (the body limit keeps it under ``FIELDS_MAX_BYTES``) and is parsed
whole. A multipart body is parsed part by part: when the first file part begins, the caller's
``before_files`` sees the text fields sent so far, and can refuse the request before any more of
the body is read. Photos are kept in memory, each at most ``max_file_bytes``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header
from starlette.requests import ClientDisconnect, Request

from cityloop.base.problems import Problem, bad_request
from cityloop.domains.governance.messages import Message

Fields = list[tuple[str, str]]


@dataclass
class Form:
    fields: Fields = field(default_factory=list)
    photos: list[bytes] = field(default_factory=list)


async def read_form(
    request: Request,
    *,
    before_files: Callable[[Fields], Awaitable[None]],
    file_field: str,
    max_files: int,
    max_file_bytes: int,
    max_fields: int,
    max_field_bytes: int,
) -> Form:
    """The text fields and the photos (parts named ``file_field``) of a form body."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        async with request.form(max_fields=max_fields) as form:
            return Form([(name, str(value)) for name, value in form.multi_items()])
    boundary = options.get(b"boundary")
    if not boundary:
        raise bad_request(Message("governance.multipart_body_boundary"), field="content-type")
    parts = _Parts(file_field, max_files, max_file_bytes, max_fields, max_field_bytes)
    parser = MultipartParser(boundary, parts.callbacks())
    checked = False
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if parts.files_begun and not checked:
                checked = True
                await before_files(parts.form.fields)
        parser.finalize()
    except (FormParserError, ClientDisconnect) as exc:
        raise bad_request(Message("governance.multipart_body_malformed_cut")) from exc
    return parts.form


class _Parts:
    """python-multipart callbacks that collect text fields and photos, within their limits."""

    def __init__(
        self,
        file_field: str,
        max_files: int,
        max_file_bytes: int,
        max_fields: int,
        max_field_bytes: int,
    ) -> None:
        self.form = Form()
        self.file_field = file_field
        self.max_files = max_files
        self.max_file_bytes = max_file_bytes
        self.max_fields = max_fields
        self.max_field_bytes = max_field_bytes
        self.files_begun = False
        self.field_bytes = 0
        self.files = 0
        self._header = bytearray()
        self._value = bytearray()
        self._disposition = b""
        self._name = ""
        self._is_file = False
        self._keep = True
        self._data = bytearray()

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._header.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._disposition = b""
        self._is_file = False
        self._keep = True
        self._data = bytearray()

    def _header_end(self) -> None:
        if bytes(self._header).lower() == b"content-disposition":
            self._disposition = bytes(self._value)
        self._header.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise bad_request(Message("governance.multipart_part_name"))
        self._name = _text(options[b"name"], "a part name")
        self._is_file = b"filename" in options
        if not self._is_file:
            if len(self.form.fields) >= self.max_fields:
                raise bad_request(
                    Message("governance.most_form_fields", {"max_fields": str(self.max_fields)})
                )
            return
        if self._name != self.file_field:
            raise bad_request(
                Message("governance.text_field_file", {"field": str(self._name)}), field=self._name
            )
        # An empty file input still sends a part, without a file name: nothing to keep.
        self._keep = bool(options[b"filename"])
        if self._keep:
            self.files += 1
            if self.files > self.max_files:
                raise bad_request(
                    Message(
                        "governance.most_files",
                        {"max_files": str(self.max_files), "file_field": str(self.file_field)},
                    )
                )
        self.files_begun = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        size = end - start
        if self._is_file:
            if not self._keep:
                return
            if len(self._data) + size > self.max_file_bytes:
                raise Problem(
                    413,
                    "media-too-large",
                    Message(
                        "governance.file_over_bytes",
                        {
                            "file_field": str(self.file_field),
                            "max_file_bytes": str(self.max_file_bytes),
                        },
                    ),
                    field=self.file_field,
                )
        else:
            self.field_bytes += size
            if self.field_bytes > self.max_field_bytes:
                raise Problem(
                    413,
                    "payload-too-large",
                    Message(
                        "governance.form_s_text_fields",
                        {"max_field_bytes": str(self.max_field_bytes)},
                    ),
                )
        self._data.extend(data[start:end])

    def _part_end(self) -> None:
        if not self._is_file:
            self.form.fields.append((self._name, _text(bytes(self._data), self._name)))
        elif self._keep:
            self.form.photos.append(bytes(self._data))
        self._data = bytearray()


def _text(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_request(Message("governance.utf_text", {"name": str(name)}), field=name) from exc
