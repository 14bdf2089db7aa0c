"""Device registry routes under /api/v1/perception, for administrators. Routes are thin: they
parse, call a service function inside one unit of work, and shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from cityloop.base.context import AppContext, get_context
from cityloop.base.problems import Problem, bad_request
from cityloop.identity.deps import require_roles
from cityloop.identity.roles import Role
from cityloop.identity.service import Actor
from cityloop.perception import service
from cityloop.perception.schemas import (
    DeviceIn,
    GroupIn,
    ProfileIn,
    device_out,
    group_out,
    profile_out,
)

router = APIRouter(prefix="/api/v1/perception", tags=["devices"])
Ctx = Annotated[AppContext, Depends(get_context)]
Admin = Annotated[Actor, Depends(require_roles(Role.ADMIN))]
# 100,000 rows of device_id,apikey,name,lat,lon fit well inside this.
MAX_CSV_BYTES = 32 * 1024 * 1024


@router.post("/profiles", status_code=201)
def create_profile(ctx: Ctx, actor: Admin, body: ProfileIn) -> dict[str, Any]:
    with ctx.writing() as session:
        profile = service.create_profile(
            session,
            code=body.code,
            name=body.name,
            entity_type=body.entity_type,
            codec=body.codec,
            codec_config=body.codec_config,
        )
        return profile_out(profile)


@router.get("/profiles")
def list_profiles(ctx: Ctx, actor: Admin) -> list[dict[str, Any]]:
    with ctx.reading() as session:
        return [profile_out(p) for p in service.list_profiles(session)]


@router.get("/profiles/{code}")
def get_profile(ctx: Ctx, actor: Admin, code: str) -> dict[str, Any]:
    with ctx.reading() as session:
        return profile_out(service.get_profile(session, code))


@router.post("/groups", status_code=201)
def create_group(ctx: Ctx, actor: Admin, body: GroupIn) -> dict[str, Any]:
    with ctx.writing() as session:
        group = service.create_group(
            session,
            apikey=body.apikey,
            profile_code=body.profile_code,
            resource=body.resource,
            auto_provision=body.auto_provision,
            name=body.name,
        )
        return group_out(group)


@router.get("/groups")
def list_groups(ctx: Ctx, actor: Admin) -> list[dict[str, Any]]:
    with ctx.reading() as session:
        return [group_out(g) for g in service.list_groups(session)]


@router.post("/devices", status_code=201)
def create_device(ctx: Ctx, actor: Admin, body: DeviceIn) -> dict[str, Any]:
    with ctx.writing() as session:
        device = service.create_device(
            session,
            device_id=body.device_id,
            group_id=body.group_id,
            apikey=body.apikey,
            name=body.name,
            lat=body.lat,
            lon=body.lon,
            attributes=body.attributes,
        )
        return device_out(device)


@router.get("/devices")
def list_devices(
    ctx: Ctx,
    actor: Admin,
    group_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    with ctx.reading() as session:
        rows, total = service.list_devices(session, group_id=group_id, offset=offset, limit=limit)
        return {
            "items": [device_out(d) for d in rows],
            "total": total,
            "offset": offset,
            "limit": limit,
        }


@router.post("/devices/import")
async def import_devices(ctx: Ctx, actor: Admin, request: Request) -> dict[str, Any]:
    """Bulk registration from CSV (device_id,apikey,name,lat,lon): a text/csv body or the
    multipart field ``file``. Bad rows are listed with their line numbers; the rest go in."""
    raw = await _csv_bytes(request)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise bad_request("the CSV must be UTF-8 text", field="file") from exc
    result = await run_in_threadpool(_import, ctx, text)
    return {"created": result.created, "errors": result.errors}


def _import(ctx: AppContext, text: str) -> service.ImportResult:
    with ctx.writing() as session:
        return service.import_devices_csv(session, text)


async def _csv_bytes(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form(max_part_size=MAX_CSV_BYTES)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise bad_request("send the CSV as multipart field 'file'", field="file")
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
        raise Problem(413, "file-too-large", f"the CSV is over {MAX_CSV_BYTES} bytes", field="file")
    return data


@router.get("/devices/{device_id}")
def get_device(ctx: Ctx, actor: Admin, device_id: str) -> dict[str, Any]:
    with ctx.reading() as session:
        return device_out(service.get_device(session, device_id))


@router.delete("/devices/{device_id}", status_code=204)
def delete_device(ctx: Ctx, actor: Admin, device_id: str) -> Response:
    with ctx.writing() as session:
        service.delete_device(session, device_id)
    return Response(status_code=204)
