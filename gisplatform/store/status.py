"""What ``gisplatform db status`` reports: where the database runs and how to reach it.

The read-only URL (the API role, for QGIS and psql) is always shown: it reads only what the
public API serves. The owner's and the administrator's URLs carry their passwords only when
asked (``show_secrets``); otherwise the password is replaced by ``***``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from gisplatform.settings import Settings
from gisplatform.store.database import normalize_url
from gisplatform.store.roles import API_ROLE, OWNER_ROLE

MASK = "***"


def mask_password(url: str) -> str:
    """``url`` with its password replaced by :data:`MASK`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


def _shown(url: str | None, show_secrets: bool) -> str | None:
    if url is None:
        return None
    return url if show_secrets else mask_password(url)


def db_login_template(url: str | None) -> str | None:
    """The URL an account's database login (``users … --db-login``) connects with."""
    if url is None:
        return None
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    netloc = f"<login>@{host}:{parts.port}" if parts.port else f"<login>@{host}"
    return urlunsplit(parts._replace(netloc=netloc, query=""))


def database_report(settings: Settings, show_secrets: bool = False) -> dict[str, Any]:
    """The facts ``db status`` prints (``running``: None when unknown, for an external one)."""
    if not settings.uses_embedded_db:
        admin = normalize_url(settings.database_url) if settings.database_url else None
        api = normalize_url(settings.api_database_url) if settings.api_database_url else None
        return {
            "database": "external",
            "running": None,
            "read_only_url": _shown(api, show_secrets),
            "owner_url": _shown(admin, show_secrets),
            "db_login_url": db_login_template(admin),
        }
    from gisplatform.store.database import embedded_cluster

    cluster = embedded_cluster(settings)
    status = cluster.status()
    report: dict[str, Any] = {
        "database": "embedded",
        "running": status.running,
        "data_dir": str(status.data_dir.resolve()),
        "version": status.pg_version,
        "bin_dir": str(status.bin_dir) if status.bin_dir else None,
        "port": status.port,
        "read_only_url": None,
        "owner_url": None,
        "admin_url": None,
        "db_login_url": None,
    }
    if status.url is not None:
        passwords = cluster.role_passwords()
        if API_ROLE in passwords:
            report["read_only_url"] = cluster.login_url(API_ROLE, status.port)
        if OWNER_ROLE in passwords:
            report["owner_url"] = _shown(cluster.login_url(OWNER_ROLE, status.port), show_secrets)
        report["admin_url"] = _shown(status.url, show_secrets)
        report["db_login_url"] = db_login_template(status.url)
    return report
