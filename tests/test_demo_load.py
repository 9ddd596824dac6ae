"""Loading the Romny demo data, and the public views the server reads through."""

from __future__ import annotations

import json

import psycopg
import pytest
from psycopg import errors, sql
from typer.testing import CliRunner

from gisplatform.cli import app
from gisplatform.demo import DEMO_DIR, layer_counts, load_demo
from gisplatform.registry import Access, LayerRegistry
from gisplatform.store.views import AUDIENCE_SCHEMAS, PUBLIC_ROLE, view_columns


def test_every_demo_feature_is_loaded(demo_db_url: str, registry: LayerRegistry) -> None:
    counts = layer_counts(demo_db_url, registry, "gis")
    for spec in registry:
        features = json.loads((DEMO_DIR / f"{spec.name}.geojson").read_text("utf-8"))["features"]
        assert counts[spec.name] == len(features) > 0, spec.name


def test_demo_flags_and_population(demo_db_url: str) -> None:
    with psycopg.connect(demo_db_url) as conn:
        flags = dict(
            conn.execute(
                "SELECT is_demo, count(*) FROM gis.hydro_and_protected GROUP BY is_demo"
            ).fetchall()
        )
        assert flags == {False: 33}, "register points are real, not demo"
        assert conn.execute("SELECT bool_and(is_demo) FROM gis.shelters").fetchone() == (True,)
        assert conn.execute("SELECT sum(population) FROM gis.buildings").fetchone() == (49284,)
        row = conn.execute(
            "SELECT count(*) FROM gis.shelters s JOIN gis.hromada_boundary b "
            "ON ST_Within(s.geom, b.geom)"
        ).fetchone()
        assert row == (80,)


def test_demo_load_is_recorded_in_history(demo_db_url: str) -> None:
    with psycopg.connect(demo_db_url) as conn:
        rows = conn.execute(
            "SELECT changed_by, count(*) FROM history.feature_changes "
            "WHERE layer = 'shelters' GROUP BY changed_by"
        ).fetchall()
        state = conn.execute(
            "SELECT revision > 0 FROM history.layer_state WHERE layer = 'shelters'"
        ).fetchone()
    assert rows == [("gisplatform demo", 80)]
    assert state == (True,)


def test_demo_keeps_existing_data_unless_reset(demo_db_url: str, registry: LayerRegistry) -> None:
    results = load_demo(demo_db_url, registry, "gis")
    assert not any(r.loaded for r in results)


def test_public_views_hold_only_public_layers_and_fields(
    demo_db_url: str, registry: LayerRegistry
) -> None:
    schema = AUDIENCE_SCHEMAS[Access.PUBLIC]
    with psycopg.connect(demo_db_url) as conn:
        views = {
            name
            for (name,) in conn.execute(
                "SELECT table_name FROM information_schema.views WHERE table_schema = %s",
                [schema],
            )
        }
        assert views == {s.name for s in registry.list(Access.PUBLIC)}
        columns = [
            name
            for (name,) in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = 'shelters' ORDER BY ordinal_position",
                [schema],
            )
        ]
    shelters = registry.get("shelters")
    assert columns == view_columns(shelters, Access.PUBLIC)
    for hidden in ("key_holder_name", "key_holder_phone", "backup_power_kw", "registry_no"):
        assert hidden not in columns


@pytest.mark.parametrize(
    "query",
    [
        "SELECT count(*) FROM gis.shelters",
        "SELECT count(*) FROM gis.utility_facilities",
        "SELECT count(*) FROM history.feature_changes",
        "SELECT key_holder_phone FROM api_public.shelters",
        "UPDATE api_public.shelters SET name = 'x'",
        "UPDATE api_public.shelters SET geom = geom",
        "SELECT count(*) FROM publication.withdrawals",
        "SELECT publication.withdraw('shelters', NULL, NULL, 'x', 'x', 'cli')",
    ],
)
def test_public_role_cannot_reach_anything_else(demo_db_url: str, query: str) -> None:
    with psycopg.connect(demo_db_url) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(PUBLIC_ROLE)))
        assert conn.execute("SELECT count(*) FROM api_public.shelters").fetchone() == (80,)
        # a public view column the kill switch may empty is an expression, not updatable
        refused = (errors.InsufficientPrivilege, errors.UndefinedColumn, errors.FeatureNotSupported)
        with pytest.raises(refused):
            conn.execute(query)  # type: ignore[arg-type]


def test_demo_command_prints_summary(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(app, ["demo", "--force"])
    assert result.exit_code == 0, result.output
    assert "shelters" in result.output and "total features" in result.output
    status = CliRunner().invoke(app, ["db", "status"])
    assert "external" in status.output


def _state(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT layer, revision, changed_at FROM history.layer_state ORDER BY layer"
        ).fetchall()


@pytest.mark.parametrize("args", [["demo"], ["demo", "--reset"]])
def test_demo_refuses_an_external_database_without_force(
    clean_db: str,
    registry: LayerRegistry,
    args: list[str],
    monkeypatch: pytest.MonkeyPatch,
    ukrainian_locale: None,
) -> None:
    monkeypatch.setenv("DATABASE_URL", clean_db)
    before = _state(clean_db)
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert "зовнішню базу" in result.output and "--force" in result.output
    assert set(layer_counts(clean_db, registry, "gis").values()) == {0}
    assert _state(clean_db) == before
    with psycopg.connect(clean_db) as conn:
        assert conn.execute("SELECT count(*) FROM history.feature_changes").fetchone() == (0,)


def test_public_role_holds_no_write_right_on_any_view(demo_db_url: str) -> None:
    with psycopg.connect(demo_db_url) as conn:
        rows = conn.execute(
            "SELECT table_schema, table_name, privilege_type"
            " FROM information_schema.table_privileges"
            " WHERE grantee = %s AND privilege_type <> 'SELECT'",
            [PUBLIC_ROLE],
        ).fetchall()
    assert rows == []
