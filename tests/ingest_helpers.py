"""Helpers shared by the ingest tests: sample shelters, files, a CLI runner, snapshots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import typer
from typer.testing import CliRunner, Result

from gisplatform.ingest.commands import export_command, import_command

LAYERS_DIR = Path(__file__).resolve().parents[1] / "layers"


def shelter(code: str, lon: float = 33.4746, lat: float = 50.7515, **extra: Any) -> dict[str, Any]:
    """One valid shelters feature as a GeoJSON dict."""
    props = {
        "shelter_code": code,
        "name": f"Укриття {code}",
        "shelter_type": "pru",
        "capacity_persons": 120,
        "readiness": "ready",
        "readiness_checked_at": "2024-05-01",
        "access_mode": "24_7",
        "accessible": "full",
        "area_m2": 55.5,
        "heating": True,
    }
    props.update(extra)
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }


def write_geojson(path: Path, features: list[dict[str, Any]]) -> Path:
    """Write a FeatureCollection (lon/lat, CRS84)."""
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
        encoding="utf-8",
    )
    return path


def snapshot(url: str, layer: str = "shelters") -> tuple[int, str | None]:
    """Row count and a digest of every row of a layer table."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            psycopg.sql.SQL(
                "SELECT count(*), md5(string_agg(t::text, '' ORDER BY fid)) FROM {} t"
            ).format(psycopg.sql.Identifier("gis", layer))
        ).fetchone()
    assert row is not None
    return int(row[0]), row[1]


def cli_app() -> typer.Typer:
    """A typer app with the two commands, as gisplatform.cli registers them."""
    app = typer.Typer()
    app.command("import")(import_command)
    app.command("export")(export_command)
    return app


def run_cli(url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    """Run ``import``/``export`` against ``url`` (``env`` adds or overrides variables)."""
    variables = {"DATABASE_URL": url, "GISPLATFORM_LAYERS_DIR": str(LAYERS_DIR), "COLUMNS": "200"}
    return CliRunner().invoke(cli_app(), list(args), env={**variables, **(env or {})})
