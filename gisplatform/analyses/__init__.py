"""Spatial analyses over PostGIS/pgRouting: typed inputs in, typed results out.

Each analysis is ``(conn, params) -> result``; the inputs are pydantic models whose
validation errors name the offending input.
"""

from gisplatform.analyses.coverage import (
    ShelterCoverageInput,
    ShelterCoverageResult,
    shelter_coverage,
)
from gisplatform.analyses.lighting import LightingGapsInput, LightingGapsResult, lighting_gaps
from gisplatform.analyses.network import GraphInfo, ensure_graph
from gisplatform.analyses.services import ServiceAccessInput, ServiceAccessResult, service_access
from gisplatform.analyses.shelters import NearestShelterInput, NearestShelterResult, nearest_shelter

__all__ = [
    "GraphInfo",
    "LightingGapsInput",
    "LightingGapsResult",
    "NearestShelterInput",
    "NearestShelterResult",
    "ServiceAccessInput",
    "ServiceAccessResult",
    "ShelterCoverageInput",
    "ShelterCoverageResult",
    "ensure_graph",
    "lighting_gaps",
    "nearest_shelter",
    "service_access",
    "shelter_coverage",
]
