"""``GET …/items/{id}/history``: every version with who, when and what changed, for staff only,
with hidden fields and layers kept hidden by the database."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest
from psycopg import sql

from gisplatform.registry import Audience, FieldSpec, FieldType, LayerRegistry
from gisplatform.registry.writes import writable_fields
from gisplatform.store.audiences import view_audience_for
from gisplatform.store.history_access import FUNCTION
from gisplatform.store.roles import API_ROLE
from tests.conftest import make_settings, role_url
from tests.edit_helpers import (
    GEOJSON,
    MERGE_PATCH,
    EditSite,
    edit_layer,
    edit_site,
    feature,
    point_in,
    unwritable_field,
    with_unwritable_field,
)

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def site(server_url: str, registry: LayerRegistry) -> Iterator[EditSite]:
    with edit_site(server_url, with_unwritable_field(registry), "gisplatform_edit_hist") as s:
        yield s


def test_history_lists_every_version_for_staff(site: EditSite) -> None:
    spec = edit_layer(site.registry)
    writer = spec.write_roles[0]
    admin = next(r.name for r in site.registry.roles if r.writes_all)
    hidden = unwritable_field(site.registry, spec, writer)
    text = next(
        f.name
        for f in spec.fields
        if f.type.value == "string" and not f.pattern and f.name not in spec.natural_key
    )
    items = f"{site.url}/ogc/collections/{spec.name}/items"
    with httpx.Client(headers=site.headers(writer)) as client:
        r = client.post(
            items, json=feature(site.registry, spec, 1), headers={"Content-Type": GEOJSON}
        )
        assert r.status_code == 201, r.text
        fid = int(r.headers["Location"].rsplit("/", 1)[1])
        before = r.json()["properties"][text]
        patch = {"properties": {text: "нова назва"}}
        assert (
            client.patch(
                f"{items}/{fid}", json=patch, headers={"Content-Type": MERGE_PATCH}
            ).status_code
            == 200
        )
        moved = {"geometry": point_in(site.registry, 2)}
        assert (
            client.patch(
                f"{items}/{fid}", json=moved, headers={"Content-Type": MERGE_PATCH}
            ).status_code
            == 200
        )
    with httpx.Client(headers=site.headers(admin)) as client:
        secret = {"properties": {hidden.name: 1}}
        assert (
            client.patch(
                f"{items}/{fid}", json=secret, headers={"Content-Type": MERGE_PATCH}
            ).status_code
            == 200
        )

    url = f"{items}/{fid}/history"
    assert httpx.get(url).status_code == 401
    staff = httpx.get(url, headers=site.headers(writer))
    assert staff.status_code == 200, staff.text
    versions = staff.json()["versions"]
    # the admin's change touched a field the writer's role does not read: not listed
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert [v["operation"] for v in versions] == ["insert", "update", "update"]
    assert {v["changedBy"] for v in versions} == {site.logins[writer]}
    assert versions[1]["changes"] == {text: {"from": before, "to": "нова назва"}}
    assert list(versions[2]["changes"]) == ["geom"]
    assert hidden.name not in staff.text
    full = httpx.get(url, headers=site.headers(admin)).json()["versions"]
    assert [v["version"] for v in full] == [1, 2, 3, 4]
    assert full[3]["changes"] == {hidden.name: {"from": None, "to": 1}}
    assert full[3]["changedBy"] == site.logins[admin]
    assert httpx.get(f"{items}/987654/history", headers=site.headers(writer)).status_code == 404


def test_history_of_a_hidden_layer_is_a_404(site: EditSite) -> None:
    staff = Audience(signed_in=True)
    hidden = next(s for s in site.registry if not s.visible_to(staff))
    r = httpx.get(
        f"{site.url}/ogc/collections/{hidden.name}/items/1/history", headers=site.headers("staff")
    )
    assert r.status_code == 404


def test_an_audience_cannot_run_another_audiences_history(site: EditSite) -> None:
    staff = view_audience_for(site.registry, Audience(signed_in=True))
    admin_role = next(r.name for r in site.registry.roles if r.writes_all)
    admin = view_audience_for(
        site.registry, Audience(signed_in=True, roles=frozenset({admin_role}))
    )
    assert staff.schema != admin.schema
    with psycopg.connect(role_url(site.db_url, API_ROLE), autocommit=True) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(staff.role)))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                sql.SQL("SELECT * FROM {}(%s, %s)").format(sql.Identifier(admin.schema, FUNCTION)),
                [edit_layer(site.registry).name, 1],
            )
        conn.execute("RESET ROLE")
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier("gisplatform_public")))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM history.feature_changes LIMIT 1")


def test_as_of_rebuilds_the_layer_as_it_was(site: EditSite) -> None:
    spec = edit_layer(site.registry)
    writer = spec.write_roles[0]
    hidden = unwritable_field(site.registry, spec, writer)
    text = next(
        f.name
        for f in spec.fields
        if f.type.value == "string" and not f.pattern and f.name not in spec.natural_key
    )
    items = f"{site.url}/ogc/collections/{spec.name}/items"
    geo, merge = {"Content-Type": GEOJSON}, {"Content-Type": MERGE_PATCH}
    with httpx.Client(headers=site.headers(writer)) as client:
        kept = client.post(items, json=feature(site.registry, spec, 5), headers=geo)
        gone = client.post(items, json=feature(site.registry, spec, 6), headers=geo)
        kept_id = int(kept.headers["Location"].rsplit("/", 1)[1])
        gone_id = int(gone.headers["Location"].rsplit("/", 1)[1])
        with psycopg.connect(site.db_url) as conn:
            moment = conn.execute("SELECT clock_timestamp()").fetchone()[0]
        patch = {"properties": {text: "пізніше"}}
        assert client.patch(f"{items}/{kept_id}", json=patch, headers=merge).status_code == 200
        assert client.delete(f"{items}/{gone_id}").status_code == 204
        later = client.post(items, json=feature(site.registry, spec, 7), headers=geo)
        later_id = int(later.headers["Location"].rsplit("/", 1)[1])

        def at(when: str) -> dict[int, dict]:
            r = client.get(items, params={"asOf": when, "limit": 10000})
            assert r.status_code == 200, r.text
            return {f["id"]: f for f in r.json()["features"]}

        then = at(moment.isoformat())
        now = at("2999-01-01T00:00:00Z")
    assert kept_id in then and gone_id in then and later_id not in then
    assert then[kept_id]["properties"][text] == kept.json()["properties"][text]
    assert then[gone_id]["geometry"]["coordinates"] == pytest.approx(
        gone.json()["geometry"]["coordinates"]
    )
    assert kept_id in now and later_id in now and gone_id not in now
    assert now[kept_id]["properties"][text] == "пізніше"
    assert hidden.name not in then[kept_id]["properties"]
    assert httpx.get(items, params={"asOf": moment.isoformat()}).status_code == 401
    bad = httpx.get(items, params={"asOf": "yesterday"}, headers=site.headers(writer))
    assert bad.status_code == 400


def _free_enum(site: EditSite) -> FieldSpec:
    """An enum the writer sets that no cross-field rule reads or sets."""
    spec = edit_layer(site.registry)
    in_rules = {c.field for r in spec.rules for c in (*r.when, *r.then)}
    return next(
        f
        for f in writable_fields(spec, spec.write_roles[0])
        if f.type is FieldType.ENUM and len(f.values) >= 2 and f.name not in in_rules
    )


def test_as_of_honours_bbox_property_filters_and_cql2(site: EditSite) -> None:
    spec = edit_layer(site.registry)
    writer = spec.write_roles[0]
    enum = _free_enum(site)
    first, second = enum.values[0].value, enum.values[1].value
    items = f"{site.url}/ogc/collections/{spec.name}/items"
    geo, merge = {"Content-Type": GEOJSON}, {"Content-Type": MERGE_PATCH}
    low, high = (
        point_in(site.registry, 20)["coordinates"],
        point_in(site.registry, 25)["coordinates"],
    )
    bbox = [low[0] - 5e-5, low[1] - 5e-5, high[0] + 5e-5, high[1] + 5e-5]
    schema = make_settings(site.db_url).layer_schema
    with httpx.Client(headers=site.headers(writer)) as client:

        def post(n: int, value: str) -> int:
            sent = feature(site.registry, spec, n)
            sent["properties"][enum.name] = value
            r = client.post(items, json=sent, headers=geo)
            assert r.status_code == 201, r.text
            return int(r.headers["Location"].rsplit("/", 1)[1])

        moved_out, deleted, changed = post(20, first), post(21, first), post(22, second)
        moved_in = post(40, first)
        # the snapshot: what the store holds inside the bbox, read by SQL, then the moment
        with psycopg.connect(site.db_url) as conn:
            rows = conn.execute(
                sql.SQL(
                    "SELECT fid, ST_X(geom), ST_Y(geom), {} FROM {} "
                    "WHERE ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))"
                ).format(sql.Identifier(enum.name), sql.Identifier(schema, spec.name)),
                bbox,
            ).fetchall()
            moment = conn.execute("SELECT clock_timestamp()").fetchone()[0]
        snapshot = {fid: ([x, y], value) for fid, x, y, value in rows}
        assert {moved_out, deleted, changed} <= snapshot.keys() and moved_in not in snapshot
        # then: one leaves the bbox, one enters it, one is deleted, one changes, one is added
        away = {"geometry": point_in(site.registry, 41)}
        assert client.patch(f"{items}/{moved_out}", json=away, headers=merge).status_code == 200
        into = {"geometry": point_in(site.registry, 23)}
        assert client.patch(f"{items}/{moved_in}", json=into, headers=merge).status_code == 200
        assert client.delete(f"{items}/{deleted}").status_code == 204
        patch = {"properties": {enum.name: first}}
        assert client.patch(f"{items}/{changed}", json=patch, headers=merge).status_code == 200
        added = post(24, second)

        def read(when: str, **params: str) -> dict[int, tuple[list[float], str]]:
            query = {"asOf": when, "bbox": ",".join(map(str, bbox)), "limit": "1000", **params}
            r = client.get(items, params=query)
            assert r.status_code == 200, r.text
            assert r.headers["Cache-Control"] == "private, no-store"
            return {
                f["id"]: (f["geometry"]["coordinates"], f["properties"][enum.name])
                for f in r.json()["features"]
            }

        then = read(moment.isoformat())
        now = read("2999-01-01T00:00:00Z")
        then_second = read(moment.isoformat(), **{enum.name: second})
        then_cql = read(moment.isoformat(), filter=f"{enum.name} = '{second}'")
        paged = read(moment.isoformat(), limit="1", offset="1", sortby=f"-{enum.name}")
        unknown = client.get(items, params={"asOf": moment.isoformat(), "nonsense": "1"})
    assert then.keys() == snapshot.keys()
    for fid, (coordinates, value) in snapshot.items():
        assert then[fid][0] == pytest.approx(coordinates)
        assert then[fid][1] == value
    assert then_second == then_cql == {fid: v for fid, v in then.items() if v[1] == second}
    assert changed in then_second
    assert moved_in in now and added in now and changed in now
    assert moved_out not in now and deleted not in now
    assert now[changed][1] == first
    assert len(paged) == 1
    assert unknown.status_code == 400 and "nonsense" in unknown.text
