"""Every layer × audience × endpoint kind serves exactly what the registry allows, nothing else.

Audiences: anonymous, staff without roles, and one account per role of ``layers/_roles.yaml``,
signed in with Basic (password) and with Bearer (personal token). Hidden layers are 404 like
unknown ones and absent from every listing; tiles are decoded; pages are read as text.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import mapbox_vector_tile
import morecantile
import psycopg
import pytest

from gisplatform.ogcapi.tilequeries import DEMO_ATTRIBUTE
from gisplatform.registry import ANONYMOUS, Audience, LayerRegistry, LayerSpec
from gisplatform.reports.marks import MARK_PROPERTY
from gisplatform.store.accounts import Accounts
from tests.conftest import make_settings
from tests.live import live_server, platform_app

pytestmark = pytest.mark.db

MERCATOR = morecantile.tms.get("WebMercatorQuad")
PASSWORD = "matrix-" + base64.b16encode(os.urandom(6)).decode()


@dataclass(frozen=True)
class Caller:
    """One audience of the matrix and the headers it sends."""

    name: str
    audience: Audience
    headers: dict[str, str]


def _basic(login: str) -> dict[str, str]:
    pair = base64.b64encode(f"{login}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


@pytest.fixture(scope="module")
def callers(demo_db_url: str, registry: LayerRegistry) -> Iterator[list[Caller]]:
    logins = {"matrix-staff": ()} | {f"matrix-{r.name}": (r.name,) for r in registry.roles}
    made: list[Caller] = [Caller("anonymous", ANONYMOUS, {})]
    with psycopg.connect(demo_db_url) as conn:
        accounts = Accounts(conn, registry.role_names)
        conn.execute("DELETE FROM auth.users WHERE login LIKE 'matrix-%'")
        for login, roles in logins.items():
            accounts.add(login, list(roles), PASSWORD)
            audience = Audience(signed_in=True, roles=frozenset(roles))
            made.append(Caller(f"{login} (basic)", audience, _basic(login)))
            token = accounts.create_token(login, "matrix", None)
            made.append(Caller(f"{login} (bearer)", audience, {"Authorization": f"Bearer {token}"}))
        conn.commit()
    yield made
    with psycopg.connect(demo_db_url) as conn:
        conn.execute("DELETE FROM auth.users WHERE login LIKE 'matrix-%'")
        conn.execute("DELETE FROM auth.events WHERE login LIKE 'matrix-%'")


@pytest.fixture(scope="module")
def base(demo_db_url: str, registry: LayerRegistry) -> Iterator[str]:
    with live_server(platform_app(demo_db_url, registry)) as url:
        yield url


def _first_feature(demo_db_url: str, spec: LayerSpec) -> tuple[int, float, float] | None:
    with psycopg.connect(demo_db_url) as conn:
        row = conn.execute(
            f"SELECT fid, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "  # noqa: S608
            f"FROM gis.{spec.name} ORDER BY fid LIMIT 1"
        ).fetchone()
    return (int(row[0]), float(row[1]), float(row[2])) if row else None


def _check_layer(
    http: httpx.Client, spec: LayerSpec, caller: Caller, sample: tuple[int, float, float] | None
) -> None:
    visible = spec.visible_to(caller.audience)
    allowed = {f.name for f in spec.fields_for(caller.audience)} if visible else set()
    hidden = {f.name for f in spec.fields} - allowed
    where = f"{spec.name} as {caller.name}"
    unknown = http.get("/ogc/collections/no_such_layer").json()
    for path in (
        f"/ogc/collections/{spec.name}",
        f"/ogc/collections/{spec.name}/items?limit=3",
        f"/ogc/collections/{spec.name}/queryables",
        f"/ogc/collections/{spec.name}/schema",
        f"/ogc/collections/{spec.name}/tiles",
        f"/ogc/collections/{spec.name}/items?f=html",
    ):
        response = http.get(path)
        if not visible:
            assert response.status_code == 404, (where, path)
            if "f=html" not in path and "/tiles" not in path:
                assert response.json() == unknown, (where, path)
            continue
        assert response.status_code == 200, (where, path, response.text[:200])
    if not visible:
        return
    queryables = http.get(f"/ogc/collections/{spec.name}/queryables").json()
    assert set(queryables["properties"]) - {"geometry"} <= allowed, where
    schema = http.get(f"/ogc/collections/{spec.name}/schema").json()
    assert set(schema["properties"]) - {"geometry", "fid", "id"} <= allowed, where
    assert not hidden & set(schema["properties"]), where
    if sample is None:
        return
    fid, lon, lat = sample
    feature = http.get(f"/ogc/collections/{spec.name}/items/{fid}").json()
    # besides its fields, a feature may carry the public mark of a moderated resident's report
    assert set(feature["properties"]) - {MARK_PROPERTY} == allowed, where
    page = http.get(f"/ogc/collections/{spec.name}/items/{fid}?f=html")
    assert page.status_code == 200, where
    for name in hidden:
        title = spec.field(name).title
        assert f">{title.uk}<" not in page.text and f">{title.en}<" not in page.text, (where, name)
    z = max(spec.min_zoom, 16)
    tile = MERCATOR.tile(lon, lat, z)
    url = f"/ogc/collections/{spec.name}/tiles/WebMercatorQuad/{z}/{tile.y}/{tile.x}"
    response = http.get(url)
    assert response.status_code == 200, (where, url)
    decoded = mapbox_vector_tile.decode(response.content)
    assert set(decoded) == {spec.name}, where
    for item in decoded[spec.name]["features"]:
        assert set(item["properties"]) - {DEMO_ATTRIBUTE} <= allowed, where
    assert any(item["id"] == fid for item in decoded[spec.name]["features"]), where
    if not caller.audience.is_anonymous:
        assert response.headers["cache-control"].startswith("private"), where


def test_every_layer_for_every_audience(
    base: str, callers: list[Caller], registry: LayerRegistry, demo_db_url: str
) -> None:
    samples = {spec.name: _first_feature(demo_db_url, spec) for spec in registry}
    assert samples["lighting_cabinets"] is not None and samples["utility_facilities"] is not None
    seen_restricted: set[str] = set()
    for caller in callers:
        with httpx.Client(base_url=base, headers=caller.headers, timeout=60) as http:
            listing = http.get("/ogc/collections").json()
            listed = {c["id"] for c in listing["collections"]} - {"catalogue", "reports"}
            expected = {s.name for s in registry.list(caller.audience)}
            assert listed == expected, caller.name
            for collection in listing["collections"]:
                if collection["id"] in expected:
                    spec = registry.get(collection["id"])
                    assert collection["title"] == spec.title.get("uk")
            records = http.get("/ogc/collections/catalogue/items?limit=100").json()
            assert {r["id"] for r in records["features"]} - {"reports"} == expected, caller.name
            tilesets = http.get("/ogc/tiles/WebMercatorQuad").json()
            assert {layer["id"] for layer in tilesets["layers"]} <= expected, caller.name
            for spec in registry:
                _check_layer(http, spec, caller, samples[spec.name])
            seen_restricted |= expected - {s.name for s in registry.list(ANONYMOUS)}
    assert {"lighting_cabinets", "utility_facilities"} <= seen_restricted


def test_wrong_credentials_are_401_and_anonymous_is_unchanged(
    base: str, callers: list[Caller]
) -> None:
    with httpx.Client(base_url=base, timeout=30) as http:
        for headers in (
            {"Authorization": "Basic " + base64.b64encode(b"matrix-staff:wrong").decode()},
            {"Authorization": "Basic " + base64.b64encode(b"nobody-here:wrong").decode()},
            {"Authorization": "Basic not-base64!"},
            {"Authorization": "Bearer gpt_not_a_token"},
            {"Authorization": "Digest whatever"},
        ):
            response = http.get("/ogc/collections", headers=headers)
            assert response.status_code == 401, headers
            assert "Basic" in response.headers["www-authenticate"]
            assert "Bearer" in response.headers["www-authenticate"]
            assert response.json()["code"] == "Unauthorized"
        anonymous = http.get("/ogc/collections/lighting_cabinets")
        assert anonymous.status_code == 404
        assert (
            "cache-control" not in anonymous.headers
            or "private" not in anonymous.headers["cache-control"]
        )


def _gdal_layers(output: str) -> set[str]:
    """The layer names of an ``ogrinfo -so`` listing (``1: name (title: …) (Point)``)."""
    return set(re.findall(r"^\d+: (\w+)", output, flags=re.MULTILINE))


def _ogrinfo(base: str, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        ["ogrinfo", "-ro", "-so", f"OAPIF:{base}/ogc", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stdout + done.stderr


def _bearer_env(token: str) -> dict[str, str]:
    """How the installed GDAL sends a bearer token.

    GDAL >= 3.9 has ``GDAL_HTTP_AUTH=BEARER`` (and its OAPIF driver, e.g. 3.10 on Debian 13,
    does not send ``GDAL_HTTP_HEADERS``); older ones, e.g. 3.6 on Debian 12, take the header.
    """
    said = subprocess.run(["ogrinfo", "--version"], capture_output=True, text=True, check=True)
    version = said.stdout.split()[1].rstrip(",")  # "GDAL 3.6.2, released 2023/01/02"
    major, minor = (int(part) for part in version.split(".")[:2])
    if (major, minor) >= (3, 9):
        return {"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": token}
    return {"GDAL_HTTP_HEADERS": f"Authorization: Bearer {token}"}


def test_gdal_reads_restricted_layer_with_basic_and_bearer(
    base: str, callers: list[Caller], registry: LayerRegistry
) -> None:
    public = {s.name for s in registry.list(ANONYMOUS)} | {"catalogue", "reports"}
    assert _gdal_layers(_ogrinfo(base, {})) == public
    basic = _ogrinfo(
        base,
        {"GDAL_HTTP_AUTH": "BASIC", "GDAL_HTTP_USERPWD": f"matrix-lighting:{PASSWORD}"},
        "lighting_cabinets",
    )
    assert "Feature Count" in basic and "cabinet_id" in basic, basic
    bearer = next(c for c in callers if c.name == "matrix-lighting (bearer)")
    token = bearer.headers["Authorization"].removeprefix("Bearer ")
    listed = _gdal_layers(_ogrinfo(base, _bearer_env(token)))
    assert listed == public | {"lighting_cabinets"}, listed
    read = _ogrinfo(base, _bearer_env(token), "lighting_cabinets")
    assert "cabinet_id" in read, read


def test_python_client_reads_with_a_token(base: str, callers: list[Caller]) -> None:
    from gisplatform.client import Client, ClientError

    bearer = next(c for c in callers if c.name == "matrix-lighting (bearer)")
    token = bearer.headers["Authorization"].removeprefix("Bearer ")
    client, anonymous = Client(base, token=token), Client(base)
    try:
        cabinets = client.read_layer("lighting_cabinets")
        assert len(cabinets) > 0 and "cabinet_id" in cabinets.columns
        with pytest.raises(ClientError):
            anonymous.read_layer("lighting_cabinets")
    finally:
        client.close()
        anonymous.close()


def test_brute_force_is_429_and_recorded(
    base: str, callers: list[Caller], demo_db_url: str
) -> None:
    wrong = {"Authorization": "Basic " + base64.b64encode(b"matrix-utilities:guess").decode()}
    statuses = []
    with httpx.Client(base_url=base, timeout=60) as http:
        for _ in range(20):
            statuses.append(http.get("/ogc/collections", headers=wrong).status_code)
        assert statuses[:10] == [401] * 10
        assert set(statuses[10:]) == {429}
        limited = http.get("/ogc/collections", headers=wrong)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "300"
        # the right password from that address is refused too while the limit lasts, once
        # the credential's trust from the earlier tests (GISPLATFORM_AUTH_CACHE_SECONDS) is over
        right = next(c for c in callers if c.name == "matrix-utilities (basic)")
        time.sleep(make_settings(demo_db_url).auth_cache_seconds + 0.5)
        assert http.get("/ogc/collections", headers=right.headers).status_code == 429
    with psycopg.connect(demo_db_url) as conn:
        rows = conn.execute(
            "SELECT outcome, count(*) FROM auth.events WHERE login = 'matrix-utilities' "
            "AND address = '127.0.0.1' GROUP BY outcome"
        ).fetchall()
        dump = conn.execute(
            "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM auth.events) AS t"
        ).fetchone()
    counts = dict(rows)
    assert counts["failure"] == 10 and counts["limited"] >= 11
    assert dump is not None and "guess" not in dump[0] and PASSWORD not in dump[0]
