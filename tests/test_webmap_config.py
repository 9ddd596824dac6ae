"""The map's configuration comes from each layer's ``map`` block; the code names no layer."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gisplatform.analyses import NearestShelterInput
from gisplatform.errors import ConfigurationError
from gisplatform.registry import Access, LayerRegistry, LayerSpec
from gisplatform.webmap import config as webmap_config
from gisplatform.webmap import map_config
from gisplatform.webmap.config import nearest_config
from gisplatform.webmap.page import STATIC_DIR

JS_DIR = STATIC_DIR / "js"
#: '...' and "..." literals in the page's script (template literals hold no names either)
JS_STRING = re.compile(r"""'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)"|`((?:[^`\\]|\\.)*)`""")
#: property reads of a feature: props.x, properties.x
JS_PROPERTY = re.compile(r"\b(?:props|properties)\s*\.\s*([A-Za-z_]\w*)")


def _registry_names(registry: LayerRegistry) -> set[str]:
    names: set[str] = set()
    for spec in registry.list(Access.RESTRICTED):
        names.add(spec.name)
        names.update(f.name for f in spec.fields)
    return names


def _js_names(text: str) -> set[str]:
    found: set[str] = set()
    for match in JS_STRING.finditer(text):
        literal = next(g for g in match.groups() if g is not None)
        # whole literals, and the pieces of paths and queries outside ${...}
        found.add(literal)
        found.update(re.split(r"[/?&=.:,]+", re.sub(r"\$\{[^}]*\}", " ", literal)))
    found.update(JS_PROPERTY.findall(text))
    return found


def _python_strings(path: Path) -> set[str]:
    """String constants of a module, except dict-display keys (the config's JSON keys)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    keys = {id(k) for node in ast.walk(tree) if isinstance(node, ast.Dict) for k in node.keys}
    subscripts = {id(n.slice) for n in ast.walk(tree) if isinstance(n, ast.Subscript)}
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in keys | subscripts | docs
    }


@pytest.mark.parametrize("script", sorted(p.name for p in JS_DIR.glob("*.js")))
def test_the_script_names_no_layer_and_no_field(registry: LayerRegistry, script: str) -> None:
    named = _js_names((JS_DIR / script).read_text(encoding="utf-8")) & _registry_names(registry)
    assert not named, f"{script} restates registry names: {sorted(named)}"


def test_config_module_names_no_layer_and_no_field(registry: LayerRegistry) -> None:
    module = Path(webmap_config.__file__)
    named = _python_strings(module) & _registry_names(registry)
    assert not named, f"config.py restates registry names: {sorted(named)}"
    for old in ("TILED_LAYERS", "DEFAULT_ON", "_searchable"):
        assert not hasattr(webmap_config, old)


def test_the_name_check_catches_a_restated_name(registry: LayerRegistry) -> None:
    names = _registry_names(registry)
    assert _js_names("const x = 'shelters';") & names == {"shelters"}
    assert _js_names("f.properties.readiness") & names == {"readiness"}
    assert _js_names("const u = `${a}/collections/streets/items`;") & names == {"streets"}
    assert not _js_names("lc.name === cfg.hromada.boundaryLayer") & names


def test_map_blocks_decide_tiles_visibility_search_and_go_to(registry: LayerRegistry) -> None:
    layers = {layer["name"]: layer for layer in map_config(registry, "uk")["layers"]}
    for spec in registry.list(Access.PUBLIC):
        layer = layers[spec.name]
        public = {f.name for f in spec.fields_for(Access.PUBLIC)}
        assert layer["visible"] is spec.map.visible
        assert (layer["source"] == "tiles") is spec.map.tiled
        assert layer["search"] == [n for n in spec.map.search if n in public]
        assert layer["search"], f"{spec.name}: nothing to search"
        goto = spec.map.goto
        assert layer["goto"] == ({"uk": goto.uk, "en": goto.en} if goto else None)
        hours = [f["name"] for f in layer["fields"] if f.get("format") == "osm_hours"]
        assert hours == [f.name for f in spec.fields_for(Access.PUBLIC) if f.format is not None]
    assert any(layer["goto"] for layer in layers.values())
    static = map_config(registry, "uk", api_base=None)
    assert {layer["source"] for layer in static["layers"]} == {"geojson"}


def test_nearest_config_is_the_safe_defaults(registry: LayerRegistry) -> None:
    nearest = map_config(registry, "uk")["nearest"]
    spec = next(s for s in registry.list(Access.PUBLIC) if s.map.nearest is not None)
    block = spec.map.nearest
    assert block is not None
    assert nearest["layer"] == spec.name
    assert nearest["defaults"] == {k: list(v) for k, v in block.defaults.items()}
    assert nearest["defaults"]["readiness"] == ["ready"]
    assert set(nearest["defaults"]["access_mode"]) == {"24_7", "during_alert"}
    assert set(nearest["process"]) <= set(NearestShelterInput.model_fields)
    assert {"readiness", "access_mode"} <= set(nearest["process"])
    assert nearest["results"] == "shelters"  # the process's list of found shelters
    for name in (*nearest["filters"], *nearest["show"]):
        assert name in {f.name for f in spec.fields_for(Access.PUBLIC)}


def _with_map(spec: LayerSpec, block: dict[str, Any]) -> LayerSpec:
    data = spec.model_dump(mode="json", exclude_defaults=True)
    data["map"] = block
    return LayerSpec.model_validate(data)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"search": ["nope"]}, "map.search names unknown field 'nope'"),
        ({"search": ["capacity_persons"]}, "map.search field 'capacity_persons' is not"),
        ({"nearest": {"defaults": {"name": ["x"]}}}, "map.nearest.defaults field 'name'"),
        ({"nearest": {"defaults": {"readiness": ["maybe"]}}}, "['maybe'] is not among"),
        ({"nearest": {"defaults": {"readiness": []}}}, "an empty list"),
        ({"nearest": {"filters": ["name"]}}, "map.nearest.filters field 'name' is not enum"),
        ({"nearest": {"show": ["nope"]}}, "map.nearest.show names unknown field 'nope'"),
        ({"tiled": "often"}, "valid boolean"),
    ],
)
def test_map_block_mistakes_are_refused(
    registry: LayerRegistry, block: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        _with_map(registry.get("shelters"), block)


def test_a_default_the_map_cannot_apply_is_a_configuration_error(
    registry: LayerRegistry,
) -> None:
    spec = registry.get("shelters")
    hidden = next(
        f.name for f in spec.fields if f.type.value == "enum" and spec.field_access(f) != "public"
    )
    code = spec.field(hidden).values[0].value
    bad = _with_map(spec, {"nearest": {"defaults": {hidden: [code]}}})
    with pytest.raises(ConfigurationError, match=hidden):
        nearest_config(bad)


def test_writable_layers_and_fields_come_from_write_roles(registry: LayerRegistry) -> None:
    """Each role's map marks exactly the layers it writes, with the fields its role writes."""
    from gisplatform.registry import ANONYMOUS, Audience
    from gisplatform.registry.writes import layer_writers, writable_fields
    from gisplatform.store.audiences import _CURRENT, view_audience_for
    from gisplatform.webmap.config import editable_fields

    assert editable_fields(registry, ANONYMOUS) == {}
    assert editable_fields(registry, Audience(signed_in=True)) == {}
    checked = 0
    for role in registry.role_names:
        audience = Audience(signed_in=True, roles=frozenset({role}))
        editable = editable_fields(registry, audience)
        writes = {s.name for s in registry if role in layer_writers(registry, s)}
        assert set(editable) == writes, role
        for name, fields in editable.items():
            assert fields == tuple(f.name for f in writable_fields(registry.get(name), role))
        token = _CURRENT.set(view_audience_for(registry, audience))  # as the server does
        try:
            config = map_config(registry, "uk", editable=editable)
        finally:
            _CURRENT.reset(token)
        for layer in config["layers"]:
            assert layer["writable"] == (layer["name"] in writes)
            assert set(layer["editable"]) <= {f["name"] for f in layer["fields"]}
            checked += layer["writable"]
    assert checked
    static = map_config(registry, "uk", api_base=None, editable={"x": ("y",)})
    assert not any(layer["writable"] or layer["editable"] for layer in static["layers"])
