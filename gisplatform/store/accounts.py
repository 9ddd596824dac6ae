"""Staff accounts and personal API tokens in the ``auth`` schema, created by ``migrate``.

Passwords are kept as Argon2id hashes (argon2-cffi), tokens as the SHA-256 of 256 random
bits: neither is ever stored in clear. The owner manages accounts (``gisplatform users``,
``gisplatform tokens``); the API role reaches the schema only through the SECURITY DEFINER
functions of ``auth.sql`` (see :mod:`gisplatform.auth`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

import psycopg
from argon2 import PasswordHasher
from psycopg import sql
from sqlalchemy import Connection

from gisplatform.errors import GisPlatformError
from gisplatform.i18n import message
from gisplatform.store.database import driver_execute
from gisplatform.store.roles import API_ROLE

#: schema of the accounts, tokens and sign-in events
AUTH_SCHEMA = "auth"
#: what a personal token starts with, so secret scanners and people recognise it
TOKEN_PREFIX = "gpt_"
LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,62}$")
_FUNCTIONS = (
    "password_of(text)",
    "token_user(bytea)",
    "record(text, text, text, text)",
    "failures(text, text, integer)",
    "session_start(bytea, text, integer, integer, text)",
    "session_of(bytea)",
    "session_end(bytea)",
)
_DURATION = re.compile(r"^([1-9][0-9]{0,4})([dhw])$")


class AccountError(GisPlatformError):
    """An account command that cannot be done (unknown login, unknown role, …)."""


@cache
def hasher() -> PasswordHasher:
    """The Argon2id hasher (argon2-cffi's RFC 9106 low-memory profile)."""
    return PasswordHasher()


@cache
def _create_statements() -> tuple[str, ...]:
    text = resources.files("gisplatform.sql").joinpath("auth.sql").read_text("utf-8")
    body = text.split("-- name: create", 1)[1]
    statements: list[str] = []
    current: list[str] = []
    dollar = False
    for line in body.splitlines():
        if line.startswith("--") and not current:
            continue
        current.append(line)
        dollar ^= line.count("$$") % 2 == 1
        if line.rstrip().endswith(";") and not dollar:
            statements.append("\n".join(current).rstrip().removesuffix(";"))
            current = []
    return tuple(s for s in statements if s.strip())


def ensure_auth_schema(conn: Connection) -> None:
    """Create the ``auth`` schema, its tables and functions; let the API role call them only."""
    schema = sql.Identifier(AUTH_SCHEMA)
    for statement in _create_statements():
        driver_execute(conn, sql.SQL(statement).format(auth=schema))
    api = sql.Identifier(API_ROLE)
    driver_execute(
        conn, sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema, api)
    )
    driver_execute(conn, sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, api))
    for signature in _FUNCTIONS:
        driver_execute(
            conn,
            sql.SQL("GRANT EXECUTE ON FUNCTION {}." + signature + " TO {}").format(schema, api),
        )


def token_hash(token: str) -> bytes:
    """What the database keeps of a token: its SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def new_token() -> str:
    """A fresh personal token: the prefix and 256 random bits, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def parse_duration(text: str) -> timedelta:
    """``90d``, ``12h`` or ``4w`` as a time span."""
    found = _DURATION.match(text.strip().lower())
    if found is None:
        raise AccountError(message("bad_duration", value=text))
    amount, unit = int(found.group(1)), found.group(2)
    return {
        "d": timedelta(days=amount),
        "h": timedelta(hours=amount),
        "w": timedelta(weeks=amount),
    }[unit]


@dataclass(frozen=True)
class Account:
    """One staff account as the owner sees it (never the hash)."""

    login: str
    roles: tuple[str, ...]
    disabled: bool
    has_password: bool
    created_at: datetime
    tokens: int


@dataclass(frozen=True)
class TokenInfo:
    """One personal token as listed (never the token or its hash)."""

    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


def _table(name: str) -> sql.Identifier:
    return sql.Identifier(AUTH_SCHEMA, name)


class Accounts:
    """Account and token management, on a connection of the owner role."""

    def __init__(self, conn: psycopg.Connection[Any], known_roles: frozenset[str]) -> None:
        self.conn = conn
        self.known_roles = known_roles

    def _check_roles(self, roles: list[str]) -> list[str]:
        unknown = sorted(set(roles) - self.known_roles)
        if unknown:
            raise AccountError(
                message(
                    "unknown_roles",
                    roles=", ".join(unknown),
                    known=", ".join(sorted(self.known_roles)),
                )
            )
        return sorted(set(roles))

    def _one(self, query: sql.Composed, params: list[Any], login: str) -> None:
        if self.conn.execute(query, params).rowcount == 0:
            raise AccountError(message("unknown_login", login=login))

    def add(self, login: str, roles: list[str], password: str | None) -> None:
        """A new account; ``password`` None: tokens only."""
        if not LOGIN_PATTERN.match(login):
            raise AccountError(message("bad_login", login=login))
        clean = self._check_roles(roles)
        digest = hasher().hash(password) if password else None
        try:
            self.conn.execute(
                sql.SQL("INSERT INTO {} (login, roles, password_hash) VALUES (%s, %s, %s)").format(
                    _table("users")
                ),
                [login, clean, digest],
            )
        except psycopg.errors.UniqueViolation:
            raise AccountError(message("login_exists", login=login)) from None

    def accounts(self) -> list[Account]:
        """Every account, by login."""
        rows = self.conn.execute(
            sql.SQL(
                "SELECT u.login, u.roles, u.disabled, u.password_hash IS NOT NULL, u.created_at, "
                "(SELECT count(*) FROM {t} AS t WHERE t.login = u.login AND t.revoked_at IS NULL "
                "AND (t.expires_at IS NULL OR t.expires_at > now())) "
                "FROM {u} AS u ORDER BY u.login"
            ).format(t=_table("tokens"), u=_table("users"))
        ).fetchall()
        return [Account(r[0], tuple(r[1]), r[2], r[3], r[4], int(r[5])) for r in rows]

    def set_disabled(self, login: str, disabled: bool) -> None:
        """Disable (no sign-in, no token or browser session works) or enable an account."""
        self._one(
            sql.SQL("UPDATE {} SET disabled = %s, updated_at = now() WHERE login = %s").format(
                _table("users")
            ),
            [disabled, login],
            login,
        )
        if disabled:
            self.end_sessions(login)

    def end_sessions(self, login: str) -> int:
        """Sign the account out of every browser (its sessions end at once); how many ended."""
        self._one(
            sql.SQL("SELECT FROM {} WHERE login = %s").format(_table("users")), [login], login
        )
        cursor = self.conn.execute(
            sql.SQL(
                "UPDATE {} SET ended_at = now() WHERE login = %s AND ended_at IS NULL "
                "AND expires_at > now()"
            ).format(_table("sessions")),
            [login],
        )
        return cursor.rowcount

    def set_roles(self, login: str, roles: list[str]) -> None:
        """Replace the account's roles."""
        self._one(
            sql.SQL("UPDATE {} SET roles = %s, updated_at = now() WHERE login = %s").format(
                _table("users")
            ),
            [self._check_roles(roles), login],
            login,
        )

    def set_password(self, login: str, password: str) -> None:
        """A new password (the old one and the browser sessions it opened stop at once)."""
        self._one(
            sql.SQL("UPDATE {} SET password_hash = %s, updated_at = now() WHERE login = %s").format(
                _table("users")
            ),
            [hasher().hash(password), login],
            login,
        )
        self.end_sessions(login)

    def create_token(self, login: str, name: str, expires: timedelta | None) -> str:
        """A new token named ``name``; the token itself is returned once and never kept."""
        token = new_token()
        exists = self.conn.execute(
            sql.SQL("SELECT FROM {} WHERE login = %s").format(_table("users")), [login]
        ).fetchone()
        if exists is None:
            raise AccountError(message("unknown_login", login=login))
        try:
            self.conn.execute(
                sql.SQL(
                    "INSERT INTO {} (login, name, token_hash, expires_at) "
                    "VALUES (%s, %s, %s, now() + %s::interval)"
                ).format(_table("tokens")),
                [login, name, token_hash(token), expires],
            )
        except psycopg.errors.UniqueViolation:
            raise AccountError(message("token_exists", login=login, name=name)) from None
        return token

    def tokens(self, login: str) -> list[TokenInfo]:
        """The account's tokens, newest first."""
        rows = self.conn.execute(
            sql.SQL(
                "SELECT name, created_at, expires_at, last_used_at, revoked_at FROM {} "
                "WHERE login = %s ORDER BY created_at DESC, name"
            ).format(_table("tokens")),
            [login],
        ).fetchall()
        return [TokenInfo(*row) for row in rows]

    def revoke_token(self, login: str, name: str) -> None:
        """The token stops working at once (it stays listed as revoked)."""
        cursor = self.conn.execute(
            sql.SQL(
                "UPDATE {} SET revoked_at = now() WHERE login = %s AND name = %s "
                "AND revoked_at IS NULL"
            ).format(_table("tokens")),
            [login, name],
        )
        if cursor.rowcount == 0:
            raise AccountError(message("unknown_token", login=login, name=name))
