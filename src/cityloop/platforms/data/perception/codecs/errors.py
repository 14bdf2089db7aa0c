"""The one error every codec raises; in its own module so expressions.py and base.py share it."""

from __future__ import annotations

from cityloop.platforms.data.perception.messages import Message


class CodecError(ValueError):
    """A payload or codec configuration that cannot be decoded.

    ``field`` names what is wrong (an attribute, ``payload``, ``timestamp``, ``layout``…) so the
    ingestion layer can give the device owner a precise rejection and count it in ``/metrics``.
    """

    def __init__(self, message: str | Message, *, field: str, reason: str = "malformed") -> None:
        # A coded message reads in the reader's language where a refusal is answered (detail);
        # str() is its English line, for logs.
        coded = message if isinstance(message, Message) else None
        super().__init__(coded.render("en") if coded else message)
        self.detail: str | Message = coded or str(message)
        self.field = field
        # "malformed" (cannot be read) or "out_of_range" (read, but outside the declared range).
        self.reason = reason
