"""``GET /`` (the web map) and ``/static`` (its scripts, styles and vendor libraries)."""

from __future__ import annotations

import html

from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from gisplatform.registry import LayerRegistry, load_registry
from gisplatform.settings import Settings
from gisplatform.webmap import i18n
from gisplatform.webmap.config import API_BASE, map_config
from gisplatform.webmap.page import STATIC_DIR, MissingAssets, check_assets, render_page


def mount_webmap(
    app: FastAPI,
    registry: LayerRegistry | None = None,
    *,
    api_base: str = API_BASE,
    basemap_url: str | None = None,
    basemap_attribution: str | None = None,
) -> None:
    """Add the web map at ``/`` (``?lang=uk|en``) and its assets at ``/static``.

    The registry is taken from the argument, else ``app.state.registry``, else loaded from
    the configured layers directory. Without the vendor files ``/`` answers 503 and says
    how to install them (the rest of the app keeps working). ``basemap_url`` (an XYZ
    template) adds an online basemap to the layer panel, switched off by default.
    """
    layers = (
        registry or getattr(app.state, "registry", None) or load_registry(Settings().layers_dir)
    )
    pages: dict[str, str] = {}

    def page(lang: str) -> str:
        if lang not in pages:
            config = map_config(
                layers,
                lang,
                api_base=api_base,
                basemap_url=basemap_url,
                basemap_attribution=basemap_attribution,
            )
            pages[lang] = render_page(config)
        return pages[lang]

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def web_map(lang: str = Query(default=i18n.DEFAULT_LANGUAGE)) -> HTMLResponse:
        """The city web map."""
        try:
            check_assets()
        except MissingAssets as exc:
            return HTMLResponse(f"<p>{html.escape(str(exc))}</p>", status_code=503)
        return HTMLResponse(page(i18n.language(lang)))

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
