"""Verified credentials are trusted for GISPLATFORM_AUTH_CACHE_SECONDS, and no longer."""

from __future__ import annotations

import base64
import time

import anyio
import httpx
import psycopg
import pytest

from gisplatform.ogcapi import create_app
from gisplatform.registry import LayerRegistry
from gisplatform.store.accounts import Accounts
from tests.conftest import make_settings
from tests.tiles_helpers import asgi_client

pytestmark = [pytest.mark.db, pytest.mark.anyio]

TRUSTED_S = 2.0
PASSWORD = "recent-check-password-1"
STAFF_FIELD = "/ogc/collections/shelters/items?limit=1"


def _accounts(url: str, registry: LayerRegistry) -> tuple[psycopg.Connection, Accounts]:
    conn = psycopg.connect(url, autocommit=True)
    return conn, Accounts(conn, registry.role_names)


async def _until_refused(http: httpx.AsyncClient, path: str, headers: dict[str, str]) -> float:
    """Polls ``path`` until it answers 401 (at most TRUSTED_S + 5 s); returns when the last
    request that still got 200 was sent, in seconds after the credential was withdrawn.

    Send times, not answer times, are compared with the trusted time: on a busy machine a
    refused Basic sign-in (Argon2) may itself take a second.
    """
    started = time.monotonic()
    last_accepted = 0.0
    while time.monotonic() - started < TRUSTED_S + 5:
        sent = time.monotonic() - started
        response = await http.get(path, headers=headers)
        if response.status_code == 401:
            return last_accepted
        assert response.status_code == 200
        last_accepted = sent
        await anyio.sleep(0.1)
    raise AssertionError("the credential kept working")


async def test_a_revoked_token_stops_working_within_the_trusted_time(
    demo_db_url: str, registry: LayerRegistry
) -> None:
    conn, accounts = _accounts(demo_db_url, registry)
    with conn:
        conn.execute("DELETE FROM auth.users WHERE login = 'recent-token'")
        accounts.add("recent-token", [], None)
        token = accounts.create_token("recent-token", "t", None)
        app = create_app(make_settings(demo_db_url, auth_cache_seconds=TRUSTED_S), registry)
        headers = {"Authorization": f"Bearer {token}"}
        async with asgi_client(app) as http:
            for _ in range(3):
                assert (await http.get(STAFF_FIELD, headers=headers)).status_code == 200
            accounts.revoke_token("recent-token", "t")
            assert await _until_refused(http, STAFF_FIELD, headers) <= TRUSTED_S + 0.5


async def test_a_disabled_account_stops_signing_in_within_the_trusted_time(
    demo_db_url: str, registry: LayerRegistry
) -> None:
    conn, accounts = _accounts(demo_db_url, registry)
    with conn:
        conn.execute("DELETE FROM auth.users WHERE login = 'recent-basic'")
        accounts.add("recent-basic", [], PASSWORD)
        app = create_app(make_settings(demo_db_url, auth_cache_seconds=TRUSTED_S), registry)
        pair = base64.b64encode(f"recent-basic:{PASSWORD}".encode()).decode()
        headers = {"Authorization": f"Basic {pair}"}
        async with asgi_client(app) as http:
            for _ in range(3):
                assert (await http.get(STAFF_FIELD, headers=headers)).status_code == 200
            accounts.set_disabled("recent-basic", True)
            assert await _until_refused(http, STAFF_FIELD, headers) <= TRUSTED_S + 0.5


async def test_without_trust_a_revoked_token_fails_at_once(
    demo_db_url: str, registry: LayerRegistry
) -> None:
    conn, accounts = _accounts(demo_db_url, registry)
    with conn:
        conn.execute("DELETE FROM auth.users WHERE login = 'recent-none'")
        accounts.add("recent-none", [], None)
        token = accounts.create_token("recent-none", "t", None)
        app = create_app(make_settings(demo_db_url, auth_cache_seconds=0), registry)
        headers = {"Authorization": f"Bearer {token}"}
        async with asgi_client(app) as http:
            assert (await http.get(STAFF_FIELD, headers=headers)).status_code == 200
            accounts.revoke_token("recent-none", "t")
            assert (await http.get(STAFF_FIELD, headers=headers)).status_code == 401
