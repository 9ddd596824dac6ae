"""CSRF protection for requests a browser authenticates by itself (the session cookie).

Two checks, both needed on every state-changing request (POST, PUT, PATCH, DELETE) that a
session cookie authenticates:

- **where it comes from**: ``Sec-Fetch-Site`` must be ``same-origin`` (or ``none``, typed
  by the user) and ``Origin``, when sent, must be the site's own origin;
- **a synchronizer token bound to the session**: ``X-CSRF-Token`` (the map's script) or the
  form field ``csrf_token`` (HTML forms) must equal :func:`csrf_token` of the session. It is
  an HMAC of the session's secret, so it needs no storage and another site cannot compute
  it; ``GET /session`` gives it to the page's script (same origin only: no CORS there).

Requests with an ``Authorization`` header (Basic, Bearer) sent by a script carry no ambient
credentials and need neither. A browser, though, re-sends Basic credentials by itself: pages
signed in that way (the admin's publication page) put :func:`form_token` in their forms and
check it with :func:`check_form_token`; a JSON body (never a "simple" request, so a browser
preflights it and this server allows no other origin) needs only the origin check.

:func:`gisplatform.access.sessions.require_csrf` is the dependency other routers (editing,
moderation, admin) add; the audience dependency already runs it for every request a session
authenticates.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import Request

from gisplatform.errors import CsrfRefused
from gisplatform.i18n import message

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: the header the map's script sends the token in
CSRF_HEADER = "X-CSRF-Token"
#: the hidden field HTML forms send it in
CSRF_FIELD = "csrf_token"
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: an HMAC keyed by the session's secret."""
    digest = hmac.new(session_token.encode(), b"gisplatform csrf", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def own_origins(request: Request) -> set[str]:
    """The site's origins: the public URL's and the one this request was sent to."""
    origins = {f"{request.url.scheme}://{request.url.netloc}"}
    settings = getattr(request.app.state, "settings", None)
    public = getattr(settings, "public_url", None)
    if public:
        parts = urlsplit(public)
        origins.add(f"{parts.scheme}://{parts.netloc}")
    return origins


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site or origin."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin in own_origins(request)


def check_origin(request: Request) -> None:
    """403 unless the request comes from the site itself (also guards the sign-in form)."""
    if not same_origin(request):
        raise CsrfRefused(message("csrf_failed"))


async def check_csrf(request: Request, session_token: str) -> None:
    """403 unless a cookie-authenticated request is same-origin and has the session's token."""
    check_origin(request)
    sent = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if sent is None and content_type in _FORMS:
        field = (await request.form()).get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), csrf_token(session_token).encode()):
        raise CsrfRefused(message("csrf_failed"))


def _credential_key(request: Request) -> bytes:
    """The servers' shared key: ``GISPLATFORM_CSRF_SECRET``, else one derived from the API
    login's database URL (a secret every worker of a deployment holds alike)."""
    settings = request.app.state.settings
    secret = settings.csrf_secret.get_secret_value() if settings.csrf_secret else None
    if secret is None:
        from gisplatform.store.database import api_database_url

        secret = "gisplatform csrf\0" + api_database_url(settings)
    return hashlib.sha256(secret.encode()).digest()


def form_token(request: Request) -> str:
    """The token a page puts in its forms for the credential this request came with.

    A browser signed in with the web map's form (its session cookie, no ``Authorization``)
    gets the session's own token; Basic or Bearer gets an HMAC of that header, worthless to
    another site and to another person.
    """
    from gisplatform.access.sessions import session_token  # it imports the app's routers

    authorization = request.headers.get("authorization", "")
    session = None if authorization else session_token(request)
    if session is not None:
        return csrf_token(session)
    key = _credential_key(request)
    return hmac.new(key, authorization.encode(), hashlib.sha256).hexdigest()


def is_json(request: Request) -> bool:
    """True for a JSON body (a non-simple request a browser preflights)."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return kind == "application/json"


def check_foreign_origin(request: Request) -> None:
    """403 when ``Origin`` names another site than this one or its public URL."""
    from gisplatform.ogcapi.deps import (
        site_url,  # deps imports the audience code, which imports this
    )

    origin = request.headers.get("origin")
    if origin and origin != "null":
        ours = {request.url.netloc.lower(), urlsplit(site_url(request)).netloc.lower()}
        if urlsplit(origin).netloc.lower() not in ours:
            raise CsrfRefused(message("admin_csrf"))


def check_form_token(request: Request, token: str | None) -> None:
    """403 for a state-changing request another site could have made: a foreign ``Origin``,
    or a form post without the page's :func:`form_token`. A JSON body needs only the origin."""
    check_foreign_origin(request)
    if is_json(request):
        return
    if token is None or not hmac.compare_digest(token, form_token(request)):
        raise CsrfRefused(message("admin_csrf"))
