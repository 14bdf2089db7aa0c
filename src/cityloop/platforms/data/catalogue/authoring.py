"""Departments' own datasets: defining a table to upload into, or a view over another dataset,
and changing a dataset's description. Every change is a staff action in the audit trail."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cityloop.base.problems import forbidden, unprocessable
from cityloop.base.storage import Storage
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor, audit
from cityloop.platforms.data.catalogue import derived, service
from cityloop.platforms.data.catalogue.messages import Message
from cityloop.platforms.data.catalogue.models import Dataset
from cityloop.platforms.data.catalogue.permissions import MANAGERS, require_owner


def define_dataset(
    session: Session, storage: Storage, *, actor: Actor, entry: dict[str, Any]
) -> Dataset:
    """Add a department's dataset: an upload table (with its schema) or a view (with its query,
    built at once)."""
    owner = entry.pop("owner_department", None)
    if actor.role == Role.ADMIN:
        owner = owner or actor.department_code
        if not owner:
            raise unprocessable(
                Message("catalogue.administrator_names_owner_department"), field="owner_department"
            )
    elif actor.role in MANAGERS and actor.department_code:
        if owner not in (None, actor.department_code):
            raise forbidden(Message("catalogue.staff_define_datasets_their"))
        owner = actor.department_code
    else:
        raise forbidden(
            Message("catalogue.role_may_define_datasets", {"actor_role": str(actor.role)})
        )
    query = entry.get("view_query")
    if query is not None:
        if entry.get("table_schema") is not None:
            raise unprocessable(Message("catalogue.view_s_columns_follow"),
                                field="table_schema")  # fmt: skip
        entry["table_schema"] = derived.check_view(
            session, query=query, sensitivity=entry["sensitivity"], actor=actor
        )
        source = "view"
    elif entry.get("table_schema") is None:
        raise unprocessable(Message("catalogue.give_table_schema_uploads"), field="table_schema")
    else:
        entry.pop("view_query", None)
        source = "upload"
    dataset = service.create_dataset(
        session, entry={**entry, "owner_department": owner}, source=source
    )
    if source == "view":
        derived.build_view(session, storage, view=dataset)
    audit(session, actor=actor, action="dataset.define", target=f"dataset:{dataset.name}",
          detail={"source": source, "sensitivity": dataset.sensitivity})  # fmt: skip
    return dataset


def change_dataset(
    session: Session, *, actor: Actor, dataset: Dataset, changes: dict[str, Any]
) -> Dataset:
    """Change a dataset's description (its owner's staff or an administrator)."""
    require_owner(dataset, actor)
    service.update_dataset(session, dataset=dataset, changes=changes)
    audit(session, actor=actor, action="dataset.change", target=f"dataset:{dataset.name}",
          detail={"fields": sorted(changes)})  # fmt: skip
    return dataset
