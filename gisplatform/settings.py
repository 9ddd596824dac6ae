"""Settings, read from the environment. Built at the entry points and passed down."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gisplatform.i18n import message

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_layers_dir() -> Path:
    here = Path.cwd() / "layers"
    return here if here.is_dir() else PROJECT_ROOT / "layers"


#: signature algorithms an OIDC access token may use: public-key ones only (never ``none``,
#: never an HMAC whose "secret" would be the provider's public key)
OIDC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def https_or_loopback(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        return url
    raise ValueError(str(message("oidc_url_not_https", url=url)))


class OidcSettings(BaseSettings):
    """Sign-in with access tokens (JWT) of an external OpenID Connect provider.

    Read from ``GISPLATFORM_OIDC_*``; unset issuer = OIDC off (Basic and personal tokens only).
    """

    model_config = SettingsConfigDict(env_prefix="GISPLATFORM_OIDC_", extra="ignore")

    issuer: str | None = Field(
        default=None,
        description="the provider's issuer URL exactly as in its tokens' iss (https://…)",
    )
    audience: str | None = Field(
        default=None, description="the aud a token must name: this API (e.g. its URL)"
    )
    algorithms: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["RS256", "ES256"],
        description="signature algorithms accepted (comma-separated; public-key ones only)",
    )
    roles_claim: str = Field(
        default="roles",
        pattern=r"^[^.\s]+(\.[^.\s]+)*$",
        description="dotted path of the roles claim: roles (Entra ID), realm_access.roles",
    )
    role_map: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description=(
            "provider_role=registry_role pairs, comma-separated (or a JSON object): only the "
            "roles named count; empty: provider roles named like the registry's"
        ),
    )
    required_role: str | None = Field(
        default=None,
        description="a provider role a token must carry to sign in at all (unset: any token)",
    )
    login_claim: str = Field(
        default="preferred_username",
        description="claim naming the person (sub when the token lacks it)",
    )
    leeway_s: int = Field(default=30, ge=0, le=300, description="clock skew allowed, seconds")
    keys_ttl_s: int = Field(
        default=3600, ge=10, le=86400, description="seconds discovery and keys are kept"
    )
    keys_min_refresh_s: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="least seconds between two fetches of the keys (an unknown kid refreshes)",
    )
    http_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="timeout of one request to the provider"
    )

    @field_validator("issuer")
    @classmethod
    def _issuer_url(cls, value: str | None) -> str | None:
        return None if not value else https_or_loopback(value)

    @field_validator("audience", "required_role")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("algorithms", mode="before")
    @classmethod
    def _algorithm_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("algorithms")
    @classmethod
    def _public_key_algorithms(cls, value: list[str]) -> list[str]:
        wrong = [alg for alg in value if alg not in OIDC_ALGORITHMS]
        if wrong or not value:
            known = ", ".join(sorted(OIDC_ALGORITHMS))
            given = ", ".join(wrong) or "-"
            raise ValueError(str(message("oidc_algorithms_not_allowed", given=given, known=known)))
        return value

    @field_validator("role_map", mode="before")
    @classmethod
    def _role_pairs(cls, value: object) -> object:
        if isinstance(value, str):
            if value.lstrip().startswith("{"):
                return json.loads(value)
            pairs = [part.partition("=") for part in value.split(",") if part.strip()]
            if any(not sep or not a.strip() or not b.strip() for a, sep, b in pairs):
                raise ValueError(str(message("oidc_bad_role_map")))
            return {a.strip(): b.strip() for a, _, b in pairs}
        return value

    @model_validator(mode="after")
    def _audience_with_issuer(self) -> OidcSettings:
        if self.issuer and not self.audience:
            raise ValueError(str(message("oidc_audience_required")))
        return self

    @property
    def enabled(self) -> bool:
        """True when access tokens of a provider are accepted."""
        return self.issuer is not None


class ReportSettings(BaseSettings):
    """Residents' reports: anti-abuse limits and the form's key (``GISPLATFORM_REPORTS_*``)."""

    model_config = SettingsConfigDict(env_prefix="GISPLATFORM_REPORTS_", extra="ignore")

    secret: SecretStr | None = Field(
        default=None,
        description="key of the report form's tokens and of the addresses' HMAC (rate limit), "
        "the same for every worker (default: derived from the API login's database URL)",
    )
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="largest report request (larger: 413)"
    )
    max_photo_bytes: int = Field(
        default=8 * 1024 * 1024, ge=1024, description="largest photo file (larger: 413)"
    )
    photo_max_side: int = Field(
        default=2048, ge=64, le=8192, description="a stored photo's longest side, pixels"
    )
    photo_max_pixels: int = Field(
        default=40_000_000, ge=10_000, description="a photo with more pixels is refused (415)"
    )
    max_description: int = Field(
        default=2000, ge=1, le=5000, description="longest description, characters"
    )
    max_contact: int = Field(default=200, ge=1, le=500, description="longest contact, characters")
    min_fill_s: float = Field(
        default=3.0, ge=0, le=600, description="a web form sent sooner after it opened is refused"
    )
    form_token_ttl_s: int = Field(
        default=4 * 3600, ge=60, description="a web form's token is valid this long"
    )
    rate_limit: int = Field(
        default=10, ge=1, description="reports one address may send per rate window"
    )
    rate_window_s: int = Field(default=60, ge=1, description="the rate window, seconds")


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
    http_protocol: Literal["httptools", "h11"] = Field(
        default="httptools",
        description=(
            "uvicorn's HTTP/1.1 implementation: httptools (faster) sends header names in lower "
            "case; h11 keeps 'Location', which QGIS 3.32–3.40.7 needs to add features over "
            "OAPIF when no proxy (docker/nginx) is in front"
        ),
    )
    db_reserved_connections: int = Field(
        default=20,
        ge=0,
        description="connections left for migrations, imports, analyses, backups, replication",
    )
    layers_dir: Path = Field(default_factory=_default_layers_dir)
    reports_dir: Path | None = Field(
        default=None,
        description="report kinds (reports/*.yaml); default: reports/ beside the layers folder",
    )
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
    csrf_secret: SecretStr | None = Field(
        default=None,
        description="key of the admin page's CSRF tokens, the same for every worker "
        "(default: derived from the API login's database URL)",
    )
    reports_quality_days: int = Field(
        default=180,
        ge=1,
        le=3650,
        description="the staff data-quality view: an inspection older than this many days is "
        "stale, and this many days back count as recent for repeated reports",
    )
    publication_refresh_s: float = Field(
        default=0.5,
        ge=0,
        le=60,
        description="how often each server worker asks whether the publication state moved "
        "(the public views enforce a withdrawal at once; listings follow within this time)",
    )
    oidc: OidcSettings = Field(
        default_factory=OidcSettings, description="OIDC sign-in (GISPLATFORM_OIDC_*)"
    )
    reports: ReportSettings = Field(
        default_factory=ReportSettings,
        description="residents' reports: limits and keys (GISPLATFORM_REPORTS_*)",
    )
    auth_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description=(
            "seconds a verified password or token is trusted without asking the database "
            "again: a revoked token, a disabled account or a new password takes effect "
            "within this time (0: ask on every request)"
        ),
    )
    session_lifetime_s: int = Field(
        default=8 * 3600,
        ge=60,
        le=30 * 24 * 3600,
        description="seconds a browser sign-in lasts at most (then the user signs in again)",
    )
    session_idle_s: int = Field(
        default=3600,
        ge=60,
        le=30 * 24 * 3600,
        description="a browser session unused this many seconds ends",
    )
    session_cookie_secure: bool | None = Field(
        default=None,
        description=(
            "send the session cookie over HTTPS only; default: when the public URL is https "
            "or the request came over HTTPS (from a trusted proxy's X-Forwarded-Proto)"
        ),
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"],
        description=(
            "origins whose web pages may read the OGC API (anonymous GET/HEAD); * = any, "
            "empty = none; credentials are never allowed cross-origin"
        ),
    )
    frame_ancestors: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["'self'"],
        description="sites that may embed the map and pages in a frame (CSP frame-ancestors)",
    )
    import_lock_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="an import waits this long for its layer's lock, then fails naming the layer",
    )
    import_statement_timeout_s: float = Field(
        default=3600.0, gt=0, description="longest one statement of an import may run"
    )
    import_idle_timeout_s: float = Field(
        default=300.0,
        gt=0,
        description="a stalled import idle this long inside its transaction is ended (lock freed)",
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
    edit_max_body_bytes: int = Field(
        default=5 * 1024 * 1024,
        ge=1024,
        description="largest feature body POST, PUT and PATCH accept (larger: HTTP 413)",
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

    @field_validator("cors_origins", "frame_ancestors")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin in ("*", "'self'", "'none'"):
                continue
            parts = urlsplit(origin)
            if (
                parts.scheme not in ("http", "https")
                or not parts.netloc
                or parts.path not in ("", "/")
            ):
                raise ValueError(f"{origin!r} is not an origin like https://example.org")
        return [o.rstrip("/") for o in value]

    @field_validator(
        "trusted_hosts", "replica_urls", "cors_origins", "frame_ancestors", mode="before"
    )
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def report_kinds_dir(self) -> Path:
        """Where the report kinds are: ``reports_dir``, else ``reports/`` beside ``layers/``."""
        return self.reports_dir or self.layers_dir.parent / "reports"

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
