"""Typed outbox events: each package's ``events.py`` declares its events as subclasses of
:class:`Event`; ``outbox.emit`` takes one and consumers receive it back, validated.

The stored payload is the model's JSON, so a relay over NATS or a webhook sees the same shape.
Payloads carry ids and codes, never personal data.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

_TYPES: dict[str, type[Event]] = {}


class Event(BaseModel):
    """One kind of event. Subclasses set ``type`` (unique, dotted), ``aggregate`` (what it is
    about) and ``aggregate_field`` (the field holding that thing's id)."""

    # Old rows may carry fields a newer version dropped: they are ignored, not refused.
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    type: ClassVar[str]
    aggregate: ClassVar[str]
    aggregate_field: ClassVar[str]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        name = cls.__dict__.get("type")
        if isinstance(name, str):
            known = _TYPES.get(name)
            if known is not None and known.__qualname__ != cls.__qualname__:
                raise TypeError(f"event type {name!r} is declared twice")
            _TYPES[name] = cls

    def aggregate_id(self) -> str:
        """The id of the thing the event is about."""
        return str(getattr(self, self.aggregate_field))

    def payload(self) -> dict[str, Any]:
        """The JSON stored in the outbox row."""
        return self.model_dump(mode="json", by_alias=True)


def event_class(type_name: str) -> type[Event] | None:
    """The declared class of an event type name, if any package declared it."""
    return _TYPES.get(type_name)
