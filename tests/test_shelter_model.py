"""The shelter model and the domain rules: new fields, cross-field rules, masked values.

The fields follow the registry and Diia (settlement KATOTTG, who a shelter is for, its status
in the fund, the last inspection, a public "call if closed" number); the demo data obey the
rules; a layer migrated from the older model keeps every row; values that would reveal a
restricted layer are empty for the public.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import psycopg
import pytest
import yaml

from gisplatform.demo import load_demo
from gisplatform.ingest.validate import check_rules
from gisplatform.registry import Access, LayerRegistry, load_registry
from gisplatform.settings import PROJECT_ROOT
from gisplatform.store.migrate import migrate
from gisplatform.webmap.config import map_config
from tests.conftest import LAYERS_DIR, make_settings
from tests.ogcapi_helpers import live_server

NEW_SHELTER_FIELDS = (
    "settlement_katottg",
    "intended_for",
    "fund_status",
    "inspection_date",
    "inspection_act_no",
    "inspector",
    "defects",
    "defects_due",
    "next_inspection_due",
    "closed_hotline",
)


def _demo(layer: str) -> list[dict[str, object]]:
    data = json.loads((PROJECT_ROOT / "data" / "romny" / f"{layer}.geojson").read_text("utf-8"))
    return [f["properties"] for f in data["features"]]


def test_demo_shelters_obey_every_rule(registry: LayerRegistry) -> None:
    spec = registry.get("shelters")
    assert {rule.name for rule in spec.rules} >= {
        "ready_means_open_round_the_clock",
        "accessible_toilet_needs_a_toilet",
    }
    rows = _demo("shelters")
    import numpy as np

    values = {f.name: np.array([r.get(f.name) for r in rows], dtype=object) for f in spec.fields}
    refused, warned = check_rules(spec, values, len(rows))
    assert refused == [] and warned == []
    assert all(r["settlement_katottg"] for r in rows)
    assert {r["intended_for"] for r in rows} == {v.value for v in spec.field("intended_for").values}


def test_stops_and_lights_carry_their_settlement(registry: LayerRegistry) -> None:
    codes = {s["katottg"] for s in _demo("settlements")}
    for layer in ("transit_stops", "street_lights", "shelters"):
        assert "settlement_katottg" in {f.name for f in registry.get(layer).fields}
        assert {row["settlement_katottg"] for row in _demo(layer)} <= codes


def test_migration_from_the_older_model_keeps_every_row(
    tmp_path: Path, scratch_url: str, registry: LayerRegistry
) -> None:
    older = tmp_path / "layers"
    shutil.copytree(LAYERS_DIR, older)
    shutil.copytree(LAYERS_DIR.parent / "reports", tmp_path / "reports")  # found beside layers/
    path = older / "shelters.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["fields"] = [f for f in data["fields"] if f["name"] not in NEW_SHELTER_FIELDS]
    data.pop("rules")
    data.pop("inspection")  # names a field the older model did not have
    data["map"]["nearest"]["defaults"].pop("intended_for")  # the map block names no new field
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    old_registry = load_registry(older)
    migrate(scratch_url, old_registry, make_settings(scratch_url, layers_dir=older))
    load_demo(scratch_url, old_registry, "gis")
    with psycopg.connect(scratch_url) as conn:
        before = conn.execute("SELECT shelter_code FROM gis.shelters ORDER BY 1").fetchall()
    plan = migrate(scratch_url, registry, make_settings(scratch_url))
    assert {f"add column gis.shelters.{name}" for name in NEW_SHELTER_FIELDS} <= set(plan.changes)
    with psycopg.connect(scratch_url) as conn:
        after = conn.execute(
            "SELECT shelter_code, intended_for, fund_status FROM gis.shelters ORDER BY 1"
        ).fetchall()
    assert [row[0] for row in after] == [row[0] for row in before] and len(after) == 80
    assert {row[1:] for row in after} == {("population", "included")}  # declared defaults


def test_new_fields_reach_the_map_and_staff_fields_stay_out(registry: LayerRegistry) -> None:
    config = map_config(registry, "uk")
    (shelters,) = [layer for layer in config["layers"] if layer["name"] == "shelters"]
    names = {f["name"] for f in shelters["fields"]}
    spec = registry.get("shelters")
    public = {f.name for f in spec.fields_for(Access.PUBLIC)}
    assert {n for n in NEW_SHELTER_FIELDS if n in public} <= names
    assert {"intended_for", "fund_status", "closed_hotline", "next_inspection_due"} <= names
    assert not {"inspection_act_no", "inspector", "defects", "key_holder_phone"} & names


def test_restricted_layers_are_internal_information(registry: LayerRegistry) -> None:
    for spec in registry:
        if spec.access is Access.RESTRICTED:
            assert not spec.is_openly_licensed
            assert spec.licence_label("uk") == "службова інформація"
        else:
            assert spec.is_openly_licensed


@pytest.fixture(scope="module")
def api(demo_db_url: str, registry: LayerRegistry) -> httpx.Client:
    with live_server(demo_db_url, registry) as (root, _):
        yield httpx.Client(base_url=root + "/ogc", timeout=60)


def test_building_uses_that_reveal_utility_sites_are_masked(
    api: httpx.Client, demo_db_url: str, registry: LayerRegistry
) -> None:
    mask = set(registry.get("buildings").field("use").public_mask)
    assert mask == {"utility", "industrial"}
    with psycopg.connect(demo_db_url) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM gis.buildings WHERE use = ANY(%s)", [list(mask)]
        ).fetchone()
    assert stored is not None and stored[0] > 0  # the demo has such buildings
    page = api.get("/collections/buildings/items", params={"limit": 10000, "properties": "use"})
    uses = {f["properties"]["use"] for f in page.json()["features"]}
    assert not uses & mask and None in uses
    for value in mask:
        found = api.get("/collections/buildings/items", params={"use": value, "limit": 10})
        assert found.status_code == 200 and found.json()["features"] == []
        cql = api.get("/collections/buildings/items", params={"filter": f"use = '{value}'"})
        assert cql.json()["features"] == []
