"""Building blocks of the response models every package declares for its JSON routes.

The OpenAPI document is generated from these models, and the front ends' TypeScript types are
generated from that document (``make api-types``), so a model here is a contract with both apps.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, WithJsonSchema

# A moment as the routes have always written it (``base.db.iso``: ``2026-11-03T08:15:00+00:00``),
# declared as an RFC 3339 date-time in the schema. The string is passed through as it is: a
# ``datetime`` field would be re-rendered by Pydantic (``…Z``), a change every client would see.
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]

# Free-form JSON objects stored as they came (device attributes, rule definitions, event data).
JsonObject = dict[str, Any]


class Answer(BaseModel):
    """Base of response models: built in the route from trusted values, never from client input,
    so unknown keys are an error in the code rather than something to pass along."""

    model_config = ConfigDict(extra="forbid")


class Named(Answer):
    """A coded thing with an English and a Chinese name: an area, a department, a category."""

    code: str
    name: str
    name_zh: str


def omit_when_none(value: Any) -> bool:
    """``Field(exclude_if=omit_when_none)``: a key that only some answers carry."""
    return value is None
