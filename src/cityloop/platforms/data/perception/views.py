"""Device registry routes under /api/v1/perception, for administrators. Routes are thin: they
parse, call a service function inside one unit of work, and shape the answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, Security
from fastapi.security import APIKeyQuery
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from cityloop.base.context import AppContext, get_context
from cityloop.base.db import iso
from cityloop.base.locale import ReaderLocale
from cityloop.base.problems import Problem, bad_request
from cityloop.platforms.application.identity.deps import require_roles
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor, audit
from cityloop.platforms.data.perception import device_queries, service, telemetry
from cityloop.platforms.data.perception import responses as out
from cityloop.platforms.data.perception.ingest import (
    DeviceMessage,
    ingest_batch,
    ingest_measure,
    known_apikeys,
    unknown_apikey,
)
from cityloop.platforms.data.perception.messages import Message
from cityloop.platforms.data.perception.responses import device_out, group_out, profile_out
from cityloop.platforms.data.perception.schemas import DeviceIn, GroupIn, ProfileIn

# No router prefix: the IoT-Agent-style measure endpoint lives at /iot/d, outside the API tree.
BASE = "/api/v1/perception"
router = APIRouter(tags=["devices"])
Ctx = Annotated[AppContext, Depends(get_context)]
Admin = Annotated[Actor, Depends(require_roles(Role.ADMIN))]
# 100,000 rows of device_id,apikey,name,lat,lon fit well inside this.
MAX_CSV_BYTES = 32 * 1024 * 1024


@router.post(BASE + "/profiles", status_code=201)
def create_profile(ctx: Ctx, actor: Admin, body: ProfileIn) -> out.Profile:
    """Create a device profile; admins only."""
    with ctx.writing() as session:
        # The body's fields are the service function's arguments, name for name.
        profile = service.create_profile(session, **body.model_dump())
        target = f"profile:{profile.code}"
        audit(session, actor=actor, action="device.profile.create", target=target)
        return profile_out(profile)


@router.get(BASE + "/profiles")
def list_profiles(ctx: Ctx, actor: Admin) -> list[out.Profile]:
    """Every device profile; admins only."""
    with ctx.reading() as session:
        return [profile_out(p) for p in service.list_profiles(session)]


@router.get(BASE + "/profiles/{code}")
def get_profile(ctx: Ctx, actor: Admin, code: str) -> out.Profile:
    """One device profile by its code; admins only."""
    with ctx.reading() as session:
        return profile_out(service.get_profile(session, code=code))


@router.post(BASE + "/groups", status_code=201)
def create_group(ctx: Ctx, actor: Admin, body: GroupIn) -> out.Group:
    """Create a device group; admins only."""
    with ctx.writing() as session:
        group = service.create_group(session, **body.model_dump())
        audit(session, actor=actor, action="device.group.create", target=f"group:{group.id}")
        return group_out(group)


@router.get(BASE + "/groups")
def list_groups(ctx: Ctx, actor: Admin) -> list[out.Group]:
    """Every device group; admins only."""
    with ctx.reading() as session:
        return [group_out(g) for g in service.list_groups(session)]


@router.post(BASE + "/devices", status_code=201)
def create_device(ctx: Ctx, actor: Admin, body: DeviceIn) -> out.Device:
    """Register a device; admins only."""
    with ctx.writing() as session:
        device = service.create_device(session, **body.model_dump())
        audit(session, actor=actor, action="device.create", target=f"device:{device.device_id}")
        return device_out(device)


@router.get(BASE + "/devices")
def list_devices(
    ctx: Ctx,
    actor: Admin,
    group_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    profile: Annotated[str | None, Query(max_length=60)] = None,
    state: Annotated[str | None, Query(max_length=20)] = None,
    district: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> out.DevicePage:
    """One page of registered devices by id, each with its state (online, offline, never_seen),
    battery and district; filtered by group, profile, state, district and a text in the id or
    name (``q``); admins only."""
    filters = device_queries.DeviceFilter(
        profile_code=profile, group_id=group_id, state=state, district=district, text=q
    )
    with ctx.reading() as session:
        rows, total = device_queries.list_devices(
            session, filters=filters, offset=offset, limit=limit
        )
        return out.DevicePage(
            items=[out.device_row_out(d) for d in rows], total=total, offset=offset, limit=limit
        )


@router.post(BASE + "/devices/import")
async def import_devices(
    ctx: Ctx, actor: Admin, request: Request, locale: ReaderLocale
) -> out.ImportAnswer:
    """Bulk registration from CSV (device_id,apikey,name,lat,lon): a text/csv body or the
    multipart field ``file``. Bad rows are listed with their line numbers and the reason in the
    reader's language; the rest go in."""
    raw = await _csv_bytes(request)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise bad_request(Message("perception.csv_utf_text"), field="file") from exc
    result = await run_in_threadpool(_import, ctx, actor, text)
    return out.ImportAnswer.model_validate(
        {"created": result.created, "errors": result.errors_in(locale)}
    )


def _import(ctx: AppContext, actor: Actor, text: str) -> service.ImportResult:
    with ctx.writing() as session:
        result = service.import_devices_csv(session, text=text)
        audit(
            session,
            actor=actor,
            action="device.import",
            detail={"created": result.created, "refused": len(result.errors)},
        )
        return result


async def _csv_bytes(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form(max_part_size=MAX_CSV_BYTES)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise bad_request(Message("perception.send_csv_multipart_field"), field="file")
        data = await upload.read(MAX_CSV_BYTES + 1)
    else:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_CSV_BYTES:
                break
            chunks.append(chunk)
        data = b"".join(chunks)
        if size > MAX_CSV_BYTES:
            data += b"x"
    if len(data) > MAX_CSV_BYTES:
        raise Problem(
            413,
            "file-too-large",
            Message("perception.csv_over_bytes", {"limit": str(MAX_CSV_BYTES)}),
            field="file",
        )
    return data


@router.get(BASE + "/devices/{device_id}")
def get_device(ctx: Ctx, actor: Admin, device_id: str) -> out.Device:
    """One registered device; admins only."""
    with ctx.reading() as session:
        return device_out(service.get_device(session, device_id=device_id))


@router.delete(BASE + "/devices/{device_id}", status_code=204)
def delete_device(ctx: Ctx, actor: Admin, device_id: str) -> Response:
    """Delete a device from the registry; admins only."""
    with ctx.writing() as session:
        service.delete_device(session, device_id=device_id)
        audit(session, actor=actor, action="device.delete", target=f"device:{device_id}")
    return Response(status_code=204)


# ------------------------------------------------------------------ ingestion and telemetry

MAX_MEASURE_BYTES = 64 * 1024
MAX_BATCH_ITEMS = 1000
# A whole batch body: 1,000 messages of up to about 8 KB each (a reading is usually under 200).
MAX_BATCH_BYTES = 8 * 1024 * 1024


class MeasureItem(BaseModel):
    k: str = Field(max_length=100)
    i: str = Field(max_length=100)
    payload: str = Field(max_length=MAX_MEASURE_BYTES)


class MeasuresIn(BaseModel):
    measures: list[MeasureItem] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)


# The provisioning group's key in the query (``?k=``), as FIWARE IoT Agents send it; declared so
# the OpenAPI document names the credential.
DEVICE_KEY = APIKeyQuery(
    name="k",
    scheme_name="deviceKey",
    description="The device's provisioning-group API key (the IoT Agent's `k`).",
    auto_error=False,
)


@router.post("/iot/d", tags=["ingest"])
async def iot_measure(
    ctx: Ctx,
    request: Request,
    k: Annotated[str | None, Security(DEVICE_KEY)] = None,
    i: Annotated[str, Query(max_length=100)] = "",
) -> out.Stored:
    """IoT Agent style measure: ``?k=<apikey>&i=<device_id>``, an UltraLight or JSON body as the
    device's profile says. The api key is the credential; no user login."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_MEASURE_BYTES:
            raise Problem(
                413,
                "payload-too-large",
                Message("perception.measure_most_bytes", {"limit": str(MAX_MEASURE_BYTES)}),
                field="payload",
            )
        chunks.append(chunk)
    content_type = request.headers.get("content-type")
    apikey = (k or "")[:200]  # no known key is longer; a longer one is simply unknown
    return await run_in_threadpool(_ingest_one, ctx, apikey, i, b"".join(chunks), content_type)


def _ingest_one(
    ctx: AppContext, apikey: str, device_id: str, payload: bytes, content_type: str | None
) -> out.Stored:
    with ctx.reading() as session:
        if not known_apikeys(session, apikeys={apikey}):
            raise unknown_apikey()
    with ctx.writing() as session:
        result = ingest_measure(
            session, apikey=apikey, device_id=device_id, payload=payload, content_type=content_type
        )
        return out.Stored(stored=result.stored, duplicates=result.duplicates)


@router.post(BASE + "/measures", tags=["ingest"])
def ingest_measures(ctx: Ctx, body: MeasuresIn) -> out.BatchAnswer:
    """Many device messages at once, each authenticated by its own api key, stored in one
    transaction: a bad item is reported by index and the valid ones are kept."""
    messages = [
        DeviceMessage(item.k, item.i, item.payload.encode("utf-8")) for item in body.measures
    ]
    with ctx.reading() as session:
        known = known_apikeys(session, apikeys={message.apikey for message in messages})
    if known:
        with ctx.writing() as session:
            outcomes = ingest_batch(session, messages=messages)
    else:
        outcomes = [unknown_apikey() for _ in messages]  # no writer taken for nothing
    results: list[out.BatchStored | out.BatchRejected] = []
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, Problem):
            results.append(
                out.BatchRejected(
                    index=index,
                    ok=False,
                    status=outcome.status,
                    field=outcome.field,
                    detail=outcome.detail,
                )
            )
        else:
            results.append(
                out.BatchStored(
                    index=index, ok=True, stored=outcome.stored, duplicates=outcome.duplicates
                )
            )
    return out.BatchAnswer(results=results)


@router.get(BASE + "/devices/{device_id}/latest")
def device_latest(ctx: Ctx, actor: Admin, device_id: str) -> out.LatestValues:
    """A device's latest value of each attribute, with when it was observed; admins only."""
    with ctx.reading() as session:
        device = service.get_device(session, device_id=device_id)
        rows = telemetry.latest_values(session, entity_id=device.entity_id)
        return out.LatestValues(
            device_id=device.device_id,
            entity_id=device.entity_id,
            last_seen_at=iso(device.last_seen_at),
            attributes={
                row.attribute: out.LatestValue(
                    value=row.value, unit=row.unit, observed_at=iso(row.observed_at)
                )
                for row in rows
            },
        )


@router.get(BASE + "/devices/{device_id}/measures")
def device_measures(
    ctx: Ctx,
    actor: Admin,
    device_id: str,
    attribute: Annotated[str | None, Query(max_length=200)] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> out.Measurements:
    """A device's readings, optionally of one attribute and since a moment, newest first; admins
    only."""
    telemetry.check_query_moment("since", since)  # the input first, then the lookup
    with ctx.reading() as session:
        device = service.get_device(session, device_id=device_id)
        rows = telemetry.measurements(
            session, device_id=device.device_id, attribute=attribute, since=since, limit=limit
        )
        return out.Measurements(
            device_id=device.device_id,
            entity_id=device.entity_id,
            items=[
                out.Measurement(
                    attribute=row.attribute,
                    value=row.num_value if row.num_value is not None else row.text_value,
                    unit=row.unit,
                    observed_at=iso(row.observed_at),
                )
                for row in rows
            ],
        )
