"""Population figures for an audience that may not see ``buildings.population``.

The population of a building is staff data; totals over many buildings are not. For such an
audience the analyses publish population figures only when they cannot be taken apart:

- **Fixed configuration.** Figures that depend on the inputs (bands, thresholds, speed,
  filters) are given only for the standard inputs (:data:`STANDARD_BANDS` at the default
  speed and filters), so every caller gets the same table and two calls cannot be
  subtracted. Any other input gives ``None`` for those figures.
- **Small counts suppressed.** Within an area the buildings fall into disjoint cells (each
  band's ring, beyond the last band, unreachable); when any non-empty cell has fewer than
  :data:`K_BUILDINGS` buildings, every band figure of the area is withheld; an area of fewer
  than ``K_BUILDINGS`` buildings has no population at all; totals that would give withheld
  figures back by subtraction are withheld unless what they give back is itself a group of
  ``K_BUILDINGS`` buildings or more (the hromada totals; shelter loads: the smallest further
  loads until the withheld ones cover ``K_BUILDINGS`` buildings).

Building counts are published: they come from public data (footprints, public shelters).
Not covered: differences across the two partitions (a starosta district against the
settlements it holds) when a settlement is withheld and its district is not.
"""

from __future__ import annotations

from typing import Any

from gisplatform.analyses.coverage import (
    AreaCoverage,
    ShelterCoverageInput,
    ShelterCoverageResult,
    ShelterLoad,
)
from gisplatform.analyses.services import (
    ServiceAccessInput,
    ServiceAccessResult,
    SettlementAccess,
)

#: fewest buildings behind a published population figure
K_BUILDINGS = 10
#: the only walking-time bands (minutes) with population figures for such an audience
STANDARD_BANDS = (5.0, 10.0, 15.0)
#: inputs of shelter-coverage that change no population figure
_COVERAGE_FREE = frozenset({"bands_minutes", "uncovered_buffer_m", "include_buildings"})

_BANDS = ", ".join(f"{b:g}" for b in STANDARD_BANDS)
NOTE = {
    "uk": (
        f"Кількість мешканців — лише для стандартних смуг {_BANDS} "
        f"хв за типових параметрів і де за нею щонайменше {K_BUILDINGS} будівель; "
        "інакше null"
    ),
    "en": (
        f"Population figures only for the standard bands {_BANDS} min at the default inputs "
        f"and where they count at least {K_BUILDINGS} buildings; otherwise null"
    ),
}


def _small(count: int) -> bool:
    return 0 < count < K_BUILDINGS


def standard_coverage(params: ShelterCoverageInput) -> bool:
    """True for the inputs whose population figures may be published."""
    default = ShelterCoverageInput.model_validate({}, context=None)
    same = all(
        getattr(params, name) == getattr(default, name)
        for name in ShelterCoverageInput.model_fields
        if name not in _COVERAGE_FREE
    )
    return same and tuple(params.bands_minutes) == STANDARD_BANDS


def _area(area: AreaCoverage, standard: bool) -> AreaCoverage:
    cells, previous = [], 0
    for band in area.within:
        cells.append(band.buildings - previous)
        previous = band.buildings
    cells += [area.uncovered_buildings - area.unreachable_buildings, area.unreachable_buildings]
    update: dict[str, Any] = {}
    if not standard or any(_small(c) for c in cells):
        update = {
            "within": [b.model_copy(update={"population": None}) for b in area.within],
            "uncovered_population": None,
            "unreachable_population": None,
        }
    if area.buildings < K_BUILDINGS:
        update |= {"population": None, "capacity_balance": None}
    return area.model_copy(update=update)


def _loads(loads: list[ShelterLoad], standard: bool) -> list[ShelterLoad]:
    hidden = {load.fid for load in loads if not standard or _small(load.assigned_buildings)}
    if hidden and standard:
        covered = sum(load.assigned_buildings for load in loads if load.fid in hidden)
        for load in sorted(loads, key=lambda item: (item.assigned_buildings, item.fid)):
            if covered >= K_BUILDINGS:
                break
            if load.fid not in hidden:
                hidden.add(load.fid)
                covered += load.assigned_buildings
    return [
        load.model_copy(update={"assigned_population": None, "spare_capacity": None})
        if load.fid in hidden
        else load
        for load in loads
    ]


def coverage_figures(params: Any, result: Any) -> ShelterCoverageResult:
    """``result`` with only the population figures that may be published."""
    assert isinstance(params, ShelterCoverageInput) and isinstance(result, ShelterCoverageResult)
    standard = standard_coverage(params)
    settlements = [_area(a, standard) for a in result.settlements]
    shown = {a.id: a for a in settlements}
    features = []
    for feature in result.uncovered_areas.get("features", []):
        area = shown.get(feature["properties"].get("settlement_katottg"))
        properties = dict(feature["properties"])
        if area is None or area.uncovered_population is None:
            properties["population"] = None
            properties["unreachable_population"] = None
        features.append({**feature, "properties": properties})
    # the hromada totals minus the published areas give the withheld areas back as a group
    hidden_totals = [a for a in settlements if a.population is None]
    hidden_bands = [a for a in settlements if a.uncovered_population is None]
    totals_safe = not _small(sum(a.buildings for a in hidden_totals))
    uncovered = sum(a.uncovered_buildings for a in hidden_bands)
    covered = sum(a.buildings - a.uncovered_buildings for a in hidden_bands)
    bands_safe = standard and not (_small(uncovered) or _small(covered))
    return result.model_copy(
        update={
            "settlements": settlements,
            "starosta_districts": [_area(a, standard) for a in result.starosta_districts],
            "shelter_loads": _loads(result.shelter_loads, standard),
            "uncovered_areas": {**result.uncovered_areas, "features": features},
            "population": result.population if totals_safe else None,
            "uncovered_population": result.uncovered_population if bands_safe else None,
        }
    )


def _settlement(row: SettlementAccess, standard: bool) -> SettlementAccess:
    reached = row.buildings - row.unreachable_buildings
    cells = [
        row.buildings_within_near,
        row.buildings_within_far - row.buildings_within_near,
        reached - row.buildings_within_far,
        row.unreachable_buildings,
    ]
    update: dict[str, Any] = {}
    if not standard or any(_small(c) for c in cells):
        update = dict.fromkeys(
            (
                "unreachable_population",
                "mean_minutes",
                "median_minutes",
                "max_minutes",
                "share_within_near",
                "share_within_far",
            )
        )
    if row.buildings < K_BUILDINGS:
        update["population"] = None
    return row.model_copy(update=update)


def service_figures(params: Any, result: Any) -> ServiceAccessResult:
    """``result`` with only the population-weighted figures that may be published."""
    assert isinstance(params, ServiceAccessInput) and isinstance(result, ServiceAccessResult)
    standard = params == ServiceAccessInput.model_validate({})
    services = [
        s.model_copy(update={"settlements": [_settlement(r, standard) for r in s.settlements]})
        for s in result.services
    ]
    return result.model_copy(update={"services": services})
