"""Several server processes: the connection budget they share, and the app each one builds.

Every worker has a pool of its own (and one per replica), so ``workers × pool`` connections
may be open at once on the primary (and on each replica). That must fit in what the server
allows: ``max_connections`` less the superuser's reserve and ``GISPLATFORM_DB_RESERVED_CONNECTIONS``
left for migrations, imports, analyses, backups and replication; or
``GISPLATFORM_DB_CONNECTION_BUDGET`` when set. ``gisplatform serve`` checks this before it
starts any worker and gives each the pool size in ``GISPLATFORM_POOL_SIZE``.

The tile cache and the layer summaries stay correct across workers without talking to each
other: each worker's cache is keyed by the layers' revisions, read from the database with every
tile request, so an edit seen by one worker is seen by all.
"""

from __future__ import annotations

import os

import psycopg
from fastapi import FastAPI

from gisplatform.errors import ConfigurationError
from gisplatform.i18n import message
from gisplatform.settings import Settings

#: the pool of one worker when nothing else bounds it
DEFAULT_POOL_SIZE = 10


def default_workers() -> int:
    """One worker per core this process may run on."""
    return max(1, len(os.sched_getaffinity(0)))


def connection_budget(settings: Settings) -> int:
    """How many connections the server's pools may hold together on this database."""
    if settings.db_connection_budget is not None:
        return settings.db_connection_budget
    from gisplatform.store.database import api_database_url

    with psycopg.connect(api_database_url(settings), connect_timeout=10) as conn:
        row = conn.execute(
            "SELECT current_setting('max_connections')::int,"
            " current_setting('superuser_reserved_connections')::int,"
            " (SELECT rolconnlimit FROM pg_roles WHERE rolname = session_user)"
        ).fetchone()
    assert row is not None
    max_connections, reserved, role_limit = row
    budget = int(max_connections) - int(reserved) - settings.db_reserved_connections
    if role_limit is not None and int(role_limit) >= 0:
        budget = min(budget, int(role_limit))
    return budget


def pool_size_for(settings: Settings, workers: int, budget: int) -> int:
    """The pool of each worker: the configured one if it fits, else the budget's share."""
    if workers < 1:
        raise ConfigurationError(message("workers_at_least_one"))
    if settings.pool_size is not None:
        if workers * settings.pool_size > budget:
            raise ConfigurationError(
                message(
                    "workers_over_budget",
                    workers=workers,
                    pool=settings.pool_size,
                    total=workers * settings.pool_size,
                    budget=budget,
                )
            )
        return settings.pool_size
    size = min(DEFAULT_POOL_SIZE, budget // workers)
    if size < 1:
        raise ConfigurationError(
            message("workers_over_budget", workers=workers, pool=1, total=workers, budget=budget)
        )
    return size


def app_factory() -> FastAPI:
    """The app of one worker process (uvicorn imports this with ``factory=True``)."""
    from gisplatform.log import configure_logging
    from gisplatform.ogcapi.app import create_app

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)
