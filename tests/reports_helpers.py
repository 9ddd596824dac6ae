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
    layer: str | None = None,
    feature_id: str | None = None,
    description: str = "d",
    limit: int = 10,
) -> tuple[int, str]:
    """A report stored through ``reports.submit`` as the caller's role; (id, token).

    ``layer`` and ``feature_id`` name the feature reported; ``limit`` is the per-address
    rate limit a minute.
    """
    token = secrets.token_urlsafe(16)
    digest = hashlib.sha256(token.encode()).hexdigest()
    row = conn.execute(
        "SELECT request_id, retry_after FROM reports.submit(%s, %s, %s, %s, %s, %s, "
        "%s::jsonb, %s, %s, %s, 'web', %s, 60, NULL, NULL, NULL, NULL)",
        [digest, kind, layer, feature_id, where[0], where[1], answers, description, contact,
         client, limit],
    ).fetchone()  # fmt: skip
    assert row is not None and row[0] is not None, row
    return int(row[0]), token


def form_token_for(app: Any, age_s: float = 30.0) -> str:
    """A form token of ``app`` issued ``age_s`` seconds ago (past the minimum fill time)."""
    import time

    from gisplatform.reports.guard import form_token, secret_key

    return form_token(secret_key(app.state.settings), now=time.time() - age_s)


def jpeg_with_gps(width: int = 40, height: int = 20, orientation: int = 6) -> bytes:
    """A JPEG whose EXIF holds a GPS position, a camera name and an orientation."""
    from io import BytesIO

    from PIL import Image

    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "TestPhone"  # Make
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (50.0, 45.0, 3.5)
    gps[3] = "E"
    gps[4] = (33.0, 28.0, 30.0)
    out = BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def shelter_fid(url: str) -> int:
    """A shelter the public sees (the demo data's first)."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT min(fid) FROM api_public.shelters").fetchone()
    assert row is not None and row[0] is not None
    return int(row[0])
