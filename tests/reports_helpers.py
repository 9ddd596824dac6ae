"""Shared helpers of the residents' reports tests: a clean ``reports`` schema, counts."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import psycopg
import psycopg.sql

from gisplatform.registry import LayerRegistry
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


def with_demo_reports(url: str, registry: LayerRegistry) -> None:
    """The demo's reports in the database at ``url`` (``gisplatform demo`` loads them; a test
    that empties the reports tables takes them away), loaded again where they are missing."""
    from gisplatform.reports import load_report_kinds
    from gisplatform.reports.demo import load_demo_reports
    from gisplatform.settings import PROJECT_ROOT

    kinds = load_report_kinds(PROJECT_ROOT / "reports", registry)
    with psycopg.connect(url) as conn:
        load_demo_reports(conn, kinds, "gis")


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


def moderate(url: str, request_id: int, to: str, reason: str | None = None) -> None:
    """Move a report to ``to`` through ``reports.transition``, as the admin's handler role."""
    from gisplatform.registry import load_registry
    from gisplatform.reports import load_report_kinds
    from gisplatform.reports.store import handler_db_role
    from gisplatform.settings import PROJECT_ROOT

    registry = load_registry(PROJECT_ROOT / "layers")
    role = handler_db_role(
        load_report_kinds(PROJECT_ROOT / "reports", registry), registry, ["admin"]
    )
    assert role is not None
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute(psycopg.sql.SQL("SET LOCAL ROLE {}").format(psycopg.sql.Identifier(role)))
        conn.execute("SELECT set_config('gisplatform.actor', 'reports-test', true)")
        conn.execute("SELECT reports.transition(%s, %s, %s)", [request_id, to, reason])


@dataclass
class Published:
    """Reports a test made in the demo database: which are public, and the notable ones."""

    locked_id: int
    unfit_id: int
    rejected_id: int
    shelter_fid: int
    locked_point: tuple[float, float]
    public_ids: list[int] = field(default_factory=list)
    unconfirmed_ids: list[int] = field(default_factory=list)
    tokens: dict[int, str] = field(default_factory=dict)

    @property
    def all_ids(self) -> list[int]:
        """Every report made."""
        return [*self.public_ids, *self.unconfirmed_ids]


def _demo_point(url: str, layer: str, offset: int = 0) -> tuple[int, float, float]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            psycopg.sql.SQL(
                "SELECT fid, ST_X(geom), ST_Y(geom) FROM {} ORDER BY fid OFFSET %s LIMIT 1"
            ).format(psycopg.sql.Identifier("gis", layer)),
            [offset],
        ).fetchone()
    assert row is not None
    return int(row[0]), float(row[1]), float(row[2])


def publish_reports(url: str, contact: str) -> Published:
    """Reports of each kind on demo features, moderated to open, in progress, resolved and
    rejected, and one left unconfirmed; each carries ``contact`` (which must stay private)."""
    fid, lon, lat = _demo_point(url, "shelters")
    light, light_lon, light_lat = _demo_point(url, "street_lights", 3)
    made: dict[str, tuple[int, str]] = {}
    with api_connect(url) as conn:
        for name, kind, layer, feature, where, answers in (
            ("locked", "shelter_problem", "shelters", fid, (lon, lat), {"problem": "locked"}),
            (
                "unfit",
                "shelter_problem",
                "shelters",
                fid,
                (lon, lat),
                {"problem": "unfit", "unfit_reasons": ["no_water", "flooded"]},
            ),
            ("dark", "street_light_out", "street_lights", light, (light_lon, light_lat),
             {"state": "dark"}),
            ("other", "other_problem", None, None, (lon + 0.001, lat + 0.001), {}),
            ("rejected", "street_light_out", "street_lights", light, (light_lon, light_lat),
             {"state": "flickering"}),
            ("waiting", "shelter_problem", "shelters", fid, (lon, lat), {"problem": "missing"}),
        ):  # fmt: skip
            made[name] = _submit(conn, kind, layer, feature, where, answers, contact)
        conn.commit()
    moderate(url, made["locked"][0], "open")
    moderate(url, made["unfit"][0], "open")
    moderate(url, made["unfit"][0], "in_progress")
    moderate(url, made["dark"][0], "open")
    moderate(url, made["dark"][0], "resolved", "Лампу замінено")
    moderate(url, made["other"][0], "open")
    moderate(url, made["rejected"][0], "rejected", "Ліхтар справний")
    public = [made[n][0] for n in ("locked", "unfit", "dark", "other", "rejected")]
    return Published(
        locked_id=made["locked"][0],
        unfit_id=made["unfit"][0],
        rejected_id=made["rejected"][0],
        shelter_fid=fid,
        locked_point=(lon, lat),
        public_ids=public,
        unconfirmed_ids=[made["waiting"][0]],
        tokens=dict(made.values()),
    )


def _submit(
    conn: psycopg.Connection[Any],
    kind: str,
    layer: str | None,
    feature: int | None,
    where: tuple[float, float],
    answers: dict[str, Any],
    contact: str,
) -> tuple[int, str]:
    token = secrets.token_urlsafe(16)
    digest = hashlib.sha256(token.encode()).hexdigest()
    row = conn.execute(
        "SELECT request_id FROM reports.submit(%s, %s, %s, %s, %s, %s, %s::jsonb, '', %s, "
        "%s, 'web', 1000, 60, NULL, NULL, NULL, NULL)",
        [
            digest,
            kind,
            layer,
            None if feature is None else str(feature),
            where[0],
            where[1],
            json.dumps(answers),
            contact,
            "test-client-" + secrets.token_hex(4),
        ],
    ).fetchone()
    assert row is not None and row[0] is not None, row
    return int(row[0]), token


def remove_reports(url: str, ids: list[int]) -> None:
    """Delete the reports ``ids`` (as the owner), leaving the demo reports alone."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM reports.requests WHERE id = ANY(%s)", [ids])


def form_token_for(app: Any, age_s: float = 30.0) -> str:
    """A form token of ``app`` issued ``age_s`` seconds ago (past the minimum fill time)."""
    import time

    from gisplatform.reports.guard import form_token, secret_key

    return form_token(secret_key(app.state.settings), now=time.time() - age_s)


def jpeg_with_gps(
    width: int = 40, height: int = 20, orientation: int = 6, description: str | None = None
) -> bytes:
    """A JPEG whose EXIF holds a GPS position, a camera name and an orientation (and an
    ImageDescription, when given: a marker a test can search for)."""
    from io import BytesIO

    from PIL import Image

    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "TestPhone"  # Make
    exif[0x0112] = orientation
    if description is not None:
        exif[0x010E] = description  # ImageDescription
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
