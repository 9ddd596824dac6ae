"""Settings, read from the environment. Built at the entry points and passed down."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_layers_dir() -> Path:
    here = Path.cwd() / "layers"
    return here if here.is_dir() else PROJECT_ROOT / "layers"


class Settings(BaseSettings):
    """Platform settings.

    ``DATABASE_URL`` selects an existing PostGIS; without it the platform runs a
    private embedded cluster in ``data_dir``. Other settings use the
    ``GISPLATFORM_`` prefix, e.g. ``GISPLATFORM_DATA_DIR``.
    """

    model_config = SettingsConfigDict(env_prefix="GISPLATFORM_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="postgresql:// URL of an existing PostGIS; unset = embedded cluster",
    )
    data_dir: Path = Field(
        default=Path(".gisplatform"), description="where the embedded cluster keeps its data"
    )
    db_port: int = Field(default=54329, ge=1024, le=65535, description="embedded cluster port")
    db_name: str = Field(default="gisplatform", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    backup_repo: Path | None = Field(
        default=None,
        description="pgBackRest repository of the embedded cluster (default: backups/ in data_dir)",
    )
    replica_port: int | None = Field(
        default=None,
        ge=1024,
        le=65535,
        description="port of the embedded cluster's streaming replica (default: db_port + 1)",
    )
    replica_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "comma-separated URLs of read replicas as the API role (gisplatform_api); "
            "the server reads from them and falls back to the primary"
        ),
    )
    replica_max_lag_s: float = Field(
        default=30.0, gt=0, description="a replica further behind than this is left out"
    )
    pool_size: int | None = Field(
        default=None,
        ge=1,
        description="connections in each server worker's pool (default: 10, or the budget's share)",
    )
    db_connection_budget: int | None = Field(
        default=None,
        ge=1,
        description=(
            "connections all server workers may hold together (default: max_connections less "
            "the superuser's reserve and db_reserved_connections)"
        ),
    )
    pool_timeout: float = Field(
        default=1.0,
        gt=0,
        le=30,
        description=(
            "seconds a request waits for a pooled connection before it is answered 503 "
            "(database down or every connection busy)"
        ),
    )
    pool_max_waiting: int = Field(
        default=50,
        ge=1,
        description="requests waiting for a connection of one worker's pool; more are 503 at once",
    )
    db_connect_timeout: int = Field(
        default=2,
        ge=2,
        le=60,
        description="seconds the server waits to open a database connection (libpq minimum: 2)",
    )
    shutdown_grace_s: int = Field(
        default=8,
        ge=0,
        description="on SIGTERM, seconds in-flight requests get to finish before they are cut",
    )
    db_reserved_connections: int = Field(
        default=20,
        ge=0,
        description="connections left for migrations, imports, analyses, backups, replication",
    )
    layers_dir: Path = Field(default_factory=_default_layers_dir)
    layer_schema: str = Field(default="gis", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    history_schema: str = Field(default="history", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    api_database_url: str | None = Field(
        default=None,
        description=(
            "URL of the API's login role (gisplatform_api) on an external database; "
            "migrate sets that role's password from it, the server connects with it only"
        ),
    )
    analyses_database_url: str | None = Field(
        default=None,
        description="URL of the analyses' login role (gisplatform_analyses), as above",
    )
    public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$",
        description="the site's public root (e.g. https://gis.romny.gov.ua): every link uses it",
    )
    trusted_hosts: Annotated[list[str] | None, NoDecode] = Field(
        default=None,
        description=(
            "Host headers accepted (others get 400); default: the public URL's host "
            "and 127.0.0.1, localhost"
        ),
    )
    forwarded_allow_ips: str | None = Field(
        default=None,
        description=(
            "addresses of reverse proxies whose X-Forwarded-* headers are believed "
            "(uvicorn's forwarded_allow_ips); unset = none"
        ),
    )
    log_level: str = "INFO"
    log_json: bool = False
    jobs_ttl: int = Field(
        default=24 * 3600, ge=60, description="seconds a process job and its results are kept"
    )
    jobs_subscribers: str = Field(
        default="",
        description="comma-separated URL prefixes allowed as job callbacks; empty = none",
    )
    process_workers: int = Field(default=2, ge=1, le=64, description="analyses run at once")
    process_queue: int = Field(
        default=8, ge=0, le=1000, description="runs waiting for a worker before 429"
    )
    process_deadline: float = Field(
        default=30.0, gt=0, le=3600, description="seconds one process run may take"
    )

    @property
    def subscriber_prefixes(self) -> tuple[str, ...]:
        """The allowed job callback URL prefixes (none by default)."""
        return tuple(p.strip() for p in self.jobs_subscribers.split(",") if p.strip())

    @field_validator("trusted_hosts", "replica_urls", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def embedded_replica_port(self) -> int:
        """Where ``db replica start`` puts the embedded cluster's replica."""
        return self.replica_port or self.db_port + 1

    @property
    def uses_embedded_db(self) -> bool:
        """True when no external database is configured."""
        return not (self.database_url or self.api_database_url)

    @property
    def allowed_hosts(self) -> list[str]:
        """Host names a request may name (``*`` allows any)."""
        if self.trusted_hosts:
            return self.trusted_hosts
        hosts = ["127.0.0.1", "localhost"]
        if self.public_url:
            public = urlsplit(self.public_url).hostname
            hosts = [public, *hosts] if public else hosts
        return hosts
