"""The catalogue in CKAN's shapes (``ckan/lib/dictization/model_dictize.py``): a dataset is a
package, its distributions are resources, its department is an organization, its theme is a
group and its keywords are tags. Only open, active datasets are ever read here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from cityloop.platforms.application.identity.models import Department
from cityloop.platforms.data.catalogue.models import Dataset, Distribution
from cityloop.platforms.data.catalogue.vocabularies import FORMATS, LICENCES, THEMES
from cityloop.platforms.data.ckan import ids
from cityloop.platforms.data.ckan.index import is_open
from cityloop.settings import Settings

# A row of the table or its model object: both answer the column names as attributes.
DatasetRow = Row[Any] | Dataset
DistributionRow = Row[Any] | Distribution
DepartmentRow = Row[Any] | Department
OPEN_LICENCES = frozenset(code for code, (_, _, url) in LICENCES.items() if url)
# ckanext-fluent's key for the Chinese text of a translated field.
CHINESE = "zh_Hans_CN"


@dataclass(frozen=True)
class Site:
    """What the answers need of this deployment: its public address and its domain."""

    base_url: str
    domain: str
    title: str
    title_zh: str

    @classmethod
    def of(cls, settings: Settings) -> Site:
        """The site of these settings."""
        return cls(
            settings.public_base_url.rstrip("/"),
            settings.city_domain,
            settings.city_name,
            settings.city_name_zh,
        )

    def download_url(self, dataset: str, distribution: str) -> str:
        """Where a distribution's file is downloaded (the catalogue API's route)."""
        return f"{self.base_url}/api/v1/data/datasets/{dataset}/distributions/{distribution}"


def resource_dict(
    site: Site, dataset: DatasetRow, distribution: DistributionRow, position: int
) -> dict[str, Any]:
    """One distribution as a CKAN resource."""
    extension = FORMATS.get(distribution.format, ("", distribution.format.lower()))[1]
    generated = ids.ckan_time(distribution.generated_at)
    return {
        "cache_last_updated": None,
        "cache_url": None,
        "created": generated,
        "datastore_active": dataset.refreshed_at is not None,
        "description": "",
        "format": distribution.format,
        "hash": f"sha256:{distribution.sha256}" if distribution.sha256 else "",
        "id": distribution.id,
        "last_modified": generated,
        "metadata_modified": generated,
        "mimetype": distribution.media_type,
        "mimetype_inner": None,
        "name": f"{dataset.name}.{extension}",
        "package_id": ids.package_id(site.domain, dataset.name),
        "position": position,
        "resource_type": None,
        "size": distribution.byte_size,
        "state": "active",
        "url": site.download_url(dataset.name, distribution.id),
        "url_type": None,
    }


def tag_dict(site: Site, name: str) -> dict[str, Any]:
    """A keyword as a CKAN tag."""
    return {
        "display_name": name,
        "id": ids.tag_id(site.domain, name),
        "name": name,
        "state": "active",
        "vocabulary_id": None,
    }


def group_summary(site: Site, theme: str) -> dict[str, Any]:
    """A theme as a package lists its group."""
    title = THEMES.get(theme, (theme, theme))[0]
    return {
        "description": "",
        "display_name": title,
        "id": ids.group_id(site.domain, theme.lower()),
        "image_display_url": "",
        "name": theme.lower(),
        "title": title,
    }


def organization_summary(
    site: Site, code: str, department: DepartmentRow | None, created: datetime | None
) -> dict[str, Any]:
    """A department as a package names its organization."""
    return {
        "id": ids.organization_id(site.domain, code),
        "name": code,
        "title": department.name if department else code,
        "type": "organization",
        "description": "",
        "image_url": "",
        "created": ids.ckan_time(created),
        "is_organization": True,
        "approval_status": "approved",
        "state": "active",
    }


def _extras(dataset: DatasetRow) -> list[dict[str, str]]:
    values = {
        "frequency": dataset.frequency,
        "notes_zh": dataset.description_zh,
        "row_count": str(dataset.row_count),
        "sensitivity": dataset.sensitivity,
        "spatial_text": dataset.spatial,
        "temporal_end": ids.ckan_time(dataset.temporal_end) or "",
        "temporal_start": ids.ckan_time(dataset.temporal_start) or "",
        "theme": dataset.theme,
        "title_zh": dataset.title_zh,
    }
    return [{"key": key, "value": value} for key, value in values.items() if value]


def package_dict(
    site: Site,
    dataset: DatasetRow,
    *,
    distributions: Sequence[DistributionRow],
    department: DepartmentRow | None,
    organization_created: datetime | None,
) -> dict[str, Any]:
    """One dataset as a CKAN package, its resources, tags, group and organization included."""
    licence = LICENCES.get(dataset.licence, (dataset.licence, dataset.licence, ""))
    tags = [tag_dict(site, str(word)) for word in dataset.keywords or ()]
    resources = [resource_dict(site, dataset, d, i) for i, d in enumerate(distributions)]
    organization = organization_summary(
        site, dataset.owner_department, department, organization_created
    )
    return {
        "author": None,
        "author_email": None,
        "creator_user_id": None,
        "extras": _extras(dataset),
        "groups": [group_summary(site, dataset.theme)],
        "id": ids.package_id(site.domain, dataset.name),
        "isopen": dataset.licence in OPEN_LICENCES,
        "license_id": dataset.licence,
        "license_title": licence[0],
        "license_url": licence[2],
        "maintainer": None,
        "maintainer_email": None,
        "metadata_created": ids.ckan_time(dataset.created_at),
        "metadata_modified": ids.ckan_time(dataset.modified_at),
        "name": dataset.name,
        "notes": dataset.description,
        "notes_translated": {"en": dataset.description, CHINESE: dataset.description_zh},
        "num_resources": len(resources),
        "num_tags": len(tags),
        "organization": organization,
        "owner_org": organization["id"],
        "private": False,
        "relationships_as_object": [],
        "relationships_as_subject": [],
        "resources": resources,
        "state": "active",
        "tags": tags,
        "title": dataset.title.strip(),
        "title_translated": {"en": dataset.title.strip(), CHINESE: dataset.title_zh.strip()},
        "type": "dataset",
        "url": "",
        "version": None,
    }


def departments(session: Session) -> dict[str, DepartmentRow]:
    """Every department's row, by code (a short table)."""
    table = Department.__table__
    return {row.code: row for row in session.execute(select(table))}


def load_packages(
    session: Session,
    site: Site,
    *,
    dataset_ids: Sequence[int],
    organizations_created: Mapping[str, datetime],
) -> list[dict[str, Any]]:
    """The packages of these datasets, in this order; any no longer open is left out."""
    if not dataset_ids:
        return []
    # Rows, not ORM objects: a page of packages is read, never changed, and Core reads it in a
    # fraction of the time. A row answers the same attribute names as its model.
    datasets, distributions = Dataset.__table__, Distribution.__table__
    query = select(datasets).where(datasets.c.id.in_(dataset_ids), *is_open())
    found = {row.id: row for row in session.execute(query)}
    files: dict[int, list[DistributionRow]] = defaultdict(list)
    query = select(distributions).where(distributions.c.dataset_id.in_(list(found)))
    for distribution in session.execute(query):
        files[distribution.dataset_id].append(distribution)
    order = list(FORMATS)
    known = departments(session)
    packages = []
    for dataset_id in dataset_ids:
        dataset = found.get(dataset_id)
        if dataset is None:
            continue
        ranked = sorted(
            files[dataset_id],
            key=lambda d: (order.index(d.format) if d.format in order else len(order), d.id),
        )
        packages.append(
            package_dict(
                site,
                dataset,
                distributions=ranked,
                department=known.get(dataset.owner_department),
                organization_created=organizations_created.get(dataset.owner_department),
            )
        )
    return packages
