"""The dataset catalogue: datasets, distributions, the DataStore, uploads and DCAT-AP."""

from __future__ import annotations

from cityloop.base.context import AppContext
from cityloop.base.limits import BodyLimit
from cityloop.base.modules import Module, ScheduledJob
from cityloop.base.outbox import ConsumerRegistry
from cityloop.platforms.data.catalogue import build, cli, freshness
from cityloop.platforms.data.catalogue.events import DatasetStale
from cityloop.platforms.data.catalogue.models import Dataset, DatasetUpload, Distribution
from cityloop.platforms.data.catalogue.views import router


def _refresh(ctx: AppContext) -> object:
    return build.refresh(ctx)


def _consumers(registry: ConsumerRegistry, ctx: AppContext) -> None:
    registry.subscribe("dataset-stale", [DatasetStale], freshness.on_dataset_stale)


MODULE = Module(
    name="catalogue",
    models=(Dataset, Distribution, DatasetUpload),
    routers=(router,),
    body_limits=(
        BodyLimit(
            r"/api/v1/data/datasets/[^/]+/uploads",
            lambda s: s.dataset_upload_max_bytes + 64 * 1024,
        ),
    ),
    consumers=(_consumers,),
    jobs=(
        ScheduledJob("datasets-refresh", lambda s: s.dataset_refresh_seconds, _refresh),
        ScheduledJob(
            "datasets-freshness", lambda s: s.dataset_quality_seconds, freshness.check_all
        ),
    ),
    commands=(cli.install,),
)
