"""Report kinds as data and the ``reports`` schema: loader, migration, grants, RLS, transitions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest
from psycopg import errors

from gisplatform.errors import ReportKindError
from gisplatform.i18n import use_language
from gisplatform.registry import LayerRegistry
from gisplatform.reports import load_report_kinds
from gisplatform.reports.kinds import SCHEMA_FILE, report_schema
from gisplatform.reports.store import handler_db_role
from gisplatform.settings import PROJECT_ROOT, Settings
from gisplatform.store.migrate import migrate
from tests.reports_helpers import api_connect, empty_reports, submit_row

REPORTS = PROJECT_ROOT / "reports"


def test_demo_kinds_load_as_the_contract_says(registry: LayerRegistry) -> None:
    kinds = load_report_kinds(REPORTS, registry)
    assert [k.code for k in kinds] == ["other_problem", "shelter_problem", "street_light_out"]
    shelter = kinds.get("shelter_problem")
    assert shelter is not None and shelter.layer == "shelters"
    assert shelter.handler_role == "civil_protection" and shelter.deadline_hours == 24
    assert shelter.marking_answers == {"problem": ["locked", "refused_entry", "missing", "unfit"]}
    follow_up = shelter.question("unfit_reasons")
    assert follow_up is not None and follow_up.type == "multi_choice"
    assert follow_up.when is not None and follow_up.when.equals == "unfit"
    light = kinds.get("street_light_out")
    assert light is not None and light.handler_role == "lighting" and light.deadline_hours == 168
    other = kinds.get("other_problem")
    assert other is not None and other.layer is None and other.questions == ()
    assert kinds.layers == ["shelters", "street_lights"]


def test_committed_json_schema_matches_the_models() -> None:
    committed = json.loads((REPORTS / SCHEMA_FILE).read_text("utf-8"))
    assert committed == report_schema(), "regenerate reports/report.schema.json"


def _broken_dir(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "reports"
    shutil.copytree(REPORTS, folder)
    (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("text", "field", "uk", "en"),
    [
        (
            "layer: parks\nhandler_role: admin\n",
            "layer",
            "у реєстрі немає шару «parks»",
            "the registry has no layer 'parks'",
        ),
        (
            "layer: shelters\nhandler_role: janitor\n",
            "handler_role",
            "немає ролі «janitor»",
            "there is no role 'janitor'",
        ),
    ],
)
def test_kind_errors_name_file_and_field_in_both_languages(
    tmp_path: Path, registry: LayerRegistry, text: str, field: str, uk: str, en: str
) -> None:
    head = "code: broken\ntitle: {uk: Т, en: T}\ndescription: {uk: О, en: D}\ndeadline_hours: 24\n"
    folder = _broken_dir(tmp_path, "broken", head + text)
    for lang, expected in (("uk", uk), ("en", en)):
        with use_language(lang), pytest.raises(ReportKindError) as caught:
            load_report_kinds(folder, registry)
        assert caught.value.problems == [
            (str(folder / "broken.yaml"), field, caught.value.problems[0][2])
        ]
        assert expected in caught.value.problems[0][2]


def test_a_follow_up_must_name_an_earlier_choice(tmp_path: Path, registry: LayerRegistry) -> None:
    text = (
        "code: broken\ntitle: {uk: Т, en: T}\ndescription: {uk: О, en: D}\n"
        "handler_role: admin\ndeadline_hours: 24\nquestions:\n"
        "  - {code: a, title: {uk: А, en: A}, type: choice, options: [{code: x, "
        "title: {uk: Х, en: X}}]}\n"
        "  - {code: b, title: {uk: Б, en: B}, type: boolean, when: {question: a, equals: y}}\n"
    )
    folder = _broken_dir(tmp_path, "broken", text)
    with pytest.raises(ReportKindError) as caught:
        load_report_kinds(folder, registry)
    (file, field, why), *_ = caught.value.problems
    assert file.endswith("broken.yaml") and field == "questions"
    assert "'a' has no option 'y'" in why


def test_migrate_is_idempotent_and_syncs_kinds(
    db_url: str, settings: Settings, registry: LayerRegistry
) -> None:
    assert migrate(db_url, registry, settings).is_empty
    assert migrate(db_url, registry, settings).is_empty
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT code, handler_role, extract(epoch FROM deadline) / 3600, layer, "
            "marking_answers FROM reports.kinds ORDER BY code"
        ).fetchall()
        owner = conn.execute(
            "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'reports'"
        ).fetchone()
        gis_owner = conn.execute(
            "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'gis'"
        ).fetchone()
    assert [(r[0], r[1], float(r[2]), r[3]) for r in rows] == [
        ("other_problem", "admin", 168.0, None),
        ("shelter_problem", "civil_protection", 24.0, "shelters"),
        ("street_light_out", "lighting", 168.0, "street_lights"),
    ]
    assert rows[1][4] == {"problem": ["locked", "refused_entry", "missing", "unfit"]}
    assert owner == gis_owner


def test_the_public_role_reads_no_request_and_no_contact(db_url: str) -> None:
    empty_reports(db_url)
    with api_connect(db_url) as conn:
        conn.autocommit = True
        report, _ = submit_row(conn, "shelter_problem", contact="+380501234567")
        assert conn.execute("SELECT current_user").fetchone() == ("gisplatform_public",)
        for query in (
            "SELECT count(*) FROM reports.requests",
            "SELECT contact FROM reports.requests",
            "SELECT count(*) FROM reports.photos",
            "SELECT count(*) FROM reports.transitions",
            "SELECT count(*) FROM reports.kinds",
            "UPDATE reports.requests SET status = 'open'",
            "SELECT reports.transition(1, 'open')",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(query)  # type: ignore[arg-type]
        with pytest.raises(errors.UndefinedColumn):
            conn.execute("SELECT contact FROM reports.public_requests")
        # unconfirmed: not public yet
        assert conn.execute("SELECT count(*) FROM reports.public_requests").fetchone() == (0,)
        state = conn.execute("SELECT status FROM reports.request_state(%s)", [report]).fetchone()
        assert state == ("unconfirmed",)


def _as(conn: psycopg.Connection, role: str, actor: str = "moderator") -> None:
    conn.execute(f'SET ROLE "{role}"')  # type: ignore[arg-type]
    conn.execute("SELECT set_config('gisplatform.actor', %s, false)", [actor])


def test_a_handler_role_sees_only_its_kinds(db_url: str, registry: LayerRegistry) -> None:
    empty_reports(db_url)
    kinds = load_report_kinds(REPORTS, registry)
    with api_connect(db_url) as conn:
        conn.autocommit = True
        shelter, _ = submit_row(conn, "shelter_problem", contact="mail@example.org")
        light, _ = submit_row(conn, "street_light_out")
        other, _ = submit_row(conn, "other_problem")
        seen = {}
        for roles in (["civil_protection"], ["lighting"], ["admin"], ["lighting", "utilities"]):
            role = handler_db_role(kinds, registry, roles)
            assert role is not None
            _as(conn, role)
            seen[tuple(roles)] = [
                (int(r[0]), r[1])
                for r in conn.execute(
                    "SELECT id, contact FROM reports.requests ORDER BY id"
                ).fetchall()
            ]
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute("SELECT token, client_hash FROM reports.requests")
            conn.execute("RESET ROLE")
        assert handler_db_role(kinds, registry, ["utilities"]) is None
    assert seen[("civil_protection",)] == [(shelter, "mail@example.org")]
    assert seen[("lighting",)] == [(light, None)]
    assert seen[("lighting", "utilities")] == [(light, None)]
    assert [i for i, _ in seen[("admin",)]] == [shelter, light, other]


def test_transition_rules_are_enforced_and_recorded_with_the_actor(
    db_url: str, registry: LayerRegistry
) -> None:
    empty_reports(db_url)
    kinds = load_report_kinds(REPORTS, registry)
    civil = handler_db_role(kinds, registry, ["civil_protection"])
    lighting = handler_db_role(kinds, registry, ["lighting"])
    assert civil and lighting
    with api_connect(db_url) as conn:
        conn.autocommit = True
        report, _ = submit_row(conn, "shelter_problem")
        _as(conn, lighting, "lamp-lighter")
        with pytest.raises(errors.NoDataFound):  # not a kind lighting handles
            conn.execute("SELECT reports.transition(%s, 'open')", [report])
        _as(conn, civil, "olena")
        with pytest.raises(errors.CheckViolation, match="cannot go from unconfirmed to resolved"):
            conn.execute("SELECT reports.transition(%s, 'resolved')", [report])
        with pytest.raises(errors.CheckViolation, match="needs a reason"):
            conn.execute("SELECT reports.transition(%s, 'rejected')", [report])
        with pytest.raises(errors.CheckViolation, match="names the other report"):
            conn.execute("SELECT reports.transition(%s, 'duplicate')", [report])
        conn.execute("SELECT reports.transition(%s, 'open', 'checked on site')", [report])
        conn.execute("SELECT reports.transition(%s, 'in_progress')", [report])
        with pytest.raises(errors.CheckViolation, match="already in_progress"):
            conn.execute("SELECT reports.transition(%s, 'in_progress')", [report])
        # a direct update goes through the same rules, and nothing else may change
        conn.execute("UPDATE reports.requests SET status = 'resolved' WHERE id = %s", [report])
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("UPDATE reports.requests SET description = 'x' WHERE id = %s", [report])
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO reports.transitions (request_id, to_status, actor) "
                "VALUES (%s, 'open', 'forged')",
                [report],
            )
        steps = conn.execute(
            "SELECT from_status, to_status, actor, reason FROM reports.transitions "
            "WHERE request_id = %s ORDER BY id",
            [report],
        ).fetchall()
        conn.execute("RESET ROLE")
        public = conn.execute(
            "SELECT status FROM reports.public_requests WHERE id = %s", [report]
        ).fetchone()
    assert steps == [
        (None, "unconfirmed", "resident", None),
        ("unconfirmed", "open", "olena", "checked on site"),
        ("open", "in_progress", "olena", None),
        ("in_progress", "resolved", "olena", None),
    ]
    assert public == ("resolved",)


def test_the_cli_validates_kinds_and_prints_the_schema(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from gisplatform.cli import app

    runner = CliRunner()
    good = runner.invoke(app, ["reports", "validate"], env={"GISPLATFORM_LANG": "uk"})
    assert good.exit_code == 0 and "видів повідомлень без помилок: 3" in good.output
    folder = _broken_dir(
        tmp_path,
        "broken",
        "code: broken\ntitle: {uk: Т, en: T}\ndescription: {uk: О, en: D}\n"
        "handler_role: janitor\ndeadline_hours: 24\n",
    )
    env = {"GISPLATFORM_LANG": "en", "GISPLATFORM_REPORTS_DIR": str(folder)}
    bad = runner.invoke(app, ["reports", "validate"], env=env)
    assert bad.exit_code == 1
    assert "broken.yaml: handler_role: there is no role 'janitor'" in bad.output
    schema = runner.invoke(app, ["reports", "schema"])
    assert json.loads(schema.output) == report_schema()
