"""The ASGI application: OGC API under ``/ogc``, operations endpoints at the root."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from psycopg import AsyncConnection, sql
from starlette.middleware.trustedhost import TrustedHostMiddleware

from gisplatform.access.cors import Cors
from gisplatform.access.headers import SecurityHeaders
from gisplatform.access.publication.admin import build_admin_router
from gisplatform.access.publication.cache import SensitiveCacheControl
from gisplatform.access.publication.state import PublicationWatch
from gisplatform.access.routes import build_session_router
from gisplatform.access.sessions import Sessions
from gisplatform.errors import ConfigurationError, DatabaseUnavailable
from gisplatform.i18n import message
from gisplatform.ogcapi.auth import (
    AudiencePool,
    AudienceReset,
    Authenticator,
    request_audience,
)
from gisplatform.ogcapi.common import build_common_router, landing_page
from gisplatform.ogcapi.crs import CrsCatalogue
from gisplatform.ogcapi.edit import EDIT_CONFORMANCE, build_edit_router
from gisplatform.ogcapi.errors import install_error_handlers
from gisplatform.ogcapi.features import build_features_router
from gisplatform.ogcapi.history import build_history_router
from gisplatform.ogcapi.httpsemantics import HttpSemantics, LocationHeaderCase
from gisplatform.ogcapi.observability import AccessLogMiddleware, Metrics, build_ops_router
from gisplatform.ogcapi.opsmetrics import OpsMetrics
from gisplatform.ogcapi.pools import server_pool
from gisplatform.ogcapi.processes import PROCESSES_CONFORMANCE, build_processes_router
from gisplatform.ogcapi.records import (
    RECORDS_CONFORMANCE,
    build_records_router,
    catalogue_collection,
)
from gisplatform.ogcapi.routing import ReadRouter, ReadRoutingMiddleware, ReplicaMetrics
from gisplatform.ogcapi.tilecache import TileCache
from gisplatform.ogcapi.tilemeta import TILES_CONFORMANCE
from gisplatform.ogcapi.tilequeries import TileSettings
from gisplatform.ogcapi.tiles import build_tiles_router
from gisplatform.registry import LayerRegistry, load_registry
from gisplatform.reports.collection import (
    build_reports_collection_router,
    catalogue_entry,
    listed_collection,
)
from gisplatform.reports.kinds import load_report_kinds
from gisplatform.reports.moderation_routes import mount_moderation
from gisplatform.reports.open311 import build_open311_router
from gisplatform.reports.quality import build_quality_router
from gisplatform.reports.routes import build_reports_router
from gisplatform.settings import Settings
from gisplatform.store.database import api_database_url
from gisplatform.store.roles import API_ROLE
from gisplatform.store.views import PUBLIC_ROLE
from gisplatform.webmap import mount_webmap

#: per-statement limit for anonymous reads
STATEMENT_TIMEOUT_MS = 15_000
POOL_MAX_SIZE = 10


async def _configure(conn: AsyncConnection[Any]) -> None:
    """Every pooled connection reads as the public role, with a statement timeout, no JIT and
    no parallel workers (tiles that gain from them ask for them, see ``tilequeries``)."""
    await conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(PUBLIC_ROLE)))
    # No JIT: the public views' plans carry the kill switch's anti-join, whose estimated cost
    # (PostGIS prices ST_Intersects high) crosses jit_above_cost on large layers, and compiling
    # costs ~1 s per query where running it takes milliseconds.
    # No parallel workers: the views' per-row withdrawal checks make pages look costly, and
    # starting a worker took 10-50 ms on a busy 2-core machine, for pages the query itself
    # answers in 1-5 ms (200,000 lamps: CQL2 page of 100 55 -> 0.8 ms, bbox page 25 -> 1.4 ms).
    await conn.execute(
        "SELECT set_config('statement_timeout', %s, false), set_config('jit', 'off', false), "
        "set_config('max_parallel_workers_per_gather', '0', false)",
        [str(STATEMENT_TIMEOUT_MS)],
    )


async def check_least_privilege(conn: AsyncConnection[Any], settings: Settings) -> None:
    """Refuse to serve when the login could reach the layers or history behind the views.

    True for a superuser, a member of the owner of ``gis``/``history`` and any login
    with rights on those schemas: a wrong ``GISPLATFORM_API_DATABASE_URL``.
    """
    cursor = await conn.execute(
        "SELECT session_user, r.rolsuper OR EXISTS (SELECT FROM pg_namespace AS n "
        "WHERE n.nspname = ANY(%s) AND (pg_has_role(session_user, n.nspowner, 'MEMBER') "
        "OR has_schema_privilege(session_user, n.oid, 'USAGE'))) "
        "FROM pg_roles AS r WHERE r.rolname = session_user",
        [[settings.layer_schema, settings.history_schema]],
    )
    row = await cursor.fetchone()
    if row is None or row[1]:
        user = row[0] if row else "?"
        raise ConfigurationError(message("server_role_too_strong", user=user))


async def _check_login(url: str) -> None:
    """A readable error when the API role cannot log in (not migrated since the roles came)."""
    try:
        conn = await AsyncConnection.connect(url, connect_timeout=10)
    except psycopg.OperationalError as exc:
        if "password authentication failed" not in str(exc) and "does not exist" not in str(exc):
            return  # the database is down or unreachable: the pool reports it
        raise DatabaseUnavailable(message("api_role_cannot_log_in", role=API_ROLE)) from exc
    await conn.close()


def _lifespan(settings: Settings) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = api_database_url(settings)
        await _check_login(url)
        pool = server_pool(
            url,
            settings,
            name="gisplatform-public",
            max_size=settings.pool_size or POOL_MAX_SIZE,
            configure=_configure,
        )
        await pool.open(wait=True, timeout=30)
        offered = app.state.registry.hromada.offered_crs
        async with pool.connection() as conn:
            await check_least_privilege(conn, settings)
            cursor = await conn.execute(
                "SELECT srid FROM spatial_ref_sys WHERE srid = ANY(%s)", [list(offered)]
            )
            app.state.crs = CrsCatalogue(offered, {int(row[0]) for row in await cursor.fetchall()})
        app.state.primary_pool = pool
        app.state.pool = AudiencePool(pool)
        app.state.publication = PublicationWatch(pool, settings.publication_refresh_s)
        try:
            await app.state.publication.refresh(force=True)
        except (psycopg.errors.UndefinedFunction, psycopg.errors.InvalidSchemaName) as exc:
            await pool.close()
            raise ConfigurationError(message("publication_not_migrated")) from exc
        oidc = None
        if settings.oidc.enabled:  # joserfc and httpx are loaded only then
            from gisplatform.access.oidc import OidcSignIn

            oidc = OidcSignIn(settings.oidc, app.state.registry, app.state.metrics.registry)
        app.state.oidc = oidc
        app.state.authenticator = Authenticator(app.state.pool, settings.auth_cache_seconds)
        app.state.sessions = Sessions(app.state.authenticator, settings)
        router = ReadRouter(
            pool,
            settings.replica_urls,
            settings.replica_max_lag_s,
            app.state.replica_metrics,
            configure=_configure,
            settings=settings,
        )
        await router.open()
        app.state.read_router = router
        try:
            yield
        finally:
            if oidc is not None:
                await oidc.aclose()
            await app.state.pool.release_kept()
            for wrapped in app.state.__dict__.get("_replica_audience_pools", {}).values():
                await wrapped.release_kept()
            await router.close()
            await pool.close()

    return lifespan


def create_app(settings: Settings, registry: LayerRegistry | None = None) -> FastAPI:
    """The platform's HTTP app; the database pool opens in the lifespan."""
    app = FastAPI(
        title="gisplatform",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=_lifespan(settings),
        # FastAPI's own OpenTelemetry hooks are asked on every request; the platform has its
        # metrics and logs (observability.py), so they stay off
        telemetry={"tracing": False, "metrics": False},
    )
    app.state.settings = settings
    app.state.registry = registry if registry is not None else load_registry(settings.layers_dir)
    app.state.report_kinds = load_report_kinds(
        settings.report_kinds_dir, app.state.registry, only_known=True
    )
    app.state.crs = CrsCatalogue(app.state.registry.hromada.offered_crs)
    app.state.stats = {}
    app.state.metrics = Metrics()
    app.state.replica_metrics = ReplicaMetrics(app.state.metrics.registry)
    app.state.ops_metrics = OpsMetrics(app.state.metrics.registry)
    if settings.uses_embedded_db:
        from gisplatform.store.database import embedded_cluster

        cluster = embedded_cluster(settings)
        app.state.ops_metrics.backup_repo = (cluster.backup_repo, cluster.stanza)
    app.state.extra_conformance = [
        *RECORDS_CONFORMANCE,
        *TILES_CONFORMANCE,
        *PROCESSES_CONFORMANCE,
        *EDIT_CONFORMANCE,
    ]
    app.state.catalogue_collection = catalogue_collection
    app.state.extra_collections = [listed_collection]
    app.state.extra_records = [catalogue_entry]
    app.state.has_tiles = True

    # the audience is decided once per request, before any other dependency
    ogc = APIRouter(prefix="/ogc", dependencies=[Depends(request_audience)])
    ogc.include_router(build_common_router())
    ogc.include_router(build_records_router())  # before features: /collections/catalogue…
    ogc.include_router(build_reports_collection_router())  # also before: /collections/reports…
    ogc.include_router(build_features_router())
    ogc.include_router(build_edit_router())
    ogc.include_router(build_history_router())
    tile_settings = TileSettings()
    app.state.tile_cache = TileCache(tile_settings.cache_bytes, tile_settings.cache_entries)
    ogc.include_router(build_tiles_router(tile_settings, app.state.tile_cache))
    ogc.include_router(build_processes_router())
    app.include_router(ogc)
    app.add_api_route(
        "/ogc",
        landing_page,
        methods=["GET"],
        include_in_schema=False,
        dependencies=[Depends(request_audience)],
    )
    app.include_router(build_ops_router())
    app.include_router(build_admin_router())
    app.include_router(build_session_router())
    app.include_router(build_quality_router(), dependencies=[Depends(request_audience)])
    app.include_router(build_reports_router())
    app.include_router(build_open311_router())
    mount_moderation(app)  # residents' reports: moderation, the marks of the truth loop
    app.mount(
        "/ogc/static",
        StaticFiles(packages=[("gisplatform.ogcapi", "static")]),
        name="ogc-static",
    )
    mount_webmap(app)
    install_error_handlers(app)
    app.add_middleware(HttpSemantics)  # HEAD wherever GET is; Vary on negotiated responses
    # Links come from GISPLATFORM_PUBLIC_URL, else from the Host header: only trusted ones.
    app.add_middleware(SensitiveCacheControl, registry=app.state.registry)
    app.add_middleware(ReadRoutingMiddleware)
    app.add_middleware(Cors, origins=settings.cors_origins)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts)
    app.add_middleware(AccessLogMiddleware, metrics=app.state.metrics)
    app.add_middleware(AudienceReset)
    app.add_middleware(SecurityHeaders, settings=settings)
    app.add_middleware(LocationHeaderCase)  # outermost: after every header mapping
    return app
