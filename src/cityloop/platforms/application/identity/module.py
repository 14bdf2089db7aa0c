"""Identity: people, departments, staff roles, API keys and the audit trail."""

from cityloop.base.modules import Module
from cityloop.platforms.application.identity import cli
from cityloop.platforms.application.identity.models import ApiKey, AuditEntry, Department, User
from cityloop.platforms.application.identity.views import router

MODULE = Module(
    name="identity",
    models=(User, Department, ApiKey, AuditEntry),
    routers=(router,),
    commands=(cli.install,),
)
