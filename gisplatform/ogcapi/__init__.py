"""OGC API (Features, with Tiles and Records from sibling modules) mounted under ``/ogc``."""

from gisplatform.ogcapi.app import create_app

__all__ = ["create_app"]
