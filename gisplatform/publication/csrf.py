"""CSRF protection of the admin's state-changing requests.

A browser re-sends Basic credentials (and, later, a session cookie) by itself, so another
site could make an admin's browser post a form here. Two ways through:

* a JSON body (``Content-Type: application/json``): not a "simple" request, so a browser
  asks first (CORS preflight) and this server allows no other origin; scripts and ``curl``
  use it;
* a form post carrying ``csrf_token``, the token :func:`csrf_token` put in the page: an HMAC of
  the credential the request came with, so it is worthless to another site and to another
  person. When the web map's session cookie arrives, :func:`credential` is the one place to
  return the session's id instead.

A request whose ``Origin`` header names another site is refused either way.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import Request

from gisplatform.access.csrf import CSRF_FIELD
from gisplatform.access.csrf import csrf_token as session_csrf_token
from gisplatform.errors import Forbidden
from gisplatform.i18n import message
from gisplatform.ogcapi.deps import site_url

#: the form field that carries the token: the same as the session cookie's CSRF check reads
FIELD = CSRF_FIELD


def _key(request: Request) -> bytes:
    """The servers' shared key: ``GISPLATFORM_CSRF_SECRET``, else one derived from the API
    login's database URL (a secret every worker of a deployment holds alike)."""
    settings = request.app.state.settings
    secret = settings.csrf_secret.get_secret_value() if settings.csrf_secret else None
    if secret is None:
        from gisplatform.store.database import api_database_url

        secret = "gisplatform csrf\0" + api_database_url(settings)
    return hashlib.sha256(secret.encode()).digest()


def credential(request: Request) -> str:
    """What identifies the signed-in person's credential (the ``Authorization`` header)."""
    return request.headers.get("authorization", "")


def csrf_token(request: Request) -> str:
    """The token a page puts in its forms for this request's credential.

    A browser signed in with the web map's form (its session cookie, no ``Authorization``)
    gets the session's own token, which the audience dependency checks on every post too.
    """
    from gisplatform.access.sessions import session_token  # it imports the app's routers

    session = None if request.headers.get("authorization") else session_token(request)
    if session is not None:
        return session_csrf_token(session)
    return hmac.new(_key(request), credential(request).encode(), hashlib.sha256).hexdigest()


def is_json(request: Request) -> bool:
    """True for a JSON body (a non-simple request a browser preflights)."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return kind == "application/json"


def check_origin(request: Request) -> None:
    """Refuse (403) a request whose ``Origin`` names another site."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        ours = {request.url.netloc.lower(), urlsplit(site_url(request)).netloc.lower()}
        if urlsplit(origin).netloc.lower() not in ours:
            raise Forbidden(message("admin_csrf"))


def check_csrf(request: Request, token: str | None) -> None:
    """Refuse (403) a state-changing request that another site could have made.

    A ``DELETE`` (never simple) needs only :func:`check_origin`.
    """
    check_origin(request)
    if is_json(request):
        return
    if token is None or not hmac.compare_digest(token, csrf_token(request)):
        raise Forbidden(message("admin_csrf"))
