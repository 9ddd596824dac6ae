"""Static export: one self-contained HTML file (assets and public data inline), works offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from psycopg import sql

from gisplatform.access.publication.state import public_state
from gisplatform.access.publication.store import Publication
from gisplatform.registry import Access, LayerRegistry
from gisplatform.store.audiences import _CURRENT
from gisplatform.store.database import connect, normalize_url
from gisplatform.store.views import AUDIENCE_SCHEMAS, VIEW_SYSTEM_COLUMNS
from gisplatform.webmap.config import map_config
from gisplatform.webmap.page import render_page

#: Decimal places of exported coordinates (about 10 cm).
PRECISION = 6


def public_features(url: str, layer: str) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of ``layer`` read from its PUBLIC view (lon/lat)."""
    view = sql.Identifier(AUDIENCE_SCHEMAS[Access.PUBLIC], layer)
    hidden = sql.SQL(" - ").join(sql.Literal(c) for c in ("fid", *VIEW_SYSTEM_COLUMNS[1:]))
    query = sql.SQL(
        "SELECT coalesce(jsonb_agg(jsonb_build_object("
        "'type', 'Feature', 'id', v.fid, "
        "'geometry', ST_AsGeoJSON(v.geom, {precision})::jsonb, "
        "'properties', jsonb_strip_nulls(to_jsonb(v) - {hidden})) ORDER BY v.fid), '[]') "
        "FROM {view} AS v"
    ).format(precision=sql.Literal(PRECISION), hidden=hidden, view=view)
    with connect(normalize_url(url)) as conn:
        row = conn.execute(query).fetchone()
    features = row[0] if row else []
    return {"type": "FeatureCollection", "features": features}


def export_static_map(
    url: str,
    registry: LayerRegistry,
    out: Path,
    layers: list[str] | None = None,
    lang: str = "uk",
) -> None:
    """Write a folium map of ``layers`` (default: every public layer) to ``out``.

    Data come from the database's public views only, so restricted layers and fields can
    never leak into the file; asking for a non-public layer raises ``LayerNotFound``. What the
    publication kill switch withdrew is left out: withdrawn layers and fields are not listed
    (asking for one raises ``LayerNotFound``) and the views hold back the rows of areas.
    The file has no server to route on, so its nearest-shelter tool measures and labels
    straight-line distances (the served map asks the ``nearest-shelter`` process).
    """
    with connect(normalize_url(url)) as conn:
        withdrawals = Publication(conn, registry).listing()
    # the public less what the publication kill switch withdrew (the views hold its rows back)
    token = _CURRENT.set(public_state(0, withdrawals).view)
    try:
        config = map_config(registry, lang, api_base=None, tiles=False, layers=layers)
    finally:
        _CURRENT.reset(token)
    for entry in config["layers"]:
        entry["data"] = public_features(url, entry["name"])
        entry["visible"] = True if layers else entry["visible"]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_page(config, inline=True), encoding="utf-8")
