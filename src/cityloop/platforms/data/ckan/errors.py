"""CKAN's errors, as its action API answers them: each kind with its HTTP status and the
``error`` object of the envelope (``ckan/views/api.py``), so a CKAN client raises the same
exception it would against CKAN itself."""

from __future__ import annotations

from typing import Any


class CkanError(Exception):
    """An action's failure, answered as ``{"help", "error", "success": false}``."""

    status = 500

    def error(self) -> dict[str, Any]:
        return {"__type": "Internal Server Error", "message": "Internal Server Error"}


class NotFound(CkanError):
    """404: the object the action names is not here (or not open)."""

    status = 404

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail

    def error(self) -> dict[str, Any]:
        message = f"Not found: {self.detail}" if self.detail else "Not found"
        return {"__type": "Not Found Error", "message": message}


class ValidationError(CkanError):
    """409: parameters that do not validate, each with its list of problems."""

    status = 409

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(str(errors))
        self.errors = errors

    def error(self) -> dict[str, Any]:
        return {**self.errors, "__type": "Validation Error"}


class AuthorizationError(CkanError):
    """403: an action this client may not take (here: every action that writes)."""

    status = 403

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def error(self) -> dict[str, Any]:
        return {"__type": "Authorization Error", "message": f"Access denied: {self.detail}"}


class SearchQueryError(CkanError):
    """400: package_search parameters CKAN does not pass to its search engine."""

    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def error(self) -> dict[str, Any]:
        return {
            "__type": "Search Query Error",
            "message": f"Search Query is invalid: {(self.detail,)!r}",
        }


class SearchError(CkanError):
    """409: a query the search engine cannot run (bad syntax, an undefined field)."""

    status = 409

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def error(self) -> dict[str, Any]:
        return {"__type": "Search Error", "message": f"Search error: {(self.detail,)!r}"}


class BadRequest(Exception):
    """400 before any action runs (an unknown action, a body that is not a JSON object): CKAN
    answers these with a bare JSON string, not the envelope."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> str:
        return f"Bad request - {self.detail}"
