"""The browser-side map configuration, derived from the layer registry (public layers only).

Nothing here restates layer metadata: titles, field labels, enum labels and colours, units,
styles, themes and zoom ranges are read from each :class:`LayerSpec`, and which layers are
tiled, shown at open, searched, listed in "go to" or used by the nearest-shelter tool from
its ``map`` block. No layer or field name appears in this module or in the page's script.
"""

from __future__ import annotations

from typing import Any, get_origin

from gisplatform.analyses.shelters import NearestShelterInput, NearestShelterResult
from gisplatform.errors import ConfigurationError
from gisplatform.registry import (
    ANONYMOUS,
    Audience,
    FieldSpec,
    FieldType,
    LayerRegistry,
    LayerSpec,
)
from gisplatform.registry.spec import TextFormat
from gisplatform.registry.writes import writable_fields, writer_role
from gisplatform.store.audiences import current_reader
from gisplatform.webmap import i18n

#: Feature limit of one GeoJSON request (the small layers hold far fewer).
ITEMS_LIMIT = 10000
API_BASE = "/ogc"
TILES_PATH = "/tiles/WebMercatorQuad/{z}/{y}/{x}"
#: gisplatform.access.routes: where the page's script signs in and out
ACCOUNT = {"session": "/session", "signIn": "/signin", "signOut": "/signout"}
#: gisplatform.reports.routes: the residents' report form's endpoints
REPORTS_BASE = "/reports"


def _field(spec: LayerSpec, field: FieldSpec) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": field.name,
        "type": field.type.value,
        "title": {"uk": field.title.uk, "en": field.title.en},
        "required": field.required,
    }
    if field.unit:
        data["unit"] = i18n.unit_label(field.unit)
    if field.values:
        data["values"] = [
            {"value": v.value, "uk": v.uk, "en": v.en, "color": v.color} for v in field.values
        ]
    if field.format is TextFormat.OPENING_HOURS:
        data["format"] = "osm_hours"
    return data


def nearest_config(spec: LayerSpec) -> dict[str, Any] | None:
    """The nearest-facility tool of ``spec`` (its ``map.nearest`` block), for the script.

    ``defaults`` are the only values ever asked for; ``process`` lists the filters the
    nearest-shelter process takes as inputs, the others are applied in the browser to the
    layer's public features. A default that neither can apply is a configuration error.
    """
    nearest = spec.map.nearest
    if nearest is None:
        return None
    public = {f.name for f in spec.fields_for(current_reader())}
    inputs = set(NearestShelterInput.model_fields)
    for name in nearest.defaults:
        if name not in public and name not in inputs and name in _registry_public(spec):
            return None  # withdrawn by the publication kill switch: no tool rather than a wrong one
        if name not in public and name not in inputs:
            raise ConfigurationError(
                f"{spec.name}: map.nearest.defaults.{name} is neither a public field nor an "
                "input of the nearest-shelter process, so the map cannot apply it"
            )
    return {
        "layer": spec.name,
        "defaults": {name: list(codes) for name, codes in nearest.defaults.items()},
        "filters": [n for n in nearest.filters if n in public],
        "show": [n for n in nearest.show if n in public],
        "process": sorted(inputs & {*nearest.defaults, *nearest.filters}),
        "results": _results_key(),
    }


def _registry_public(spec: LayerSpec) -> set[str]:
    """The fields the registry makes public (before any withdrawal)."""
    return {f.name for f in spec.fields_for(ANONYMOUS)}


def _results_key() -> str:
    """The nearest-shelter process's output that lists the found facilities."""
    for name, info in NearestShelterResult.model_fields.items():
        if get_origin(info.annotation) is list:
            return name
    raise ConfigurationError("the nearest-shelter result has no list of facilities")


def layer_config(
    spec: LayerSpec, source: str, api_base: str | None, editable: tuple[str, ...] = ()
) -> dict[str, Any]:
    """One layer's entry: metadata, public fields, style and where its features come from.

    ``editable`` names the fields the caller may write (empty: the layer is read-only for
    them); the page's editor offers exactly those.
    """
    fields = spec.fields_for(current_reader())
    public = {f.name for f in fields}
    style = spec.style
    url = None
    if source == "geojson" and api_base is not None:
        url = f"{api_base}/collections/{spec.name}/items?f=json&limit={ITEMS_LIMIT}"
    return {
        "name": spec.name,
        "title": {"uk": spec.title.uk, "en": spec.title.en},
        "theme": spec.theme,
        "geometry": spec.geometry.family,
        "minZoom": spec.min_zoom,
        "maxZoom": spec.max_zoom,
        "source": source,
        "url": url,
        "visible": spec.map.visible,
        "attribution": spec.attribution,
        "style": {
            "color": style.color,
            "fillColor": style.fill_color or style.color,
            "fillOpacity": style.fill_opacity,
            "opacity": style.opacity,
            "weight": style.weight,
            "radius": style.radius,
            "dashArray": style.dash_array,
        },
        "categorizeBy": style.categorize_by if style.categorize_by in public else None,
        "labelField": style.label_field if style.label_field in public else None,
        "fields": [_field(spec, f) for f in fields],
        "filters": [f.name for f in fields if f.type in (FieldType.ENUM, FieldType.BOOLEAN)],
        "search": [n for n in spec.map.search if n in public],
        "goto": {"uk": spec.map.goto.uk, "en": spec.map.goto.en} if spec.map.goto else None,
        "writable": bool(editable) and api_base is not None,
        "editable": [n for n in editable if n in public] if api_base is not None else [],
    }


def editable_fields(registry: LayerRegistry, audience: Audience) -> dict[str, tuple[str, ...]]:
    """Per layer ``audience`` may write, the fields it writes (from ``write_roles``)."""
    found: dict[str, tuple[str, ...]] = {}
    for spec in registry.list(audience):
        role = writer_role(registry, spec, audience)
        if role is not None:
            found[spec.name] = tuple(f.name for f in writable_fields(spec, role))
    return found


def map_config(
    registry: LayerRegistry,
    lang: str,
    *,
    api_base: str | None = API_BASE,
    tiles: bool = True,
    layers: list[str] | None = None,
    basemap_url: str | None = None,
    basemap_attribution: str | None = None,
    editable: dict[str, tuple[str, ...]] | None = None,
) -> dict[str, Any]:
    """The JSON the page's script starts from.

    ``api_base`` is the OGC API root (``None`` for a static export, whose layers then carry
    their features in ``data``); ``tiles`` draws the layers marked ``map.tiled`` from the
    vector tileset.
    """
    specs = [registry.get(name, current_reader()) for name in layers] if layers else None
    public = specs or registry.list(current_reader())
    entries = []
    for spec in public:
        tiled = tiles and api_base is not None and spec.map.tiled
        source = "tiles" if tiled else "geojson"
        entries.append(layer_config(spec, source, api_base, (editable or {}).get(spec.name, ())))
    hromada = registry.hromada
    strings = {
        **i18n.STRINGS,
        "app_subtitle": {"uk": hromada.short_name.uk, "en": hromada.short_name.en},
    }
    order = list(i18n.THEMES)
    themes = sorted(
        dict.fromkeys(spec.theme for spec in public),
        key=lambda t: order.index(t) if t in order else len(order),
    )
    return {
        "lang": i18n.language(lang),
        "languages": list(i18n.LANGUAGES),
        "strings": strings,
        "hromada": {
            "katottg": hromada.katottg,
            "name": {"uk": hromada.name.uk, "en": hromada.name.en},
            "boundaryLayer": hromada.boundary_layer,
        },
        "themes": [{"id": t, "title": i18n.theme_title(t)} for t in themes],
        "layers": entries,
        "nearest": next(filter(None, (nearest_config(spec) for spec in public)), None),
        "apiBase": api_base,
        "tilesUrl": f"{api_base}{TILES_PATH}" if tiles and api_base is not None else None,
        # where the map opens before the boundary layer is loaded (lat, lon for Leaflet)
        "center": [hromada.centre.lat, hromada.centre.lon],
        "zoom": hromada.zoom,
        "basemap": {"url": basemap_url, "attribution": basemap_attribution or ""}
        if basemap_url
        else None,
        "static": api_base is None,
        # the browser session's endpoints (sign-in form, who is signed in, sign-out)
        "account": None if api_base is None else ACCOUNT,
        # residents' reports (kinds, form token, submission); none in a static export
        "reports": None if api_base is None else REPORTS_BASE,
    }
