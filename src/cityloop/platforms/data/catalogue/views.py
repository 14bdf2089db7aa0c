"""The catalogue over HTTP: the public open-data catalogue (with DCAT-AP), downloads and
previews, and the console's dataset management (definitions, uploads, views)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Path, Query, Request, Response, UploadFile
from sqlalchemy.orm import Session

from cityloop.base.context import AppContext, get_context
from cityloop.base.problems import Problem, forbidden, not_found
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.deps import optional_user, staff_actor
from cityloop.platforms.application.identity.service import Actor
from cityloop.platforms.data.catalogue import (
    authoring,
    datastore,
    dcat,
    service,
    uploads,
)
from cityloop.platforms.data.catalogue.messages import Message
from cityloop.platforms.data.catalogue.models import Dataset
from cityloop.platforms.data.catalogue.permissions import may_read_rows, owns
from cityloop.platforms.data.catalogue.responses import (
    DatasetChanges,
    DatasetIn,
    DatasetOut,
    DatasetPage,
    PreviewOut,
    UploadOut,
    Vocabularies,
    dataset_out,
    dataset_summary,
    distribution_out,
    upload_out,
    vocabularies,
)
from cityloop.platforms.data.catalogue.vocabularies import FORMATS

router = APIRouter(prefix="/api/v1/data", tags=["data catalogue"])
Ctx = Annotated[AppContext, Depends(get_context)]
Staff = Annotated[Actor, Depends(staff_actor)]
NamePath = Annotated[str, Path(max_length=100)]
PREVIEW_ROWS = 50


def _viewer(request: Request) -> Actor | None:
    user = optional_user(request)
    if user is None:
        return None
    actor = identity.actor_for(user)
    return actor if actor.is_staff else None


Viewer = Annotated[Actor | None, Depends(_viewer)]


def _visible(session: Session, name: str, viewer: Actor | None) -> Dataset:
    # The public sees open datasets only; another department's entry is listed to staff (so
    # they know what to ask a grant for), its rows are not.
    dataset = service.get_dataset(session, name=name)
    if dataset.sensitivity != "open" and viewer is None:
        raise not_found("dataset", name)
    return dataset


def _departments(session: Session) -> dict[str, object]:
    return {d.code: d for d in identity.list_departments(session)}


@router.get("/vocabularies", response_model=Vocabularies)
def catalogue_vocabularies() -> Vocabularies:
    """The themes, frequencies, licences and sensitivity classes, named in both languages."""
    return vocabularies()


@router.get("/datasets", response_model=DatasetPage)
def list_datasets(
    ctx: Ctx,
    viewer: Viewer,
    q: Annotated[str | None, Query(max_length=200)] = None,
    owner: Annotated[str | None, Query(max_length=40)] = None,
    sensitivity: Literal["open", "shared", "personal"] | None = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DatasetPage:
    """The catalogue: open datasets for everyone; every dataset's entry for staff."""
    allowed = ["open"] if viewer is None else ["open", "shared", "personal"]
    if sensitivity is not None:
        allowed = [s for s in allowed if s == sensitivity]
    with ctx.reading() as session:
        found, total = service.list_datasets(
            session, sensitivities=allowed, owner=owner, q=q, limit=limit, offset=offset
        )
        departments = _departments(session)
        items = [dataset_summary(d, departments) for d in found]  # type: ignore[arg-type]
    return DatasetPage(total=total, limit=limit, offset=offset, items=items)


@router.get("/datasets/{name}", response_model=DatasetOut)
def show_dataset(ctx: Ctx, viewer: Viewer, name: NamePath) -> DatasetOut:
    """One dataset: its entry, schema, quality and distributions."""
    with ctx.reading() as session:
        dataset = _visible(session, name, viewer)
        files = [
            distribution_out(ctx.settings.public_base_url, dataset, d)
            for d in service.distributions_of(session, dataset_id=dataset.id)
        ]
        manage = viewer is not None and owns(dataset, viewer)
        return dataset_out(dataset, _departments(session), files, may_manage=manage)  # type: ignore[arg-type]


@router.get("/datasets/{name}/preview", response_model=PreviewOut)
def preview_dataset(
    ctx: Ctx,
    viewer: Viewer,
    name: NamePath,
    limit: Annotated[int, Query(ge=1, le=PREVIEW_ROWS)] = 20,
) -> PreviewOut:
    """The first rows of an open dataset, or of one's own department's."""
    with ctx.reading() as session:
        dataset = _visible(session, name, viewer)
        if dataset.sensitivity != "open" and not (viewer and may_read_rows(dataset, viewer)):
            raise forbidden(
                Message(
                    "catalogue.dataset_data_read_through",
                    {
                        "name": repr(name),
                        "sensitivity": str(dataset.sensitivity),
                        "owner_department": str(dataset.owner_department),
                    },
                )
            )
        if dataset.sensitivity == "personal":
            raise forbidden(Message("catalogue.personal_data_read_through"))
        found = datastore.search(
            session, dataset_id=dataset.id, schema=dataset.table_schema, limit=limit
        )
    return PreviewOut(fields=found.fields, records=found.records, total=found.total)


@router.get(
    "/datasets/{name}/distributions/{distribution_id}",
    response_class=Response,
    responses={200: {"content": {m: {} for m, _ in FORMATS.values()}}},
)
def download(
    ctx: Ctx, viewer: Viewer, name: NamePath, distribution_id: Annotated[str, Path(max_length=36)]
) -> Response:
    """A distribution's file, with its checksum as a header."""
    with ctx.reading() as session:
        dataset = _visible(session, name, viewer)
        if dataset.sensitivity == "personal":
            raise forbidden(Message("catalogue.personal_data_never_downloaded"))
        if dataset.sensitivity != "open" and not (viewer and may_read_rows(dataset, viewer)):
            raise forbidden(
                Message(
                    "catalogue.dataset_shared_data_read",
                    {
                        "name": repr(name),
                        "owner_department": str(dataset.owner_department),
                    },
                )
            )
        match = [d for d in service.distributions_of(session, dataset_id=dataset.id)
                 if d.id == distribution_id and d.storage_key]  # fmt: skip
        if not match:
            raise not_found("distribution", distribution_id)
        distribution = match[0]
    extension = FORMATS[distribution.format][1]
    return Response(
        ctx.storage.get(distribution.storage_key or ""),
        media_type=distribution.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{dataset.name}.{extension}"',
            "Digest": f"sha-256={distribution.sha256}",
            "Cache-Control": "public, max-age=300",
        },
    )


@router.get(
    "/catalog.{extension}",
    response_class=Response,
    responses={200: {"content": {m: {} for _, m in dcat.SERIALISATIONS.values()}}},
)
def dcat_catalogue(ctx: Ctx, extension: Literal["ttl", "jsonld", "rdf"]) -> Response:
    """The open catalogue as DCAT-AP: Turtle, JSON-LD or RDF/XML."""
    with ctx.reading() as session:
        datasets, files = service.open_catalogue(session)
        graph = dcat.catalogue_graph(
            base_url=ctx.settings.public_base_url,
            city=(ctx.settings.city_name, ctx.settings.city_name_zh),
            datasets=datasets,
            distributions=files,
            departments={d.code: d for d in identity.list_departments(session)},
        )
    data, media_type = dcat.serialise(graph, extension)
    return Response(data, media_type=media_type)


@router.post("/datasets", response_model=DatasetOut, status_code=201)
def define_dataset(ctx: Ctx, actor: Staff, body: DatasetIn) -> DatasetOut:
    """A department's new dataset: a table it uploads, or a view over another dataset."""
    with ctx.writing() as session:
        dataset = authoring.define_dataset(
            session, ctx.storage, actor=actor, entry=body.model_dump(exclude_none=True)
        )
        files = [
            distribution_out(ctx.settings.public_base_url, dataset, d)
            for d in service.distributions_of(session, dataset_id=dataset.id)
        ]
        return dataset_out(dataset, _departments(session), files, may_manage=True)  # type: ignore[arg-type]


@router.patch("/datasets/{name}", response_model=DatasetOut)
def change_dataset(ctx: Ctx, actor: Staff, name: NamePath, body: DatasetChanges) -> DatasetOut:
    """Change a dataset's titles, description, keywords, theme, frequency, licence or place."""
    with ctx.writing() as session:
        dataset = service.get_dataset(session, name=name)
        authoring.change_dataset(
            session, actor=actor, dataset=dataset, changes=body.model_dump(exclude_unset=True)
        )
        files = [
            distribution_out(ctx.settings.public_base_url, dataset, d)
            for d in service.distributions_of(session, dataset_id=dataset.id)
        ]
        return dataset_out(dataset, _departments(session), files, may_manage=True)  # type: ignore[arg-type]


@router.post(
    "/datasets/{name}/uploads",
    response_model=UploadOut,
    status_code=201,
    responses={
        422: {"description": "Rows broke the schema: nothing changed; the report names each"}
    },
)
async def upload_table(
    ctx: Ctx, actor: Staff, name: NamePath, file: UploadFile = File()
) -> UploadOut:
    """Upload a CSV or XLSX table into a department's dataset; any bad row rejects it whole."""
    data = await file.read()
    if len(data) > ctx.settings.dataset_upload_max_bytes:
        raise Problem(
            413,
            "too-large",
            Message(
                "catalogue.table_may_most_bytes",
                {
                    "limit": str(ctx.settings.dataset_upload_max_bytes),
                },
            ),
        )
    with ctx.writing() as session:
        dataset = service.get_dataset(session, name=name)
        upload = uploads.upload_table(
            session, ctx.storage, dataset=dataset, actor=actor,
            filename=file.filename or "", data=data,
        )  # fmt: skip
        answer = upload_out(upload)
    if answer.status == "rejected":
        # The rejected upload and its report are kept (committed above) for the console.
        raise Problem(
            422,
            "invalid-table",
            Message("catalogue.problem_s_table_nothing", {"error_count": str(answer.error_count)}),
            field="file",
            extra={"upload": answer.model_dump()},
        )
    return answer


@router.get("/datasets/{name}/uploads", response_model=list[UploadOut])
def list_uploads(ctx: Ctx, actor: Staff, name: NamePath) -> list[UploadOut]:
    """A department's uploads into its dataset, newest first, with their reports."""
    with ctx.reading() as session:
        dataset = service.get_dataset(session, name=name)
        if not owns(dataset, actor):
            raise forbidden(Message("catalogue.uploads_are_department_s", {"name": repr(name)}))
        return [upload_out(u) for u in uploads.uploads_of(session, dataset_id=dataset.id)]
