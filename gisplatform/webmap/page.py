"""The folium page: Leaflet from our own ``/static``, never a CDN, plus the platform's script."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import folium
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from gisplatform.errors import ConfigurationError

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_URL = "/static"

#: Browser libraries (installed from npm by scripts/install-web-assets.sh).
VENDOR_JS = [
    ("leaflet", f"{STATIC_URL}/vendor/leaflet/leaflet.js"),
    ("vectorgrid", f"{STATIC_URL}/vendor/vectorgrid/Leaflet.VectorGrid.bundled.min.js"),
    ("fullscreen", f"{STATIC_URL}/vendor/fullscreen/Control.FullScreen.umd.js"),
    ("locate", f"{STATIC_URL}/vendor/locate/L.Control.Locate.min.js"),
]
VENDOR_CSS = [
    ("leaflet_css", f"{STATIC_URL}/vendor/leaflet/leaflet.css"),
    ("fullscreen_css", f"{STATIC_URL}/vendor/fullscreen/Control.FullScreen.css"),
    ("locate_css", f"{STATIC_URL}/vendor/locate/L.Control.Locate.min.css"),
]
#: The platform's own script and style (plain IIFEs, no build step).
APP_JS = [
    ("gisplatform_map", f"{STATIC_URL}/js/map.js"),
    ("gisplatform_ui", f"{STATIC_URL}/js/ui.js"),
    ("gisplatform_tools", f"{STATIC_URL}/js/tools.js"),
    ("gisplatform_account", f"{STATIC_URL}/js/account.js"),
    ("gisplatform_editform", f"{STATIC_URL}/js/editform.js"),
    ("gisplatform_editor", f"{STATIC_URL}/js/editor.js"),
    ("gisplatform_editgeom", f"{STATIC_URL}/js/editgeom.js"),
    ("gisplatform_reports", f"{STATIC_URL}/js/reports.js"),
]
APP_CSS = [("gisplatform_css", f"{STATIC_URL}/css/map.css")]


class MissingAssets(ConfigurationError):
    """The vendor files are not installed (run scripts/install-web-assets.sh)."""


class PlatformMap(folium.Map):
    """A folium map whose Leaflet and plugins come from the platform's ``/static``."""

    default_js = VENDOR_JS
    default_css = VENDOR_CSS


class PlatformApp(JSCSSMixin, MacroElement):
    """Starts the platform's map script on the parent map with a JSON configuration."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        window.gisplatform.start({{ this._parent.get_name() }}, {{ this.config_json }});
        {% endmacro %}"""
    )
    default_js = APP_JS
    default_css = APP_CSS

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "GisplatformApp"
        self.config_json = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")


def render_page(config: dict[str, Any], inline: bool = False) -> str:
    """The whole HTML page for ``config``; ``inline`` embeds every asset (offline file)."""
    lang = config["lang"]
    title = config["strings"]["app_title"][lang]
    figure = Figure(title=title)
    fmap = PlatformMap(
        location=config["center"],
        zoom_start=config["zoom"],
        tiles=None,
        prefer_canvas=False,
        max_zoom=19,
    )
    figure.add_child(fmap)
    fmap.add_child(PlatformApp(config))
    figure.header.add_child(Element('<link rel="icon" href="data:,">'), name="favicon")
    html = figure.render().replace("<html>", f'<html lang="{lang}">', 1)
    return inline_assets(html) if inline else html


def _asset(url: str) -> Path:
    path = STATIC_DIR / url.removeprefix(f"{STATIC_URL}/")
    if not path.is_file():
        raise MissingAssets(f"{path} is missing: run scripts/install-web-assets.sh")
    return path


def _inline_css(path: Path) -> str:
    css = path.read_text(encoding="utf-8")

    def data_uri(match: re.Match[str]) -> str:
        image = path.parent / match.group(1)
        if not image.is_file():
            return match.group(0)
        encoded = base64.b64encode(image.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{encoded})"

    return re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, css)


def inline_assets(html: str) -> str:
    """Replace every ``/static`` script and stylesheet link by the file's content."""

    def script(match: re.Match[str]) -> str:
        code = _asset(match.group(1)).read_text(encoding="utf-8")
        code = re.sub(r"//# sourceMappingURL=\S+", "", code).replace("</script", "<\\/script")
        return f"<script>{code}</script>"

    def style(match: re.Match[str]) -> str:
        return f"<style>{_inline_css(_asset(match.group(1)))}</style>"

    html = re.sub(rf'<script src="({STATIC_URL}/[^"]+)"></script>', script, html)
    return re.sub(rf'<link rel="stylesheet" href="({STATIC_URL}/[^"]+)"\s*/>', style, html)


def check_assets() -> None:
    """Raise :class:`MissingAssets` unless every vendor and app file is present."""
    for _, url in (*VENDOR_JS, *VENDOR_CSS, *APP_JS, *APP_CSS):
        _asset(url)


__all__ = ["MissingAssets", "PlatformMap", "check_assets", "render_page"]
