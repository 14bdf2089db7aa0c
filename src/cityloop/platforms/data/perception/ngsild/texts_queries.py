"""The NGSI-LD error details of the queries modules, in English and Chinese (registered by
``texts`` as ``ngsild.<code>``)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {}
