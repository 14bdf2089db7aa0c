"""ETSI ProblemDetails: the NGSI-LD error types and the HTTP status each one carries. The type
and title stay the ETSI names, which clients match on; the detail is a message code
(:mod:`.texts`) rendered in the reader's language."""

from __future__ import annotations

from typing import Any

from cityloop.base.messages import Message
from cityloop.base.problems import Problem

ERROR_BASE = "https://uri.etsi.org/ngsi-ld/errors/"

STATUS = {
    "InvalidRequest": 400,
    "BadRequestData": 400,
    "AlreadyExists": 409,
    "OperationNotSupported": 422,
    "ResourceNotFound": 404,
    "InternalError": 500,
    "TooComplexQuery": 403,
    "TooManyResults": 403,
    "LdContextNotAvailable": 504,
    "NonexistentTenant": 404,
    "NoMultiTenantSupport": 501,
    "NotAcceptable": 406,
    "UnsupportedMediaType": 415,
    "MethodNotAllowed": 405,
    "PayloadTooLarge": 413,
    # Not ETSI-defined (the specification leaves security to deployments); same form.
    "Unauthorized": 401,
    "Forbidden": 403,
    "TooManyRequests": 429,
}

# What a generic HTTP error under /ngsi-ld/ becomes.
BY_STATUS = {
    400: "BadRequestData",
    401: "Unauthorized",
    403: "Forbidden",
    404: "ResourceNotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "AlreadyExists",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "OperationNotSupported",
    429: "TooManyRequests",
    504: "LdContextNotAvailable",
}


class NgsiError(Problem):
    """An NGSI-LD error: ``kind`` is one of the ETSI error type names."""

    def __init__(
        self,
        kind: str,
        detail: str | Message,
        *,
        title: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(status or STATUS.get(kind, 400), kind, detail, title=title or kind)
        self.kind = kind

    def problem(self, locale: str = "en") -> dict[str, Any]:
        """The ProblemDetails body, its detail in ``locale``."""
        return problem_details(self.kind, self.detail_in(locale), self.status, self.title)


def problem_details(
    kind: str, detail: str, status: int | None = None, title: str | None = None
) -> dict[str, Any]:
    """The problem-details body of an NGSI-LD error."""
    return {
        "type": ERROR_BASE + kind,
        "title": title or kind,
        "status": status or STATUS.get(kind, 400),
        "detail": detail,
    }


def bad_data(detail: str | Message) -> NgsiError:
    """A 400 BadRequestData."""
    return NgsiError("BadRequestData", detail)


def invalid(detail: str | Message) -> NgsiError:
    """A 400 InvalidRequest."""
    return NgsiError("InvalidRequest", detail)


def not_found(detail: str | Message) -> NgsiError:
    """A 404 ResourceNotFound."""
    return NgsiError("ResourceNotFound", detail)
