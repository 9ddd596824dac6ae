"""The JSON Schema of a layer definition, for editors that validate YAML."""

from __future__ import annotations

from typing import Any

from gisplatform.registry.spec import LayerSpec

SCHEMA_ID = "https://gisplatform.example/schemas/layer.schema.json"


def layer_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) generated from :class:`LayerSpec`."""
    schema = LayerSpec.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "gisplatform layer definition",
    }
