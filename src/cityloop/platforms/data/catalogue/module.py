"""The dataset catalogue: datasets, distributions, the DataStore, uploads and DCAT-AP."""

from __future__ import annotations

from cityloop.base.modules import Module
from cityloop.platforms.data.catalogue.models import Dataset, DatasetUpload, Distribution

MODULE = Module(
    name="catalogue",
    models=(Dataset, Distribution, DatasetUpload),
)
