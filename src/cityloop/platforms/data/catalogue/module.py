"""The dataset catalogue: datasets, distributions, the DataStore, uploads and DCAT-AP."""

from __future__ import annotations

from cityloop.base.context import AppContext
from cityloop.base.modules import Module, ScheduledJob
from cityloop.platforms.data.catalogue import build, cli
from cityloop.platforms.data.catalogue.models import Dataset, DatasetUpload, Distribution


def _refresh(ctx: AppContext) -> object:
    return build.refresh(ctx)


MODULE = Module(
    name="catalogue",
    models=(Dataset, Distribution, DatasetUpload),
    jobs=(ScheduledJob("datasets-refresh", lambda s: s.dataset_refresh_seconds, _refresh),),
    commands=(cli.install,),
)
