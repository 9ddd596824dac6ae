"""Metrics worth an alert, refreshed when ``/metrics`` is scraped.

* ``gisplatform_db_pool_size`` / ``_available`` / ``_waiting``: each pool (the primary's and
  every replica's) of the worker that answers the scrape; waiting > 0 for long means the pool
  or the database is too small.
* ``gisplatform_wal_archive_age_seconds`` and ``gisplatform_wal_archive_failures``: seconds
  since the primary last archived a WAL segment (``pg_stat_archiver``), and how many attempts
  failed since the statistics were reset: the RPO of a lost disk grows with the first.
* ``gisplatform_backup_age_seconds``: seconds since the last pgBackRest backup finished (the
  embedded cluster's repository, read from its ``backup.info``; absent with an external one).
* ``gisplatform_imports{status}`` and ``gisplatform_import_failures``: imports in the
  database's import log (``history.imports``) by outcome, and those that failed or were
  rejected. Imports run from the CLI, not in the server, so the numbers come from the
  database (``api_meta.import_outcomes()``): every worker reports the same; alert on an
  increase of the failures.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import psycopg
from prometheus_client import CollectorRegistry, Gauge
from psycopg_pool import AsyncConnectionPool

from gisplatform.ogcapi.tilecache import TileCache

#: outcomes of imports in history.imports, counted by a function the API roles may call
IMPORT_OUTCOMES = "SELECT status, imports FROM api_meta.import_outcomes()"
IMPORT_STATUSES = ("succeeded", "partial", "dry_run", "rejected", "failed")

#: pgBackRest's list of backups in a repository (an INI file whose values are JSON)
_BACKUP_INFO = "backup.info"


def last_backup_epoch(repo: Path, stanza: str) -> float | None:
    """When the newest backup in ``repo`` finished (epoch seconds), from ``backup.info``."""
    path = repo / "backup" / stanza / _BACKUP_INFO
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    stops: list[float] = []
    section = ""
    for line in lines:
        if line.startswith("["):
            section = line.strip()
            continue
        if section == "[backup:current]" and "=" in line:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                stops.append(float(json.loads(line.split("=", 1)[1])["backup-timestamp-stop"]))
    return max(stops) if stops else None


class OpsMetrics:
    """The gauges, and how to refresh them from the pools, the archiver and the repository."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.pool_size = Gauge(
            "gisplatform_db_pool_size", "Connections open in the pool", ["pool"], registry=registry
        )
        self.pool_available = Gauge(
            "gisplatform_db_pool_available",
            "Idle connections in the pool",
            ["pool"],
            registry=registry,
        )
        self.pool_waiting = Gauge(
            "gisplatform_db_pool_waiting",
            "Requests waiting for a connection of the pool",
            ["pool"],
            registry=registry,
        )
        self.archive_age = Gauge(
            "gisplatform_wal_archive_age_seconds",
            "Seconds since the primary last archived a WAL segment (-1: never)",
            registry=registry,
        )
        self.archive_failures = Gauge(
            "gisplatform_wal_archive_failures",
            "Failed WAL archive attempts since the statistics were reset",
            registry=registry,
        )
        self.backup_age = Gauge(
            "gisplatform_backup_age_seconds",
            "Seconds since the last pgBackRest backup finished (-1: none)",
            registry=registry,
        )
        self.imports = Gauge(
            "gisplatform_imports",
            "Imports in the database's import log by outcome (succeeded, partial, dry_run, "
            "rejected, failed)",
            ["status"],
            registry=registry,
        )
        self.import_failures = Gauge(
            "gisplatform_import_failures",
            "Imports that failed or were rejected, from the database's import log",
            registry=registry,
        )
        self.tile_cache_bytes = Gauge(
            "gisplatform_tile_cache_bytes",
            "Memory the tile cache's entries take (keys and bookkeeping included)",
            registry=registry,
        )
        self.tile_cache_entries = Gauge(
            "gisplatform_tile_cache_entries", "Tiles in the tile cache", registry=registry
        )
        #: the embedded cluster's repository and stanza (None: not ours to read)
        self.backup_repo: tuple[Path, str] | None = None

    async def refresh(
        self, pools: dict[str, AsyncConnectionPool], tile_cache: TileCache | None = None
    ) -> None:
        if tile_cache is not None:
            self.tile_cache_bytes.set(tile_cache.size)
            self.tile_cache_entries.set(len(tile_cache))
        for name, pool in pools.items():
            stats = pool.get_stats()
            self.pool_size.labels(name).set(stats.get("pool_size", 0))
            self.pool_available.labels(name).set(stats.get("pool_available", 0))
            self.pool_waiting.labels(name).set(stats.get("requests_waiting", 0))
        primary = pools.get("primary")
        if primary is not None:
            with contextlib.suppress(psycopg.Error, TimeoutError):
                # a scrape must stay cheap: with the database down it waits half a second
                async with primary.connection(timeout=min(0.5, primary.timeout)) as conn:
                    cursor = await conn.execute(
                        "SELECT coalesce(extract(epoch FROM now() - last_archived_time), -1),"
                        " failed_count FROM pg_stat_archiver"
                    )
                    row = await cursor.fetchone()
                    if row is not None:
                        self.archive_age.set(float(row[0]))
                        self.archive_failures.set(float(row[1]))
                    cursor = await conn.execute(IMPORT_OUTCOMES)
                    outcomes = {str(status): int(n) for status, n in await cursor.fetchall()}
                    for status in {*IMPORT_STATUSES, *outcomes}:
                        self.imports.labels(status).set(outcomes.get(status, 0))
                    self.import_failures.set(
                        outcomes.get("failed", 0) + outcomes.get("rejected", 0)
                    )
        if self.backup_repo is not None:
            stop = last_backup_epoch(*self.backup_repo)
            self.backup_age.set(-1 if stop is None else time.time() - stop)
