"""Credentials: issuer keys, SD-JWT VC issuance and revocation, JWKS, status lists, verification."""

from __future__ import annotations

from cityloop.base.modules import Module
from cityloop.platforms.application.credentials import cli, runtime
from cityloop.platforms.application.credentials.models import Credential, IssuerKey, StatusList
from cityloop.platforms.application.credentials.views import router

MODULE = Module(
    name="credentials",
    models=(IssuerKey, StatusList, Credential),
    routers=(router,),
    setup=(runtime.install,),
    commands=(cli.install,),
)
