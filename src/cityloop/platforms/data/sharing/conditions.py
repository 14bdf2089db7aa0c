"""An approval's conditions (一网共享): the fields a grant allows, the rows its filter keeps and
when it expires, checked against the dataset or lookup before anything is stored."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cityloop.base.problems import conflict, unprocessable
from cityloop.platforms.data.sharing import targets
from cityloop.platforms.data.sharing.messages import Message
from cityloop.platforms.data.sharing.targets import Target

MAX_YEARS = 3
MAX_FILTER_VALUES = 100
_SCALARS = (str, int, float, bool)


def _years_ahead(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def _check_value(name: str, kind: str, value: Any) -> None:
    values = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not 0 < len(value) <= MAX_FILTER_VALUES:
        raise unprocessable(
            Message(
                "sharing.row_filter_give_values",
                {
                    "name": str(name),
                    "limit": str(MAX_FILTER_VALUES),
                },
            ),
            field="row_filter",
        )
    for item in values:
        wrong = not isinstance(item, _SCALARS)
        if kind == "integer":
            wrong = not isinstance(item, int) or isinstance(item, bool)
        elif kind == "number":
            wrong = not isinstance(item, int | float) or isinstance(item, bool)
        elif kind == "boolean":
            wrong = not isinstance(item, bool)
        elif kind != "any":
            wrong = not isinstance(item, str)
        if wrong:
            raise unprocessable(
                Message(
                    "sharing.row_filter_value_field",
                    {
                        "name": str(name),
                        "item": repr(item),
                        "kind": str(kind),
                    },
                ),
                field="row_filter",
            )


def check_decision(
    target: Target,
    *,
    fields: Sequence[str],
    row_filter: Mapping[str, Any],
    expires_at: datetime,
    now: datetime,
) -> list[str]:
    """The fields and filter of an approval, checked against the dataset or lookup; 422
    naming what is wrong."""
    chosen = list(dict.fromkeys(fields))
    if not chosen:
        raise unprocessable(Message("sharing.choose_least_field_grant"), field="fields")
    unknown = [f for f in chosen if f not in target.fields]
    if unknown:
        raise unprocessable(
            Message(
                "sharing.unknown_fields_2",
                {
                    "kind": str(target.kind),
                    "target_name": str(target.name),
                    "unknown": str(unknown),
                    "list": str(list(target.fields)),
                },
            ),
            field="fields",
        )
    for name, value in row_filter.items():
        if name not in target.filterable:
            what = Message(
                "sharing.parameters" if target.kind == "lookup" else "sharing.filterable_fields"
            )
            raise unprocessable(
                Message(
                    "sharing.row_filter_unknown",
                    {
                        "kind": str(target.kind),
                        "target_name": str(target.name),
                        "what": what.render("en"),
                        "what_zh": what.render("zh-CN"),
                        "name": repr(name),
                        "list": str(list(target.filterable)),
                    },
                ),
                field="row_filter",
            )
        _check_value(name, target.filterable[name], value)
    if expires_at.tzinfo is None:
        raise unprocessable(Message("sharing.expires_time_zone_e"), field="expires_at")
    if expires_at <= now:
        raise unprocessable(Message("sharing.expires_future"), field="expires_at")
    if expires_at > _years_ahead(now, MAX_YEARS):
        raise unprocessable(
            Message("sharing.expires_may_most_years", {"limit": str(MAX_YEARS)}),
            field="expires_at",
        )
    if target.dataset is not None and target.dataset.sensitivity == "personal":
        problems = targets.personal_schema_problems(target.dataset.table_schema)
        if problems:
            raise conflict(
                Message(
                    "sharing.unmarked_personal",
                    {"name": target.name, "problems": "; ".join(problems)},
                ),
                type_="unmarked-personal-dataset",
            )
    return chosen
