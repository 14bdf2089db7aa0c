"""Read a city folder's service catalogue (``services/<code>.yaml``, one service per file) and
check each entry against the services domain's definition and the city's departments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cityloop.demo.errors import Problems
from cityloop.domains.services.definitions import ServiceDefinition

FOLDER = "services"


def read_services(
    folder: Path, departments: set[str], problems: Problems, loader: type[Any]
) -> tuple[ServiceDefinition, ...]:
    """Every service of the folder, checked (a city without a services folder has none)."""
    found: dict[str, ServiceDefinition] = {}
    for path in sorted((folder / FOLDER).glob("*.yaml")):
        name = f"{FOLDER}/{path.name}"
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.add(name, "", f"not valid YAML: {exc}")
            continue
        try:
            service = ServiceDefinition.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                where = ".".join(str(p) for p in error["loc"])
                problems.add(name, where, error["msg"])
            continue
        if path.stem != service.code:
            problems.add(name, "code", f"{service.code} differs from the file's name")
        if service.code in found:
            problems.add(name, "code", f"service {service.code} is defined twice")
        for code in sorted(service.departments() - departments):
            problems.add(name, "workflow", f"names department {code}, which departments.yaml lacks")
        found[service.code] = service
    return tuple(found.values())
