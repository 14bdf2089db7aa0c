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


def test_every_schema_keeps_its_short_name() -> None:
    # Two response models of one name in different packages make FastAPI fall back to module
    # paths (cityloop__domains__…__StaffTimelineRow), and the front ends' names for them vanish.
    names = api_types.openapi_document()["components"]["schemas"]
    assert not [name for name in names if name.startswith("cityloop__")]
