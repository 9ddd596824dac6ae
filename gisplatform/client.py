"""A small client for analysts: our OGC API → (Geo)DataFrames, processes, folium maps.

>>> client = Client("http://127.0.0.1:8000")  # doctest: +SKIP
>>> shelters = client.read_layer("shelters", filter="readiness = 'ready'")  # doctest: +SKIP
>>> client.explore(shelters, layer="shelters")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import Any

import folium
import geopandas as gpd
import httpx
import pandas as pd
import shapely
from pyproj import CRS

from gisplatform.registry import LayerRegistry, LayerSpec, load_registry
from gisplatform.settings import PROJECT_ROOT

DEFAULT_URL = "http://127.0.0.1:8000"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"
PAGE_SIZE = 1000
TOOLTIP_FIELDS = 12


class ClientError(RuntimeError):
    """The server refused a request; the message carries the server's description."""

    def __init__(self, status: int, description: str) -> None:
        self.status = status
        self.description = description
        super().__init__(f"HTTP {status}: {description}")


def _crs_uri(crs: str | int | None) -> tuple[str, int]:
    """The OGC URI and EPSG code of ``crs`` (an EPSG code, ``EPSG:n``, a URI or CRS84)."""
    if crs is None or str(crs).upper().endswith("CRS84"):
        return CRS84, 4326
    code = int(str(crs).rsplit("/", 1)[-1].rsplit(":", 1)[-1])
    return EPSG_URI + str(code), code


def _north_first(code: int, uri: str) -> bool:
    """True when the CRS lists latitude/northing first (the server then sends y, x)."""
    return uri != CRS84 and CRS.from_epsg(code).axis_info[0].direction in ("north", "south")


def _is_geometry(value: Any) -> bool:
    return isinstance(value, dict) and "type" in value and "coordinates" in value


def to_frame(value: Any) -> Any:
    """GeoJSON → GeoDataFrame; records carrying a GeoJSON geometry → GeoDataFrame;
    other records → DataFrame; anything else unchanged."""
    if isinstance(value, dict) and value.get("type") == "FeatureCollection":
        return gpd.GeoDataFrame.from_features(value["features"], crs="EPSG:4326")
    if not (isinstance(value, list) and value and all(isinstance(v, dict) for v in value)):
        return value
    frame = pd.DataFrame(value)
    geometry = [c for c in frame.columns if frame[c].map(_is_geometry).any()]
    if not geometry:
        return frame
    shapes = frame[geometry[0]].map(lambda g: shapely.geometry.shape(g) if g else None)
    return gpd.GeoDataFrame(frame.drop(columns=geometry[0]), geometry=shapes, crs="EPSG:4326")


def _next(page: dict[str, Any]) -> str | None:
    for item in page.get("links", []):
        if item.get("rel") == "next":
            return str(item["href"])
    return None


class Client:
    """Reads layers and runs processes of a gisplatform server (``GISPLATFORM_URL``)."""

    def __init__(
        self,
        base_url: str | None = None,
        timeout: float = 300,
        registry: LayerRegistry | None = None,
        token: str | None = None,
    ) -> None:
        """``token``: a personal token (``gisplatform tokens create``), else ``GISPLATFORM_TOKEN``;
        without one the client reads what the public may read."""
        url = (base_url or os.environ.get("GISPLATFORM_URL") or DEFAULT_URL).rstrip("/")
        self.api_url = url if url.endswith("/ogc") else url + "/ogc"
        headers = {"Accept": "application/json"}
        secret = token or os.environ.get("GISPLATFORM_TOKEN")
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        self._http = httpx.Client(timeout=timeout, headers=headers)
        self._registry = registry

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    @cached_property
    def registry(self) -> LayerRegistry:
        """The layer registry for styles and labels (the project's own by default)."""
        return self._registry or load_registry(PROJECT_ROOT / "layers")

    def _get(self, url: str, params: dict[str, Any] | None = None) -> Any:
        return self._json(self._http.get(url, params=params))

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                description = str(response.json().get("description", response.text))
            except ValueError:
                description = response.text
            raise ClientError(response.status_code, description)
        return response.json()

    def _collections(self, lang: str) -> list[dict[str, Any]]:
        body = self._get(f"{self.api_url}/collections", {"f": "json", "lang": lang})
        return [c for c in body["collections"] if c.get("itemType", "feature") == "feature"]

    def layers(self, counts: bool = True) -> pd.DataFrame:
        """The feature collections: id, Ukrainian and English titles and (if cheap) counts."""
        english = {c["id"]: c["title"] for c in self._collections("en")}
        rows = []
        for collection in self._collections("uk"):
            layer_id = collection["id"]
            row: dict[str, Any] = {
                "id": layer_id,
                "title_uk": collection["title"],
                "title_en": english.get(layer_id),
            }
            if counts:
                page = self._get(
                    f"{self.api_url}/collections/{layer_id}/items",
                    {"f": "json", "limit": 1, "skipGeometry": "true"},
                )
                row["count"] = page.get("numberMatched")
            rows.append(row)
        return pd.DataFrame(rows)

    def read_layer(
        self,
        name: str,
        bbox: Sequence[float] | None = None,
        filter: str | None = None,
        properties: Iterable[str] | None = None,
        crs: str | int | None = None,
        limit: int | None = None,
    ) -> gpd.GeoDataFrame:
        """Features of layer ``name`` as a GeoDataFrame, following ``next`` links.

        ``bbox`` is lon/lat (CRS84); ``filter`` is CQL2 text; ``crs`` an EPSG code or URI
        (CRS84 by default, giving EPSG:4326 with x = longitude); ``limit`` caps the count.
        """
        uri, code = _crs_uri(crs)
        params: dict[str, Any] = {"f": "json", "limit": min(limit or PAGE_SIZE, PAGE_SIZE)}
        if bbox is not None:
            params["bbox"] = ",".join(str(v) for v in bbox)
        if filter is not None:
            params["filter"] = filter
            params["filter-lang"] = "cql2-text"
        if properties is not None:
            params["properties"] = ",".join(properties)
        if uri != CRS84:
            params["crs"] = uri
        features: list[dict[str, Any]] = []
        url: str | None = f"{self.api_url}/collections/{name}/items"
        query: dict[str, Any] | None = params
        while url is not None and (limit is None or len(features) < limit):
            page = self._get(url, query)
            features.extend(page.get("features", []))
            url, query = _next(page), None  # next links carry every parameter
        features = features[:limit] if limit is not None else features
        if not features:
            return gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs=f"EPSG:{code}")
        for feature in features:  # keep the server's ids next to the properties
            feature["properties"] = {"id": feature.get("id"), **(feature.get("properties") or {})}
        frame = gpd.GeoDataFrame.from_features(features, crs=f"EPSG:{code}")
        if _north_first(code, uri):  # geopandas wants x (longitude/easting) first
            frame.geometry = shapely.transform(frame.geometry.values, lambda xy: xy[:, ::-1])
        return frame

    def run_process(self, process_id: str, inputs: dict[str, Any] | None = None) -> Any:
        """Run a process synchronously; GeoJSON parts become GeoDataFrames, tables DataFrames.

        A result object comes back as a dict whose parts are converted one by one.
        """
        response = self._http.post(
            f"{self.api_url}/processes/{process_id}/execution", json={"inputs": inputs or {}}
        )
        result = self._json(response)
        if isinstance(result, dict) and result.get("type") != "FeatureCollection":
            return {key: to_frame(value) for key, value in result.items()}
        return to_frame(result)

    def explore(
        self, gdf: gpd.GeoDataFrame, layer: str | None = None, lang: str = "uk"
    ) -> folium.Map:
        """A folium map of ``gdf`` in the layer's registry style, with labelled tooltips."""
        spec = self.registry.get(layer) if layer else None  # labels of the columns given
        data = (gdf.to_crs(4326) if gdf.crs is not None else gdf.set_crs(4326)).copy()
        data = data[data.geometry.notna() & ~data.geometry.is_empty]
        columns = [c for c in data.columns if c != data.geometry.name][:TOOLTIP_FIELDS]
        labels = {c: c for c in columns}
        for field in spec.fields if spec else ():
            if field.name in labels:
                labels[field.name] = field.title.get(lang)
                names = {v.value: v.label(lang) for v in field.values}
                if names:
                    data[field.name] = data[field.name].map(lambda v, n=names: n.get(v, v))
        for column in columns:
            if not pd.api.types.is_numeric_dtype(data[column]):
                data[column] = data[column].map(lambda v: None if v is None else str(v))
        fmap = folium.Map(tiles=None, control_scale=True)
        if len(data):
            west, south, east, north = data.total_bounds
            fmap.fit_bounds([[south, west], [north, east]])
        tooltip = folium.GeoJsonTooltip(columns, aliases=[labels[c] for c in columns])
        folium.GeoJson(
            data[[*columns, data.geometry.name]],
            name=spec.title.get(lang) if spec else (layer or "layer"),
            style_function=lambda feature: _style(spec, feature),
            marker=folium.CircleMarker(radius=spec.style.radius if spec else 5),
            tooltip=tooltip if columns else None,
        ).add_to(fmap)
        folium.LayerControl().add_to(fmap)
        return fmap


def _style(spec: LayerSpec | None, feature: dict[str, Any]) -> dict[str, Any]:
    """Leaflet path options of one feature from the layer style (category colours too)."""
    if spec is None:
        return {"color": "#3388ff", "weight": 2, "fillOpacity": 0.4}
    style = spec.style
    color = style.color
    if style.categorize_by:
        value = (feature.get("properties") or {}).get(style.categorize_by)
        for entry in spec.field(style.categorize_by).values:
            if entry.color and value in (entry.value, entry.uk, entry.en):
                color = entry.color
    return {
        "color": color,
        "fillColor": color if style.categorize_by else style.fill_color or color,
        "fillOpacity": style.fill_opacity,
        "opacity": style.opacity,
        "weight": style.weight,
        "dashArray": style.dash_array,
    }
