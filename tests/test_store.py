"""The store: tables from the registry, idempotent migrations, database-enforced rules, history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg import errors, sql

from gisplatform.errors import LayerSpecError, MigrationRefused
from gisplatform.registry import LayerRegistry, load_registry
from gisplatform.settings import PROJECT_ROOT
from gisplatform.store.migrate import migrate
from tests.conftest import make_settings

SHELTER = {
    "shelter_code": "T-1",
    "name": "Тестове укриття",
    "shelter_type": "pru",
    "capacity_persons": 120,
    "readiness": "ready",
    "readiness_checked_at": "2026-10-01",
    "access_mode": "24_7",
    "accessible": "full",
}


def insert_shelter(conn: psycopg.Connection, geom_ewkt: str, **overrides: Any) -> None:
    values = {**SHELTER, **overrides}
    columns = [*values, "geom"]
    conn.execute(
        sql.SQL("INSERT INTO gis.shelters ({}) VALUES ({}, ST_GeomFromEWKT(%s))").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(values)),
        ),
        [*values.values(), geom_ewkt],
    )


def copy_layers(tmp_path: Path, names: list[str]) -> Path:
    directory = tmp_path / "layers"
    directory.mkdir()
    for name in names:
        (directory / f"{name}.yaml").write_text(
            (PROJECT_ROOT / "layers" / f"{name}.yaml").read_text(encoding="utf-8"),
            encoding="utf-8",
        )
    return directory


def edit_layer(directory: Path, name: str, edit: Any) -> LayerRegistry:
    path = directory / f"{name}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_registry(directory)


def columns_of(url: str, table: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'gis' AND table_name = %s ORDER BY ordinal_position",
            [table],
        ).fetchall()
    return [r[0] for r in rows]


def test_tables_have_geometry_type_srid_index_and_natural_key(
    db_url: str, registry: LayerRegistry
) -> None:
    with psycopg.connect(db_url) as conn:
        for spec in registry:
            row = conn.execute(
                "SELECT type, srid FROM geometry_columns "
                "WHERE f_table_schema = 'gis' AND f_table_name = %s",
                [spec.name],
            ).fetchone()
            assert row == (spec.geometry.value.upper(), 4326), spec.name
            indexes = conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = 'gis' AND tablename = %s",
                [spec.name],
            ).fetchall()
            assert any("USING gist (geom)" in d for (d,) in indexes), spec.name
            unique = [d for (d,) in indexes if "UNIQUE" in d and "fid" not in d]
            assert any(all(k in d for k in spec.natural_key) for d in unique), spec.name
        system = columns_of(db_url, "shelters")
        assert {"fid", "geom", "is_demo", "created_at", "updated_at", "version"} <= set(system)


def test_migrate_twice_changes_nothing(db_url: str, registry: LayerRegistry) -> None:
    plan = migrate(db_url, registry, make_settings(db_url))
    assert plan.is_empty, plan.changes
    dry = migrate(db_url, registry, make_settings(db_url), dry_run=True)
    assert dry.is_empty


def test_adding_a_field_adds_the_column_and_keeps_rows(scratch_url: str, tmp_path: Path) -> None:
    directory = copy_layers(tmp_path, ["shelters"])
    settings = make_settings(scratch_url, layers_dir=directory)
    migrate(scratch_url, load_registry(directory), settings)
    with psycopg.connect(scratch_url) as conn:
        for n in range(5):
            insert_shelter(conn, "SRID=4326;POINT(33.47 50.75)", shelter_code=f"T-{n}")

    def add_field(data: dict[str, Any]) -> None:
        data["fields"].append(
            {
                "name": "generator_fuel_l",
                "type": "number",
                "minimum": 0,
                "title": {"uk": "Запас пального", "en": "Fuel stock"},
                "unit": "l",
            }
        )

    registry = edit_layer(directory, "shelters", add_field)
    plan = migrate(scratch_url, registry, settings)
    assert plan.add_columns == ["gis.shelters.generator_fuel_l"]
    assert any("generator_fuel_l_min" in line for line in plan.constraints)
    assert "generator_fuel_l" in columns_of(scratch_url, "shelters")
    with psycopg.connect(scratch_url) as conn:
        assert conn.execute("SELECT count(*) FROM gis.shelters").fetchone() == (5,)
        with pytest.raises(errors.CheckViolation):
            conn.execute("UPDATE gis.shelters SET generator_fuel_l = -1")
    assert migrate(scratch_url, registry, settings).is_empty


def test_removing_a_field_refuses_without_flag(scratch_url: str, tmp_path: Path) -> None:
    directory = copy_layers(tmp_path, ["shelters"])
    settings = make_settings(scratch_url, layers_dir=directory)
    migrate(scratch_url, load_registry(directory), settings)
    with psycopg.connect(scratch_url) as conn:
        insert_shelter(conn, "SRID=4326;POINT(33.47 50.75)", opening_hours="Mo-Su 00:00-24:00")

    def drop_field(data: dict[str, Any]) -> None:
        data["fields"] = [f for f in data["fields"] if f["name"] != "opening_hours"]
        data.pop("map")  # its map block names the field

    registry = edit_layer(directory, "shelters", drop_field)
    with pytest.raises(MigrationRefused) as refused:
        migrate(scratch_url, registry, settings)
    assert refused.value.drops == ["column gis.shelters.opening_hours"]
    assert "--allow-drop" in str(refused.value)
    assert "opening_hours" in columns_of(scratch_url, "shelters")

    plan = migrate(scratch_url, registry, settings, allow_drop=True)
    assert plan.drops == ["column gis.shelters.opening_hours"]
    assert "opening_hours" not in columns_of(scratch_url, "shelters")


def test_removing_a_layer_refuses_and_names_rows(scratch_url: str, tmp_path: Path) -> None:
    directory = copy_layers(tmp_path, ["shelters", "health"])
    settings = make_settings(scratch_url, layers_dir=directory)
    migrate(scratch_url, load_registry(directory), settings)
    (directory / "health.yaml").unlink()
    with pytest.raises(MigrationRefused, match=r"table gis.health \(0 rows\)"):
        migrate(scratch_url, load_registry(directory), settings)


def test_changed_enum_replaces_its_check(scratch_url: str, tmp_path: Path) -> None:
    directory = copy_layers(tmp_path, ["shelters"])
    settings = make_settings(scratch_url, layers_dir=directory)
    migrate(scratch_url, load_registry(directory), settings)

    def add_value(data: dict[str, Any]) -> None:
        readiness = next(f for f in data["fields"] if f["name"] == "readiness")
        readiness["values"].append({"value": "closed", "uk": "закрита", "en": "closed"})

    registry = edit_layer(directory, "shelters", add_value)
    plan = migrate(scratch_url, registry, settings)
    assert [line.split(" ")[0] for line in plan.constraints] == ["add", "drop"]
    with psycopg.connect(scratch_url) as conn:
        insert_shelter(conn, "SRID=4326;POINT(33.47 50.75)", readiness="closed")


def indexes_of(url: str, table: str) -> dict[str, str]:
    """The registry-declared indexes of a layer table: name -> definition."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'gis' "
            "AND tablename = %s AND indexname LIKE 'ix%%'",
            [table],
        ).fetchall()
    return dict(rows)


def test_declared_indexes_are_created_changed_and_dropped(scratch_url: str, tmp_path: Path) -> None:
    directory = copy_layers(tmp_path, ["shelters"])
    settings = make_settings(scratch_url, layers_dir=directory)
    registry = load_registry(directory)
    declared = [f.name for f in registry.get("shelters").fields if f.index is not None]
    assert {"readiness", "shelter_type"} <= set(declared)
    plan = migrate(scratch_url, registry, settings)
    assert len(plan.indexes) == len(declared)
    created = indexes_of(scratch_url, "shelters")
    assert sorted(d.split("(")[1].split(")")[0] for d in created.values()) == sorted(declared)
    assert migrate(scratch_url, registry, settings).is_empty  # idempotent

    def reshape(data: dict[str, Any]) -> None:
        fields = {f["name"]: f for f in data["fields"]}
        fields["readiness"].pop("index")  # removed: dropped
        fields["name"]["index"] = "lower"  # expression index (case-insensitive filters)
        fields["opening_hours"]["index"] = {"kind": "btree", "only_set": True}  # partial

    registry = edit_layer(directory, "shelters", reshape)
    plan = migrate(scratch_url, registry, settings)
    assert sorted(line.split(" ")[0] for line in plan.indexes) == ["create", "create", "drop"]
    assert not plan.drops  # an index holds no data: no --allow-drop needed
    after = {d.split(" USING ")[1] for d in indexes_of(scratch_url, "shelters").values()}
    assert after == {
        "btree (shelter_type)",
        "btree (lower(name))",
        "btree (opening_hours) WHERE (opening_hours IS NOT NULL)",
    }
    assert migrate(scratch_url, registry, settings).is_empty
    with psycopg.connect(scratch_url) as conn:  # the table still takes rows
        insert_shelter(conn, "SRID=4326;POINT(33.47 50.75)")


def test_lower_index_needs_a_text_field(tmp_path: Path) -> None:
    directory = copy_layers(tmp_path, ["shelters"])

    def bad(data: dict[str, Any]) -> None:
        capacity = next(f for f in data["fields"] if f["name"] == "capacity_persons")
        capacity["index"] = "lower"

    with pytest.raises(LayerSpecError, match=r"index 'lower'"):
        edit_layer(directory, "shelters", bad)


@pytest.mark.parametrize(
    ("geometry", "error"),
    [
        (
            "SRID=4326;POLYGON((33.4 50.7, 33.5 50.8, 33.5 50.7, 33.4 50.8, 33.4 50.7))",
            errors.InvalidParameterValue,
        ),  # wrong type (and self-intersecting)
        ("SRID=4326;LINESTRING(33.4 50.7, 33.5 50.8)", errors.InvalidParameterValue),
        ("SRID=3857;POINT(3726000 6577000)", errors.InvalidParameterValue),
        ("SRID=4326;POINT EMPTY", errors.CheckViolation),
    ],
)
def test_database_refuses_bad_shelter_geometry(
    clean_db: str, geometry: str, error: type[Exception]
) -> None:
    with psycopg.connect(clean_db) as conn, pytest.raises(error):
        insert_shelter(conn, geometry)


def test_database_refuses_invalid_polygon(clean_db: str) -> None:
    bowtie = "SRID=4326;MULTIPOLYGON(((33.4 50.7, 33.5 50.8, 33.5 50.7, 33.4 50.8, 33.4 50.7)))"
    with psycopg.connect(clean_db) as conn, pytest.raises(errors.CheckViolation):
        conn.execute(
            "INSERT INTO gis.starosta_districts (district_id, name_uk, centre_katottg, geom) "
            "VALUES ('D-1', 'Демо', 'UA59060110010062596', ST_GeomFromEWKT(%s))",
            [bowtie],
        )


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"readiness": "maybe"}, errors.CheckViolation),
        ({"capacity_persons": -5}, errors.CheckViolation),
        ({"owner_edrpou": "12AB"}, errors.CheckViolation),
        ({"name": None}, errors.NotNullViolation),
    ],
)
def test_database_refuses_bad_attributes(
    clean_db: str, override: dict[str, Any], error: type[Exception]
) -> None:
    with psycopg.connect(clean_db) as conn, pytest.raises(error):
        insert_shelter(conn, "SRID=4326;POINT(33.47 50.75)", **override)


def test_duplicate_natural_key_is_refused(clean_db: str) -> None:
    with psycopg.connect(clean_db) as conn:
        insert_shelter(conn, "SRID=4326;POINT(33.47 50.75)")
        with pytest.raises(errors.UniqueViolation):
            insert_shelter(conn, "SRID=4326;POINT(33.48 50.76)")


def test_plain_sql_update_is_recorded_with_old_and_new_values(clean_db: str) -> None:
    with psycopg.connect(clean_db) as conn:
        insert_shelter(conn, "SRID=4326;POINT(33.47 50.75)")
    # A different client, plain SQL, no platform code involved.
    with psycopg.connect(clean_db) as conn:
        conn.execute(
            "UPDATE gis.shelters SET readiness = 'not_ready', capacity_persons = 80 "
            "WHERE shelter_code = 'T-1'"
        )
        conn.execute("UPDATE gis.shelters SET name = name WHERE shelter_code = 'T-1'")
        conn.execute("DELETE FROM gis.shelters WHERE shelter_code = 'T-1'")
    with psycopg.connect(clean_db) as conn:
        rows = conn.execute(
            "SELECT operation, changed_by, changed_fields, old_values, new_values "
            "FROM history.feature_changes WHERE layer = 'shelters' ORDER BY id"
        ).fetchall()
    assert [r[0] for r in rows] == ["INSERT", "UPDATE", "DELETE"]  # the no-op update is not
    _, who, changed, old, new = rows[1]
    assert who
    assert changed == ["capacity_persons", "readiness"]
    assert (old["readiness"], new["readiness"]) == ("ready", "not_ready")
    assert (old["capacity_persons"], new["capacity_persons"]) == (120, 80)
    assert new["version"] == 2
    assert new["geom"] == {"type": "Point", "coordinates": [33.47, 50.75]}
    assert rows[2][3]["shelter_code"] == "T-1" and rows[2][4] is None


def test_history_records_the_platform_actor(clean_db: str) -> None:
    with psycopg.connect(clean_db) as conn:
        conn.execute("SELECT set_config('gisplatform.actor', 'inspector.petrenko', true)")
        insert_shelter(conn, "SRID=4326;POINT(33.47 50.75)")
    with psycopg.connect(clean_db) as conn:
        row = conn.execute("SELECT changed_by FROM history.feature_changes").fetchone()
    assert row == ("inspector.petrenko",)


def test_version_and_timestamps_are_kept_by_the_database(clean_db: str) -> None:
    with psycopg.connect(clean_db) as conn:
        insert_shelter(conn, "SRID=4326;POINT(33.47 50.75)")
        conn.execute("UPDATE gis.shelters SET version = 99, created_at = '2000-01-01'")
        row = conn.execute(
            "SELECT version, created_at > '2020-01-01', updated_at >= created_at FROM gis.shelters"
        ).fetchone()
    assert row == (2, True, True)
