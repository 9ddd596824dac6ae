"""Browser sessions, CSRF, security headers and CORS, from the outside over real HTTP.

The layers a session must reveal are derived from the registry (what a signed-in staff
member reads that the public does not); the database is the demo database.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from http.cookies import Morsel, SimpleCookie

import httpx
import psycopg
import pytest

from gisplatform.access.csrf import CSRF_HEADER, csrf_token
from gisplatform.access.sessions import COOKIE
from gisplatform.i18n import message
from gisplatform.ogcapi.auth import MAX_FAILURES_PER_LOGIN
from gisplatform.registry import ANONYMOUS, Audience, LayerRegistry
from gisplatform.store.accounts import Accounts
from tests.accounts_helpers import made_accounts
from tests.conftest import make_settings
from tests.live import live_server, platform_app

pytestmark = pytest.mark.db

PASSWORD = "session-" + base64.b16encode(os.urandom(6)).decode()
LOGIN = "session-staff"  # the account the fixture makes


@pytest.fixture(scope="module")
def account(demo_db_url: str, registry: LayerRegistry) -> Iterator[str]:
    """A staff account with every role of the registry, and a password."""
    every_role = {"staff": sorted(registry.role_names)}
    with made_accounts(demo_db_url, registry, "session-", every_role, PASSWORD):
        yield LOGIN


@pytest.fixture(scope="module")
def base(demo_db_url: str, registry: LayerRegistry) -> Iterator[str]:
    with live_server(platform_app(demo_db_url, registry)) as url:
        yield url


def staff_only(registry: LayerRegistry) -> set[str]:
    """The layers the test account reads and the public does not (from the registry)."""
    staff = Audience(signed_in=True, roles=frozenset(registry.role_names))
    return {s.name for s in registry.list(staff)} - {s.name for s in registry.list(ANONYMOUS)}


def _listed(http: httpx.Client) -> set[str]:
    response = http.get("/ogc/collections", params={"f": "json"})
    assert response.status_code == 200, response.text[:300]
    return {c["id"] for c in response.json()["collections"]} - {"catalogue", "reports"}


def _sign_in(http: httpx.Client, base: str, login: str = LOGIN, password: str = PASSWORD) -> str:
    response = http.post(
        "/signin", json={"login": login, "password": password}, headers={"Origin": base}
    )
    assert response.status_code == 200, response.text
    token = http.cookies.get(COOKIE)
    assert token
    return token


def _cookies(response: httpx.Response, name: str) -> list[Morsel[str]]:
    """The ``Set-Cookie`` headers of ``response`` that set ``name``."""
    found = []
    for header in response.headers.get_list("set-cookie"):
        parsed: SimpleCookie = SimpleCookie(header)
        if name in parsed:
            found.append(parsed[name])
    return found


def _session_row(url: str, token: str) -> tuple[object, ...] | None:
    digest = hashlib.sha256(token.encode()).digest()
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT login, ended_at IS NOT NULL FROM auth.sessions WHERE token_hash = %s", [digest]
        ).fetchone()
    return tuple(row) if row else None


def test_sign_in_sets_a_safe_cookie_and_the_session_reads_staff_layers(
    base: str, account: str, registry: LayerRegistry, demo_db_url: str
) -> None:
    hidden = staff_only(registry)
    assert hidden
    with httpx.Client(base_url=base, timeout=30) as http:
        assert not _listed(http) & hidden
        assert http.get("/session").json() == {
            "signedIn": False,
            "login": None,
            "roles": [],
            "csrf": None,
        }
        response = http.post(
            "/signin", json={"login": account, "password": PASSWORD}, headers={"Origin": base}
        )
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        (cookie,) = _cookies(response, COOKIE)
        assert cookie["httponly"] is True
        assert cookie["samesite"].lower() == "lax"
        assert cookie["path"] == "/"
        assert not cookie["secure"]  # plain http without an https public URL
        token = cookie.value
        assert len(token) >= 43
        body = response.json()
        assert body["signedIn"] is True and body["login"] == account
        assert body["csrf"] == csrf_token(token)
        assert http.get("/session").json()["login"] == account
        assert hidden <= _listed(http)
        page = http.get("/ogc/collections", params={"f": "html", "lang": "uk"})
        for name in hidden:
            assert f"/collections/{name}?f=html" in page.text
        first = sorted(hidden)[0]
        assert http.get(f"/ogc/collections/{first}/items?f=json&limit=1").status_code == 200
    assert _session_row(demo_db_url, token) == (account, False)
    with psycopg.connect(demo_db_url) as conn:
        stored = conn.execute("SELECT token_hash::text FROM auth.sessions").fetchall()
        events = conn.execute(
            "SELECT outcome FROM auth.events WHERE login = %s AND method = 'session'", [account]
        ).fetchall()
    assert token not in {row[0] for row in stored}
    assert ("success",) in events


def test_cookie_is_secure_behind_an_https_public_url(
    demo_db_url: str, registry: LayerRegistry, account: str
) -> None:
    settings = make_settings(demo_db_url, public_url="https://gis.example.org")
    from gisplatform.ogcapi import create_app

    with (
        live_server(create_app(settings, registry)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        response = http.post(
            "/signin", json={"login": account, "password": PASSWORD}, headers={"Origin": url}
        )
        assert response.status_code == 200
        assert _cookies(response, COOKIE)[0]["secure"] is True
        # the public URL's origin is the site's own
        http.cookies.clear()
        again = http.post(
            "/signin",
            data={"login": account, "password": PASSWORD, "next": "/?lang=en"},
            headers={"Origin": "https://gis.example.org"},
        )
        assert again.status_code == 303 and again.headers["location"] == "/?lang=en"


def test_cookie_is_secure_over_https_from_a_trusted_proxy(base: str, account: str) -> None:
    # the test server's uvicorn believes X-Forwarded-Proto from 127.0.0.1 (its default); the
    # platform's `serve` only from GISPLATFORM_FORWARDED_ALLOW_IPS
    https_origin = base.replace("http://", "https://")
    with httpx.Client(base_url=base, timeout=30) as http:
        response = http.post(
            "/signin",
            json={"login": account, "password": PASSWORD},
            headers={"X-Forwarded-Proto": "https", "Origin": https_origin},
        )
        assert response.status_code == 200
        assert _cookies(response, COOKIE)[0]["secure"] is True
        assert response.headers["strict-transport-security"].startswith("max-age=")
        plain = http.post(
            "/signin",
            json={"login": account, "password": PASSWORD},
            headers={"Origin": base},
        )
        assert not _cookies(plain, COOKIE)[0]["secure"]


def test_the_csrf_dependency_guards_other_routers(
    demo_db_url: str, registry: LayerRegistry, account: str
) -> None:
    from fastapi import Depends

    from gisplatform.access.sessions import require_csrf

    app = platform_app(demo_db_url, registry)

    async def change() -> dict[str, bool]:
        return {"changed": True}

    app.add_api_route("/change", change, methods=["POST"], dependencies=[Depends(require_csrf)])
    basic = base64.b64encode(f"{account}:{PASSWORD}".encode()).decode()
    with live_server(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        assert http.post("/change", headers={"Origin": url}).status_code == 200  # no cookie
        token = _sign_in(http, url)
        assert http.post("/change", headers={"Origin": url}).status_code == 403
        assert http.post("/change", data={"csrf_token": "x"}).status_code == 403
        assert http.post("/change", data={"csrf_token": csrf_token(token)}).status_code == 200
        assert http.post("/change", headers={CSRF_HEADER: csrf_token(token)}).status_code == 200
        cross = {CSRF_HEADER: csrf_token(token), "Sec-Fetch-Site": "cross-site"}
        assert http.post("/change", headers=cross).status_code == 403
        with_header = {"Authorization": f"Basic {basic}", "Origin": "https://evil.example"}
        assert http.post("/change", headers=with_header).status_code == 200
        assert http.get("/change").status_code == 405


def test_wrong_password_is_ukrainian_then_429(base: str, account: str, demo_db_url: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as http:
        wrong = http.post(
            "/signin",
            json={"login": "session-limited", "password": "wrong"},
            headers={"Origin": base, "Accept-Language": "uk"},
        )
        assert wrong.status_code == 401
        assert wrong.json()["description"] == message("sign_in_form_failed").get("uk")
        assert "basic" not in wrong.headers["www-authenticate"].lower()  # no browser dialog
        assert COOKIE not in wrong.cookies
        empty = http.post("/signin", json={"login": account}, headers={"Origin": base})
        assert empty.status_code == 400
        assert "login" in empty.json()["description"]
        statuses = [
            http.post(
                "/signin",
                json={"login": "session-limited", "password": f"wrong{i}"},
                headers={"Origin": base},
            ).status_code
            for i in range(MAX_FAILURES_PER_LOGIN)
        ]
        assert statuses[-1] == 429 and set(statuses[:-1]) == {401}
    with psycopg.connect(demo_db_url) as conn:
        outcomes = conn.execute(
            "SELECT outcome, count(*) FROM auth.events WHERE login = 'session-limited' "
            "AND method = 'session' GROUP BY outcome"
        ).fetchall()
        conn.execute("DELETE FROM auth.events WHERE login = 'session-limited'")
    assert dict(outcomes) == {"failure": MAX_FAILURES_PER_LOGIN, "limited": 1}


def test_sign_in_from_another_site_is_refused(base: str, account: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as http:
        for headers in (
            {"Origin": "https://evil.example"},
            {"Sec-Fetch-Site": "cross-site"},
            {"Origin": "null"},
        ):
            response = http.post(
                "/signin", json={"login": account, "password": PASSWORD}, headers=headers
            )
            assert response.status_code == 403, headers
            assert COOKIE not in response.cookies


def test_changes_need_the_csrf_token_and_the_same_origin(
    base: str, account: str, registry: LayerRegistry, demo_db_url: str
) -> None:
    process = f"{base}/ogc/processes/nearest-shelter/execution"
    inputs = {"inputs": {"origin": {"lon": 33.47, "lat": 50.75}, "limit": 1}}
    with httpx.Client(base_url=base, timeout=60) as http:
        token = _sign_in(http, base)
        csrf = {CSRF_HEADER: csrf_token(token)}
        refused = [
            http.post(process, json=inputs, headers=headers)
            for headers in (
                {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
                {"Origin": base, "Sec-Fetch-Site": "same-origin"},  # no token
                {"Origin": base, CSRF_HEADER: "forged"},
                {"Origin": "https://evil.example", **csrf},
                {"Sec-Fetch-Site": "same-site", **csrf},
            )
        ]
        assert [r.status_code for r in refused] == [403] * 5
        assert refused[0].json()["code"] == "Forbidden"
        assert "CSRF" in refused[0].json()["description"]
        # a cross-site sign-out is refused too: the session is still alive
        assert http.post("/signout", headers={"Origin": "https://evil.example"}).status_code == 403
        form = http.post("/signout", data={"csrf_token": "forged"}, headers={"Origin": base})
        assert form.status_code == 403
        assert _session_row(demo_db_url, token) == (account, False)
        ok = http.post(process, json=inputs, headers={"Origin": base, **csrf})
        assert ok.status_code == 200, ok.text[:300]
        # a header credential is no ambient one: no token needed, the cookie is not used
        basic = base64.b64encode(f"{account}:{PASSWORD}".encode()).decode()
        with_header = http.post(process, json=inputs, headers={"Authorization": f"Basic {basic}"})
        assert with_header.status_code == 200
        # a plain HTML form sends the token as a hidden field
        out = http.post(
            "/signout",
            data={"csrf_token": csrf_token(token), "next": "/"},
            headers={"Origin": base},
        )
        assert out.status_code == 303
    assert _session_row(demo_db_url, token) == (account, True)


def test_sign_out_ends_the_session_on_the_server(
    base: str, account: str, registry: LayerRegistry, demo_db_url: str
) -> None:
    hidden = staff_only(registry)
    with httpx.Client(base_url=base, timeout=30) as http:
        token = _sign_in(http, base)
        response = http.post("/signout", headers={"Origin": base, CSRF_HEADER: csrf_token(token)})
        assert response.status_code == 200
        assert response.json()["signedIn"] is False
        (cleared,) = _cookies(response, COOKIE)
        assert cleared["max-age"] == "0" and cleared.value in ("", '""')
        assert COOKIE not in http.cookies
    # the old cookie, replayed, is worth nothing
    with httpx.Client(base_url=base, timeout=30, cookies={COOKIE: token}) as replay:
        assert not _listed(replay) & hidden
        assert replay.get("/session").json()["signedIn"] is False
    assert _session_row(demo_db_url, token) == (account, True)


def test_sessions_expire_idle_and_end_with_the_account(
    base: str, account: str, registry: LayerRegistry, demo_db_url: str
) -> None:
    hidden = staff_only(registry)
    tokens = []
    for _ in range(3):  # one browser each: a new sign-in ends the browser's old session
        with httpx.Client(base_url=base, timeout=30) as http:
            tokens.append(_sign_in(http, base))
    idle, expired, disabled = tokens
    digest = {t: hashlib.sha256(t.encode()).digest() for t in (idle, expired, disabled)}
    with psycopg.connect(demo_db_url) as conn:
        conn.execute(
            "UPDATE auth.sessions SET last_seen_at = now() - make_interval(secs => idle_s + 1) "
            "WHERE token_hash = %s",
            [digest[idle]],
        )
        conn.execute(
            "UPDATE auth.sessions SET expires_at = now() - interval '1 second' "
            "WHERE token_hash = %s",
            [digest[expired]],
        )
    for token in (idle, expired):
        with httpx.Client(base_url=base, timeout=30, cookies={COOKIE: token}) as http:
            assert not _listed(http) & hidden
    with httpx.Client(base_url=base, timeout=30, cookies={COOKIE: disabled}) as http:
        assert hidden <= _listed(http)
        with psycopg.connect(demo_db_url) as conn:
            Accounts(conn, registry.role_names).set_disabled(account, True)
            conn.commit()
            try:
                assert not _listed(http) & hidden
                ended = conn.execute(
                    "SELECT ended_at IS NOT NULL FROM auth.sessions WHERE token_hash = %s",
                    [digest[disabled]],
                ).fetchone()
                assert ended == (True,)
            finally:
                Accounts(conn, registry.role_names).set_disabled(account, False)
                conn.commit()


ROUTE_KINDS = (
    "/",
    "/?lang=en",
    "/static/js/map.js",
    "/ogc",
    "/ogc/conformance",
    "/ogc/collections?f=html",
    "/ogc/collections/no_such_layer",
    "/ogc/tiles/WebMercatorQuad",
    "/ogc/processes",
    "/ogc/static/ogc.css",
    "/session",
    "/healthz",
    "/readyz",
    "/metrics",
    "/no/such/page",
)


def test_security_headers_on_every_route_kind(base: str, registry: LayerRegistry) -> None:
    layer = registry.list(ANONYMOUS)[0].name
    paths = (
        *ROUTE_KINDS,
        f"/ogc/collections/{layer}/items?f=json&limit=1",
        f"/ogc/collections/{layer}/items?f=html&limit=1",
    )
    with httpx.Client(base_url=base, timeout=30) as http:
        responses = [http.get(p) for p in paths]
        responses.append(http.post("/signin", json={}, headers={"Origin": base}))
        responses.append(http.get("/ogc", headers={"Host": "evil.example"}))  # 400
    assert responses[-1].status_code == 400
    for response in responses:
        where = f"{response.request.method} {response.request.url}"
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff", where
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin", where
        csp = headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["frame-ancestors"] == "'self'", where
        assert "'unsafe-inline'" not in directives["script-src"], where
        assert "'unsafe-eval'" not in directives["script-src"], where
        assert directives["object-src"] == "'none'", where
        assert headers["x-frame-options"] == "SAMEORIGIN", where
        assert "strict-transport-security" not in headers, where  # plain http
    # the map lists its inline start-up script by hash
    assert "'sha256-" in responses[0].headers["content-security-policy"]


def test_cors_preflight_and_simple_reads_from_another_origin(base: str, account: str) -> None:
    other = "https://other.example"
    with httpx.Client(base_url=base, timeout=30) as http:
        preflight = http.options(
            "/ogc/collections",
            headers={
                "Origin": other,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization, accept-language",
            },
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "*"
        assert "GET" in preflight.headers["access-control-allow-methods"]
        assert "Authorization" in preflight.headers["access-control-allow-headers"]
        assert "access-control-allow-credentials" not in preflight.headers
        refused = http.options(
            "/ogc/processes/nearest-shelter/execution",
            headers={"Origin": other, "Access-Control-Request-Method": "POST"},
        )
        assert refused.status_code == 403
        assert "access-control-allow-origin" not in refused.headers
        simple = http.get("/ogc/collections", headers={"Origin": other})
        assert simple.status_code == 200
        assert simple.headers["access-control-allow-origin"] == "*"
        assert "ETag" in simple.headers["access-control-expose-headers"]
        assert "access-control-allow-credentials" not in simple.headers
        # an OPTIONS that is no preflight (QGIS asking what is allowed) goes on to the API
        plain = http.options("/ogc/collections", headers={"Origin": other})
        assert "access-control-allow-methods" not in plain.headers
        # the session endpoints never answer another origin
        for path in ("/session", "/"):
            assert (
                "access-control-allow-origin"
                not in http.get(path, headers={"Origin": other}).headers
            )
        token = _sign_in(http, base)
        signed = http.get("/ogc/collections", headers={"Origin": other})
        assert signed.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in signed.headers
        assert token


def test_cors_with_a_list_of_origins_echoes_the_origin_and_varies(
    demo_db_url: str, registry: LayerRegistry
) -> None:
    from gisplatform.ogcapi import create_app

    allowed = "https://romny.example"
    settings = make_settings(demo_db_url, cors_origins=f"{allowed}, https://data.example")
    with (
        live_server(create_app(settings, registry)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        ok = http.get("/ogc/collections", headers={"Origin": allowed})
        assert ok.headers["access-control-allow-origin"] == allowed
        assert "Origin" in ok.headers["vary"]
        other = http.get("/ogc/collections", headers={"Origin": "https://evil.example"})
        assert other.status_code == 200
        assert "access-control-allow-origin" not in other.headers
        assert "Origin" in other.headers["vary"]
        preflight = http.options(
            "/ogc/collections",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert preflight.status_code == 403
        good = http.options(
            "/ogc/collections",
            headers={"Origin": allowed, "Access-Control-Request-Method": "HEAD"},
        )
        assert good.status_code == 204
        assert good.headers["access-control-allow-origin"] == allowed


def test_origin_settings_are_checked() -> None:
    from pydantic import ValidationError

    from gisplatform.settings import Settings

    settings = Settings(cors_origins="https://romny.example/, http://127.0.0.1:8000")  # type: ignore[arg-type]
    assert settings.cors_origins == ["https://romny.example", "http://127.0.0.1:8000"]
    assert Settings(cors_origins="").cors_origins == []  # type: ignore[arg-type]
    assert Settings().cors_origins == ["*"] and Settings().frame_ancestors == ["'self'"]
    for bad in ("romny.example", "https://romny.example/map", "ftp://romny.example"):
        with pytest.raises(ValidationError, match="not an origin"):
            Settings(cors_origins=bad)  # type: ignore[arg-type]


def test_a_basemap_joins_the_map_pages_img_src(registry: LayerRegistry) -> None:
    from fastapi import FastAPI

    from gisplatform.webmap import mount_webmap

    app = FastAPI()
    mount_webmap(app, registry, basemap_url="https://{s}.tile.example.org/{z}/{x}/{y}.png")
    with live_server(app) as url:
        response = httpx.get(url + "/?lang=en", timeout=30)
    assert response.status_code == 200
    directives = dict(
        d.strip().split(" ", 1) for d in response.headers["content-security-policy"].split(";")
    )
    assert directives["img-src"].split() == [
        "'self'",
        "data:",
        "blob:",
        "https://*.tile.example.org",
    ]
    assert "'sha256-" in directives["script-src"]
    assert "/static/js/account.js" in response.text
