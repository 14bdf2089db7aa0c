"""The service catalogue (办事指南): saving a service's definition as a new version, reading the
version an application was filed under, and the service hall's search."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityloop.base.db import utcnow
from cityloop.base.outbox import emit
from cityloop.base.problems import Problem, not_found
from cityloop.domains.services import events
from cityloop.domains.services.definitions import ServiceDefinition
from cityloop.domains.services.messages import Message
from cityloop.domains.services.models import Service, ServiceVersion
from cityloop.platforms.application.identity import service as identity
from cityloop.platforms.application.identity.service import Actor


def definition_problem(errors: list[dict[str, str]]) -> Problem:
    """A 422 naming every problem of a definition."""
    named = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10])
    return Problem(
        422, "invalid-service-definition",
        Message("services.service_definition_valid", {"named": named}),
        field=errors[0]["field"], extra={"errors": errors},
    )  # fmt: skip


def parse_definition(session: Session, *, raw: Any) -> ServiceDefinition:
    """A checked definition, or a 422 naming every problem (unknown departments included)."""
    try:
        definition = ServiceDefinition.model_validate(raw)
    except ValidationError as error:
        raise definition_problem(
            [
                {"field": ".".join(str(p) for p in e["loc"]) or "definition", "message": e["msg"]}
                for e in error.errors(include_url=False)
            ]
        ) from error
    unknown = sorted(
        code
        for code in definition.departments()
        if identity.get_department(session, code=code) is None
    )
    if unknown:
        raise definition_problem(
            [{"field": "workflow", "message": f"unknown department {code}"} for code in unknown]
        )
    return definition


def save_definition(
    session: Session, *, raw: Any, actor: Actor, note: str = "", code: str | None = None
) -> ServiceVersion:
    """Save a definition as the service's next version (the first creates the service)."""
    definition = parse_definition(session, raw=raw)
    if code is not None and definition.code != code:
        raise Problem(
            422,
            "invalid-input",
            Message(
                "services.definition_s_code",
                {"definition_code": str(definition.code), "code": str(code)},
            ),
            field="code",
        )
    service = session.get(Service, definition.code, with_for_update=True)
    stored = definition.model_dump(mode="json", by_alias=True)
    if service is None:
        service = Service(code=definition.code, current_version=1, active=True)
        session.add(service)
        version = 1
    else:
        if (
            current_definition(session, code=service.code).model_dump(mode="json", by_alias=True)
            == stored
        ):
            return _version_row(session, code=service.code, version=service.current_version)
        version = service.current_version + 1
        service.current_version = version
    service.updated_at = utcnow()
    row = ServiceVersion(
        service_code=definition.code, version=version, definition=stored,
        created_by=actor.username, note=note[:500],
    )  # fmt: skip
    session.add(row)
    session.flush()
    identity.audit(
        session, actor=actor, action="service.save", target=f"service:{definition.code}",
        detail={"version": version, "note": note[:500]},
    )  # fmt: skip
    emit(session, events.ServiceChanged(service=definition.code, version=version))
    return row


def set_active(session: Session, *, code: str, active: bool, actor: Actor) -> Service:
    """Open or close a service for new applications (those filed go on)."""
    service = require_service(session, code=code)
    service.active = active
    service.updated_at = utcnow()
    identity.audit(
        session,
        actor=actor,
        action="service.activate" if active else "service.deactivate",
        target=f"service:{code}",
    )
    emit(session, events.ServiceChanged(service=code, version=service.current_version))
    return service


def require_service(session: Session, *, code: str) -> Service:
    """The service with this code, or a 404."""
    service = session.get(Service, code) if len(code) <= 40 else None
    if service is None:
        raise not_found("service", code)
    return service


def _version_row(session: Session, *, code: str, version: int) -> ServiceVersion:
    row = session.scalar(
        select(ServiceVersion).where(
            ServiceVersion.service_code == code, ServiceVersion.version == version
        )
    )
    if row is None:
        raise not_found("service version", f"{code}@{version}")
    return row


# A version never changes once written, so its parsed definition is kept for the process's
# life, keyed by the database it came from, the service and the version.
_PARSED: OrderedDict[tuple[str, str, int], ServiceDefinition] = OrderedDict()
_PARSED_MAX = 4096


def _database(session: Session) -> str:
    return session.get_bind().url.render_as_string(hide_password=True)


def definition_at(session: Session, *, code: str, version: int) -> ServiceDefinition:
    """The definition of one version of a service."""
    key = (_database(session), code, version)
    found = _PARSED.get(key)
    if found is None:
        row = _version_row(session, code=code, version=version)
        found = ServiceDefinition.model_validate(row.definition)
        _PARSED[key] = found
        while len(_PARSED) > _PARSED_MAX:
            _PARSED.popitem(last=False)
    return found


def current_definition(session: Session, *, code: str) -> ServiceDefinition:
    """The service's definition as it stands now."""
    service = require_service(session, code=code)
    return definition_at(session, code=code, version=service.current_version)


def versions(session: Session, *, code: str) -> list[ServiceVersion]:
    """Every saved version of a service, newest first."""
    require_service(session, code=code)
    query = select(ServiceVersion).where(ServiceVersion.service_code == code)
    return list(session.scalars(query.order_by(ServiceVersion.version.desc())))


def _matches(definition: ServiceDefinition, words: list[str]) -> bool:
    haystack = " ".join(
        [definition.code, definition.name, definition.name_zh, definition.description,
         definition.description_zh, " ".join(definition.topics)]
    ).casefold()  # fmt: skip
    return all(word in haystack for word in words)


def hall(
    session: Session,
    *,
    q: str | None = None,
    audience: str | None = None,
    topic: str | None = None,
    include_inactive: bool = False,
) -> list[tuple[Service, ServiceDefinition]]:
    """The services the hall lists: searched by words (English or Chinese), audience and topic."""
    query = select(Service).order_by(Service.code)
    if not include_inactive:
        query = query.where(Service.active.is_(True))
    words = (q or "").casefold().split()
    found = []
    for service in session.scalars(query):
        definition = definition_at(session, code=service.code, version=service.current_version)
        if audience and audience not in definition.audience:
            continue
        if topic and topic not in definition.topics:
            continue
        if words and not _matches(definition, words):
            continue
        found.append((service, definition))
    return found


def count(session: Session) -> int:
    """How many services the catalogue holds."""
    return session.scalar(select(func.count()).select_from(Service)) or 0
