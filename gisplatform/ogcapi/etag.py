"""Strong ETags of features from their ``version`` (OGC API Features Part 4, optimistic
locking with ETags; RFC 9110 §8.8.3, §13.1.1 and §13.1.2).

The database bumps ``version`` on every change, whoever makes it (the API, an import,
QGIS through PostgreSQL), so the tag changes exactly when the stored feature does.
A feature in another output CRS is another representation: its tag names the CRS too
(``"v7-3857"``); every representation of the current version satisfies ``If-Match``.

``If-Match`` uses the strong comparison: a weak tag never matches. A request without
``If-Match`` is run as it stands (QGIS sends none; the draft allows it, PER_ifmatch-missing).
``If-None-Match`` on a read uses the weak comparison (``W/"v7"`` matches ``"v7"``): a match
is a 304 without a body.
"""

from __future__ import annotations

import re

from gisplatform.errors import PreconditionFailed
from gisplatform.i18n import message

_TAG = re.compile(r'^"v(\d+)(?:-[0-9a-z]+)?"$')
#: how long a reader may keep a feature without asking again: never (a 304 is cheap)
REVALIDATE = "no-cache"


def etag_of(version: int, variant: str = "") -> str:
    """The strong ETag of a feature at ``version`` (``variant``: a non-default CRS's code)."""
    return f'"v{version}-{variant}"' if variant else f'"v{version}"'


def _tags(header: str) -> list[str]:
    return [part.strip() for part in header.split(",") if part.strip()]


def _version_of(tag: str) -> int | None:
    found = _TAG.match(tag)
    return int(found.group(1)) if found else None


def check_if_match(header: str | None, version: int | None) -> None:
    """Raise :class:`PreconditionFailed` unless ``If-Match`` allows changing ``version``.

    ``version`` None means the feature does not exist: any ``If-Match`` then fails
    (RFC 9110: ``*`` needs a current representation; the draft: PUT on a missing one, 412).
    """
    if header is None:
        return
    tags = _tags(header)
    if version is not None and ("*" in tags or any(_version_of(t) == version for t in tags)):
        return
    current = etag_of(version) if version is not None else "-"
    raise PreconditionFailed(message("edit_precondition", given=header.strip()[:100], etag=current))


def none_match(header: str | None, etag: str) -> bool:
    """True when ``If-None-Match`` names ``etag`` (weak comparison) or is ``*``: a 304."""
    if not header:
        return False
    tags = {tag.removeprefix("W/") for tag in _tags(header)}
    return "*" in tags or etag.removeprefix("W/") in tags


def cache_headers(is_public: bool) -> dict[str, str]:
    """``Cache-Control`` and ``Vary`` of a feature read by an audience.

    Staff answers hold fields the public never reads: ``private``, never in a shared cache.
    Both vary on who asks (the session cookie, Basic authentication), so a browser never
    answers a signed-in user with the public's copy or the other way round.
    """
    scope = "public" if is_public else "private"
    return {"Cache-Control": f"{scope}, {REVALIDATE}", "Vary": "Authorization, Cookie"}
