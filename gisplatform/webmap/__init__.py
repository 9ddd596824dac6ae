"""The web map: a folium/Leaflet page generated from the layer registry, served offline."""

from gisplatform.webmap.config import map_config
from gisplatform.webmap.export import export_static_map
from gisplatform.webmap.page import MissingAssets, render_page
from gisplatform.webmap.routes import mount_webmap

__all__ = ["MissingAssets", "export_static_map", "map_config", "mount_webmap", "render_page"]
