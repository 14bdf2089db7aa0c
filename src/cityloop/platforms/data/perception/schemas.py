"""Request bodies and answers of the device registry API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from cityloop.base.db import iso
from cityloop.platforms.data.perception.models import Device, DeviceProfile, ProvisioningGroup


class ProfileIn(BaseModel):
    code: str = Field(min_length=1, max_length=60)
    name: str = Field(min_length=1, max_length=200)
    entity_type: str = Field(min_length=1, max_length=100)
    codec: str = Field(min_length=1, max_length=40)
    codec_config: dict[str, Any] = Field(default_factory=dict)


class GroupIn(BaseModel):
    apikey: str = Field(min_length=1, max_length=100)
    profile_code: str = Field(min_length=1, max_length=60)
    resource: str = Field(default="/iot/d", min_length=1, max_length=200)
    auto_provision: bool = False
    name: str = Field(default="", max_length=200)


class DeviceIn(BaseModel):
    device_id: str = Field(min_length=1, max_length=100)
    group_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    apikey: str | None = Field(default=None, max_length=100)
    name: str = Field(default="", max_length=200)
    lat: float | None = None
    lon: float | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


def profile_out(profile: DeviceProfile) -> dict[str, Any]:
    return {
        "code": profile.code,
        "name": profile.name,
        "entity_type": profile.entity_type,
        "codec": profile.codec,
        "codec_config": profile.codec_config,
        "created_at": iso(profile.created_at),
    }


def group_out(group: ProvisioningGroup) -> dict[str, Any]:
    return {
        "id": group.id,
        "apikey": group.apikey,
        "resource": group.resource,
        "profile_code": group.profile_code,
        "auto_provision": group.auto_provision,
        "name": group.name,
        "created_at": iso(group.created_at),
    }


def device_out(device: Device) -> dict[str, Any]:
    return {
        "device_id": device.device_id,
        "group_id": device.group_id,
        "profile_code": device.profile_code,
        "entity_id": device.entity_id,
        "name": device.name,
        "lat": device.lat,
        "lon": device.lon,
        "attributes": device.attributes,
        "active": device.active,
        "created_at": iso(device.created_at),
        "last_seen_at": iso(device.last_seen_at),
    }
