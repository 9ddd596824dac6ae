"""OGC API Features Part 4 over HTTP against a real server and PostGIS: every status code,
media type, ETag rule and CRS, the history's actor, and refusals that leave the layer as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import mapbox_vector_tile
import morecantile
import psycopg
import pytest
from pyproj import Transformer

from gisplatform.ogcapi.crs import north_first
from gisplatform.registry import LayerRegistry
from gisplatform.registry.writes import layer_writers, writer_role
from tests.edit_helpers import (
    GEOJSON,
    MERGE_PATCH,
    EditSite,
    edit_layer,
    edit_site,
    feature,
    history,
    layer_md5,
    point_in,
    unwritable_field,
    valid_properties,
    with_unwritable_field,
)

pytestmark = pytest.mark.db

MERCATOR = morecantile.tms.get("WebMercatorQuad")


@pytest.fixture(scope="module")
def site(server_url: str, registry: LayerRegistry) -> Iterator[EditSite]:
    with edit_site(server_url, with_unwritable_field(registry), "gisplatform_edit_api") as s:
        yield s


def _writer(site: EditSite) -> str:
    """A role that writes the edit layer through the layer's own write_roles."""
    return edit_layer(site.registry).write_roles[0]


def _client(site: EditSite, role: str | None = None) -> httpx.Client:
    headers = site.headers(role) if role else {}
    return httpx.Client(base_url=site.url + "/ogc", headers=headers, timeout=30)


def _items(site: EditSite) -> str:
    return f"/collections/{edit_layer(site.registry).name}/items"


def _create(site: EditSite, n: int = 0) -> tuple[int, str]:
    spec = edit_layer(site.registry)
    with _client(site, _writer(site)) as client:
        r = client.post(
            _items(site), json=feature(site.registry, spec, n), headers={"Content-Type": GEOJSON}
        )
    assert r.status_code == 201, r.text
    return int(r.headers["Location"].rsplit("/", 1)[1]), r.headers["ETag"]


def test_conformance_declares_part4(site: EditSite) -> None:
    classes = httpx.get(site.url + "/ogc/conformance").json()["conformsTo"]
    part4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/"
    for name in ("conf/create-replace-delete", "conf/update", "req/optimistic-locking-etags"):
        assert part4 + name in classes


def test_options_allow_is_computed_for_the_caller(site: EditSite) -> None:
    spec = edit_layer(site.registry)
    fid, _ = _create(site, 1)
    for role in [None, "staff", *(r.name for r in site.registry.roles)]:
        from gisplatform.registry import ANONYMOUS, Audience

        audience = (
            ANONYMOUS
            if role is None
            else Audience(True, frozenset(() if role == "staff" else {role}))
        )
        writes = writer_role(site.registry, spec, audience) is not None
        with _client(site, role) as client:
            on_items = client.options(_items(site))
            on_item = client.options(f"{_items(site)}/{fid}")
            on_unknown = client.options(f"{_items(site)}/unknown_id")
            head = client.head(f"{_items(site)}/{fid}")
        for response in (on_items, on_item, on_unknown, head):
            assert response.status_code == 200
        assert head.headers["ETag"] == '"v1"' and not head.content
        allowed = {m.strip() for m in on_items.headers["Allow"].split(",")}
        assert ("POST" in allowed) is writes, role
        assert {"GET", "HEAD"} <= allowed
        for response in (on_item, on_unknown):
            methods = {m.strip() for m in response.headers["Allow"].split(",")}
            assert ({"PUT", "PATCH", "DELETE"} <= methods) is writes, role
            assert not writes or "POST" not in methods


def test_post_201_location_etag_and_history_actor(site: EditSite) -> None:
    spec = edit_layer(site.registry)
    role = _writer(site)
    sent = feature(site.registry, spec, 2)
    with _client(site, role) as client:
        r = client.post(_items(site), json=sent, headers={"Content-Type": GEOJSON})
        assert r.status_code == 201, r.text
        location = r.headers["Location"]
        fid = int(location.rsplit("/", 1)[1])
        assert location.endswith(f"{_items(site)}/{fid}")
        assert r.json()["id"] == fid
        got = client.get(location)
    assert got.status_code == 200
    assert got.headers["ETag"] == r.headers["ETag"] == '"v1"'
    for name, value in sent["properties"].items():
        assert got.json()["properties"][name] == value
    assert history(site.db_url, spec, fid) == [("INSERT", site.logins[role], None)]


def test_content_crs_lands_where_pyproj_says(site: EditSite) -> None:
    spec = edit_layer(site.registry)
    offered = site.registry.hromada.offered_crs
    metric = site.registry.hromada.metric_crs
    ucs = next(code for code in offered if north_first(code) and code not in (4326,))
    centre = point_in(site.registry)["coordinates"]
    for code in (metric, ucs):
        forward = Transformer.from_crs(4326, code, always_xy=True)
        x, y = forward.transform(*centre)
        # the coordinates in the CRS's own axis order (EPSG: northing first for UCS-2000 TM)
        coords = [y, x] if north_first(code) else [x, y]
        body = feature(site.registry, spec, 3) | {
            "geometry": {"type": "Point", "coordinates": coords}
        }
        with _client(site, _writer(site)) as client:
            r = client.post(
                _items(site),
                json=body,
                headers={
                    "Content-Type": GEOJSON,
                    "Content-Crs": f"<http://www.opengis.net/def/crs/EPSG/0/{code}>",
                },
            )
        assert r.status_code == 201, r.text
        fid = int(r.headers["Location"].rsplit("/", 1)[1])
        with psycopg.connect(site.db_url) as conn:
            row = conn.execute(
                f"SELECT ST_X(geom), ST_Y(geom) FROM gis.{spec.name} WHERE fid = %s",  # noqa: S608
                [fid],
            ).fetchone()
        assert row is not None
        assert row[0] == pytest.approx(centre[0], abs=1e-7), code
        assert row[1] == pytest.approx(centre[1], abs=1e-7), code


def test_put_replaces_404_when_missing_and_checks_the_body_id(site: EditSite) -> None:
    spec = edit_layer(site.registry)
    fid, etag = _create(site, 4)
    replacement = feature(site.registry, spec, 5)
    with _client(site, _writer(site)) as client:
        headers = {"Content-Type": GEOJSON}
        wrong_id = client.put(
            f"{_items(site)}/{fid}", json=replacement | {"id": fid + 1000}, headers=headers
        )
        assert wrong_id.status_code == 400
        missing = client.put(f"{_items(site)}/987654321", json=replacement, headers=headers)
        assert missing.status_code == 404
        missing_if_match = client.put(
            f"{_items(site)}/987654321", json=replacement, headers=headers | {"If-Match": etag}
        )
        assert missing_if_match.status_code == 412
        stale = client.put(
            f"{_items(site)}/{fid}", json=replacement, headers=headers | {"If-Match": '"v99"'}
        )
        assert stale.status_code == 412
        r = client.put(
            f"{_items(site)}/{fid}",
            json=replacement | {"id": fid},
            headers=headers | {"If-Match": etag},
        )
        assert r.status_code == 200, r.text
        assert r.headers["ETag"] == '"v2"'
        assert client.get(f"{_items(site)}/{fid}").json()["properties"] | {} == {
            **client.get(f"{_items(site)}/{fid}").json()["properties"],
            **replacement["properties"],
        }


def test_patch_merge_null_unsets_and_id_cannot_change(site: EditSite) -> None:
    spec = edit_layer(site.registry)
    fid, _ = _create(site, 6)
    optional = next(
        f
        for f in spec.fields
        if not f.required and f.default is None and f.type.value == "string" and not f.pattern
    )
    url = f"{_items(site)}/{fid}"
    with _client(site, _writer(site)) as client:
        set_it = client.patch(
            url, json={"properties": {optional.name: "x"}}, headers={"Content-Type": MERGE_PATCH}
        )
        assert set_it.status_code == 200, set_it.text
        assert set_it.json()["properties"][optional.name] == "x"
        unset = client.patch(
            url, json={"properties": {optional.name: None}}, headers={"Content-Type": MERGE_PATCH}
        )
        assert unset.status_code == 200
        assert unset.json()["properties"][optional.name] is None
        assert unset.headers["ETag"] == '"v3"'
        moved = client.patch(url, json={"id": fid + 1}, headers={"Content-Type": MERGE_PATCH})
        assert moved.status_code == 400
        as_geojson = client.patch(url, json={"properties": {}}, headers={"Content-Type": GEOJSON})
        assert as_geojson.status_code == 415
    assert [entry[0] for entry in history(site.db_url, spec, fid)] == ["INSERT", "UPDATE", "UPDATE"]


def test_delete_204_then_gone_and_history_keeps_it(site: EditSite) -> None:
    spec = edit_layer(site.registry)
    fid, etag = _create(site, 7)
    with _client(site, _writer(site)) as client:
        assert (
            client.delete(f"{_items(site)}/{fid}", headers={"If-Match": '"v7"'}).status_code == 412
        )
        assert client.delete(f"{_items(site)}/{fid}", headers={"If-Match": etag}).status_code == 204
        assert client.get(f"{_items(site)}/{fid}").status_code == 404
        assert client.delete(f"{_items(site)}/{fid}").status_code == 404
    ops = history(site.db_url, spec, fid)
    assert [op for op, _, _ in ops] == ["INSERT", "DELETE"]
    assert ops[-1][1] == site.logins[_writer(site)]


def test_lost_update_is_prevented(site: EditSite) -> None:
    spec = edit_layer(site.registry)
    fid, etag = _create(site, 8)
    name = next(
        f.name
        for f in spec.fields
        if f.type.value == "string" and f.required and f.name not in spec.natural_key
    )
    url = f"{_items(site)}/{fid}"
    headers = {"Content-Type": MERGE_PATCH, "If-Match": etag}
    with _client(site, _writer(site)) as alice, _client(site, "admin") as bob:
        first = alice.patch(url, json={"properties": {name: "Alice"}}, headers=headers)
        second = bob.patch(url, json={"properties": {name: "Bob"}}, headers=headers)
        assert sorted([first.status_code, second.status_code]) == [200, 412]
        assert "v2" in second.json()["description"]
        assert alice.get(url).json()["properties"][name] == "Alice"


def test_writes_reach_tiles_catalogue_and_counts_on_the_next_request(site: EditSite) -> None:
    spec = edit_layer(site.registry)
    lon, lat = point_in(site.registry, 9)["coordinates"]
    z = max(spec.min_zoom, 16)
    tile = MERCATOR.tile(lon, lat, z)
    tile_url = f"/collections/{spec.name}/tiles/WebMercatorQuad/{z}/{tile.y}/{tile.x}"

    def state(client: httpx.Client) -> tuple[int, set[int], int, list[float]]:
        matched = client.get(_items(site), params={"limit": 1}).json()["numberMatched"]
        decoded = mapbox_vector_tile.decode(client.get(tile_url).content)
        ids = {int(f["id"]) for f in decoded.get(spec.name, {}).get("features", [])}
        record = client.get(f"/collections/catalogue/items/{spec.name}").json()
        spatial = client.get(f"/collections/{spec.name}").json()["extent"].get("spatial", {})
        return matched, ids, record["properties"]["featureCount"], spatial.get("bbox", [[]])[0]

    with _client(site) as client:
        before = state(client)  # warms every cache keyed by the layer's revision
        fid, _ = _create(site, 9)
        after = state(client)
    assert after[0] == before[0] + 1
    assert fid not in before[1] and fid in after[1]
    assert after[2] == before[2] + 1
    extent = after[3]
    assert extent[0] <= lon <= extent[2] and extent[1] <= lat <= extent[3]


def _bad_writes(site: EditSite, fid: int) -> list[tuple[str, str, dict[str, str], Any, int, str]]:
    """(what, method, headers, body, status, word the answer must name)."""
    registry = site.registry
    spec = edit_layer(registry)
    role = _writer(site)
    good = feature(registry, spec, 10)
    enum = next(f for f in spec.fields if f.type.value == "enum")
    ranged = next(f for f in spec.fields if f.maximum is not None)
    patterned = next(f for f in spec.fields if f.pattern)
    rule = next(r for r in spec.rules if r.severity.value == "error")
    broken = dict(good["properties"])
    for c in rule.when:
        broken[c.field] = c.values[0] if c.values else c.minimum
    for c in rule.then:
        target = spec.field(c.field)
        bad_value = next(
            (v.value for v in target.values if c.values is not None and v.value not in c.values),
            None,
        )
        broken[c.field] = bad_value if bad_value is not None else (c.minimum or 1) - 1
    unwritable = unwritable_field(registry, spec, role)
    geo = {"Content-Type": GEOJSON}
    line = {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}
    lon, lat = point_in(registry)["coordinates"]
    swapped = {"type": "Point", "coordinates": [lat, lon]}
    empty = {"type": "Point", "coordinates": []}
    nan_point = {"type": "Point", "coordinates": ["a", "b"]}
    props = good["properties"]
    big = "x" * (5 * 1024 * 1024 + 10)
    return [
        ("wrong geometry type", "POST", geo, good | {"geometry": line}, 422, "geometry"),
        ("empty geometry", "POST", geo, good | {"geometry": empty}, 422, "geometry"),
        ("outside the hromada", "POST", geo, good | {"geometry": swapped}, 422, "geometry"),
        ("no geometry", "POST", geo, good | {"geometry": None}, 422, "geometry"),
        ("unreadable geometry", "POST", geo, good | {"geometry": nan_point}, 422, "geometry"),
        (
            "unknown field",
            "POST",
            geo,
            good | {"properties": props | {"no_such_field": 1}},
            422,
            "no_such_field",
        ),
        (
            "system column",
            "POST",
            geo,
            good | {"properties": props | {"version": 7}},
            422,
            "version",
        ),
        (
            "field the caller may not write",
            "POST",
            geo,
            good | {"properties": props | {unwritable.name: 1}},
            422,
            unwritable.name,
        ),
        (
            "enum",
            "POST",
            geo,
            good | {"properties": props | {enum.name: "no-such-value"}},
            422,
            enum.name,
        ),
        (
            "range",
            "POST",
            geo,
            good | {"properties": props | {ranged.name: (ranged.maximum or 0) + 1}},
            422,
            ranged.name,
        ),
        (
            "pattern",
            "POST",
            geo,
            good | {"properties": props | {patterned.name: "!!"}},
            422,
            patterned.name,
        ),
        ("cross-field rule", "POST", geo, good | {"properties": broken}, 422, rule.name),
        ("missing required", "POST", geo, good | {"properties": {}}, 422, spec.natural_key[0]),
        (
            "id change in PATCH",
            "PATCH",
            {"Content-Type": MERGE_PATCH},
            {"id": fid + 1},
            400,
            str(fid + 1),
        ),
        ("malformed JSON", "POST", geo, b'{"type": "Feature", ', 400, "JSON"),
        (
            "not a feature",
            "POST",
            geo,
            {"type": "FeatureCollection", "features": []},
            400,
            "Feature",
        ),
        ("properties not an object", "POST", geo, good | {"properties": []}, 400, "properties"),
        (
            "oversized body",
            "POST",
            geo,
            {"type": "Feature", "properties": {"x": big}},
            413,
            "bytes",
        ),
        ("wrong media type", "POST", {"Content-Type": "text/plain"}, good, 415, "text/plain"),
        ("PATCH as GeoJSON", "PATCH", geo, {"properties": {}}, 415, MERGE_PATCH),
    ]


def test_bad_writes_are_refused_naming_the_problem_and_change_nothing(site: EditSite) -> None:
    spec = edit_layer(site.registry)
    fid, _ = _create(site, 11)
    before = layer_md5(site.db_url, spec)
    cases = _bad_writes(site, fid)
    assert len(cases) >= 12
    with _client(site, _writer(site)) as client:
        for what, method, headers, body, status, word in cases:
            url = _items(site) if method == "POST" else f"{_items(site)}/{fid}"
            content = (
                body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
            )
            r = client.request(method, url, content=content, headers=headers, params={"lang": "en"})
            assert r.status_code == status, (what, r.text)
            assert word in r.json()["description"], (what, r.json())
            if status == 422:  # the rule's message names the rule; its field is listed
                rule_fields = {
                    c.field for rule in spec.rules if rule.name == word for c in rule.then
                }
                named = {e["field"] for e in r.json()["errors"]}
                assert named & ({word} | rule_fields), (what, named)
            if what == "outside the hromada":
                assert "swapped" in r.json()["description"]
    assert layer_md5(site.db_url, spec) == before


def test_who_may_write(site: EditSite) -> None:
    spec = edit_layer(site.registry)
    before = layer_md5(site.db_url, spec)
    body = feature(site.registry, spec, 12)
    writers = set(layer_writers(site.registry, spec))
    with _client(site) as anonymous:
        r = anonymous.post(_items(site), json=body, headers={"Content-Type": GEOJSON})
        assert r.status_code == 401
        assert "WWW-Authenticate" in r.headers
    for role in ["staff", *(r.name for r in site.registry.roles)]:
        if role in writers:
            continue
        with _client(site, role) as client:
            r = client.post(_items(site), json=body, headers={"Content-Type": GEOJSON})
        assert r.status_code == 403, role
    # a layer hidden from a signed-in caller stays hidden: 404, as for a GET
    for other in site.registry:
        reader = {"staff"} | {r.name for r in site.registry.roles}
        for role in sorted(reader):
            from gisplatform.registry import Audience

            audience = Audience(True, frozenset(() if role == "staff" else {role}))
            if other.visible_to(audience) or not layer_writers(site.registry, other):
                continue
            with _client(site, role) as client:
                r = client.post(
                    f"/collections/{other.name}/items", json=body, headers={"Content-Type": GEOJSON}
                )
            assert r.status_code == 404, (other.name, role)
    assert layer_md5(site.db_url, spec) == before


def test_refusals_speak_ukrainian_by_default(site: EditSite) -> None:
    spec = edit_layer(site.registry)
    enum = next(f for f in spec.fields if f.type.value == "enum")
    body = feature(site.registry, spec, 13)
    body["properties"][enum.name] = "no-such-value"
    with _client(site, _writer(site)) as client:
        uk = client.post(_items(site), json=body, headers={"Content-Type": GEOJSON})
        en = client.post(
            _items(site), json=body, headers={"Content-Type": GEOJSON}, params={"lang": "en"}
        )
    assert uk.status_code == en.status_code == 422
    assert "об'єкт не збережено" in uk.json()["description"]
    assert "the feature is not saved" in en.json()["description"]
    assert uk.json()["errors"][0]["field"] == enum.name


def test_invalid_geometry_is_refused_with_the_reason(site: EditSite) -> None:
    """A self-intersecting polygon, written by a role that writes a polygon layer."""
    registry = site.registry
    spec, role = next(
        (s, r)
        for s in registry
        if s.geometry.family == "polygon"
        for r in layer_writers(registry, s)
    )
    lon, lat = point_in(registry)["coordinates"]
    d = 1e-3
    ring = [[lon, lat], [lon + d, lat + d], [lon + d, lat], [lon, lat + d], [lon, lat]]
    bowtie = {"type": "Polygon", "coordinates": [ring]}
    body = {"type": "Feature", "geometry": bowtie, "properties": valid_properties(spec)}
    before = layer_md5(site.db_url, spec)
    with _client(site, role) as client:
        r = client.post(
            f"/collections/{spec.name}/items",
            json=body,
            headers={"Content-Type": GEOJSON},
            params={"lang": "en"},
        )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "geometry"
    assert "Self-intersection" in r.json()["description"]
    assert layer_md5(site.db_url, spec) == before


def test_a_taken_natural_key_is_refused_naming_it(site: EditSite) -> None:
    spec = edit_layer(site.registry)
    fid, _ = _create(site, 14)
    with _client(site, _writer(site)) as client:
        existing = client.get(f"{_items(site)}/{fid}").json()["properties"]
        before = layer_md5(site.db_url, spec)
        body = feature(site.registry, spec, 15)
        body["properties"] |= {key: existing[key] for key in spec.natural_key}
        r = client.post(
            _items(site), json=body, headers={"Content-Type": GEOJSON}, params={"lang": "en"}
        )
        assert r.status_code == 422, r.text
        assert {e["field"] for e in r.json()["errors"]} == set(spec.natural_key)
        other, _ = _create(site, 16)
        patch = {"properties": {key: existing[key] for key in spec.natural_key}}
        clash = client.patch(
            f"{_items(site)}/{other}", json=patch, headers={"Content-Type": MERGE_PATCH}
        )
        assert clash.status_code == 422
    assert layer_md5(site.db_url, spec) != before  # only the second create changed it
    with psycopg.connect(site.db_url) as conn:
        count = conn.execute(
            f"SELECT count(*) FROM gis.{spec.name} WHERE {spec.natural_key[0]} = %s",  # noqa: S608
            [existing[spec.natural_key[0]]],
        ).fetchone()
    assert count == (1,)
