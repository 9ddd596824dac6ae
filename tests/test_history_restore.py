"""``gisplatform history restore``: any version a feature had comes back from the pre-images."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from gisplatform.cli import app
from gisplatform.errors import FeatureNotFound
from gisplatform.registry import LayerRegistry
from gisplatform.store.restore import VersionNotFound, restore_feature
from tests.conftest import LAYERS_DIR
from tests.edit_helpers import edit_layer, point_in, valid_properties

pytestmark = pytest.mark.db


def _row(conn: psycopg.Connection, table: sql.Identifier, fid: int) -> dict[str, Any] | None:
    row = conn.execute(
        sql.SQL(
            "SELECT to_jsonb(t) - 'updated_at' - 'created_at' - 'version' - 'geom', "
            "ST_AsText(geom), version FROM {} AS t WHERE fid = %s"
        ).format(table),
        [fid],
    ).fetchone()
    return None if row is None else {**row[0], "wkt": row[1], "version": row[2]}


def test_restore_brings_back_every_version(clean_db: str, registry: LayerRegistry) -> None:
    spec = edit_layer(registry)
    table = sql.Identifier("gis", spec.name)
    props = valid_properties(spec)
    text = next(
        f.name
        for f in spec.fields
        if f.type.value == "string" and not f.pattern and f.name not in spec.natural_key
    )
    lon, lat = point_in(registry)["coordinates"]
    states = {}
    with psycopg.connect(clean_db) as conn:
        conn.execute("SELECT set_config('gisplatform.actor', 'tester', false)")
        names = list(props)
        fid = conn.execute(
            sql.SQL(
                "INSERT INTO {} ({}, geom) VALUES ({}, ST_Point(%s, %s, 4326)) RETURNING fid"
            ).format(
                table,
                sql.SQL(", ").join(map(sql.Identifier, names)),
                sql.SQL(", ").join(sql.Placeholder() * len(names)),
            ),
            [*props.values(), lon, lat],
        ).fetchone()[0]
        states[1] = _row(conn, table, fid)
        conn.execute(
            sql.SQL(
                "UPDATE {} SET {} = 'second', geom = ST_Point(%s, %s, 4326) WHERE fid = %s"
            ).format(table, sql.Identifier(text)),
            [lon + 0.001, lat, fid],
        )
        states[2] = _row(conn, table, fid)
        conn.execute(
            sql.SQL("UPDATE {} SET {} = NULL WHERE fid = %s").format(table, sql.Identifier(text)),
            [fid],
        )
        states[3] = _row(conn, table, fid)
        conn.execute(sql.SQL("DELETE FROM {} WHERE fid = %s").format(table), [fid])
        conn.commit()

        # the deleted feature comes back at version 2, with the same id
        env = {"DATABASE_URL": clean_db, "GISPLATFORM_LAYERS_DIR": str(LAYERS_DIR)}
        result = CliRunner().invoke(
            app, ["history", "restore", spec.name, str(fid), "--to", "2"], env=env
        )
        assert result.exit_code == 0, result.output
        assert "version 2" in result.output or "версію 2" in result.output
        back = _row(conn, table, fid)
        assert back is not None
        assert {k: v for k, v in back.items() if k != "version"} == {
            k: v for k, v in states[2].items() if k != "version"
        }
        # then to version 3 (an update of the recreated feature, whose versions start again)
        for version in (3,):
            restore_feature(conn, spec, fid, version, "tester")
            conn.commit()
            now = _row(conn, table, fid)
            assert now is not None
            assert {k: v for k, v in now.items() if k != "version"} == {
                k: v for k, v in states[version].items() if k != "version"
            }
        with pytest.raises(VersionNotFound):
            restore_feature(conn, spec, fid, 99, "tester")
        conn.rollback()
        with pytest.raises(FeatureNotFound):
            restore_feature(conn, spec, 987654, 1, "tester")
        conn.rollback()
        ops = conn.execute(
            "SELECT operation, changed_by FROM history.feature_changes "
            "WHERE layer = %s AND fid = %s ORDER BY id",
            [spec.name, fid],
        ).fetchall()
    assert [op for op, _ in ops] == ["INSERT", "UPDATE", "UPDATE", "DELETE", "INSERT", "UPDATE"]
    assert ops[4][1].startswith("cli:")
