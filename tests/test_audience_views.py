"""Per-audience views: each staff audience role reads exactly its registry-derived views."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors, sql

from gisplatform.registry import LayerRegistry
from gisplatform.store.audiences import view_audiences
from gisplatform.store.roles import API_ROLE
from gisplatform.store.views import view_columns
from tests.conftest import role_url

pytestmark = pytest.mark.db


def test_every_audience_role_reads_its_own_views_only(db_url: str, registry: LayerRegistry) -> None:
    audiences = view_audiences(registry)
    assert [a.schema for a in audiences][:2] == ["api_public", "api_staff"]
    with psycopg.connect(role_url(db_url, API_ROLE), autocommit=True) as conn:
        for audience in audiences:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(audience.role)))
            visible = {s.name for s in registry.list(audience.reader)}
            for spec in registry:
                for other in audiences:
                    query = sql.SQL("SELECT * FROM {} LIMIT 0").format(
                        sql.Identifier(other.schema, spec.name)
                    )
                    if other is audience and spec.name in visible:
                        cursor = conn.execute(query)
                        assert cursor.description is not None
                        columns = [c.name for c in cursor.description]
                        assert columns == view_columns(spec, audience.reader)
                        continue
                    with pytest.raises((errors.InsufficientPrivilege, errors.UndefinedTable)):
                        conn.execute(query)
                with pytest.raises(errors.InsufficientPrivilege):
                    conn.execute(
                        sql.SQL("SELECT FROM {} LIMIT 0").format(sql.Identifier("gis", spec.name))
                    )
            cursor = conn.execute("SELECT layer FROM api_meta.layer_state")
            assert {row[0] for row in cursor.fetchall()} <= visible


def test_lighting_role_reads_cabinets_other_staff_do_not(
    db_url: str, registry: LayerRegistry
) -> None:
    by_roles = {a.reader.roles: a for a in view_audiences(registry)}
    lighting = by_roles[frozenset({"lighting"})]
    staff = by_roles[frozenset()]
    assert "lighting_cabinets" in {s.name for s in registry.list(lighting.reader)}
    assert "lighting_cabinets" not in {s.name for s in registry.list(staff.reader)}
    assert "key_holder_phone" not in view_columns(registry.get("shelters"), lighting.reader)
