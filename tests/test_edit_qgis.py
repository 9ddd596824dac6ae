"""QGIS >= 3.32 editing a layer, replayed request by request as its OAPIF provider sends them
(qgis/QGIS src/providers/wfs/oapif: qgsoapifprovider.cpp, qgsoapif*featurerequest.cpp):
OPTIONS on /items (editing only if POST is allowed) and on the first item, POST of a
geo+json feature with no ``id`` and every attribute (nulls too), with and without
``Content-Crs`` (axes in the CRS's own order), the new id read from ``Location`` and the
feature read again, PUT of the whole feature with its id, PATCH of the geometry and then of
the attributes as two requests, DELETE; no ``If-Match`` anywhere. Each answer and the store
are checked; then 50 concurrent edits to different features go through the real server.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
from pyproj import Transformer

from gisplatform.ogcapi.crs import north_first
from gisplatform.registry import LayerRegistry
from tests.edit_helpers import (
    GEOJSON,
    MERGE_PATCH,
    EditSite,
    edit_layer,
    edit_site,
    feature,
    history,
    point_in,
)

pytestmark = pytest.mark.db

CONCURRENT_EDITS = 50
CLIENTS = 8


@pytest.fixture(scope="module")
def site(server_url: str, registry: LayerRegistry) -> Iterator[EditSite]:
    with edit_site(server_url, registry, "gisplatform_edit_qgis") as s:
        yield s


def _stored(site: EditSite, layer: str, fid: int) -> dict[str, Any] | None:
    with psycopg.connect(site.db_url) as conn:
        row = conn.execute(
            f"SELECT to_jsonb(t) - 'geom', ST_X(geom), ST_Y(geom) FROM gis.{layer} AS t "  # noqa: S608
            "WHERE fid = %s",
            [fid],
        ).fetchone()
    if row is None:
        return None
    return {**row[0], "lon": row[1], "lat": row[2]}


def _allow(response: httpx.Response) -> set[str]:
    return {m.strip() for m in response.headers["Allow"].split(",")}


def _qgis_feature(site: EditSite, n: int) -> dict[str, Any]:
    """What QgsJsonExporter makes of a new feature: every attribute, nulls included."""
    spec = edit_layer(site.registry)
    body = feature(site.registry, spec, n)
    schema = httpx.get(
        f"{site.url}/ogc/collections/{spec.name}/items", params={"limit": 1}
    )  # QGIS knows the attributes from the items it read
    assert schema.status_code == 200
    return {"type": "Feature", "geometry": body["geometry"], "properties": body["properties"]}


def test_qgis_editing_sequence(site: EditSite) -> None:
    spec = edit_layer(site.registry)
    role = spec.write_roles[0]
    login = site.logins[role]
    items = f"{site.url}/ogc/collections/{spec.name}/items"
    with httpx.Client(headers=site.headers(role), timeout=30) as qgis:
        # 1. the layer is opened: capabilities of the collection, then of its first item
        first_page = qgis.get(items, params={"limit": 10})
        assert first_page.status_code == 200
        options = qgis.options(items)
        assert options.status_code == 200 and "POST" in _allow(options)
        first = first_page.json()["features"]
        probe = f"{items}/{first[0]['id']}" if first else f"{items}/unknown_id"
        item_options = qgis.options(probe)
        assert item_options.status_code == 200
        assert {"PUT", "PATCH", "DELETE"} <= _allow(item_options)
        # every attribute QGIS shows, null or not, as the properties of the new feature
        attributes = {f.name: None for f in spec.fields_for(_audience(site, role))}

        # 2. a new feature in CRS84: no id, no Content-Crs
        body = _qgis_feature(site, 1)
        body["properties"] = attributes | body["properties"]
        created = qgis.post(items, content=_json(body), headers={"Content-Type": GEOJSON})
        assert created.status_code == 201, created.text
        location = created.headers["Location"]
        fid = int(location[location.rindex("/items/") + len("/items/") :])
        reread = qgis.get(f"{items}/{fid}")  # QGIS re-reads what the server stored
        assert reread.status_code == 200
        assert reread.json()["properties"] == created.json()["properties"]
        stored = _stored(site, spec.name, fid)
        assert stored is not None and stored["version"] == 1
        assert stored["lon"] == pytest.approx(body["geometry"]["coordinates"][0], abs=1e-9)

        # 3. a new feature from a layer in the hromada's UCS-2000 CRS: Content-Crs, axes swapped
        code = next(c for c in site.registry.hromada.local_crs if north_first(c))
        lon, lat = point_in(site.registry, 2)["coordinates"]
        easting, northing = Transformer.from_crs(4326, code, always_xy=True).transform(lon, lat)
        projected = _qgis_feature(site, 2)
        projected["geometry"] = {"type": "Point", "coordinates": [northing, easting]}
        crs_uri = f"http://www.opengis.net/def/crs/EPSG/0/{code}"
        created2 = qgis.post(
            items,
            content=_json(projected),
            headers={"Content-Type": GEOJSON, "Content-Crs": f"<{crs_uri}>"},
        )
        assert created2.status_code == 201, created2.text
        fid2 = int(created2.headers["Location"].rsplit("/items/", 1)[1])
        stored2 = _stored(site, spec.name, fid2)
        assert stored2 is not None
        assert (stored2["lon"], stored2["lat"]) == (
            pytest.approx(lon, abs=1e-7),
            pytest.approx(lat, abs=1e-7),
        )

        # 4. PUT of the whole feature (QGIS without PATCH): id given as text, as QGIS does
        whole = qgis.get(f"{items}/{fid}").json()
        name_field = next(
            f.name
            for f in spec.fields
            if f.required and f.type.value == "string" and f.name not in spec.natural_key
        )
        whole["properties"][name_field] = "Змінено в QGIS"
        put = qgis.put(
            f"{items}/{fid}",
            content=_json(
                {
                    "type": "Feature",
                    "id": str(fid),
                    "geometry": whole["geometry"],
                    "properties": whole["properties"],
                }
            ),
            headers={"Content-Type": GEOJSON},
        )
        assert put.status_code == 200, put.text
        stored = _stored(site, spec.name, fid)
        assert stored is not None
        assert stored[name_field] == "Змінено в QGIS" and stored["version"] == 2

        # 5. with PATCH: the geometry and the attributes as two separate requests
        moved = point_in(site.registry, 3)
        patched_geometry = qgis.patch(
            f"{items}/{fid}",
            content=_json({"geometry": moved}),
            headers={"Content-Type": MERGE_PATCH},
        )
        assert patched_geometry.status_code == 200, patched_geometry.text
        stored = _stored(site, spec.name, fid)
        assert stored is not None
        assert stored["lon"] == pytest.approx(moved["coordinates"][0], abs=1e-9)
        assert stored[name_field] == "Змінено в QGIS" and stored["version"] == 3
        patched_properties = qgis.patch(
            f"{items}/{fid}",
            content=_json({"properties": {name_field: "Ще раз"}}),
            headers={"Content-Type": MERGE_PATCH},
        )
        assert patched_properties.status_code == 200, patched_properties.text
        stored = _stored(site, spec.name, fid)
        assert stored is not None
        assert stored[name_field] == "Ще раз" and stored["version"] == 4
        assert stored["lon"] == pytest.approx(moved["coordinates"][0], abs=1e-9)
        assert patched_properties.headers["ETag"] == '"v4"'

        # 6. DELETE
        deleted = qgis.delete(f"{items}/{fid2}")
        assert deleted.status_code == 204
        assert _stored(site, spec.name, fid2) is None
        assert qgis.get(f"{items}/{fid2}").status_code == 404

    changes = history(site.db_url, spec, fid)
    assert [c[0] for c in changes] == ["INSERT", "UPDATE", "UPDATE", "UPDATE"]
    assert {c[1] for c in changes} == {login}
    assert changes[2][2] == ["geom"]
    assert changes[3][2] == [name_field]
    assert [c[0] for c in history(site.db_url, spec, fid2)] == ["INSERT", "DELETE"]


def _audience(site: EditSite, role: str) -> Any:
    from gisplatform.registry import Audience

    return Audience(signed_in=True, roles=frozenset({role}))


def _json(body: Any) -> bytes:
    return httpx.Request("POST", "http://x", json=body).content


def test_concurrent_edits_each_recorded_once_with_consecutive_versions(site: EditSite) -> None:
    spec = edit_layer(site.registry)
    role = spec.write_roles[0]
    items = f"{site.url}/ogc/collections/{spec.name}/items"
    name_field = next(
        f.name
        for f in spec.fields
        if f.required and f.type.value == "string" and f.name not in spec.natural_key
    )
    with httpx.Client(headers=site.headers(role), timeout=60) as client:
        fids = []
        for n in range(CONCURRENT_EDITS):
            r = client.post(
                items, json=feature(site.registry, spec, 100 + n), headers={"Content-Type": GEOJSON}
            )
            assert r.status_code == 201, r.text
            fids.append(int(r.headers["Location"].rsplit("/", 1)[1]))

        def edit(fid: int) -> int:
            r = client.patch(
                f"{items}/{fid}",
                json={"properties": {name_field: f"edit {fid}"}},
                headers={"Content-Type": MERGE_PATCH, "If-Match": '"v1"'},
            )
            return r.status_code

        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            statuses = list(pool.map(edit, fids))
    assert statuses == [200] * CONCURRENT_EDITS
    with psycopg.connect(site.db_url) as conn:
        rows = conn.execute(
            "SELECT fid, count(*) FILTER (WHERE operation = 'UPDATE'), "
            "count(*) FILTER (WHERE operation = 'INSERT'), array_agg(changed_by) "
            "FROM history.feature_changes WHERE layer = %s AND fid = ANY(%s) GROUP BY fid",
            [spec.name, fids],
        ).fetchall()
        versions = dict(
            conn.execute(
                f"SELECT fid, version FROM gis.{spec.name} WHERE fid = ANY(%s)",  # noqa: S608
                [fids],
            ).fetchall()
        )
    assert len(rows) == CONCURRENT_EDITS
    for fid, updates, inserts, actors in rows:
        assert (updates, inserts) == (1, 1), fid
        assert set(actors) == {site.logins[role]}
        assert versions[fid] == 2
