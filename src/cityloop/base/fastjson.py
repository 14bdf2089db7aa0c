"""JSON answers built by hand (Open311 records, lists of dicts) encoded by pydantic-core's Rust
serializer instead of ``json.dumps``, byte for byte the same.

Why not orjson or msgspec: neither is installed in this deployment's environment, and
pydantic-core is (FastAPI needs it). Why not the app's ``default_response_class``: FastAPI
(0.165) already encodes every route with a response model through pydantic-core straight to
bytes, but only while the route's response class is the default; naming another one turns that
path off for every route and makes them slower. So this class is for answers that are not
models: routes hand it to FastAPI explicitly.

Same bytes as Starlette's ``JSONResponse`` (compact, UTF-8, non-ASCII as is): the two encoders
agree on strings, integers and most floats, and differ only where the output shows it (floats
below 1e-4 written without Python's exponent form, ``None`` as a key, NaN and infinities);
an answer with any of those marks is encoded again by ``json.dumps``, which also raises on
NaN as before.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic_core import to_json
from starlette.responses import JSONResponse

# Where pydantic-core's output may differ from json.dumps: "1e-7" (Python: "1e-07"),
# "0.00001" (Python: "1e-05"), NaN/Infinity (Python: refused), a None key ("None": "null").
_MAY_DIFFER = re.compile(rb'\de-\d|0\.0000\d|NaN|Infinity|"None":')


def dumps(content: Any) -> bytes:
    """``content`` as compact UTF-8 JSON, the bytes ``json.dumps`` gives, several times faster
    on long lists."""
    body = to_json(content, inf_nan_mode="constants")
    if _MAY_DIFFER.search(body):
        # Rare: the exact encoder, with the arguments of Starlette's JSONResponse.render.
        plain = json.dumps(
            content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        )
        return plain.encode("utf-8")
    return body


class FastJSONResponse(JSONResponse):
    """Starlette's ``JSONResponse``, encoded by :func:`dumps`."""

    def render(self, content: Any) -> bytes:
        return dumps(content)
