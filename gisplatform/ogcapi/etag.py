"""Strong ETags of features from their ``version`` (OGC API Features Part 4, optimistic
locking with ETags; RFC 9110 §8.8.3 and §13.1.1).

The database bumps ``version`` on every change, whoever makes it (the API, an import,
QGIS through PostgreSQL), so the tag changes exactly when the stored feature does.
``If-Match`` uses the strong comparison: a weak tag never matches. A request without
``If-Match`` is run as it stands (QGIS sends none; the draft allows it, PER_ifmatch-missing).
"""

from __future__ import annotations

from gisplatform.errors import PreconditionFailed
from gisplatform.i18n import message


def etag_of(version: int) -> str:
    """The strong ETag of a feature at ``version``."""
    return f'"v{version}"'


def _tags(header: str) -> list[str]:
    return [part.strip() for part in header.split(",") if part.strip()]


def check_if_match(header: str | None, version: int | None) -> None:
    """Raise :class:`PreconditionFailed` unless ``If-Match`` allows changing ``version``.

    ``version`` None means the feature does not exist: any ``If-Match`` then fails
    (RFC 9110: ``*`` needs a current representation; the draft: PUT on a missing one, 412).
    """
    if header is None:
        return
    tags = _tags(header)
    if version is not None and ("*" in tags or etag_of(version) in tags):
        return
    current = etag_of(version) if version is not None else "-"
    raise PreconditionFailed(message("edit_precondition", given=header.strip()[:100], etag=current))
