"""The layer registry: layer definitions loaded from ``layers/*.yaml``."""

from gisplatform.registry.hromada import HromadaProfile
from gisplatform.registry.loader import load_layer_file, load_registry
from gisplatform.registry.registry import LayerRegistry
from gisplatform.registry.spec import (
    Access,
    EnumValue,
    FieldSpec,
    FieldType,
    GeometryType,
    LayerSpec,
    LayerStyle,
    Localized,
    MapSpec,
    NearestSpec,
)

__all__ = [
    "Access",
    "EnumValue",
    "FieldSpec",
    "FieldType",
    "GeometryType",
    "HromadaProfile",
    "LayerRegistry",
    "LayerSpec",
    "LayerStyle",
    "Localized",
    "MapSpec",
    "NearestSpec",
    "load_layer_file",
    "load_registry",
]
