"""Security headers on every response, and the Content-Security-Policy they carry.

The policy allows scripts, styles, images and requests from the site itself only; no
inline script runs except those whose SHA-256 a page lists (the web map's folium start-up
code, see :func:`inline_script_hashes`). Styles may be inline (Leaflet and the map's
script build styled markup). ``frame-ancestors`` comes from ``GISPLATFORM_FRAME_ANCESTORS``.
A response that sets its own policy keeps it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gisplatform.settings import Settings

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?P<attrs>[^>]*)>(?P<code>.*?)</script>", re.S)
#: one year, only ever sent over HTTPS
HSTS = "max-age=31536000"


def inline_script_hashes(html: str) -> list[str]:
    """The CSP sources (``'sha256-…'``) of every inline script of ``html`` that runs."""
    found = []
    for match in _INLINE_SCRIPT.finditer(html):
        if "application/json" in match.group("attrs"):
            continue  # a data block: never executed, never checked
        digest = hashlib.sha256(match.group("code").encode("utf-8")).digest()
        found.append(f"'sha256-{base64.b64encode(digest).decode()}'")
    return list(dict.fromkeys(found))


def content_security_policy(
    settings: Settings, scripts: Iterable[str] = (), images: Iterable[str] = ()
) -> str:
    """The policy: the site's own resources, plus the script hashes and image origins given."""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *scripts],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *images],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": settings.frame_ancestors or ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def _frame_options(ancestors: list[str]) -> str | None:
    """X-Frame-Options for browsers without frame-ancestors (only for self or none)."""
    if not ancestors or ancestors == ["'none'"]:
        return "DENY"
    return "SAMEORIGIN" if ancestors == ["'self'"] else None


class SecurityHeaders:
    """ASGI middleware: the security headers on every HTTP response."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.headers = {
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "Content-Security-Policy": content_security_policy(settings),
            "Cross-Origin-Opener-Policy": "same-origin",
            "Permissions-Policy": "geolocation=(self), camera=(), microphone=(), payment=()",
        }
        frame = _frame_options(settings.frame_ancestors)
        if frame is not None:
            self.headers["X-Frame-Options"] = frame

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
