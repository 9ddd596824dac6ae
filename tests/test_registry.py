"""Layer definitions: the project's layers load, broken ones are rejected with file and path."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from gisplatform.cli import app
from gisplatform.errors import LayerNotFound, LayerSpecError
from gisplatform.registry import Access, LayerRegistry, LayerSpec, load_layer_file, load_registry
from gisplatform.registry.loader import layer_files
from gisplatform.registry.schema import layer_json_schema
from gisplatform.settings import PROJECT_ROOT

LAYERS = PROJECT_ROOT / "layers"
EXPECTED_LAYERS = {
    "hromada_boundary",
    "starosta_districts",
    "settlements",
    "streets",
    "buildings",
    "shelters",
    "street_lights",
    "lighting_cabinets",
    "admin_service_centres",
    "education",
    "health",
    "transit_stops",
    "utility_facilities",
    "hydro_and_protected",
}


def shelters_data() -> dict[str, object]:
    data = yaml.safe_load((LAYERS / "shelters.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def write_layer(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_project_layers_load(registry: LayerRegistry) -> None:
    assert {spec.name for spec in registry} == EXPECTED_LAYERS


def test_restricted_layers_are_hidden_from_the_public(registry: LayerRegistry) -> None:
    public = {spec.name for spec in registry.list(Access.PUBLIC)}
    assert "lighting_cabinets" not in public
    assert "utility_facilities" not in public
    with pytest.raises(LayerNotFound):
        registry.get("utility_facilities", Access.PUBLIC)
    assert registry.get("utility_facilities", Access.RESTRICTED).name == "utility_facilities"


def test_shelter_fields_have_per_field_access(registry: LayerRegistry) -> None:
    shelters = registry.get("shelters")
    public = {f.name for f in shelters.fields_for(Access.PUBLIC)}
    staff = {f.name for f in shelters.fields_for(Access.STAFF)}
    everything = {f.name for f in shelters.fields_for(Access.RESTRICTED)}
    assert {"name", "readiness", "capacity_persons", "accessible"} <= public
    assert "registry_no" in staff - public
    assert {"key_holder_name", "key_holder_phone", "backup_power_kw"} <= everything - staff


def test_enum_accepts_ukrainian_and_english_labels(registry: LayerRegistry) -> None:
    readiness = registry.get("shelters").field("readiness")
    assert readiness.enum_value("Обмежено готове") is not None
    assert readiness.enum_value("partly ready").value == "limited_ready"  # type: ignore[union-attr]
    assert readiness.enum_value("nonsense") is None


def _broken(mutate: str) -> dict[str, object]:
    data = shelters_data()
    fields = data["fields"]
    assert isinstance(fields, list)
    if mutate == "geometry":
        data["geometry"] = "Circle"
    elif mutate == "identifier":
        fields[2]["name"] = "Name; DROP TABLE x"
    elif mutate == "duplicate":
        fields.append(dict(fields[2]))
    elif mutate == "enum_default":
        fields[3]["default"] = "bunker"
    elif mutate == "uk_title":
        del data["title"]["uk"]  # type: ignore[attr-defined]
    elif mutate == "access":
        data["access"] = "secret"
    elif mutate == "natural_key":
        data["natural_key"] = ["no_such_field"]
    elif mutate == "field_more_open":
        data["access"] = "staff"
        fields[0]["access"] = "public"
    elif mutate == "min_max":
        fields[8]["minimum"] = 10
        fields[8]["maximum"] = 1
    elif mutate == "system_column":
        fields[2]["name"] = "geom"
    return data


@pytest.mark.parametrize(
    ("mutate", "path_fragment", "message_fragment"),
    [
        ("geometry", "geometry", "Point"),
        ("identifier", "fields[2]", "pattern"),
        ("duplicate", "(top level)", "duplicate field names: name"),
        ("enum_default", "fields[3](shelter_type)", "not one of the enum values"),
        ("uk_title", "title.uk", "required"),
        ("access", "access", "public"),
        ("natural_key", "(top level)", "unknown field 'no_such_field'"),
        ("field_more_open", "(top level)", "cannot be more open"),
        ("min_max", "fields[8](capacity_persons)", "greater than maximum"),
        ("system_column", "fields[2](geom)", "system column"),
    ],
)
def test_broken_definitions_name_file_and_field_path(
    tmp_path: Path, mutate: str, path_fragment: str, message_fragment: str
) -> None:
    path = write_layer(tmp_path, _broken(mutate))
    with pytest.raises(LayerSpecError) as caught:
        load_layer_file(path)
    problems = caught.value.problems
    assert any(
        file == str(path) and path_fragment in field_path and message_fragment in message
        for file, field_path, message in problems
    ), problems


def test_validate_command_reports_every_problem(tmp_path: Path) -> None:
    write_layer(tmp_path, _broken("geometry"))
    other = _broken("access")
    other["name"] = "shelters_copy"
    write_layer(tmp_path, other)
    result = CliRunner().invoke(app, ["layers", "validate", str(tmp_path)])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "shelters.yaml: geometry:" in output
    assert "shelters_copy.yaml: access:" in output
    assert "2 problem(s) in 2 file(s)" in output


def test_validate_command_accepts_project_layers() -> None:
    result = CliRunner().invoke(app, ["layers", "validate", str(LAYERS)])
    assert result.exit_code == 0, result.output
    assert "14 layer definition(s) valid" in result.output


def test_layer_name_must_match_file(tmp_path: Path) -> None:
    data = shelters_data()
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(LayerSpecError, match="must match the file name"):
        load_layer_file(path)


def test_invalid_yaml_is_reported_with_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(LayerSpecError, match="not valid YAML"):
        load_registry(tmp_path)


def test_json_schema_validates_project_layers_and_is_committed() -> None:
    schema = layer_json_schema()
    for path in layer_files(LAYERS):
        jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)
    committed = json.loads((LAYERS / "layer.schema.json").read_text(encoding="utf-8"))
    assert committed == schema, (
        "regenerate with: gisplatform layers schema > layers/layer.schema.json"
    )
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**shelters_data(), "geometry": "Circle"}, schema)


def test_schema_command_prints_json() -> None:
    result = CliRunner().invoke(app, ["layers", "schema"])
    assert result.exit_code == 0
    assert json.loads(result.output)["title"] == "gisplatform layer definition"


def test_registry_is_immutable(registry: LayerRegistry) -> None:
    shelters = registry.get("shelters")
    with pytest.raises(LayerSpecError):
        registry.register([shelters])
    assert len(registry.register([shelters], overwrite=True)) == len(registry)
    with pytest.raises(Exception, match="frozen"):
        shelters.name = "x"  # type: ignore[misc]


def test_text_format_only_on_string_fields() -> None:
    data = shelters_data()
    readiness = next(f for f in data["fields"] if f["name"] == "readiness")
    readiness["format"] = "opening_hours"
    with pytest.raises(ValidationError, match="'format' is only allowed on string fields"):
        LayerSpec.model_validate(data)
