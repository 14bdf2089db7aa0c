"""Verifiable credentials: SD-JWT VCs signed with each issuer's Ed25519 key, a JWKS, token status
lists for revocation, and a verifier that works offline (see docs/credentials.md)."""
