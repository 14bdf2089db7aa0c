"""The fast JSON encoder of hand-built answers gives the very bytes Starlette's JSONResponse
gives, and refuses what it refuses."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from starlette.responses import JSONResponse

from cityloop.base.fastjson import FastJSONResponse, dumps


def plain(content: Any) -> bytes:
    return JSONResponse(content).body


RECORD = {
    "service_request_id": "123",
    "status_notes": 'Received — 已收到 "quoted" \\ \n\t\x00\x1f\x7f\u2028 😀',
    "lat": 39.90421234,
    "long": 116.4073912,
    "supporters": 2**63 - 1,
    "big": 2**70,
    "closed": False,
    "notice": None,
    "photos": ["a", "b"],
    "nested": {"1": [1.5, -0.0, 1e16, 1e22, 5e-324, 0.0001234]},
}


@pytest.mark.parametrize(
    "content",
    [
        RECORD,
        [RECORD] * 3,
        [],
        {},
        "text",
        {"tiny": 1e-7, "small": 2.5e-05, "note": "1e-7 written out"},
        {None: 1, 2: "two", True: "yes"},
    ],
)
def test_an_answer_has_the_bytes_of_the_plain_encoder(content: Any) -> None:
    assert dumps(content) == plain(content)
    assert FastJSONResponse(content).body == plain(content)


def test_random_floats_and_text_have_the_bytes_of_the_plain_encoder() -> None:
    rng = random.Random(13)
    for _ in range(2000):
        number = rng.uniform(-1, 1) * 10 ** rng.randint(-12, 12)
        text = "".join(chr(rng.randint(0, 0x2FFF)) for _ in range(rng.randint(0, 8)))
        content = {text: [number, text]}
        assert dumps(content) == plain(content)


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_a_number_json_cannot_carry_is_refused_as_before(number: float) -> None:
    with pytest.raises(ValueError):
        plain({"x": number})
    with pytest.raises(ValueError):
        dumps({"x": number})
