"""Settings, read from the environment. Built at the entry points and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    layers_dir: Path = Field(default_factory=_default_layers_dir)
    layer_schema: str = Field(default="gis", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    history_schema: str = Field(default="history", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
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

    @property
    def uses_embedded_db(self) -> bool:
        """True when no external database is configured."""
        return not self.database_url
