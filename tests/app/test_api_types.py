"""The front ends' API types (frontend/src/shared/api-types.ts) are generated from the OpenAPI
document; this fails when a response model changed and `make api-types` was not run."""

from __future__ import annotations

import pytest
from scripts import api_types


def test_the_generated_api_types_match_the_openapi_document() -> None:
    if not api_types.GENERATOR.exists():
        pytest.skip("openapi-typescript is not installed: run `make frontend`")
    committed = api_types.TARGET.read_text(encoding="utf-8")
    assert committed == api_types.generate(), (
        f"{api_types.TARGET.relative_to(api_types.ROOT)} is stale: run `make api-types` and "
        "commit the result"
    )


def test_no_two_response_or_body_models_share_a_name() -> None:
    # Two pydantic models of one name get module-qualified schema names
    # (cityloop__domains__...__TimelineRow), and the front ends' `Schemas["TimelineRow"]` breaks.
    names = api_types.openapi_document()["components"]["schemas"]
    clashing = sorted(name for name in names if name.startswith("cityloop__"))
    assert not clashing, f"rename one of each pair of models of the same name: {clashing}"
