"""``gisplatform users …`` and ``gisplatform tokens …``: staff accounts and personal tokens.

They connect as the owner (like ``import``); the roles come from ``layers/_roles.yaml``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

import psycopg
import typer
from rich.console import Console

from gisplatform.i18n import message
from gisplatform.registry import LayerRegistry, load_registry
from gisplatform.settings import Settings
from gisplatform.store import db_logins
from gisplatform.store.accounts import AccountError, Accounts, parse_duration

users_app = typer.Typer(help="Staff accounts (sign-in with a password).", no_args_is_help=True)
tokens_app = typer.Typer(help="Personal API tokens of staff accounts.", no_args_is_help=True)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

RolesOption = Annotated[
    list[str] | None, typer.Option("--role", help="A role of layers/_roles.yaml (repeatable).")
]


@contextmanager
def _accounts() -> Iterator[Accounts]:
    from gisplatform.store.database import connect, database_url

    settings = Settings()
    roles = load_registry(settings.layers_dir).role_names
    with connect(database_url(settings)) as conn:
        yield Accounts(conn, roles)
        conn.commit()


@contextmanager
def _admin() -> Iterator[tuple[psycopg.Connection, LayerRegistry, str]]:
    """The administrator's connection: database logins are roles (the owner cannot add them)."""
    from gisplatform.store.database import admin_url, connect

    settings = Settings()
    with connect(admin_url(settings)) as conn:
        yield conn, load_registry(settings.layers_dir), settings.layer_schema
        conn.commit()


def _sync_db_login(login: str) -> None:
    """After an account change: its database login (if any) follows the account."""
    with _admin() as (conn, registry, schema):
        if db_logins.is_db_login(conn, login):
            db_logins.sync(conn, registry, schema, login)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(
            str(message("password_prompt")), hide_input=True, confirmation_prompt=True
        )
    if not password:
        raise AccountError(message("empty_password"))
    return password


def _roles_text(roles: list[str] | tuple[str, ...]) -> str:
    return ", ".join(roles) if roles else str(message("no_roles"))


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="minutes") if moment else "—"


StdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


@users_app.command("add")
def users_add(
    login: str,
    role: RolesOption = None,
    password_stdin: StdinOption = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Tokens only: no password sign-in.")
    ] = False,
    db_login: Annotated[
        bool,
        typer.Option(
            "--db-login",
            help="Also a PostgreSQL login of the same name and password (QGIS edits the "
            "tables directly with the account's rights).",
        ),
    ] = False,
) -> None:
    """Add a staff account; every account is staff, roles add restricted layers."""
    if db_login and no_password:
        raise AccountError(message("empty_password"))
    password = None if no_password else _read_password(password_stdin)
    if db_login:
        with _admin() as (conn, _, _):
            db_logins.check_name(conn, login)
    with _accounts() as accounts:
        accounts.add(login, role or [], password)
    console.print(
        f"[green]✓[/green] {message('user_added', login=login, roles=_roles_text(role or []))}"
    )
    if db_login and password:
        with _admin() as (conn, registry, schema):
            db_logins.enable(conn, registry, schema, login, password)
        console.print(f"[green]✓[/green] {message('db_login_enabled', login=login)}")


@users_app.command("db-login")
def users_db_login(
    login: str,
    enable: Annotated[
        bool,
        typer.Option(
            "--enable/--disable",
            help="Give the account a PostgreSQL login (a new password), or remove it.",
        ),
    ],
    password_stdin: StdinOption = False,
) -> None:
    """The account's PostgreSQL login for QGIS: same name, the account's rights."""
    if enable:
        password = _read_password(password_stdin)
        with _admin() as (conn, registry, schema):
            db_logins.enable(conn, registry, schema, login, password)
        console.print(f"[green]✓[/green] {message('db_login_enabled', login=login)}")
    else:
        with _admin() as (conn, _, schema):
            db_logins.drop(conn, schema, login)
        console.print(f"[green]✓[/green] {message('db_login_removed', login=login)}")


@users_app.command("list")
def users_list() -> None:
    """The accounts: login, roles, state, valid tokens."""
    with _accounts() as accounts:
        found = accounts.accounts()
    if not found:
        console.print(str(message("no_accounts")))
    for account in found:
        state = "disabled" if account.disabled else "active"
        sys.stdout.write(
            f"{account.login}\t{state}\t{_roles_text(account.roles)}\t"
            f"password={'yes' if account.has_password else 'no'}\ttokens={account.tokens}\n"
        )


@users_app.command("disable")
def users_disable(login: str) -> None:
    """Disable an account: no sign-in, none of its tokens work (at once)."""
    with _accounts() as accounts:
        accounts.set_disabled(login, True)
    _sync_db_login(login)
    console.print(f"[green]✓[/green] {message('user_disabled', login=login)}")


@users_app.command("enable")
def users_enable(login: str) -> None:
    """Enable a disabled account."""
    with _accounts() as accounts:
        accounts.set_disabled(login, False)
    _sync_db_login(login)
    console.print(f"[green]✓[/green] {message('user_enabled', login=login)}")


@users_app.command("roles")
def users_roles(login: str, role: RolesOption = None) -> None:
    """Replace an account's roles (none: staff only)."""
    with _accounts() as accounts:
        accounts.set_roles(login, role or [])
    _sync_db_login(login)
    console.print(
        f"[green]✓[/green] {message('roles_set', login=login, roles=_roles_text(role or []))}"
    )


@users_app.command("passwd")
def users_passwd(login: str, password_stdin: StdinOption = False) -> None:
    """Set a new password."""
    password = _read_password(password_stdin)
    with _accounts() as accounts:
        accounts.set_password(login, password)
    with _admin() as (conn, _, _):
        db_logins.set_password(conn, login, password)
    console.print(f"[green]✓[/green] {message('password_set', login=login)}")


@users_app.command("signout")
def users_signout(login: str) -> None:
    """End every browser session of an account (the web map signs it out at once)."""
    with _accounts() as accounts:
        ended = accounts.end_sessions(login)
    console.print(f"[green]✓[/green] {message('sessions_ended', login=login, count=ended)}")


@tokens_app.command("create")
def tokens_create(
    login: str,
    name: Annotated[str, typer.Option(help="A name to list and revoke the token by.")],
    expires: Annotated[
        str | None, typer.Option(help="Lifetime, e.g. 90d, 12h, 4w (default: no expiry).")
    ] = None,
) -> None:
    """Create a personal token; it is printed once, as the last line of standard output."""
    lifetime = parse_duration(expires) if expires else None
    with _accounts() as accounts:
        token = accounts.create_token(login, name, lifetime)
        (info,) = [t for t in accounts.tokens(login) if t.name == name]
    until = _when(info.expires_at) if info.expires_at else str(message("never"))
    console.print(str(message("token_created", login=login, name=name, expires=until)))
    sys.stdout.write(token + "\n")


@tokens_app.command("list")
def tokens_list(login: str) -> None:
    """The account's tokens: name, created, expires, last used, revoked."""
    with _accounts() as accounts:
        found = accounts.tokens(login)
    if not found:
        console.print(str(message("no_tokens", login=login)))
    for token in found:
        sys.stdout.write(
            f"{token.name}\tcreated={_when(token.created_at)}\texpires={_when(token.expires_at)}"
            f"\tlast_used={_when(token.last_used_at)}\trevoked={_when(token.revoked_at)}\n"
        )


@tokens_app.command("revoke")
def tokens_revoke(login: str, name: str) -> None:
    """Revoke a token by name; it stops working at once."""
    with _accounts() as accounts:
        accounts.revoke_token(login, name)
    console.print(f"[green]✓[/green] {message('token_revoked', login=login, name=name)}")
