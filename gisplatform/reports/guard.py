"""Anti-abuse without outside services: the form's signed token, the honeypot, address HMAC.

- **form token**: ``GET /reports/form-token`` gives ``<issued ms>.<HMAC>``; a web report must
  bring one that is at least ``min_fill_s`` old (a person needs that long to fill the form;
  a script posting at once does not wait) and at most ``form_token_ttl_s``;
- **honeypot**: a form field hidden from people (:data:`HONEYPOT`); a filled one is a bot:
  400 with a generic message, nothing stored;
- **rate limit**: the client's address is kept only as an HMAC (:func:`client_hash`) in
  ``reports.requests.client_hash``; ``reports.submit`` counts them per window.

The key is ``GISPLATFORM_REPORTS_SECRET``, else one derived from the API login's database
URL (a secret every worker of a deployment holds alike), as the CSRF key is.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from gisplatform.errors import InvalidBody
from gisplatform.i18n import message
from gisplatform.settings import Settings

#: the hidden field a person leaves empty
HONEYPOT = "website"
#: the field carrying the form token
TOKEN_FIELD = "form_token"


def secret_key(settings: Settings) -> bytes:
    """The servers' shared key of the report form and the address hashes."""
    configured = settings.reports.secret
    if configured is not None:
        secret = configured.get_secret_value()
    else:
        from gisplatform.store.database import api_database_url

        secret = "gisplatform reports\0" + api_database_url(settings)
    return hashlib.sha256(secret.encode()).digest()


def _sign(key: bytes, issued_ms: int) -> str:
    digest = hmac.new(key, f"report-form:{issued_ms}".encode(), hashlib.sha256).hexdigest()
    return f"{issued_ms}.{digest[:32]}"


def form_token(key: bytes, now: float | None = None) -> str:
    """A fresh form token (the time it was issued, signed)."""
    issued = time.time() if now is None else now
    return _sign(key, int(issued * 1000))


def check_form(
    key: bytes,
    token: str | None,
    honeypot: str | None,
    settings: Settings,
    now: float | None = None,
) -> None:
    """400 for a filled honeypot, a missing or forged token, or a form sent too fast or late."""
    if honeypot:
        raise InvalidBody(message("report_form_refused"))
    issued_text = (token or "").split(".", 1)[0]
    if not issued_text.isdigit() or not hmac.compare_digest(
        (token or "").encode(), _sign(key, int(issued_text)).encode()
    ):
        raise InvalidBody(message("report_form_refused"))
    age = (time.time() if now is None else now) - int(issued_text) / 1000
    if age > settings.reports.form_token_ttl_s or age < -5:
        raise InvalidBody(message("report_form_refused"))
    if age < settings.reports.min_fill_s:
        raise InvalidBody(message("report_too_fast"))


def client_hash(key: bytes, address: str) -> str:
    """The client's address as the database keeps it: an HMAC, never the address."""
    return hmac.new(key, f"client:{address}".encode(), hashlib.sha256).hexdigest()
