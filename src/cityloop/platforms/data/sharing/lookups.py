"""Live lookups (实时核验): a question one department answers for others from its own records
("is this enterprise registered?"), asked through the platform under a grant.

A lookup is code: it declares its owner, its parameters, the fields of its answer with the
access-log code each reads, and whose data it reads. Packages register lookups from their
``module.py`` setup (``register``); the sharing module registers the built-in ones
(``builtin.py``). The registry is the process's, like the message catalogue: a lookup means
the same in every app of one process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy.orm import Session

from cityloop.platforms.data.access import catalogue

_REGISTRY: dict[str, Lookup] = {}


@dataclass(frozen=True)
class Found:
    """A lookup's answer (every field it declares) and whose data it read, if anyone's."""

    values: dict[str, Any]
    user_id: int | None = None
    enterprise_uscc: str | None = None


@dataclass(frozen=True)
class Lookup:
    """One live question: who owns it, what it takes, what it answers, and whose data it reads.

    ``fields`` maps each answer field to the access-log field code it reads, or to None for a
    field that is always answered and reads nobody's data (``found``). A grant names the
    fields it allows; its row filter may fix any of the parameters.
    """

    name: str
    owner_department: str
    title: str
    title_zh: str
    description: str
    description_zh: str
    params: type[BaseModel]
    answer: Callable[[Session, Any], Found] = field(repr=False)
    fields: Mapping[str, str | None] = field(default_factory=dict)
    subject: Literal["user", "enterprise"] = "user"

    @property
    def grantable(self) -> list[str]:
        """The answer fields a grant chooses among."""
        return [name for name, code in self.fields.items() if code is not None]

    @property
    def always(self) -> list[str]:
        """The answer fields every caller gets."""
        return [name for name, code in self.fields.items() if code is None]

    @property
    def parameters(self) -> list[str]:
        """The parameter names (what a grant's row filter may fix)."""
        return list(self.params.model_fields)


def register(lookup: Lookup) -> None:
    """Make a lookup known; a second, different lookup of one name is an error."""
    known = _REGISTRY.get(lookup.name)
    if known is not None and known != lookup:
        raise ValueError(f"two lookups are named {lookup.name!r}")
    unknown = sorted({c for c in lookup.fields.values() if c} - set(catalogue.FIELDS))
    if unknown:
        raise ValueError(f"lookup {lookup.name!r}: unknown access-log field codes {unknown}")
    if not lookup.grantable:
        raise ValueError(f"lookup {lookup.name!r} answers no field a grant could allow")
    _REGISTRY[lookup.name] = lookup


def registered() -> dict[str, Lookup]:
    """Every known lookup by name."""
    return dict(_REGISTRY)


def find(name: str) -> Lookup | None:
    """The lookup of this name, if one is registered."""
    return _REGISTRY.get(name)


def restricted(lookup: Lookup, found: Found, fields: list[str]) -> dict[str, Any]:
    """The answer with only ``fields`` and those always answered."""
    keep = set(fields) | set(lookup.always)
    return {name: value for name, value in found.values.items() if name in keep}


def codes_read(lookup: Lookup, fields: list[str]) -> list[str]:
    """The access-log codes of the answer fields read, in declaration order, each once."""
    return list(dict.fromkeys(c for n, c in lookup.fields.items() if c and n in fields))


def as_params(lookup: Lookup, params: Mapping[str, Any]) -> BaseModel:
    """The parameters validated by the lookup's model (pydantic's error on bad ones)."""
    return lookup.params.model_validate(dict(params))
