"""The publication kill switch, from the outside: a withdrawal reaches every anonymous endpoint
at once, staff keep seeing the data, restoring brings it back, and both are in the audit log.

The layer withdrawn is each layer the registry marks ``sensitive`` (shelters), the field one
its map searches by, the area a small square around one of its features; the endpoints checked
are those of the registry-driven access matrix (``tests/test_auth_matrix.py``), with the
expected audience being the public less what is withdrawn.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mapbox_vector_tile
import morecantile
import psycopg
import pytest

from gisplatform.access.publication.store import Publication, Target, check_target, public_reader
from gisplatform.registry import ANONYMOUS, Audience, LayerRegistry, LayerSpec
from gisplatform.webmap.export import export_static_map
from tests.accounts_helpers import made_accounts
from tests.live import live_server, platform_app
from tests.test_auth_matrix import Caller, _check_layer, _first_feature

pytestmark = pytest.mark.db

MERCATOR = morecantile.tms.get("WebMercatorQuad")
PASSWORD = "kill-" + base64.b16encode(os.urandom(6)).decode()
#: how soon a withdrawal must be in force everywhere (the brief: within 1 s, no restart)
WITHIN_S = 1.0


@pytest.fixture(scope="module")
def accounts(demo_db_url: str, registry: LayerRegistry) -> Iterator[dict[str, dict[str, str]]]:
    """An admin and a staff account without roles, with their Basic headers."""
    roles: dict[str, list[str]] = {"admin": ["admin"], "staff": []}
    with made_accounts(demo_db_url, registry, "ks-", roles, PASSWORD) as made:
        yield made


@pytest.fixture(scope="module")
def base(demo_db_url: str, registry: LayerRegistry) -> Iterator[str]:
    with live_server(platform_app(demo_db_url, registry)) as url:
        yield url


@pytest.fixture
def owner(demo_db_url: str, registry: LayerRegistry) -> Iterator[Publication]:
    """The CLI's own code path (the owner's connection); nothing stays withdrawn after."""
    with psycopg.connect(demo_db_url, autocommit=True) as conn:
        publication = Publication(conn, registry)
        yield publication
        left = [w.id for w in publication.listing()]
        if left:
            publication.restore(left, "tests (cleanup)")


def _sensitive(registry: LayerRegistry) -> list[LayerSpec]:
    found = [s for s in registry.list(ANONYMOUS) if s.sensitive]
    assert found, "the registry marks no public layer sensitive"
    return found


def _until(check: Any, what: str) -> float:
    """Seconds until ``check()`` holds; fails past :data:`WITHIN_S`."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < WITHIN_S, f"{what}: not within {WITHIN_S} s"
        time.sleep(0.02)
    return time.monotonic() - started


def _listed(http: httpx.Client) -> set[str]:
    return {c["id"] for c in http.get("/ogc/collections").json()["collections"]} - {
        "catalogue",
        "reports",
    }


def _tile_url(spec: LayerSpec, lon: float, lat: float, whole_map: bool = False) -> str:
    z = max(spec.min_zoom, 16)
    tile = MERCATOR.tile(lon, lat, z)
    prefix = "/ogc" if whole_map else f"/ogc/collections/{spec.name}"
    return f"{prefix}/tiles/WebMercatorQuad/{z}/{tile.y}/{tile.x}"


def _webmap_config(http: httpx.Client, lang: str = "uk") -> dict[str, Any]:
    page = http.get(f"/?lang={lang}").text
    found = re.search(r"window\.gisplatform\.start\([^,]+, (\{.*\})\);", page)
    assert found, "no map configuration in the page"
    config: dict[str, Any] = json.loads(found.group(1).replace("<\\/", "</"))
    return config


def _check_public(
    http: httpx.Client, registry: LayerRegistry, reader: Audience, samples: dict[str, Any]
) -> None:
    """Every anonymous endpoint serves exactly what ``reader`` (the public less what is
    withdrawn) may see: listings, catalogue, tilesets, OpenAPI, web map, processes, and for
    each layer its collection, items, item, queryables, schema, tiles and pages."""
    expected = {s.name for s in registry.list(reader)}
    assert _listed(http) == expected
    records = http.get("/ogc/collections/catalogue/items?limit=100").json()
    assert {r["id"] for r in records["features"]} - {"reports"} == expected
    tilesets = http.get("/ogc/tiles/WebMercatorQuad").json()
    assert {layer["id"] for layer in tilesets["layers"]} <= expected
    openapi = http.get("/ogc/api").json()
    enums = [
        p["schema"].get("enum")
        for path in openapi["paths"].values()
        for op in path.values()
        for p in op.get("parameters", [])
        if p.get("name") == "collectionId"
    ]
    assert enums and all(set(e) == expected for e in enums if e is not None)
    config = _webmap_config(http)
    assert {entry["name"] for entry in config["layers"]} == expected
    for entry in config["layers"]:
        spec = registry.get(entry["name"])
        shown = {f.name for f in spec.fields_for(reader)}
        assert {f["name"] for f in entry["fields"]} == shown, entry["name"]
        assert set(entry["search"]) | set(entry["filters"]) <= shown, entry["name"]
        assert {entry["labelField"], entry["categorizeBy"]} <= shown | {None}, entry["name"]
    assert config["nearest"] is None or config["nearest"]["layer"] in expected
    listing = http.get("/ogc/processes").json()
    offered = {p["id"] for p in listing["processes"]}
    from gisplatform.analyses.processes import AnalysisProcessor

    for kind in AnalysisProcessor.__subclasses__():
        readable = not reader.withdrawn.intersection(kind.SPEC.layers)
        assert (kind.SPEC.id in offered) == readable, kind.SPEC.id
        status = http.get(f"/ogc/processes/{kind.SPEC.id}").status_code
        assert status == (200 if readable else 404), kind.SPEC.id
        if not readable:
            run = http.post(f"/ogc/processes/{kind.SPEC.id}/execution", json={"inputs": {}})
            assert run.status_code == 404, kind.SPEC.id
    anonymous = Caller("anonymous", reader, {})
    for spec in registry.list(ANONYMOUS):
        for page in (f"/ogc/collections/{spec.name}?f=html", "/ogc/collections?f=html"):
            text = http.get(page).text
            if spec.name not in expected:
                assert f">{spec.title.uk}<" not in text, page
        record = http.get(f"/ogc/collections/catalogue/items/{spec.name}")
        assert record.status_code == (200 if spec.name in expected else 404), spec.name
        _check_layer(http, spec, anonymous, samples[spec.name])


def _decoded(http: httpx.Client, url: str, headers: dict[str, str] | None = None) -> Any:
    response = http.get(url, headers=headers or {})
    if response.status_code == 204:
        return {}
    assert response.status_code == 200, (url, response.status_code)
    return mapbox_vector_tile.decode(response.content)


def test_withdrawing_a_layer_reaches_every_anonymous_endpoint_at_once(
    base: str,
    registry: LayerRegistry,
    demo_db_url: str,
    accounts: dict[str, dict[str, str]],
    owner: Publication,
    tmp_path: Path,
) -> None:
    samples = {spec.name: _first_feature(demo_db_url, spec) for spec in registry}
    with httpx.Client(base_url=base, timeout=60) as http:
        _check_public(http, registry, ANONYMOUS, samples)
        for spec in _sensitive(registry):
            fid, lon, lat = samples[spec.name]
            tile, whole = _tile_url(spec, lon, lat), _tile_url(spec, lon, lat, whole_map=True)
            before = http.get(tile)
            assert http.get(tile).headers["x-tile-cache"] == "hit"  # cached a moment ago
            assert spec.name in _decoded(http, whole)
            owner.withdraw(Target(spec.name), "розпорядження МВА № 1 (test)", "tester (cli)")
            took = _until(lambda n=spec.name: n not in _listed(http), "listing")  # type: ignore[misc]
            # the tile cached a moment ago is not served, not even revalidated
            assert http.get(tile).status_code == 404
            stale = http.get(tile, headers={"If-None-Match": before.headers["etag"]})
            assert stale.status_code == 404
            assert spec.name not in _decoded(http, whole)
            print(f"{spec.name} withdrawn from the listing after {took * 1000:.0f} ms")
        reader = public_reader(owner.listing())
        _check_public(http, registry, reader, samples)
        out = tmp_path / "map.html"
        export_static_map(demo_db_url, registry, out)
        exported = out.read_text(encoding="utf-8")
        for spec in _sensitive(registry):
            assert f'"name": "{spec.name}"' not in exported  # no entry, no data
            assert json.dumps(spec.title.uk, ensure_ascii=False) not in exported
        with httpx.Client(base_url=base, headers=accounts["staff"], timeout=60) as staff:
            for spec in _sensitive(registry):
                assert spec.name in _listed(staff)
                fid, lon, lat = samples[spec.name]
                decoded = _decoded(staff, _tile_url(spec, lon, lat))
                assert any(f["id"] == fid for f in decoded[spec.name]["features"])
        owner.restore([w.id for w in owner.listing()], "tester (cli)", "скасовано (test)")
        _until(lambda: all(s.name in _listed(http) for s in _sensitive(registry)), "restore")
        _check_public(http, registry, ANONYMOUS, samples)
    events = owner.log(10)
    for spec in _sensitive(registry):
        mine = [e for e in events if e.layer == spec.name and e.field is None]
        assert [e.action for e in mine[:2]] == ["restore", "withdraw"]
        assert mine[1].reason == "розпорядження МВА № 1 (test)"
        assert mine[0].reason == "скасовано (test)"
        assert all(e.actor == "tester (cli)" and e.via == "cli" for e in mine[:2])
        assert mine[0].at >= mine[1].at


def _search_field(spec: LayerSpec) -> str:
    """The field the layer's map searches by (else its first public field)."""
    public = [f.name for f in spec.fields_for(ANONYMOUS)]
    return next((name for name in spec.map.search if name in public), public[0])


def test_withdrawing_a_field_empties_it_for_the_public_only(
    base: str,
    registry: LayerRegistry,
    demo_db_url: str,
    accounts: dict[str, dict[str, str]],
    owner: Publication,
    tmp_path: Path,
) -> None:
    samples = {spec.name: _first_feature(demo_db_url, spec) for spec in registry}
    with httpx.Client(base_url=base, timeout=60) as http:
        for spec in _sensitive(registry):
            name = _search_field(spec)
            fid, lon, lat = samples[spec.name]
            tile = _tile_url(spec, lon, lat)
            assert any(name in f["properties"] for f in _decoded(http, tile)[spec.name]["features"])
            owner.withdraw(Target(spec.name, name), "поле (test)", "tester (cli)")
            _until(
                lambda s=spec, n=name: (
                    n  # type: ignore[misc]
                    not in http.get(f"/ogc/collections/{s.name}/queryables").json()["properties"]
                ),
                "queryables",
            )
            decoded = _decoded(http, tile)[spec.name]["features"]
            assert decoded and not any(name in f["properties"] for f in decoded)
            with httpx.Client(base_url=base, headers=accounts["staff"], timeout=60) as staff:
                item = staff.get(f"/ogc/collections/{spec.name}/items/{fid}").json()
                assert name in item["properties"]
        _check_public(http, registry, public_reader(owner.listing()), samples)
    with psycopg.connect(demo_db_url) as conn:
        conn.execute("SET ROLE gisplatform_public")
        for spec in _sensitive(registry):
            column = _search_field(spec)
            row = conn.execute(
                f"SELECT count({column}) FROM api_public.{spec.name}"  # noqa: S608
            ).fetchone()
            assert row == (0,), "the public view still holds the withdrawn field"
    out = tmp_path / "map.html"
    export_static_map(demo_db_url, registry, out)
    exported = out.read_text(encoding="utf-8")
    for spec in _sensitive(registry):
        entry = json.loads(_layer_json(exported, spec.name))
        name = _search_field(spec)
        assert name not in {f["name"] for f in entry["fields"]}
        features = entry["data"]["features"]
        assert features and not any(name in f["properties"] for f in features)


def _layer_json(page: str, name: str) -> str:
    """The text of one layer's entry in an exported page's configuration."""
    found = re.search(r"window\.gisplatform\.start\([^,]+, (\{.*\})\);", page)
    assert found
    config = json.loads(found.group(1).replace("<\\/", "</"))
    entry = [e for e in config["layers"] if e["name"] == name]
    assert len(entry) == 1
    return json.dumps(entry[0], ensure_ascii=False)


def _square_around(lon: float, lat: float, half: float = 0.0002) -> str:
    return (
        f"POLYGON(({lon - half} {lat - half}, {lon + half} {lat - half}, {lon + half} "
        f"{lat + half}, {lon - half} {lat + half}, {lon - half} {lat - half}))"
    )


def test_withdrawing_an_area_hides_the_features_inside_it(
    base: str,
    registry: LayerRegistry,
    demo_db_url: str,
    accounts: dict[str, dict[str, str]],
    owner: Publication,
    tmp_path: Path,
) -> None:
    from gisplatform.access.publication.store import parse_area

    for spec in _sensitive(registry):
        with psycopg.connect(demo_db_url) as conn:
            rows = conn.execute(
                f"SELECT fid, ST_X(geom), ST_Y(geom) FROM gis.{spec.name} "  # noqa: S608
                "ORDER BY fid LIMIT 30 OFFSET 1"
            ).fetchall()
        # a feature (not the first: the matrix samples it) a filter can fail on alone
        fid, lon, lat, oracle = next(
            (r[0], r[1], r[2], found)
            for r in rows
            if (found := _division_oracle(demo_db_url, spec, r[0])) is not None
        )
        area = parse_area(_square_around(lon, lat))
        with httpx.Client(base_url=base, timeout=60) as http:
            tile = _tile_url(spec, lon, lat)
            assert any(f["id"] == fid for f in _decoded(http, tile)[spec.name]["features"])
            items_url = f"/ogc/collections/{spec.name}/items"
            # the filter fails on that row alone: the row is there
            assert http.get(items_url, params={"filter": oracle}).status_code != 200
            owner.withdraw(check_target(registry, spec.name, None, area), "смуга (test)", "t")
            item = f"/ogc/collections/{spec.name}/items/{fid}"
            _until(lambda u=item: http.get(u).status_code == 404, "item")  # type: ignore[misc]
            features = _decoded(http, tile).get(spec.name, {"features": []})["features"]
            assert not any(f["id"] == fid for f in features)
            bbox = f"{lon - 0.001},{lat - 0.001},{lon + 0.001},{lat + 0.001}"
            items = http.get(f"/ogc/collections/{spec.name}/items?bbox={bbox}").json()
            assert fid not in {f["id"] for f in items["features"]}
            # a caller's filter never runs on the rows the view withholds
            assert http.get(items_url, params={"filter": oracle}).status_code == 200
            with psycopg.connect(demo_db_url) as conn:
                options = conn.execute(
                    "SELECT reloptions FROM pg_class WHERE oid = %s::regclass",
                    [f"api_public.{spec.name}"],
                ).fetchone()
            assert options and "security_barrier=t" in (options[0] or [])
            with httpx.Client(base_url=base, headers=accounts["staff"], timeout=60) as staff:
                assert staff.get(item).status_code == 200
            _check_public(
                http,
                registry,
                public_reader(owner.listing()),
                {s.name: _first_feature(demo_db_url, s) for s in registry},
            )
        out = tmp_path / f"{spec.name}.html"
        export_static_map(demo_db_url, registry, out)
        entry = json.loads(_layer_json(out.read_text(encoding="utf-8"), spec.name))
        assert fid not in {f["id"] for f in entry["data"]["features"]}
        assert entry["data"]["features"], "the export lost the features outside the area"
        found = owner.matching(Target(spec.name, None, area))
        assert len(found) == 1 and found[0].scope == "area"
        owner.restore([found[0].id], "t")
        with psycopg.connect(demo_db_url) as conn:
            options = conn.execute(
                "SELECT reloptions FROM pg_class WHERE oid = %s::regclass",
                [f"api_public.{spec.name}"],
            ).fetchone()
        assert options and "security_barrier=f" in (options[0] or [])
        with httpx.Client(base_url=base, timeout=60) as http:
            assert http.get(f"/ogc/collections/{spec.name}/items/{fid}").status_code == 200


def _division_oracle(url: str, spec: LayerSpec, fid: int) -> str | None:
    """A CQL2 filter that divides by zero on feature ``fid`` only (a public number field whose
    value no other feature has), or None when the layer has none."""
    numbers = [f.name for f in spec.fields_for(ANONYMOUS) if f.type.value in ("integer", "number")]
    with psycopg.connect(url) as conn:
        for name in numbers:
            row = conn.execute(
                f"SELECT t.{name}, (SELECT count(*) FROM gis.{spec.name} AS o "  # noqa: S608
                f"WHERE o.{name} = t.{name}) FROM gis.{spec.name} AS t WHERE t.fid = %s",
                [fid],
            ).fetchone()
            if row and row[0] is not None and row[1] == 1:
                return f"{name} / ({name} - {row[0]}) > 0"
    return None


def test_sensitive_layers_are_cached_briefly_by_browsers_and_proxies(
    base: str, registry: LayerRegistry, demo_db_url: str, accounts: dict[str, dict[str, str]]
) -> None:
    plain = [s for s in registry.list(ANONYMOUS) if not s.sensitive]
    with httpx.Client(base_url=base, timeout=60) as http:
        for spec in _sensitive(registry):
            fid, lon, lat = _first_feature(demo_db_url, spec) or (0, 0.0, 0.0)
            for path in (
                f"/ogc/collections/{spec.name}/items",
                f"/ogc/collections/{spec.name}/items/{fid}",
                _tile_url(spec, lon, lat),
                _tile_url(spec, lon, lat, whole_map=True),
                "/ogc/collections",
                f"/ogc/collections/catalogue/items/{spec.name}",
                "/",
            ):
                said = http.get(path).headers.get("cache-control", "")
                if path == "/":  # the map page depends on who is signed in: never kept at all
                    assert said == "private, no-cache", (path, said)
                    continue
                if path.endswith(f"/items/{fid}"):  # one feature: revalidated by its ETag each
                    assert said == "public, no-cache", (path, said)  # time, stricter still
                    continue
                assert said == "public, max-age=30, must-revalidate", (path, said)
        for spec in plain[:3]:
            said = http.get(f"/ogc/collections/{spec.name}/items").headers.get("cache-control")
            assert said is None or "max-age=30" not in said, spec.name
    with httpx.Client(base_url=base, headers=accounts["staff"], timeout=60) as staff:
        for spec in _sensitive(registry):
            fid, lon, lat = _first_feature(demo_db_url, spec) or (0, 0.0, 0.0)
            said = staff.get(_tile_url(spec, lon, lat)).headers["cache-control"]
            assert said.startswith("private"), said
