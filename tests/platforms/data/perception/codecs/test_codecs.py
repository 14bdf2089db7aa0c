"""Vendor codecs: UltraLight, JSON with mappings, binary layouts, the safe expression language."""

from __future__ import annotations

import base64
import struct
from datetime import UTC, datetime
from typing import Any

import pytest

from cityloop.platforms.data.perception.codecs import (
    AttributeMapping,
    Codec,
    CodecError,
    Reading,
    apply_mapping,
    builtin_codecs,
    get_codec,
)
from cityloop.platforms.data.perception.codecs.expressions import SafeExpression, compile_expression

WHEN = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def decode(codec: str, payload: bytes, **config: Any) -> list[Reading]:
    return get_codec(codec).decode(payload, device_id="dev-1", config=config)


def values(readings: list[Reading]) -> dict[str, Any]:
    return {r.attribute: r.value for r in readings}


# -- registry -----------------------------------------------------------------------------------


def test_the_three_builtin_codecs_are_registered_and_implement_the_protocol() -> None:
    codecs = builtin_codecs()
    assert set(codecs) == {"ul", "json", "binary"}
    assert all(isinstance(c, Codec) for c in codecs.values())
    assert get_codec("ul").name == "ul"


def test_an_unknown_codec_is_a_codec_error() -> None:
    with pytest.raises(CodecError) as error:
        get_codec("no-such-vendor")
    assert error.value.field == "codec"


# -- UltraLight 2.0 -----------------------------------------------------------------------------


def test_ultralight_single_group_parses_numbers_and_text() -> None:
    readings = decode("ul", b"t|21.5|h|40|s|open\n")
    assert values(readings) == {"t": 21.5, "h": 40, "s": "open"}
    assert isinstance(values(readings)["h"], int)
    assert all(r.device_id == "dev-1" and r.observed_at is None for r in readings)


def test_ultralight_hash_separated_groups_each_become_readings() -> None:
    readings = decode("ul", b"t|21.5#t|22.0|h|41")
    assert [(r.attribute, r.value) for r in readings] == [("t", 21.5), ("t", 22.0), ("h", 41)]


def test_ultralight_leading_timestamp_sets_observed_at_for_its_group() -> None:
    readings = decode("ul", b"2026-11-25T10:00:00Z|t|21.5|h|40#t|22")
    assert [r.observed_at for r in readings] == [WHEN, WHEN, None]


def test_ultralight_applies_the_configured_mappings() -> None:
    mapping = {"object_id": "t", "name": "temperature", "type": "Number", "unit": "CEL"}
    (reading,) = decode("ul", b"t|21.5", mappings=[mapping])
    assert reading == Reading("dev-1", "temperature", 21.5, None, "CEL")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"", "payload"),
        (b"|21.5", "key"),
        (b"t|", "t"),
        (b"t|21.5|h", "timestamp"),
        (b"not-a-time|t|21.5", "timestamp"),
        (b"2026-11-25T10:00:00Z", "payload"),
        (b"t|\xff\xfe", "payload"),
    ],
)
def test_malformed_ultralight_is_rejected_naming_the_problem(payload: bytes, field: str) -> None:
    with pytest.raises(CodecError) as error:
        decode("ul", payload)
    assert error.value.field == field


# -- JSON with mappings -------------------------------------------------------------------------

FILLING = {
    "object_id": "lvl",
    "name": "fillingLevel",
    "type": "Number",
    "expression": "value / 100",
    "unit": "P1",
}


def test_json_maps_object_id_with_expression_and_unit_and_passes_the_rest_through() -> None:
    payload = b'{"lvl": 87, "bat": 3.1, "TimeInstant": "2026-11-25T10:00:00Z"}'
    readings = decode("json", payload, mappings=[FILLING])
    assert readings == [
        Reading("dev-1", "fillingLevel", 0.87, WHEN, "P1"),
        Reading("dev-1", "bat", 3.1, WHEN, None),
    ]


def test_json_list_gives_several_readings_with_their_own_timestamps() -> None:
    payload = b'[{"lvl": 50, "timestamp": "2026-11-25T10:00:00Z"}, {"lvl": "90"}]'
    readings = decode("json", payload, mappings=[FILLING])
    assert [(r.value, r.observed_at) for r in readings] == [(0.5, WHEN), (0.9, None)]


def test_json_expressions_can_use_other_attributes_and_convert_types() -> None:
    mappings = [
        {"object_id": "raw", "name": "level", "type": "Number", "expression": "value - offset"},
        {"object_id": "tilt", "name": "open", "type": "Boolean", "expression": "value > 30"},
        {"object_id": "code", "name": "status", "type": "Text"},
    ]
    payload = b'{"raw": 120, "offset": 20, "tilt": 45, "code": 7}'
    assert values(decode("json", payload, mappings=mappings)) == {
        "level": 100,
        "offset": 20,
        "open": True,
        "status": "7",
    }


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"{not json", "payload"),
        (b'{"t": NaN}', "payload"),
        (b'{"t": {"nested": 1}}', "t"),
        (b'{"t": 1, "timestamp": "yesterday"}', "timestamp"),
        (b"[1, 2]", "payload"),
        (b'{"lvl": "lots"}', "fillingLevel"),
    ],
)
def test_malformed_json_is_rejected_naming_the_problem(payload: bytes, field: str) -> None:
    with pytest.raises(CodecError) as error:
        decode("json", payload, mappings=[FILLING])
    assert error.value.field == field


# -- binary layouts -----------------------------------------------------------------------------

LAYOUT = [
    {"name": "temperature", "offset": 0, "type": "i16", "scale": 0.01, "unit": "CEL"},
    {"name": "battery", "offset": 2, "type": "u8", "unit": "P1"},
]


def test_binary_hex_payload_is_decoded_by_the_layout_with_scale_and_unit() -> None:
    payload = struct.pack(">hB", -2155, 87).hex().encode()
    readings = decode("binary", payload, layout=LAYOUT)
    assert readings == [
        Reading("dev-1", "temperature", -21.55, None, "CEL"),
        Reading("dev-1", "battery", 87, None, "P1"),
    ]


def test_binary_base64_payload_is_auto_detected() -> None:
    payload = base64.b64encode(struct.pack(">hB", 2155, 87) + b"\x00\x00")
    assert base64.b64decode(payload) != payload  # not mistaken for hex
    assert values(decode("binary", payload, layout=LAYOUT)) == {"temperature": 21.55, "battery": 87}


def test_binary_raw_bytes_little_endian_and_float_fields() -> None:
    layout = [
        {"name": "count", "offset": 0, "type": "u32", "endian": "little"},
        {"name": "level", "offset": 4, "type": "f32", "endian": "little"},
    ]
    payload = struct.pack("<If", 70000, 1.25)
    assert values(decode("binary", payload, layout=layout, encoding="raw")) == {
        "count": 70000,
        "level": 1.25,
    }


def test_binary_bit_fields_are_extracted_from_an_integer() -> None:
    layout = [
        {"name": "open", "offset": 0, "type": "u8", "bits": [7, 1]},
        {"name": "tilt", "offset": 0, "type": "u8", "bits": [0, 7]},
    ]
    mappings = [{"object_id": "open", "name": "open", "type": "Boolean"}]
    assert values(decode("binary", b"ad", layout=layout, mappings=mappings)) == {
        "open": True,
        "tilt": 0x2D,
    }


def test_binary_payload_too_short_for_the_layout_names_the_field() -> None:
    with pytest.raises(CodecError) as error:
        decode("binary", b"0102", layout=LAYOUT)
    assert error.value.field == "battery"


def test_binary_invalid_layout_and_payload_are_codec_errors() -> None:
    with pytest.raises(CodecError):
        decode("binary", b"0102", layout=[{"name": "x", "offset": 0, "type": "u64"}])
    with pytest.raises(CodecError):
        decode("binary", b"0102", layout=[{"name": "x", "offset": 0, "type": "u8", "bits": [6, 4]}])
    with pytest.raises(CodecError):
        decode("binary", b"!!not base64!!", layout=LAYOUT)


# -- the safe expression language ---------------------------------------------------------------


def test_expressions_do_arithmetic_comparisons_and_whitelisted_functions() -> None:
    env = {"value": 7, "t": 2.5}
    assert SafeExpression("(value + 1) * 2 - 3 / 2").evaluate(env) == 14.5
    assert SafeExpression("value // 2 + value % 2 + -t").evaluate(env) == 1.5
    assert SafeExpression("value ** 2").evaluate(env) == 49
    assert SafeExpression("0 < value <= 10").evaluate(env) is True
    assert SafeExpression("min(value, 5) + max(t, 1) + abs(-1) + round(t * 1.234, 1)").evaluate(
        env
    ) == pytest.approx(11.6)


def test_expressions_are_compiled_once_and_cached_by_text() -> None:
    assert compile_expression("value * 3") is compile_expression("value * 3")


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "value.__class__",
        "().__class__",
        "lambda: 1",
        "open('x')",
        "9**9**9",
        "value ** 11",
        "value[0]",
        "[1, 2]",
        "value if value else 0",
        "eval('1')",
        "x" * 201,
        "1 +",
        "'a' * 100",
        "abs(*value)",
        "10 ** 10 ** 10",
    ],
)
def test_expressions_refuse_anything_outside_the_allow_list(text: str) -> None:
    with pytest.raises(CodecError) as error:
        SafeExpression(text).evaluate({"value": 3, "x": 1})
    assert error.value.field == "expression"


def test_expressions_refuse_resource_abuse_at_evaluation() -> None:
    nested = "(((((((value ** 10) ** 10) ** 10) ** 10) ** 10) ** 10) ** 10)"
    with pytest.raises(CodecError):
        SafeExpression(nested).evaluate({"value": 999})
    with pytest.raises(CodecError):
        SafeExpression("value ** 10 * 1.0").evaluate({"value": 1e300})
    with pytest.raises(CodecError):
        SafeExpression("value / 0").evaluate({"value": 1})
    with pytest.raises(CodecError):
        SafeExpression("value ** exponent").evaluate({"value": 2, "exponent": 99})


def test_expressions_refuse_names_not_provided() -> None:
    with pytest.raises(CodecError, match="missing"):
        SafeExpression("value + missing").evaluate({"value": 1})


# -- mappings and range checks ------------------------------------------------------------------


def test_range_check_rejects_an_out_of_range_value_naming_the_attribute() -> None:
    mapping = AttributeMapping("lvl", "fillingLevel", "Number", expression="value / 100", maximum=1)
    assert values(apply_mapping({"lvl": 100}, [mapping], "dev-1", None)) == {"fillingLevel": 1}
    with pytest.raises(CodecError, match="fillingLevel") as error:
        apply_mapping({"lvl": 140}, [mapping], "dev-1", None)
    assert error.value.field == "fillingLevel"
    low = AttributeMapping("t", "temperature", "Number", minimum=-40)
    with pytest.raises(CodecError) as error:
        apply_mapping({"t": -50}, [low], "dev-1", None)
    assert error.value.field == "temperature"


def test_unmapped_attributes_pass_through_unchanged() -> None:
    raw = {"x": "text", "y": 1.5, "z": True}
    readings = apply_mapping(raw, [], "dev-1", WHEN)
    assert readings == [Reading("dev-1", k, v, WHEN, None) for k, v in raw.items()]


def test_an_invalid_mapping_is_rejected_when_configured() -> None:
    with pytest.raises(CodecError):
        AttributeMapping("t", "temperature", "Float")
    with pytest.raises(CodecError):
        AttributeMapping("t", "temperature", "Number", expression="value.real")
    with pytest.raises(CodecError):
        decode("json", b"{}", mappings=[{"object_id": "t", "nme": "x", "type": "Number"}])


# -- value tables -------------------------------------------------------------------------------

OCCUPANCY = {
    "object_id": "occ",
    "name": "status",
    "type": "Text",
    "values": {"0": "free", "1": "occupied"},
}


def test_a_value_table_turns_a_bit_field_into_a_word() -> None:
    layout = [{"name": "occ", "offset": 0, "type": "u8", "bits": [0, 1]}]
    assert values(decode("binary", b"01", layout=layout, mappings=[OCCUPANCY])) == {
        "status": "occupied"
    }
    assert values(decode("binary", b"fe", layout=layout, mappings=[OCCUPANCY])) == {
        "status": "free"
    }


def test_a_code_missing_from_the_value_table_is_out_of_range() -> None:
    with pytest.raises(CodecError) as error:
        decode("json", b'{"occ": 7}', mappings=[OCCUPANCY])
    assert (error.value.field, error.value.reason) == ("status", "out_of_range")


@pytest.mark.parametrize(
    "mapping",
    [
        {**OCCUPANCY, "values": {}},
        {**OCCUPANCY, "values": {"0": 1}},
        {**OCCUPANCY, "values": ["free"]},
        {**OCCUPANCY, "type": "Number"},
    ],
)
def test_a_bad_value_table_is_refused_when_the_profile_is_read(mapping: dict[str, Any]) -> None:
    with pytest.raises(CodecError) as error:
        AttributeMapping.from_dict(mapping)
    assert error.value.field == "mappings"


# -- what a refusal says ------------------------------------------------------------------------


def test_a_codec_refusal_is_a_message_code_in_english_and_chinese() -> None:
    with pytest.raises(CodecError) as refused:
        decode("ul", b"")
    detail = refused.value.detail
    assert not isinstance(detail, str)
    assert detail.code == "perception.codec.empty_payload"
    assert detail.texts() == {"en": "the payload is empty", "zh-CN": "载荷为空"}
    assert str(refused.value) == "the payload is empty"


def test_a_failing_expression_says_why_in_the_readers_language() -> None:
    mapping = AttributeMapping(
        object_id="t", name="temperature", type="Number", expression="value / 0"
    )
    with pytest.raises(CodecError) as refused:
        apply_mapping({"t": 5}, [mapping], "dev-1", WHEN)
    detail = refused.value.detail
    assert not isinstance(detail, str)
    assert detail.render("en").startswith("temperature: ")
    assert detail.render("zh-CN").startswith("属性 temperature：")
    assert "计算失败" in detail.render("zh-CN")
