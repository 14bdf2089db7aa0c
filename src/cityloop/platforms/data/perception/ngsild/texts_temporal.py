"""The NGSI-LD error details of the temporal modules, in English and Chinese (registered by
``texts`` as ``ngsild.<code>``)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {}
