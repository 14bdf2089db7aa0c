"""Request bodies of the device registry API (the answers are in ``responses.py``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ProfileIn(BaseModel):
    code: str = Field(min_length=1, max_length=60)
    name: str = Field(min_length=1, max_length=200)
    name_zh: str = Field(default="", max_length=200)
    entity_type: str = Field(min_length=1, max_length=100)
    codec: str = Field(min_length=1, max_length=40)
    codec_config: dict[str, Any] = Field(default_factory=dict)


class GroupIn(BaseModel):
    apikey: str = Field(min_length=1, max_length=100)
    profile_code: str = Field(min_length=1, max_length=60)
    resource: str = Field(default="/iot/d", min_length=1, max_length=200)
    auto_provision: bool = False
    name: str = Field(default="", max_length=200)
    name_zh: str = Field(default="", max_length=200)


class DeviceIn(BaseModel):
    device_id: str = Field(min_length=1, max_length=100)
    group_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    apikey: str | None = Field(default=None, max_length=100)
    name: str = Field(default="", max_length=200)
    name_zh: str = Field(default="", max_length=200)
    lat: float | None = None
    lon: float | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
