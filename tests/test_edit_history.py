"""``GET …/items/{id}/history``: every version with who, when and what changed, for staff only,
with hidden fields and layers kept hidden by the database."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest
from psycopg import sql

from gisplatform.registry import Audience, LayerRegistry
from gisplatform.store.audiences import view_audience_for
from gisplatform.store.history_access import FUNCTION
from gisplatform.store.roles import API_ROLE
from tests.conftest import role_url
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
