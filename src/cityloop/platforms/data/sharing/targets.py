"""What a grant is for: a dataset or a lookup, seen the same way — its owner, its names, the
fields a grant may allow and the fields (or parameters) its row filter may fix.

A personal dataset's Table Schema marks whose row each is and what each column reads:
``"x-subject": "user"`` on the column holding a user id (or ``"enterprise"`` on one holding a
unified social credit code), and ``"x-access-field": "<code>"`` on a column that reads one of
the access log's field codes. Every read then logs one entry per person (or enterprise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.base.problems import Problem, unprocessable
from cityloop.platforms.data.catalogue import datastore
from cityloop.platforms.data.catalogue.models import Dataset
from cityloop.platforms.data.catalogue.subjects import (  # noqa: F401 - the grant's view of them
    SUBJECTS,
    access_codes_of,
    personal_schema_problems,
    subject_column,
)
from cityloop.platforms.data.sharing import lookups
from cityloop.platforms.data.sharing.lookups import Lookup
from cityloop.platforms.data.sharing.messages import Message

Kind = Literal["dataset", "lookup"]
KINDS: tuple[str, ...] = ("dataset", "lookup")
# Column types a row filter may fix (structured columns cannot be compared).
_FILTERABLE = frozenset({"string", "integer", "number", "boolean", "date", "datetime", "time",
                         "year", "yearmonth", "duration", "any"})  # fmt: skip


@dataclass(frozen=True)
class Target:
    """A dataset or a lookup as a grant sees it."""

    kind: str
    name: str
    owner: str
    title: str
    title_zh: str
    # What a grant may allow, and what its row filter may fix, with each one's type.
    fields: dict[str, str]
    filterable: dict[str, str]
    dataset: Dataset | None = None
    lookup: Lookup | None = None

    @property
    def is_open(self) -> bool:
        return self.dataset is not None and self.dataset.sensitivity == "open"

    @property
    def is_personal(self) -> bool:
        return self.lookup is not None or (
            self.dataset is not None and self.dataset.sensitivity == "personal"
        )


def of_dataset(dataset: Dataset) -> Target:
    """The dataset as a grant sees it."""
    fields = {str(f["name"]): str(f["type"]) for f in datastore.schema_fields(dataset.table_schema)}
    return Target(
        kind="dataset",
        name=dataset.name,
        owner=dataset.owner_department,
        title=dataset.title,
        title_zh=dataset.title_zh,
        fields=fields,
        filterable={n: t for n, t in fields.items() if t in _FILTERABLE},
        dataset=dataset,
    )


def of_lookup(lookup: Lookup) -> Target:
    """The lookup as a grant sees it: its answer fields, and its parameters to filter on."""
    return Target(
        kind="lookup",
        name=lookup.name,
        owner=lookup.owner_department,
        title=lookup.title,
        title_zh=lookup.title_zh,
        fields=dict.fromkeys(lookup.grantable, "any"),
        filterable=dict.fromkeys(lookup.parameters, "any"),
        lookup=lookup,
    )


def find(session: Session, *, kind: str, name: str, field: str = "name") -> Target:
    """The dataset or lookup of this name (422 naming ``field`` for an unknown one)."""
    if kind == "dataset":
        dataset = session.scalar(select(Dataset).where(Dataset.name == name, Dataset.active))
        if dataset is None:
            raise unprocessable(
                Message(
                    "sharing.there_dataset",
                    {
                        "name": repr(name),
                    },
                ),
                field=field,
                type_="unknown-dataset",
            )
        return of_dataset(dataset)
    if kind == "lookup":
        lookup = lookups.find(name)
        if lookup is None:
            known = sorted(lookups.registered())
            raise unprocessable(
                Message(
                    "sharing.there_lookup_lookups_are",
                    {
                        "name": repr(name),
                        "known": str(known),
                    },
                ),
                field=field,
                type_="unknown-lookup",
            )
        return of_lookup(lookup)
    raise unprocessable(Message("sharing.kind_choices", {"list": str(list(KINDS))}), field="kind")


def dataset_target(session: Session, *, name: str) -> Target:
    """The dataset of this name for a read (404 for an unknown one)."""
    dataset = session.scalar(select(Dataset).where(Dataset.name == name, Dataset.active))
    if dataset is None:
        raise Problem(404, "not-found", Message("sharing.dataset_does_exist", {"name": str(name)}))
    return of_dataset(dataset)


def lookup_target(name: str) -> Target:
    """The lookup of this name for a question (404 for an unknown one)."""
    lookup = lookups.find(name)
    if lookup is None:
        raise Problem(404, "not-found", Message("sharing.lookup_does_exist", {"name": str(name)}))
    return of_lookup(lookup)
