"""The job store of OGC API – Processes: the ``jobs`` schema, created by ``migrate``.

A job id is an unguessable token (``secrets``, 256 bits) and is the caller's only way to
reach the job: the table keeps its SHA-256, never the id, and there is no listing. A job
started by a signed-in user also keeps that login and is reached only with it, so its
results (which may hold staff data) stay with that user even if the id leaks.
Rows expire after a time to live and are deleted by :meth:`JobStore.purge`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy import Connection

from gisplatform.store.database import driver_execute

#: schema of the job table
JOBS_SCHEMA = "jobs"
#: default time to live of a job and its results (seconds): 24 h
DEFAULT_TTL_S = 24 * 3600


@cache
def _queries() -> dict[str, str]:
    text = resources.files("gisplatform.sql").joinpath("jobs.sql").read_text("utf-8")
    queries: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines():
        if line.startswith("-- name: "):
            current = line.removeprefix("-- name: ").strip()
            queries[current] = ""
        elif current is not None and not line.startswith("--"):
            queries[current] += line + "\n"
    return queries


def _query(name: str) -> sql.Composed:
    return sql.SQL(_queries()[name].strip()).format(jobs=sql.Identifier(JOBS_SCHEMA))


def ensure_jobs_schema(conn: Connection) -> None:
    """Create the ``jobs`` schema and table (idempotent; run by ``migrate``)."""
    for statement in _queries()["create"].split(";\n"):
        if statement.strip():
            text = sql.SQL(statement.strip()).format(jobs=sql.Identifier(JOBS_SCHEMA))
            driver_execute(conn, text)


def new_job_id() -> str:
    """A fresh job id: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def _hash(job_id: str) -> bytes:
    return hashlib.sha256(job_id.encode("utf-8")).digest()


@dataclass(frozen=True)
class StoredJob:
    """A job as stored (without its result)."""

    process_id: str
    status: str
    message: str
    progress: int
    created: datetime
    started: datetime | None
    updated: datetime
    finished: datetime | None
    mimetype: str | None


class JobStore:
    """Jobs in PostgreSQL at ``url``; every call opens a short connection of its own."""

    def __init__(self, url: str, ttl_s: int = DEFAULT_TTL_S) -> None:
        self.url = url
        self.ttl_s = ttl_s

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
        # the analyses' login keeps the jobs as itself, not in its default audience role
        conn.execute("SET ROLE NONE")
        return conn

    def purge(self) -> int:
        """Delete expired jobs; the number deleted."""
        with self._connect() as conn:
            return conn.execute(_query("purge")).rowcount

    def add(self, job_id: str, process_id: str, message: str, login: str | None = None) -> None:
        """Store a new accepted job of ``login`` (None: anonymous); expired jobs go first."""
        with self._connect() as conn:
            conn.execute(_query("purge"))
            conn.execute(
                _query("insert"),
                {
                    "id_hash": _hash(job_id),
                    "process_id": process_id,
                    "status": "accepted",
                    "message": message,
                    "progress": 0,
                    "login": login,
                    "ttl_s": self.ttl_s,
                },
            )

    def update(
        self,
        job_id: str,
        status: str,
        message: str,
        progress: int,
        mimetype: str | None = None,
        result: Any = None,
    ) -> bool:
        """Set a job's status (and its result); False when the job is gone."""
        with self._connect() as conn:
            cursor = conn.execute(
                _query("update"),
                {
                    "id_hash": _hash(job_id),
                    "status": status,
                    "message": message,
                    "progress": progress,
                    "mimetype": mimetype,
                    "result": None if result is None else Jsonb(result),
                },
            )
            return cursor.rowcount > 0

    def get(self, job_id: str, login: str | None = None) -> StoredJob | None:
        """The unexpired job of ``login`` with this id, or None."""
        with self._connect() as conn:
            row = conn.execute(_query("get"), {"id_hash": _hash(job_id), "login": login}).fetchone()
        return None if row is None else StoredJob(*row)

    def result(self, job_id: str, login: str | None = None) -> tuple[str, str | None, Any] | None:
        """``(status, mimetype, result)`` of the unexpired job of ``login``, or None."""
        with self._connect() as conn:
            row = conn.execute(
                _query("result"), {"id_hash": _hash(job_id), "login": login}
            ).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def delete(self, job_id: str, login: str | None = None) -> bool:
        """Delete the job of ``login`` and its result; False when there was none."""
        with self._connect() as conn:
            query = _query("delete")
            return conn.execute(query, {"id_hash": _hash(job_id), "login": login}).rowcount > 0
