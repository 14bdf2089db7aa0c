"""Materials: a PDF or a photo of the paper, checked by the media platform (size, type, active
content) before it is kept, and readable only by its applicant and the reviewing departments."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from cityloop.platforms.application.identity.models import AuditEntry
from tests.support.city import City
from tests.support.media import jpeg_bytes
from tests.support.services import PDF, call, definition, draft, hand_in, save_service, submitted


@pytest.fixture(scope="module", autouse=True)
def permit(city: City) -> None:
    save_service(city, definition())


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "blue").save(buffer, "PNG")
    return buffer.getvalue()


with_script = PDF.replace(b"/Catalog", b"/Catalog /OpenAction << /S /JavaScript >>")
with_escaped_script = PDF.replace(b"/Catalog", b"/Catalog /#4Aava#53cript (x)")
encrypted = PDF.replace(b"trailer <<", b"trailer << /Encrypt 5 0 R")
oversized = PDF.replace(b"trailer", b"%" * 1_000_001 + b"\ntrailer")


@pytest.mark.parametrize(
    ("material", "data", "status", "kind"),
    [
        ("site-plan", with_script, 422, "document-active-content"),
        ("site-plan", with_escaped_script, 422, "document-active-content"),
        ("site-plan", encrypted, 422, "document-encrypted"),
        ("site-plan", PDF.replace(b"%%EOF", b""), 422, "document-truncated"),
        ("site-plan", oversized, 413, "document-too-large"),
        ("photo", PDF, 415, "document-type-not-accepted"),
        ("photo", png_bytes(), 415, "document-type-not-accepted"),
        ("site-plan", b"just some text, not a document", 415, "media-not-an-image"),
        ("birth-certificate", PDF, 400, "invalid-input"),
    ],
)  # fmt: skip
def test_a_document_that_fails_a_check_is_refused_naming_why(
    city: City, material: str, data: bytes, status: int, kind: str
) -> None:
    application = draft(city, "test-permit")
    problem = hand_in(city, application["id"], material=material, data=data, expect=status)
    assert problem["type"].endswith("/" + kind), problem
    assert (
        call(city, "GET", f"/api/v1/applications/{application['id']}", "citizen")["materials"] == []
    )


def test_a_file_is_required(city: City) -> None:
    application = draft(city, "test-permit")
    response = city.client.post(
        f"/api/v1/applications/{application['id']}/materials",
        data={"material": "site-plan"},
        headers=city.headers("citizen"),
    )
    assert response.status_code == 400 and response.json()["field"] == "file"


def test_a_new_upload_replaces_the_earlier_one_and_photos_are_stripped(city: City) -> None:
    application = draft(city, "test-permit")
    number = application["id"]
    hand_in(city, number)
    replaced = hand_in(city, number, material="site-plan", data=png_bytes(), name="plan.png")
    photo = hand_in(city, number, material="photo", data=jpeg_bytes(), name="me.jpg")
    kept = call(city, "GET", f"/api/v1/applications/{number}", "citizen")["materials"]
    assert [m["id"] for m in kept] == [replaced["id"], photo["id"]]
    assert replaced["content_type"] == "image/png"
    response = city.client.get(
        f"/api/v1/applications/{number}/materials/{photo['id']}", headers=city.headers("citizen")
    )
    assert response.status_code == 200 and response.headers["cache-control"] == "private, no-store"
    assert b"Exif" not in response.content[:200]


def test_only_the_applicant_and_the_reviewers_read_a_document_and_staff_reads_are_audited(
    city: City,
) -> None:
    application = submitted(city, "test-permit")
    number = application["id"]
    material = application["materials"][0]["id"]
    mine = f"/api/v1/applications/{number}/materials/{material}"
    theirs = f"/api/v1/staff/applications/{number}/materials/{material}"
    assert city.client.get(mine, headers=city.headers("citizen")).content == PDF
    assert city.client.get(mine).status_code == 401
    assert city.client.get(theirs, headers=city.headers("handler-water")).status_code == 404
    assert city.client.get(theirs, headers=city.headers("handler-urbanmgmt")).content == PDF
    with city.ctx.reading() as session:
        audited = session.scalars(
            select(AuditEntry.actor).where(AuditEntry.target == f"application:{number}")
        ).all()
    assert "handler-urbanmgmt" in audited
    # Materials are handed in with a draft or a supplement, not after submitting.
    hand_in(city, number, expect=409)
