from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response, UploadFile
from fastapi.responses import RedirectResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from cityloop.base.context import AppContext, get_context
from cityloop.base.contracts import Answer, omit_when_none
from cityloop.base.problems import Problem, bad_request, not_found
from cityloop.base.ratelimit import client_key
from cityloop.base.storage import presigned_get
from cityloop.platforms.application.identity.deps import optional_user
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.media import service
from cityloop.platforms.application.media.imaging import ProcessedImage
from cityloop.platforms.application.media.messages import Message
from cityloop.platforms.application.media.models import Media

router = APIRouter(prefix="/api/v1/media", tags=["media"])
Ctx = Annotated[AppContext, Depends(get_context)]


async def read_capped(upload: UploadFile, max_bytes: int) -> bytes:
    """Read an upload without holding more than the cap (plus one chunk) in memory."""
    chunks: list[bytes] = []
    total = 0
    while chunk := await upload.read(256 * 1024):
        total += len(chunk)
        if total > max_bytes:
            raise Problem(
                413,
                "media-too-large",
                Message("media.file_over_bytes", {"max_bytes": str(max_bytes)}),
                field="file",
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def decode_photo(ctx: AppContext, raw: bytes) -> ProcessedImage:
    """Decode, strip and thumbnail one upload in a worker thread. At most
    ``media_decode_slots`` decode at once in this process; the others wait on the event loop,
    so a burst of uploads never takes the thread pool the other routes run in."""
    settings = ctx.settings
    decode = partial(
        service.decode_upload,
        raw,
        max_bytes=settings.media_max_bytes,
        max_pixels=settings.media_max_pixels,
    )
    return await anyio.to_thread.run_sync(decode, limiter=ctx.extras["media_decodes"])


class LocationHint(Answer):
    lat: float
    lon: float


class Uploaded(Answer):
    """A stored photo: where to fetch it and its thumbnail."""

    id: str
    content_type: str
    width: int
    height: int
    url: str
    thumbnail_url: str
    location_hint: LocationHint | None = Field(
        default=None,
        exclude_if=omit_when_none,
        description="the photo's own GPS position, read before it was stripped; for the uploader",
    )


IMAGE_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "the image's bytes"}
}


@router.post("", status_code=201, response_model=Uploaded)
async def upload(ctx: Ctx, request: Request, file: UploadFile | None = None) -> Uploaded:
    """Upload a photo, stripped of its metadata and re-encoded; anyone, citizens and anonymous
    callers rate-limited."""
    if file is None:
        raise bad_request(Message("media.send_image_multipart_field"), field="file")
    user = optional_user(request)
    if user is None or user.role == Role.CITIZEN:
        ctx.extras["media_limiter"].check(client_key(request))
    raw = await read_capped(file, ctx.settings.media_max_bytes)
    # Decoding, re-encoding and the database write block: keep them off the event loop.
    image = await decode_photo(ctx, raw)
    media = await run_in_threadpool(_store, ctx, image, user.username if user else None)
    # The photo's own position, read before stripping, offered back to the uploader only.
    hint = LocationHint(lat=image.gps[0], lon=image.gps[1]) if image.gps else None
    return Uploaded(
        id=media.id,
        content_type=media.content_type,
        width=media.width,
        height=media.height,
        url=f"/api/v1/media/{media.id}",
        thumbnail_url=f"/api/v1/media/{media.id}/thumbnail",
        location_hint=hint,
    )


def _store(ctx: AppContext, image: ProcessedImage, uploaded_by: str | None) -> Media:
    with ctx.writing() as session:
        return service.store_image(
            session, storage=ctx.storage, image=image, uploaded_by=uploaded_by
        )


def _serve(ctx: AppContext, media_id: str, thumbnail: bool) -> Response:
    with ctx.reading() as session:
        media = service.get_media(session, media_id=media_id)
    if media is None:
        raise not_found("media", media_id)
    key = media.thumbnail_key if thumbnail else media.storage_key
    content_type = media.thumbnail_content_type if thumbnail else media.content_type
    # The stored key ends in the extension its content was encoded as (store_image names it).
    name = f"{media.id}.thumb" if thumbnail else media.id
    extension = key.rsplit(".", 1)[-1]
    cache = "public, max-age=31536000, immutable"
    disposition = f'inline; filename="{name}.{extension}"'
    # A store that hands out signed URLs serves the bytes itself: API workers pass none.
    lifetime = ctx.settings.storage_presign_seconds
    url = presigned_get(
        ctx.storage, key, expires_in=lifetime, content_type=content_type,
        disposition=disposition, cache_control=cache,
    )  # fmt: skip
    if url is not None:
        # Cached for half the URL's life, so a cached redirect never points at an expired URL.
        return RedirectResponse(
            url, status_code=307, headers={"Cache-Control": f"public, max-age={lifetime // 2}"}
        )
    return Response(
        ctx.storage.get(key),
        media_type=content_type,
        headers={
            "Cache-Control": cache,
            # The bytes are a re-encoded image of this type: a browser must not guess otherwise.
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": disposition,
        },
    )


@router.get("/{media_id}", response_class=Response, responses=IMAGE_ANSWER)
def original(ctx: Ctx, media_id: str) -> Response:
    """An uploaded photo's bytes, cached for a year; for anyone with its id."""
    return _serve(ctx, media_id, thumbnail=False)


@router.get("/{media_id}/thumbnail", response_class=Response, responses=IMAGE_ANSWER)
def thumbnail(ctx: Ctx, media_id: str) -> Response:
    """An uploaded photo's thumbnail, cached for a year; for anyone with its id."""
    return _serve(ctx, media_id, thumbnail=True)
