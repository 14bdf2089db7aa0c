"""Who may change a dataset and read its rows in the console."""

from __future__ import annotations

from cityloop.base.problems import forbidden
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor
from cityloop.platforms.data.catalogue.messages import Message
from cityloop.platforms.data.catalogue.models import Dataset

# Roles of a department's staff who may manage its datasets (the admin manages every one).
MANAGERS = frozenset({Role.HANDLER, Role.SUPERVISOR, Role.DISPATCHER})


def owns(dataset: Dataset, actor: Actor) -> bool:
    """Whether the actor may manage the dataset: its department's staff, or an admin."""
    if actor.role == Role.ADMIN:
        return True
    return actor.role in MANAGERS and actor.department_code == dataset.owner_department


def require_owner(dataset: Dataset, actor: Actor) -> None:
    """403 unless the actor may manage the dataset."""
    if not owns(dataset, actor):
        raise forbidden(
            Message(
                "catalogue.dataset_belongs_department_only",
                {
                    "dataset_name": repr(dataset.name),
                    "owner_department": str(dataset.owner_department),
                },
            )
        )


def may_read_rows(dataset: Dataset, actor: Actor) -> bool:
    """Whether the actor reads the rows without a grant: open data, or their own department's."""
    return (
        dataset.sensitivity == "open"
        or owns(dataset, actor)
        or (actor.department_code == dataset.owner_department)
    )
