"""Forms: the applicant's answers checked against the service's JSON Schema, the same schema the
citizen app renders. A refused form gets one 422 naming every failing field."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaViolation

from cityloop.base.problems import Problem
from cityloop.domains.services.definitions import ServiceDefinition
from cityloop.domains.services.messages import Message

# A draft may be saved half-filled, but not without bound.
MAX_FORM_BYTES = 64 * 1024


@lru_cache(maxsize=1024)
def _validator(frozen_schema: str) -> Draft202012Validator:
    return Draft202012Validator(
        json.loads(frozen_schema), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def validator(definition: ServiceDefinition) -> Draft202012Validator:
    """The compiled validator of a service's form (kept per schema)."""
    return _validator(json.dumps(definition.form.json_schema, sort_keys=True))


def _fields(errors: list[SchemaViolation]) -> list[str]:
    """The field each error is about, as a dotted path ("form" for the whole form)."""
    fields: list[str] = []
    # jsonschema yields one "required" error per missing property, in the order `required`
    # lists them, and none of them names its property: the k-th error of one `required`
    # keyword is about the k-th missing property.
    seen: dict[tuple[tuple[str, ...], tuple[str, ...]], int] = {}
    for error in errors:
        path = [str(p) for p in error.absolute_path]
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [f for f in error.validator_value if f not in error.instance]
            key = (tuple(path), tuple(str(p) for p in error.absolute_schema_path))
            index = seen.get(key, 0)
            seen[key] = index + 1
            if index < len(missing):
                path.append(str(missing[index]))
        fields.append(".".join(path) or "form")
    return fields


def form_errors(definition: ServiceDefinition, form: dict[str, Any]) -> list[dict[str, str]]:
    """Every field that fails the service's schema, as {field, message, rule}, in field order."""
    found = list(validator(definition).iter_errors(form))
    errors = [
        {"field": field, "message": e.message, "rule": str(e.validator)}
        for e, field in zip(found, _fields(found), strict=True)
    ]
    return sorted(errors, key=lambda e: e["field"])


def invalid_form(errors: list[dict[str, str]]) -> Problem:
    """The 422 naming every failing field (and anything else listed with them)."""
    fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
    return Problem(
        422, "invalid-form", Message("services.form_complete_valid", {"fields": str(fields)}),
        field=errors[0]["field"], extra={"errors": errors},
    )  # fmt: skip


def check_form(definition: ServiceDefinition, form: dict[str, Any]) -> None:
    """Raise one 422 naming every failing field, or return when the form is complete."""
    errors = form_errors(definition, form)
    if errors:
        raise invalid_form(errors)


def check_draft(form: object) -> dict[str, Any]:
    """A draft's answers: any JSON object within the size limit (checked in full on submit)."""
    if not isinstance(form, dict):
        raise Problem(422, "invalid-form", Message("services.form_json_object"), field="form")
    if len(json.dumps(form, ensure_ascii=False).encode()) > MAX_FORM_BYTES:
        raise Problem(
            413,
            "form-too-large",
            Message("services.form_larger_than_bytes", {"limit": str(MAX_FORM_BYTES)}),
            field="form",
        )
    return form
