"""Write rights in the registry (``write_roles``, ``writes_all``) and their database grants."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from gisplatform.errors import LayerSpecError
from gisplatform.registry import ANONYMOUS, Audience, LayerRegistry, LayerSpec
from gisplatform.registry.loader import load_registry
from gisplatform.registry.writes import layer_writers, writable_fields, writer_role, writing_roles
from gisplatform.store.roles import API_ROLE
from gisplatform.store.writers import writer_db_role
from tests.conftest import LAYERS_DIR, role_url


def test_every_layer_with_write_roles_names_known_roles(registry: LayerRegistry) -> None:
    known = registry.role_names
    assert any(spec.write_roles for spec in registry)
    for spec in registry:
        assert set(spec.write_roles) <= known, spec.name


def test_writes_all_role_writes_every_layer_it_reads(registry: LayerRegistry) -> None:
    for role in (r for r in registry.roles if r.writes_all):
        audience = Audience(signed_in=True, roles=frozenset({role.name}))
        for spec in registry:
            assert (role.name in layer_writers(registry, spec)) is spec.visible_to(audience)


def test_writer_role_is_none_for_the_public_and_staff_without_a_right(
    registry: LayerRegistry,
) -> None:
    staff = Audience(signed_in=True)
    for spec in registry:
        assert writer_role(registry, spec, ANONYMOUS) is None
        assert writer_role(registry, spec, staff) is None
        for role in layer_writers(registry, spec):
            holder = Audience(signed_in=True, roles=frozenset({role}))
            assert writer_role(registry, spec, holder) == role
            assert writable_fields(spec, role) == spec.fields_for(holder)


def _spec_with(spec: LayerSpec, **changes: object) -> dict[str, object]:
    return {**spec.model_dump(mode="json", exclude_defaults=True), **changes}


def test_a_writer_must_read_a_restricted_layer(registry: LayerRegistry) -> None:
    restricted = next(s for s in registry if s.roles)
    outsider = next(r.name for r in registry.roles if r.name not in restricted.roles)
    with pytest.raises(ValueError, match="may not read the layer"):
        LayerSpec.model_validate(_spec_with(restricted, write_roles=[outsider]))
    with pytest.raises(ValueError, match="twice"):
        LayerSpec.model_validate(_spec_with(restricted, write_roles=[restricted.roles[0]] * 2))


def test_unknown_write_role_is_refused_naming_the_file(tmp_path: object) -> None:
    import shutil
    from pathlib import Path

    target = Path(str(tmp_path)) / "layers"
    shutil.copytree(LAYERS_DIR, target)
    victim = next(
        p for p in sorted(target.glob("*.yaml")) if "write_roles:" in p.read_text("utf-8")
    )
    text = victim.read_text("utf-8")
    start = text.index("write_roles:")
    end = text.index("\n", start)
    victim.write_text(text[:start] + "write_roles: [no_such_role]" + text[end:], "utf-8")
    with pytest.raises(LayerSpecError) as caught:
        load_registry(target)
    assert "no_such_role" in str(caught.value)


def test_json_schema_documents_write_roles() -> None:
    schema = (LAYERS_DIR / "layer.schema.json").read_text("utf-8")
    assert '"write_roles"' in schema


@pytest.fixture(scope="module")
def api(db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(role_url(db_url, API_ROLE), autocommit=True) as conn:
        yield conn


def _refused(conn: psycopg.Connection, role: str, statement: sql.Composable) -> bool:
    try:
        with conn.transaction():
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
            conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


def test_writer_roles_reach_only_their_layers_and_never_the_history(
    api: psycopg.Connection, registry: LayerRegistry
) -> None:
    for role in writing_roles(registry):
        db_role = writer_db_role(role)
        for spec in registry:
            table = sql.Identifier("gis", spec.name)
            delete = sql.SQL("DELETE FROM {} WHERE fid = -1").format(table)
            assert _refused(api, db_role, delete) is (role not in layer_writers(registry, spec))
        for statement in (
            "DELETE FROM history.feature_changes",
            "INSERT INTO history.feature_changes (layer, fid, operation, changed_by) "
            "VALUES ('x', 1, 'INSERT', 'forged')",
            "UPDATE history.layer_state SET revision = 0",
            "SELECT * FROM auth.users",
        ):
            assert _refused(api, db_role, sql.SQL(statement)), (role, statement)


def test_the_api_login_itself_still_reaches_no_layer(
    api: psycopg.Connection, registry: LayerRegistry
) -> None:
    for spec in registry:
        table = sql.Identifier("gis", spec.name)
        with pytest.raises(psycopg.errors.InsufficientPrivilege), api.transaction():
            api.execute("SET LOCAL ROLE NONE")
            api.execute(sql.SQL("SELECT fid FROM {} LIMIT 1").format(table))
