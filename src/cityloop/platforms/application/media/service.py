"""Upload rules: decode for real, strip metadata, thumbnail, store behind the Storage interface."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base import metrics
from cityloop.base.problems import Problem, bad_request
from cityloop.base.storage import Storage
from cityloop.platforms.application.media.imaging import (
    MediaRejected,
    ProcessedImage,
    process_image,
)
from cityloop.platforms.application.media.messages import Message
from cityloop.platforms.application.media.models import Media

REJECTION_STATUS = {"too_large": 413, "not_an_image": 415, "unsupported_format": 415}


def decode_upload(raw: bytes, *, max_bytes: int, max_pixels: int) -> ProcessedImage:
    """Decode and clean an uploaded image; 413, 415 or 422 naming ``file`` when it is refused."""
    try:
        return process_image(raw, max_bytes=max_bytes, max_pixels=max_pixels)
    except MediaRejected as exc:
        metrics.INPUT_REJECTED.inc(reason=f"media_{exc.code}")
        raise Problem(
            REJECTION_STATUS.get(exc.code, 422),
            f"media-{exc.code.replace('_', '-')}",
            exc.message or exc.detail,
            field="file",
        ) from exc


def store_image(
    session: Session, *, storage: Storage, image: ProcessedImage, uploaded_by: str | None
) -> Media:
    """Store an image and its thumbnail behind the storage interface, and record it."""
    media_id = uuid.uuid4().hex
    key = f"media/{media_id[:2]}/{media_id}.{image.extension}"
    thumb_ext = "png" if image.thumbnail_content_type == "image/png" else "jpg"
    thumb_key = f"media/{media_id[:2]}/{media_id}.thumb.{thumb_ext}"
    # Blobs first: if the row never commits, an orphan file is harmless; a row without its
    # file would not be.
    storage.put(key, image.data, image.content_type)
    storage.put(thumb_key, image.thumbnail, image.thumbnail_content_type)
    media = Media(
        id=media_id,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        size=len(image.data),
        sha256=image.sha256,
        storage_key=key,
        thumbnail_key=thumb_key,
        thumbnail_content_type=image.thumbnail_content_type,
        uploaded_by=uploaded_by,
    )
    session.add(media)
    session.flush()
    return media


def store_image_once(
    session: Session, *, storage: Storage, image: ProcessedImage, uploaded_by: str
) -> str:
    """Store an image unless this uploader already stored the same bytes; its media id."""
    existing = session.scalar(
        select(Media.id)
        .where(Media.sha256 == image.sha256, Media.uploaded_by == uploaded_by)
        .limit(1)
    )
    if existing is not None:
        return str(existing)
    return store_image(session, storage=storage, image=image, uploaded_by=uploaded_by).id


def get_media(session: Session, *, media_id: str) -> Media | None:
    """The uploaded image with this id, if there is one (None for a malformed id)."""
    if len(media_id) != 32 or not media_id.isalnum():
        return None
    return session.get(Media, media_id)


def require_media(session: Session, *, media_ids: Iterable[str], field: str) -> list[str]:
    """Check that every id names an uploaded image; answer 400 naming the first that does not."""
    ids = list(dict.fromkeys(str(m) for m in media_ids))
    if len(ids) > 10:
        raise bad_request(Message("media.most_photos"), field=field)
    if not ids:
        return []
    found = set(session.scalars(select(Media.id).where(Media.id.in_(ids))))
    for media_id in ids:
        if media_id not in found:
            raise bad_request(
                Message("media.unknown_media_id_upload", {"media_id": repr(media_id)}), field=field
            )
    return ids
