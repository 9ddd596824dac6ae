"""The layer registry: layer definitions loaded from ``layers/*.yaml``."""

from gisplatform.registry.hromada import HromadaProfile
from gisplatform.registry.loader import load_layer_file, load_registry
from gisplatform.registry.registry import LayerRegistry
from gisplatform.registry.roles import RoleSpec
from gisplatform.registry.spec import (
    ANONYMOUS,
    Access,
    Audience,
    EnumValue,
    FieldSpec,
    FieldType,
    GeometryType,
    IndexKind,
    IndexSpec,
    LayerSpec,
    LayerStyle,
    Localized,
    MapSpec,
    NearestSpec,
)

__all__ = [
    "ANONYMOUS",
    "Access",
    "Audience",
    "EnumValue",
    "FieldSpec",
    "FieldType",
    "GeometryType",
    "HromadaProfile",
    "IndexKind",
    "IndexSpec",
    "LayerRegistry",
    "LayerSpec",
    "LayerStyle",
    "Localized",
    "MapSpec",
    "NearestSpec",
    "RoleSpec",
    "load_layer_file",
    "load_registry",
]
