"""Shared helpers of the residents' reports tests: a clean ``reports`` schema, counts."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import psycopg

from gisplatform.store.roles import API_ROLE
from tests.conftest import role_url

#: a point inside Romny hromada (its centre) and one well outside it (Kyiv)
INSIDE = (33.475, 50.751)
OUTSIDE = (30.52, 50.45)
TABLES = ("requests", "photos", "transitions")


def empty_reports(url: str) -> None:
    """Delete every report (as the owner), so a test counts its own rows."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE reports.requests, reports.photos, reports.transitions CASCADE")


def counts(url: str) -> dict[str, int]:
    """Rows of each reports table (as the owner)."""
    with psycopg.connect(url) as conn:
        found = {}
        for table in TABLES:
            row = conn.execute(f"SELECT count(*) FROM reports.{table}").fetchone()  # noqa: S608
            assert row is not None
            found[table] = int(row[0])
        return found


def api_connect(url: str) -> psycopg.Connection[Any]:
    """A connection as the API's login (its default role: the public)."""
    return psycopg.connect(role_url(url, API_ROLE))


def submit_row(
    conn: psycopg.Connection[Any],
    kind: str,
    *,
    client: str = "test-client",
    contact: str | None = None,
    answers: str = "{}",
    where: tuple[float, float] = INSIDE,
) -> tuple[int, str]:
    """A report stored through ``reports.submit`` as the caller's role; (id, token)."""
    token = secrets.token_urlsafe(16)
    digest = hashlib.sha256(token.encode()).hexdigest()
    row = conn.execute(
        "SELECT request_id, retry_after FROM reports.submit(%s, %s, NULL, NULL, %s, %s, "
        "%s::jsonb, 'd', %s, %s, 'web', 10, 60, NULL, NULL, NULL, NULL)",
        [digest, kind, where[0], where[1], answers, contact, client],
    ).fetchone()
    assert row is not None and row[0] is not None, row
    return int(row[0]), token
