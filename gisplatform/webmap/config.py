"""The browser-side map configuration, derived from the layer registry (public layers only).

Nothing here restates layer metadata: titles, field labels, enum labels and colours, units,
styles, themes and zoom ranges are read from each :class:`LayerSpec`.
"""

from __future__ import annotations

from typing import Any

from gisplatform.registry import Access, FieldSpec, FieldType, LayerRegistry, LayerSpec
from gisplatform.webmap import i18n

#: Large layers drawn from the multi-layer vector tileset instead of GeoJSON.
TILED_LAYERS = frozenset({"buildings", "street_lights", "streets"})
#: Layers switched on when the page opens (the map must be readable without a basemap).
DEFAULT_ON = frozenset(
    {"hromada_boundary", "starosta_districts", "settlements", "shelters", "streets", "buildings"}
)
#: Feature limit of one GeoJSON request (the small layers hold far fewer).
ITEMS_LIMIT = 10000
API_BASE = "/ogc"
TILES_PATH = "/tiles/WebMercatorQuad/{z}/{y}/{x}"


def _field(field: FieldSpec) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": field.name,
        "type": field.type.value,
        "title": {"uk": field.title.uk, "en": field.title.en},
    }
    if field.unit:
        data["unit"] = i18n.unit_label(field.unit)
    if field.values:
        data["values"] = [
            {"value": v.value, "uk": v.uk, "en": v.en, "color": v.color} for v in field.values
        ]
    return data


def _searchable(field: FieldSpec) -> bool:
    return field.type is FieldType.STRING and (
        field.name.startswith("name") or "address" in field.name or field.name == "street_name"
    )


def layer_config(spec: LayerSpec, source: str, api_base: str | None) -> dict[str, Any]:
    """One layer's entry: metadata, public fields, style and where its features come from."""
    fields = spec.fields_for(Access.PUBLIC)
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
        "visible": spec.name in DEFAULT_ON,
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
        "categorizeBy": style.categorize_by,
        "labelField": style.label_field,
        "fields": [_field(f) for f in fields],
        "filters": [f.name for f in fields if f.type in (FieldType.ENUM, FieldType.BOOLEAN)],
        "search": [f.name for f in fields if _searchable(f)],
    }


def map_config(
    registry: LayerRegistry,
    lang: str,
    *,
    api_base: str | None = API_BASE,
    tiles: bool = True,
    layers: list[str] | None = None,
    basemap_url: str | None = None,
    basemap_attribution: str | None = None,
) -> dict[str, Any]:
    """The JSON the page's script starts from.

    ``api_base`` is the OGC API root (``None`` for a static export, whose layers then carry
    their features in ``data``); ``tiles`` draws :data:`TILED_LAYERS` from the vector tileset.
    """
    specs = [registry.get(name, Access.PUBLIC) for name in layers] if layers else None
    public = specs or registry.list(Access.PUBLIC)
    entries = []
    for spec in public:
        tiled = tiles and api_base is not None and spec.name in TILED_LAYERS
        entries.append(layer_config(spec, "tiles" if tiled else "geojson", api_base))
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
        "apiBase": api_base,
        "tilesUrl": f"{api_base}{TILES_PATH}" if tiles and api_base is not None else None,
        # where the map opens before the boundary layer is loaded (lat, lon for Leaflet)
        "center": [hromada.centre.lat, hromada.centre.lon],
        "zoom": hromada.zoom,
        "basemap": {"url": basemap_url, "attribution": basemap_attribution or ""}
        if basemap_url
        else None,
        "static": api_base is None,
    }
