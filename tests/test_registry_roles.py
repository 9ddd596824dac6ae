"""Roles in the registry: restricted layers and fields name who may read them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from gisplatform.cli import app
from gisplatform.errors import LayerNotFound, LayerSpecError
from gisplatform.registry import Access, LayerRegistry, LayerSpec, load_registry
from gisplatform.registry.spec import ANONYMOUS, Audience
from gisplatform.settings import PROJECT_ROOT

LAYERS = PROJECT_ROOT / "layers"


def _data(name: str) -> dict[str, object]:
    data = yaml.safe_load((LAYERS / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_every_restricted_item_names_known_roles(registry: LayerRegistry) -> None:
    known = registry.role_names
    assert {"lighting", "utilities", "civil_protection", "admin"} <= known
    assert all(r.title.uk and r.title.en for r in registry.roles)
    for spec in registry:
        assert spec.role_names <= known
        if spec.access is Access.RESTRICTED:
            assert spec.roles
        for field in spec.fields:
            if spec.field_access(field) is Access.RESTRICTED:
                assert spec.field_roles(field)
    assert "lighting" in registry.get("lighting_cabinets").roles
    assert "utilities" in registry.get("utility_facilities").roles


def test_audiences_read_what_the_registry_allows(registry: LayerRegistry) -> None:
    staff = Audience(signed_in=True)
    lighting = Audience(signed_in=True, roles=frozenset({"lighting"}))
    public = {s.name for s in registry.list(Access.PUBLIC)}
    assert {s.name for s in registry.list(ANONYMOUS)} == public
    assert {s.name for s in registry.list(staff)} == public | {
        s.name for s in registry if s.access is Access.STAFF
    }
    assert "lighting_cabinets" in {s.name for s in registry.list(lighting)}
    assert "utility_facilities" not in {s.name for s in registry.list(lighting)}
    with pytest.raises(LayerNotFound):
        registry.get("lighting_cabinets", staff)
    shelters = registry.get("shelters")
    assert shelters.fields_for(ANONYMOUS) == shelters.fields_for(Access.PUBLIC)
    assert shelters.fields_for(staff) == shelters.fields_for(Access.STAFF)
    civil = Audience(signed_in=True, roles=frozenset({"civil_protection"}))
    assert shelters.fields_for(civil) == shelters.fields_for(Access.RESTRICTED)
    assert shelters.fields_for(lighting) == shelters.fields_for(Access.STAFF)


@pytest.mark.parametrize(
    ("layer", "change", "problem"),
    [
        ("lighting_cabinets", {"roles": []}, "names the 'roles'"),
        ("shelters", {"roles": ["lighting"]}, "only allowed on a restricted layer"),
    ],
)
def test_layer_roles_are_checked(layer: str, change: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        LayerSpec.model_validate({**_data(layer), **change})


def test_field_roles_are_checked() -> None:
    data = _data("shelters")
    fields = data["fields"]
    assert isinstance(fields, list)
    restricted = next(f for f in fields if f.get("access") == "restricted")
    restricted.pop("roles")
    with pytest.raises(ValidationError, match="names no 'roles'"):
        LayerSpec.model_validate(data)
    cabinets = _data("lighting_cabinets")
    cabinet_fields = cabinets["fields"]
    assert isinstance(cabinet_fields, list)
    cabinet_fields[-1]["roles"] = ["utilities"]
    with pytest.raises(ValidationError, match="who may not read the layer"):
        LayerSpec.model_validate(cabinets)


def _copy_layers(tmp_path: Path) -> Path:
    target = tmp_path / "layers"
    shutil.copytree(LAYERS, target)
    return target


def test_unknown_role_is_reported_by_load_and_validate(tmp_path: Path) -> None:
    layers = _copy_layers(tmp_path)
    path = layers / "lighting_cabinets.yaml"
    path.write_text(
        path.read_text(encoding="utf-8")
        .replace("roles: [lighting, admin]", "roles: [lightning]")
        .replace("write_roles: [lighting]", "write_roles: [lightning]"),
        encoding="utf-8",
    )
    with pytest.raises(LayerSpecError) as caught:
        load_registry(layers)
    assert any("lightning" in problem for _, _, problem in caught.value.problems)
    result = CliRunner().invoke(app, ["layers", "validate", str(layers)])
    assert result.exit_code == 1
    assert "lightning" in result.output


def test_roles_file_is_validated(tmp_path: Path) -> None:
    layers = _copy_layers(tmp_path)
    (layers / "_roles.yaml").write_text(
        "roles:\n  - name: lighting\n    title: {uk: Освітлення}\n", encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["layers", "validate", str(layers)])
    assert result.exit_code == 1
    assert "_roles.yaml" in result.output
