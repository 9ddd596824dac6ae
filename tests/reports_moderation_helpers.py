"""Helpers of the moderation and truth-loop tests: reports about features, their steps, time.

Reports are stored through ``reports.submit`` as the API's login (the public), the way the
submission service stores them; layers and answers come from the kinds data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import orjson
import psycopg
from psycopg import sql

from gisplatform.demo import load_demo
from gisplatform.registry import LayerRegistry
from gisplatform.reports import ReportKind
from tests.conftest import make_settings
from tests.edit_helpers import EditSite, edit_site
from tests.reports_helpers import api_connect, submit_row


@contextmanager
def reports_site(server_url: str, registry: LayerRegistry, name: str) -> Iterator[EditSite]:
    """:func:`tests.edit_helpers.edit_site` with the Romny demo data loaded."""
    with edit_site(server_url, registry, name) as running:
        load_demo(running.db_url, registry, make_settings(running.db_url).layer_schema)
        yield running


def answer_marking(kind: ReportKind, index: int = 0) -> dict[str, Any]:
    """Answers of ``kind`` whose first marking question takes its ``index``-th marking option."""
    question, options = next(iter(kind.marking_answers.items()))
    return {question: options[index]}


def features_of(site: EditSite, layer: str | None) -> list[int]:
    """The fids of ``layer``, the first feature's first, then farther and farther from it."""
    assert layer is not None
    query = sql.SQL(
        "SELECT fid FROM {t} ORDER BY geom <-> (SELECT geom FROM {t} ORDER BY fid LIMIT 1), fid"
    ).format(t=sql.Identifier("gis", layer))
    with psycopg.connect(site.db_url) as conn:
        return [int(row[0]) for row in conn.execute(query).fetchall()]


def feature_point(site: EditSite, layer: str | None, fid: int) -> tuple[float, float]:
    """(lon, lat) of a point feature."""
    assert layer is not None
    query = sql.SQL("SELECT ST_X(geom), ST_Y(geom) FROM {} WHERE fid = %s").format(
        sql.Identifier("gis", layer)
    )
    with psycopg.connect(site.db_url) as conn:
        row = conn.execute(query, [fid]).fetchone()
    assert row is not None
    return float(row[0]), float(row[1])


def submit(
    site: EditSite,
    kind: ReportKind,
    fid: int | None,
    answers: dict[str, Any],
    *,
    contact: str | None = None,
    description: str = "",
    where: tuple[float, float] | None = None,
) -> tuple[int, str]:
    """A report of ``kind`` about feature ``fid`` of its layer (or at ``where``); (id, token)."""
    layer = kind.layer if fid is not None else None
    if where is None:
        assert fid is not None
        where = feature_point(site, kind.layer, fid)
    with api_connect(site.db_url) as conn:
        found = submit_row(
            conn,
            kind.code,
            contact=contact,
            answers=orjson.dumps(answers).decode(),
            where=where,
            layer=layer,
            feature_id=None if fid is None else str(fid),
            description=description,
            limit=1000,
        )
        conn.commit()
    return found


def shift_created(site: EditSite, ident: int, by: timedelta) -> None:
    """Move a report's arrival (and so its deadline) by ``by`` (triggers off: a test's clock)."""
    with psycopg.connect(site.db_url) as conn:
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(
            "UPDATE reports.requests SET created_at = created_at + %s, "
            "deadline_at = deadline_at + %s, updated_at = updated_at + %s WHERE id = %s",
            [by, by, by, ident],
        )


def steps_of(site: EditSite, ident: int) -> list[tuple[str | None, str, str, str | None]]:
    """(from, to, actor, reason) of every recorded step of a report, oldest first."""
    with psycopg.connect(site.db_url) as conn:
        rows = conn.execute(
            "SELECT from_status, to_status, actor, reason FROM reports.transitions "
            "WHERE request_id = %s ORDER BY id",
            [ident],
        ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]
