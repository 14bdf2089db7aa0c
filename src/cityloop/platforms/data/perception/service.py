"""Device registry service functions: profiles, provisioning groups, devices and CSV import.

Every function takes a session; routes, the CLI and ingestion call the same functions.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityloop.base.outbox import emit
from cityloop.base.problems import Problem, bad_request, conflict, not_found
from cityloop.platforms.data.perception.codecs import CodecError, get_codec
from cityloop.platforms.data.perception.codecs.base import mappings_from_config
from cityloop.platforms.data.perception.codecs.binary import LayoutField
from cityloop.platforms.data.perception.events import DeviceChanged
from cityloop.platforms.data.perception.messages import Message
from cityloop.platforms.data.perception.models import Device, DeviceProfile, ProvisioningGroup

DEVICE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
PROFILE_CODE = re.compile(r"^[A-Za-z0-9._-]{1,60}$")
ENTITY_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
MIN_APIKEY_LENGTH = 8
MAX_IMPORT_ROWS = 100_000
CSV_COLUMNS = ("device_id", "apikey", "name", "lat", "lon")


def entity_id_for(entity_type: str, device_id: str) -> str:
    """The NGSI-LD entity id of a device: ``urn:ngsi-ld:<Type>:<device id>``."""
    return f"urn:ngsi-ld:{entity_type}:{device_id}"


# ------------------------------------------------------------------ profiles


def validate_codec_config(codec: str, config: Mapping[str, Any]) -> None:
    """Refuse a profile whose codec is not installed or whose configuration cannot be used."""
    try:
        get_codec(codec)
    except CodecError as exc:
        raise bad_request(exc.detail, field="codec") from exc
    if not isinstance(config, Mapping):
        raise bad_request(Message("perception.codec_config_object"), field="codec_config")
    try:
        mappings_from_config(config)
    except CodecError as exc:
        raise bad_request(exc.detail, field="codec_config.mappings") from exc
    if codec == "binary" and "layout" in config:
        try:
            layout = config["layout"]
            if not isinstance(layout, list) or not layout:
                raise CodecError(Message("perception.codec.layout_list_config"), field="layout")
            for item in layout:
                if not isinstance(item, Mapping):
                    raise CodecError(
                        Message("perception.codec.layout_object", {"item": repr(item)}),
                        field="layout",
                    )
                LayoutField.from_dict(item)
        except CodecError as exc:
            raise bad_request(exc.detail, field="codec_config.layout") from exc


def create_profile(
    session: Session,
    *,
    code: str,
    name: str,
    entity_type: str,
    codec: str,
    codec_config: Mapping[str, Any] | None = None,
    name_zh: str = "",
) -> DeviceProfile:
    """Add a device profile: its entity type and its codec with the codec's configuration."""
    if not PROFILE_CODE.match(code):
        raise bad_request(Message("perception.code_letters_digits"), field="code")
    if not ENTITY_TYPE.match(entity_type):
        raise bad_request(Message("perception.entity_type_type_name"), field="entity_type")
    config = dict(codec_config or {})
    validate_codec_config(codec, config)
    if session.get(DeviceProfile, code) is not None:
        raise conflict(
            Message("perception.device_profile_exists", {"code": repr(code)}),
            type_="profile-exists",
        )
    profile = DeviceProfile(
        code=code,
        name=name,
        name_zh=name_zh,
        entity_type=entity_type,
        codec=codec,
        codec_config=config,
    )
    session.add(profile)
    _flush_or_conflict(session, Message("perception.device_profile_exists", {"code": repr(code)}))
    return profile


def list_profiles(session: Session) -> list[DeviceProfile]:
    """Every device profile, by code."""
    return list(session.scalars(select(DeviceProfile).order_by(DeviceProfile.code)))


def get_profile(session: Session, *, code: str) -> DeviceProfile:
    """A device profile; 404 when there is none with this code."""
    profile = session.get(DeviceProfile, code)
    if profile is None:
        raise not_found("device profile", code)
    return profile


# ------------------------------------------------------------------ groups


MAX_APIKEY_LENGTH = 100  # the measure endpoint's k parameter, and the column
MAX_NAME_LENGTH = 200


def _check_name(name: str) -> None:
    if len(name) > MAX_NAME_LENGTH:
        raise bad_request(
            Message("perception.name_longer_than_characters", {"limit": str(MAX_NAME_LENGTH)}),
            field="name",
        )


def create_group(
    session: Session,
    *,
    apikey: str,
    profile_code: str,
    resource: str = "/iot/d",
    auto_provision: bool = False,
    name: str = "",
    name_zh: str = "",
) -> ProvisioningGroup:
    """Add a provisioning group: the api key its devices send with, and their profile."""
    if (
        not MIN_APIKEY_LENGTH <= len(apikey) <= MAX_APIKEY_LENGTH
        or not apikey.isprintable()
        or " " in apikey
    ):
        raise bad_request(
            Message(
                "perception.apikey_printable_characters_without",
                {
                    "min_length": str(MIN_APIKEY_LENGTH),
                    "max_length": str(MAX_APIKEY_LENGTH),
                },
            ),
            field="apikey",
        )
    _check_name(name)
    _check_name(name_zh)
    if not resource.startswith("/"):
        raise bad_request(Message("perception.resource_path_such_iot"), field="resource")
    if session.get(DeviceProfile, profile_code) is None:
        raise bad_request(
            Message("perception.device_profile", {"profile_code": repr(profile_code)}),
            field="profile_code",
        )
    if group_by_apikey(session, apikey=apikey) is not None:
        raise conflict(Message("perception.provisioning_group_apikey_exists"), type_="group-exists")
    group = ProvisioningGroup(
        apikey=apikey,
        resource=resource,
        profile_code=profile_code,
        auto_provision=auto_provision,
        name=name,
        name_zh=name_zh,
    )
    session.add(group)
    _flush_or_conflict(session, Message("perception.provisioning_group_apikey_exists"))
    return group


def list_groups(session: Session) -> list[ProvisioningGroup]:
    """Every provisioning group, oldest first."""
    return list(session.scalars(select(ProvisioningGroup).order_by(ProvisioningGroup.id)))


def group_by_apikey(session: Session, *, apikey: str) -> ProvisioningGroup | None:
    """The provisioning group with this api key, if there is one."""
    return session.scalar(select(ProvisioningGroup).where(ProvisioningGroup.apikey == apikey))


# ------------------------------------------------------------------ devices


def _coordinate(value: Any, name: str, limit: float) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise bad_request(
            Message("perception.number_got", {"name": str(name), "value": repr(value)}), field=name
        ) from exc
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise bad_request(
            Message("perception.lie_within", {"name": str(name), "limit": format(limit, "g")}),
            field=name,
        )
    return number


def create_device(
    session: Session,
    *,
    device_id: str,
    group: ProvisioningGroup | None = None,
    group_id: int | None = None,
    apikey: str | None = None,
    name: str = "",
    lat: Any = None,
    lon: Any = None,
    attributes: Mapping[str, Any] | None = None,
    name_zh: str = "",
) -> Device:
    """Register one device in a group, named by ``group``, ``group_id`` or ``apikey``."""
    _check_name(name)
    _check_name(name_zh)
    if not isinstance(device_id, str) or not DEVICE_ID.match(device_id):
        raise bad_request(Message("perception.device_id_letters_digits"), field="device_id")
    if group is None and group_id is not None:
        group = session.get(ProvisioningGroup, group_id)
        if group is None:
            raise bad_request(
                Message("perception.provisioning_group", {"group_id": str(group_id)}),
                field="group_id",
            )
    elif group is None and apikey is not None:
        group = group_by_apikey(session, apikey=apikey)
        if group is None:
            raise bad_request(Message("perception.provisioning_group_apikey"), field="apikey")
    if group is None:
        raise bad_request(Message("perception.name_device_s_group"), field="group_id")
    latitude = _coordinate(lat, "lat", 90)
    longitude = _coordinate(lon, "lon", 180)
    if (latitude is None) != (longitude is None):
        raise bad_request(
            Message("perception.give_both_lat_lon"), field="lat" if latitude is None else "lon"
        )
    if attributes is not None and not isinstance(attributes, Mapping):
        raise bad_request(Message("perception.attributes_object"), field="attributes")
    if session.get(Device, device_id) is not None:
        # Named like a 400's field, so an import's row error points at the column.
        raise Problem(
            409,
            "device-exists",
            Message("perception.device_exists", {"device_id": repr(device_id)}),
            field="device_id",
        )
    profile = get_profile(session, code=group.profile_code)
    device = Device(
        device_id=device_id,
        group_id=group.id,
        profile_code=profile.code,
        entity_id=entity_id_for(profile.entity_type, device_id),
        name=name,
        name_zh=name_zh,
        lat=latitude,
        lon=longitude,
        attributes=dict(attributes or {}),
    )
    session.add(device)
    _flush_or_conflict(
        session,
        Message("perception.device_exists", {"device_id": repr(device_id)}),
        type_="device-exists",
    )
    emit(session, DeviceChanged(device_id=device_id, change="registered"))
    return device


def get_device(session: Session, *, device_id: str) -> Device:
    """A device; 404 when there is none with this id."""
    device = session.get(Device, device_id)
    if device is None:
        raise not_found("device", device_id)
    return device


def list_devices(
    session: Session, *, group_id: int | None = None, offset: int = 0, limit: int = 100
) -> tuple[list[Device], int]:
    """One page of devices (optionally of one group) by id, with the total count."""
    query = select(Device)
    if group_id is not None:
        query = query.where(Device.group_id == group_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Device.device_id).offset(offset).limit(limit))
    return list(rows), total


_ACTIVE_CHANGE: dict[bool, Literal["activated", "deactivated"]] = {
    True: "activated",
    False: "deactivated",
}


def set_device_active(session: Session, *, device_id: str, active: bool) -> Device:
    """Deactivate (or reactivate) a device; its history stays."""
    # Ingest refuses a deactivated device's messages.
    device = get_device(session, device_id=device_id)
    if device.active != active:
        emit(session, DeviceChanged(device_id=device_id, change=_ACTIVE_CHANGE[active]))
    device.active = active
    session.flush()
    return device


def delete_device(session: Session, *, device_id: str) -> None:
    """Delete a device from the registry."""
    session.delete(get_device(session, device_id=device_id))
    session.flush()
    emit(session, DeviceChanged(device_id=device_id, change="deleted"))


# ------------------------------------------------------------------ CSV import


@dataclass
class ImportResult:
    created: int = 0
    # Each refused row: its line, the field at fault and why (a message, shown to the reader
    # in their language by ``errors_in``).
    errors: list[dict[str, Any]] = field(default_factory=list)

    def errors_in(self, locale: str) -> list[dict[str, Any]]:
        """The refused rows with their reasons in ``locale``."""
        return [{**error, "message": _reason(error["message"], locale)} for error in self.errors]


def _reason(reason: Message | str, locale: str) -> str:
    return reason.render(locale) if isinstance(reason, Message) else reason


def import_devices_csv(session: Session, *, text: str) -> ImportResult:
    """Register devices from CSV (device_id,apikey,name,lat,lon), one SAVEPOINT per row."""
    # A bad row is reported with its line number (the header is line 1) and the rest go in.
    if not text or not text.strip():
        raise bad_request(Message("perception.csv_empty"), field="file")
    if "\x00" in text:
        raise bad_request(Message("perception.file_csv_text"), field="file")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except csv.Error as exc:
        raise bad_request(Message("perception.csv_read", {"exc": str(exc)}), field="file") from exc
    columns = [c.strip().lower().lstrip("\ufeff") for c in header]
    missing = [c for c in ("device_id", "apikey") if c not in columns]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if missing or unknown:
        raise bad_request(
            Message(
                "perception.csv_header",
                {
                    "columns": ", ".join(CSV_COLUMNS),
                    "missing": ", ".join(missing) or "-",
                    "unknown": ", ".join(unknown) or "-",
                },
            ),
            field="file",
        )
    result = ImportResult()
    groups: dict[str, ProvisioningGroup | None] = {}
    rows = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise bad_request(
                Message(
                    "perception.csv_read_line",
                    {
                        "line_num": str(reader.line_num),
                        "exc": str(exc),
                    },
                ),
                field="file",
            ) from exc
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        rows += 1
        if rows > MAX_IMPORT_ROWS:
            raise bad_request(
                Message("perception.csv_more_than_rows", {"limit": str(MAX_IMPORT_ROWS)}),
                field="file",
            )
        if len(values) != len(columns):
            result.errors.append(
                {
                    "row": line,
                    "field": "row",
                    "message": Message(
                        "perception.csv_row_values",
                        {"expected": str(len(columns)), "given": str(len(values))},
                    ),
                }
            )
            continue
        record = {c: v.strip() for c, v in zip(columns, values, strict=True)}
        apikey = record["apikey"]
        if apikey not in groups:
            groups[apikey] = group_by_apikey(session, apikey=apikey)
        group = groups[apikey]
        try:
            if group is None:
                raise bad_request(Message("perception.provisioning_group_apikey"), field="apikey")
            with session.begin_nested():
                create_device(
                    session,
                    device_id=record["device_id"],
                    group=group,
                    name=record.get("name", ""),
                    lat=record.get("lat") or None,
                    lon=record.get("lon") or None,
                )
        except Problem as exc:
            result.errors.append(
                {"row": line, "field": exc.field or "row", "message": exc.message or exc.detail}
            )
        else:
            result.created += 1
    if rows == 0:
        raise bad_request(Message("perception.csv_header_but_rows"), field="file")
    return result


def _flush_or_conflict(session: Session, message: Message, type_: str = "conflict") -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise conflict(message, type_=type_) from exc
