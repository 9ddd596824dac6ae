"""``GET /`` (the web map) and ``/static`` (its scripts, styles and vendor libraries)."""

from __future__ import annotations

import html
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from gisplatform.access.headers import content_security_policy, inline_script_hashes
from gisplatform.registry import ANONYMOUS, Audience, LayerRegistry, load_registry
from gisplatform.settings import Settings
from gisplatform.store.audiences import current_view
from gisplatform.webmap import i18n
from gisplatform.webmap.config import API_BASE, editable_fields, map_config
from gisplatform.webmap.page import STATIC_DIR, MissingAssets, check_assets, render_page


def _origin(url_template: str) -> str:
    """The CSP source of a basemap's tiles: its origin, ``{s}`` subdomains as ``*``."""
    parts = urlsplit(url_template.replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}"


async def _request_audience(request: Request) -> Audience:
    """The platform's audience dependency; a web map mounted alone serves the public."""
    from gisplatform.ogcapi.auth import request_audience

    if not hasattr(request.app.state, "authenticator"):
        return ANONYMOUS
    return await request_audience(request)


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
    settings: Settings = getattr(app.state, "settings", None) or Settings()
    layers = registry or getattr(app.state, "registry", None) or load_registry(settings.layers_dir)
    pages: dict[tuple[Any, ...], tuple[str, str]] = {}
    images = [_origin(basemap_url)] if basemap_url else []

    def page(lang: str, editable: dict[str, tuple[str, ...]]) -> tuple[str, str]:
        """The page and its Content-Security-Policy (folium's start-up scripts by hash)."""
        # one page per language and audience (with what the kill switch withdrew from it):
        # a staff map never reaches anyone else, a withdrawn layer never the public
        # and what the caller may edit (a writer's map carries the editor's fields)
        key = (lang, current_view().schema, current_view().reader, tuple(sorted(editable.items())))
        if key not in pages:
            if len(pages) > 64:
                pages.clear()
            config = map_config(
                layers,
                lang,
                api_base=api_base,
                basemap_url=basemap_url,
                basemap_attribution=basemap_attribution,
                editable=editable,
                report_marks=getattr(app.state, "report_map", None),
            )
            html_page = render_page(config)
            csp = content_security_policy(settings, inline_script_hashes(html_page), images)
            pages[key] = (html_page, csp)
        return pages[key]

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def web_map(
        audience: Annotated[Audience, Depends(_request_audience)],
        lang: str = Query(default=i18n.DEFAULT_LANGUAGE),
    ) -> HTMLResponse:
        """The city web map."""
        try:
            check_assets()
        except MissingAssets as exc:
            return HTMLResponse(f"<p>{html.escape(str(exc))}</p>", status_code=503)
        html_page, csp = page(i18n.language(lang), editable_fields(layers, audience))
        # the page depends on who is signed in: never served from a cache to someone else
        headers = {
            "Content-Security-Policy": csp,
            "Cache-Control": "private, no-cache",
            "Vary": "Cookie, Authorization",
        }
        return HTMLResponse(html_page, headers=headers)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
