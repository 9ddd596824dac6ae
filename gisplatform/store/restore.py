"""Putting a feature back as it was at an earlier version, from the history's pre-images.

Every UPDATE and DELETE entry of ``history.feature_changes`` keeps the row as it was before
(``old_values``, version included), and the layer holds the current version; so any version
a feature ever had is either in the layer or the ``old_values`` of the entry that replaced
it. Restoring writes those values back as a new change (an UPDATE, or an INSERT with the
same ``fid`` when the feature was deleted), so the history keeps growing and the restore is
itself recorded, with its actor, and can be undone the same way. One transaction.

A feature created again after a delete starts again at version 1, as every new feature
does (the database stamps versions); a version number then names the most recent version
of that number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from gisplatform.errors import FeatureNotFound, GisPlatformError
from gisplatform.i18n import message
from gisplatform.registry import LayerSpec


class VersionNotFound(GisPlatformError):
    """The history holds no such version of the feature."""

    status_code = 404


@dataclass(frozen=True)
class Restored:
    """What a restore did: the version brought back and the feature's new version."""

    fid: int
    from_version: int
    new_version: int
    recreated: bool


def _pre_image(
    conn: psycopg.Connection[Any], history: str, spec: LayerSpec, fid: int, version: int
) -> dict[str, Any] | None:
    row = conn.execute(
        sql.SQL(
            "SELECT old_values FROM {} WHERE layer = %s AND fid = %s "
            "AND operation IN ('UPDATE', 'DELETE') AND (old_values ->> 'version')::int = %s "
            "ORDER BY id DESC LIMIT 1"
        ).format(sql.Identifier(history, "feature_changes")),
        [spec.name, fid, version],
    ).fetchone()
    return None if row is None else dict(row[0])


def restore_feature(
    conn: psycopg.Connection[Any],
    spec: LayerSpec,
    fid: int,
    version: int,
    actor: str,
    layer_schema: str = "gis",
    history_schema: str = "history",
) -> Restored:
    """Bring feature ``fid`` of ``spec`` back to ``version``, recorded as ``actor``'s change.

    Runs in the caller's transaction (the caller commits). Raises :class:`VersionNotFound`
    when the history has no such version, :class:`FeatureNotFound` when the feature never
    existed.
    """
    table = sql.Identifier(layer_schema, spec.name)
    conn.execute("SELECT set_config('gisplatform.actor', %s, true)", [actor])
    current = conn.execute(
        sql.SQL("SELECT version FROM {} WHERE fid = %s FOR UPDATE").format(table), [fid]
    ).fetchone()
    if current is not None and int(current[0]) == version:
        return Restored(fid, version, version, recreated=False)
    image = _pre_image(conn, history_schema, spec, fid, version)
    if image is None:
        known = conn.execute(
            sql.SQL("SELECT 1 FROM {} WHERE layer = %s AND fid = %s LIMIT 1").format(
                sql.Identifier(history_schema, "feature_changes")
            ),
            [spec.name, fid],
        ).fetchone()
        if current is None and known is None:
            raise FeatureNotFound(str(fid))
        raise VersionNotFound(message("history_no_version", fid=fid, version=version))
    names = ["is_demo", *(f.name for f in spec.fields)]
    lists = {f.name for f in spec.fields if f.type.value == "string_list"}
    values: list[Any] = [
        Jsonb(image[name]) if name in lists and image.get(name) is not None else image.get(name)
        for name in names
    ]
    geometry = sql.SQL("ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)")
    params = [*values, Jsonb(image["geom"]) if image.get("geom") is not None else None]
    columns = [sql.Identifier(name) for name in names]
    if current is None:
        query = sql.SQL(
            "INSERT INTO {} (fid, {}, geom) VALUES (%s, {}, {}) RETURNING version"
        ).format(
            table,
            sql.SQL(", ").join(columns),
            sql.SQL(", ").join(_casts(spec, names)),
            geometry,
        )
        row = conn.execute(query, [fid, *params]).fetchone()
    else:
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(column, cast)
            for column, cast in zip(columns, _casts(spec, names), strict=True)
        )
        query = sql.SQL("UPDATE {} SET {}, geom = {} WHERE fid = %s RETURNING version").format(
            table, assignments, geometry
        )
        row = conn.execute(query, [*params, fid]).fetchone()
    assert row is not None
    return Restored(fid, version, int(row[0]), recreated=current is None)


def _casts(spec: LayerSpec, names: list[str]) -> list[sql.Composable]:
    """A placeholder per column that turns the JSON value back into the column's type."""
    out: list[sql.Composable] = []
    for name in names:
        if name == "is_demo":
            out.append(sql.SQL("coalesce(%s::boolean, false)"))
            continue
        field = spec.field(name)
        if field.type.value == "string_list":
            out.append(sql.SQL("(SELECT array_agg(x) FROM jsonb_array_elements_text(%s) x)"))
        else:
            out.append(sql.SQL("%s"))
    return out
