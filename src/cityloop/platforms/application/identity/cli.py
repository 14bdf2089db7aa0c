"""`cityloop user` and `cityloop apikey`: accounts and machine clients' keys."""

from __future__ import annotations

import getpass
import secrets
from typing import Annotated

import typer

from cityloop.base.cli import DataDir, settings_for, unit_of_work
from cityloop.platforms.application.identity import service, throttle
from cityloop.platforms.application.identity.policy import PasswordPolicy
from cityloop.platforms.application.identity.roles import Role
from cityloop.platforms.application.identity.service import Actor

user_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
apikey_app = typer.Typer(help="Manage API keys for machine clients.", no_args_is_help=True)
CLI_ACTOR = Actor(None, "cli", Role.ADMIN)


@user_app.command("create")
def user_create(
    username: str,
    role: Annotated[str, typer.Option(help=", ".join(r.value for r in Role))],
    department: Annotated[str | None, typer.Option()] = None,
    password: Annotated[str | None, typer.Option(help="prompted for when not given")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create an account; its password keeps the city's password policy."""
    if password is None:
        password = getpass.getpass("password: ")
    policy = PasswordPolicy.from_settings(settings_for(data_dir))
    with unit_of_work(data_dir) as session:
        # The same policy as the admin screens: a refusal names the rule it breaks.
        policy.check(password=password, username=service.normalize_username(username))
        user = service.create_user(
            session, username=username, password=password, role=role, department_code=department
        )
        service.audit(
            session, actor=CLI_ACTOR, action="user.create", target=f"user:{user.username}"
        )
    typer.echo(f"created {role} {username}")


@user_app.command("list")
def user_list(
    role: Annotated[str | None, typer.Option(help="only accounts of this role")] = None,
    data_dir: DataDir = None,
) -> None:
    """List accounts: id, username, role, department and whether each is active."""
    with unit_of_work(data_dir, write=False) as session:
        for user in service.list_users(session, role=role):
            state = "active" if user.active else "deactivated"
            typer.echo(
                f"{user.id}\t{user.username}\t{user.role}\t{user.department_code or '-'}\t{state}"
            )


@user_app.command("deactivate")
def user_deactivate(username: str, data_dir: DataDir = None) -> None:
    """Deactivate an account: it cannot sign in, and its tokens and live feeds stop working."""
    with unit_of_work(data_dir) as session:
        user = service.set_user_active(session, username=username, active=False, actor=CLI_ACTOR)
    typer.echo(f"deactivated {user.username}")


@user_app.command("activate")
def user_activate(username: str, data_dir: DataDir = None) -> None:
    """Let a deactivated account sign in again."""
    with unit_of_work(data_dir) as session:
        user = service.set_user_active(session, username=username, active=True, actor=CLI_ACTOR)
    typer.echo(f"activated {user.username}")


@user_app.command("unlock")
def user_unlock(
    username: str,
    address: Annotated[
        str | None, typer.Option(help="also forget this client address's failed sign-ins")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Lift a sign-in lock now: forget the failed attempts on an account name (known or not)."""
    name = service.normalize_username(username)
    with unit_of_work(data_dir) as session:
        was_locked = throttle.unlock(session, account=name, client=address)
        detail = {"address": address} if address else {}
        service.audit(
            session, actor=CLI_ACTOR, action="auth.unlock", target=f"user:{name}", detail=detail
        )
    typer.echo(f"unlocked {name}" if was_locked else f"{name} was not locked; its count is cleared")


@apikey_app.command("create")
def apikey_create(
    name: str,
    scope: Annotated[
        list[str] | None,
        typer.Option(help="open311 (the default) and/or ngsild; repeat for several"),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Create an API key; it is printed once and only its hash is kept."""
    key = secrets.token_urlsafe(24)
    with unit_of_work(data_dir) as session:
        created = service.create_api_key(session, key=key, name=name, scopes=scope or ["open311"])
        service.audit(
            session, actor=CLI_ACTOR, action="apikey.create", target=f"apikey:{created.id}"
        )
        scopes = ", ".join(created.scopes)
    typer.echo(f"created API key {name!r} ({scopes}); keep it now, it is not shown again:")
    typer.echo(key)


@apikey_app.command("list")
def apikey_list(data_dir: DataDir = None) -> None:
    """List API keys (never the keys themselves)."""
    with unit_of_work(data_dir, write=False) as session:
        for key in service.list_api_keys(session):
            state = "active" if key.active else "revoked"
            typer.echo(f"{key.id}\t{key.name}\t{','.join(key.scopes or [])}\t{state}")


@apikey_app.command("revoke")
def apikey_revoke(key_id: int, data_dir: DataDir = None) -> None:
    """Revoke an API key by its id (see `cityloop apikey list`)."""
    with unit_of_work(data_dir) as session:
        key = service.revoke_api_key(session, key_id=key_id)
        service.audit(session, actor=CLI_ACTOR, action="apikey.revoke", target=f"apikey:{key.id}")
    typer.echo(f"revoked API key {key_id}")


def install(app: typer.Typer) -> None:
    """Add `user` and `apikey` to the root command."""
    app.add_typer(user_app, name="user")
    app.add_typer(apikey_app, name="apikey")
