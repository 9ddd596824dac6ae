"""A signed-in request's connections go back to the pool in the public role, always."""

from __future__ import annotations

import pytest
from psycopg import sql

from gisplatform.registry import LayerRegistry
from gisplatform.store.accounts import Accounts
from gisplatform.store.audiences import PUBLIC
from tests.tiles_helpers import asgi_client, make_app

pytestmark = [pytest.mark.db, pytest.mark.anyio]


@pytest.fixture
def token(demo_db_url: str, registry: LayerRegistry) -> str:
    import psycopg

    with psycopg.connect(demo_db_url) as conn:
        conn.execute("DELETE FROM auth.users WHERE login = 'pool-check'")
        accounts = Accounts(conn, registry.role_names)
        accounts.add("pool-check", ["civil_protection"], None)
        made = accounts.create_token("pool-check", "t", None)
        conn.commit()
    return made


async def test_roles_are_put_back_after_staff_requests(
    demo_db_url: str, registry: LayerRegistry, token: str
) -> None:
    app = make_app(demo_db_url, registry)
    headers = {"Authorization": f"Bearer {token}"}
    async with asgi_client(app) as http:
        staff = await http.get("/ogc/collections/shelters/items?limit=2", headers=headers)
        assert "key_holder_phone" in staff.json()["features"][0]["properties"]
        # a large, streamed page abandoned after its first chunk
        async with http.stream(
            "GET", "/ogc/collections/buildings/items?limit=5000", headers=headers
        ) as response:
            assert response.status_code == 200
            async for _ in response.aiter_bytes():
                break
        anonymous = await http.get("/ogc/collections/shelters/items?limit=2")
        assert "key_holder_phone" not in anonymous.json()["features"][0]["properties"]
        pool = app.state.pool.pool
        held = [await pool.getconn() for _ in range(pool.get_stats()["pool_size"])]
        try:
            for conn in held:
                cursor = await conn.execute("SELECT current_user")
                assert await cursor.fetchone() == (PUBLIC.role,)
                await conn.execute(sql.SQL("SELECT 1"))
        finally:
            for conn in held:
                await pool.putconn(conn)
