"""The demo residents' reports loaded by ``gisplatform demo``: invented, marked, reproducible."""

from __future__ import annotations

import psycopg
import pytest

from gisplatform.registry import LayerRegistry
from gisplatform.reports import load_report_kinds
from gisplatform.reports.demo import DEMO_CLIENT, load_demo_reports
from gisplatform.settings import PROJECT_ROOT
from tests.reports_helpers import with_demo_reports


@pytest.fixture(scope="module", autouse=True)
def demo_reports(demo_db_url: str, registry: LayerRegistry) -> None:
    """The demo's reports, as ``gisplatform demo`` leaves them (other modules empty the table)."""
    with_demo_reports(demo_db_url, registry)


def _demo_reports(conn: psycopg.Connection) -> list[tuple]:  # type: ignore[type-arg]
    return conn.execute(
        "SELECT r.id, r.kind, r.status, r.contact, r.description, r.client_hash, r.layer,"
        " (SELECT array_agg(t.to_status ORDER BY t.at, t.id) FROM reports.transitions AS t"
        "  WHERE t.request_id = r.id),"
        " EXISTS (SELECT FROM reports.photos AS p WHERE p.request_id = r.id)"
        " FROM reports.requests AS r WHERE r.is_demo ORDER BY r.id"
    ).fetchall()


def test_demo_reports_are_marked_and_hold_nothing_personal(demo_db_url: str) -> None:
    with psycopg.connect(demo_db_url) as conn:
        rows = _demo_reports(conn)
    assert len(rows) >= 30
    assert {r[1] for r in rows} == {"shelter_problem", "street_light_out", "other_problem"}
    for _, _, status, contact, description, client, _, steps, photo in rows:
        assert contact is None and description == "" and client == DEMO_CLIENT and not photo
        assert steps[0] == "unconfirmed" and steps[-1] == status  # a whole history
    # shelter reports would mark shelters while open: the demo's are all settled
    assert {r[2] for r in rows if r[1] == "shelter_problem"} <= {
        "resolved",
        "rejected",
        "duplicate",
    }
    assert {"open", "resolved"} <= {r[2] for r in rows}


def test_a_second_load_keeps_them_and_reset_replaces_them(
    demo_db_url: str, registry: LayerRegistry
) -> None:
    kinds = load_report_kinds(PROJECT_ROOT / "reports", registry)
    with psycopg.connect(demo_db_url) as conn:
        before = _demo_reports(conn)
        assert load_demo_reports(conn, kinds, "gis") == 0
        assert _demo_reports(conn) == before
        assert load_demo_reports(conn, kinds, "gis", reset=True) == len(before)
        again = _demo_reports(conn)
        # the same reports again (new ids): reproducible from the seed
        assert [r[1:] for r in again] == [r[1:] for r in before]
        conn.rollback()
