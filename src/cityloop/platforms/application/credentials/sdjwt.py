"""The SD-JWT format (RFC 9901) as far as this platform uses it: compact JWS signed with Ed25519
(``alg`` EdDSA), salted disclosures of top-level claims, their SHA-256 digests in ``_sd``.

Plain functions on strings and bytes, no database: issuing, presenting and verifying all build on
them. Every parse error is a :class:`FormatError` with a sentence a person can read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALG = "EdDSA"
SD_ALG = "sha-256"
# The SD-JWT VC media type: "dc+sd-jwt" in the current draft; "vc+sd-jwt" in earlier ones,
# which verifiers still meet, so both are read and the current one is written.
TYP = "dc+sd-jwt"
TYPES_READ = frozenset({"dc+sd-jwt", "vc+sd-jwt"})
SEPARATOR = "~"


class FormatError(ValueError):
    """Text that is not the token it claims to be."""


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The bytes of unpadded base64url text; FormatError for anything else."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise FormatError("not base64url")
    try:
        # The alphabet is checked above, so the plain decoder after translation is exact.
        return binascii.a2b_base64(text.translate(_TO_STANDARD) + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise FormatError("not base64url") from None


_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_TO_STANDARD = str.maketrans("-_", "+/")


def digest(disclosure: str) -> str:
    """A disclosure's digest: SHA-256 over its ASCII base64url text, base64url-encoded."""
    return b64url(hashlib.sha256(disclosure.encode("ascii")).digest())


def compact_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def make_disclosure(name: str, value: Any) -> str:
    """A disclosure of one object property: ``[salt, name, value]`` with a 128-bit salt."""
    return b64url(compact_json([b64url(secrets.token_bytes(16)), name, value]))


def decoy_digest() -> str:
    """A digest no disclosure matches, so ``_sd`` does not tell how many claims are hidden."""
    return b64url(hashlib.sha256(secrets.token_bytes(32)).digest())


def sign(header: dict[str, Any], payload: dict[str, Any], key: Ed25519PrivateKey) -> str:
    """A compact JWS of ``payload``."""
    signing_input = b64url(compact_json(header)) + "." + b64url(compact_json(payload))
    return signing_input + "." + b64url(key.sign(signing_input.encode("ascii")))


@dataclass(frozen=True)
class Jwt:
    """A compact JWS split and decoded, not yet verified."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes

    def signed_by(self, key: Ed25519PublicKey) -> bool:
        try:
            key.verify(self.signature, self.signing_input)
        except InvalidSignature:
            return False
        return True


def _json_object(part: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(part).decode("utf-8"))
    except (FormatError, ValueError, UnicodeDecodeError):
        raise FormatError(f"the {what} is not base64url-encoded JSON") from None
    if not isinstance(value, dict):
        raise FormatError(f"the {what} is not a JSON object")
    return value


def parse_jwt(token: str) -> Jwt:
    """Split and decode a compact JWS signed with EdDSA."""
    parts = token.split(".")
    if len(parts) != 3:
        raise FormatError("a JWT has three parts separated by dots")
    header = _json_object(parts[0], "JWT header")
    payload = _json_object(parts[1], "JWT payload")
    if header.get("alg") != ALG:
        raise FormatError(f"the signature algorithm must be {ALG}, not {header.get('alg')!r}")
    try:
        signature = b64url_decode(parts[2])
    except FormatError:
        raise FormatError("the JWT signature is not base64url") from None
    if len(signature) != 64:
        raise FormatError("an Ed25519 signature is 64 bytes")
    return Jwt(header, payload, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)


@dataclass(frozen=True)
class SdJwt:
    """An SD-JWT split into its issuer-signed JWT and its disclosures (text as given)."""

    jwt: str
    disclosures: tuple[str, ...]

    def serialize(self) -> str:
        return SEPARATOR.join((self.jwt, *self.disclosures, ""))


def split(text: str) -> SdJwt:
    """``<jwt>~<disclosure>~…~``; a key-binding JWT after the last tilde is not supported."""
    if not text.isascii():
        raise FormatError("an SD-JWT is ASCII text")
    parts = text.split(SEPARATOR)
    if len(parts) < 2:
        raise FormatError("an SD-JWT is '<issuer-signed JWT>~<disclosures>~'")
    if parts[-1]:
        raise FormatError(
            "this presentation ends in a key-binding JWT; these credentials are not holder-bound"
        )
    if any(not part for part in parts[1:-1]):
        raise FormatError("an SD-JWT has no empty disclosures")
    return SdJwt(parts[0], tuple(parts[1:-1]))


def decode_disclosure(disclosure: str) -> tuple[str, str, Any]:
    """``(salt, claim name, value)`` of an object-property disclosure."""
    try:
        value = json.loads(b64url_decode(disclosure).decode("utf-8"))
    except (FormatError, ValueError, UnicodeDecodeError):
        raise FormatError("a disclosure is not base64url-encoded JSON") from None
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not isinstance(value[0], str)
        or not isinstance(value[1], str)
    ):
        raise FormatError("a disclosure is [salt, claim name, value]")
    return value[0], value[1], value[2]
