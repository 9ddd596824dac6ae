"""The public face of residents' reports: the shape of the OGC API collection ``reports``.

The collection is not a layer: it has no table of its own and is not in the layer registry.
It is described with the registry's own types (a :class:`LayerSpec` built here from the report
kinds), so the Features code's schemas, queryables, filters and pages serve it unchanged; its
rows come from ``reports.public_requests`` (moderated requests only: never the token, the
contact, the client hash or the photo) through :func:`source`.

What is published, per report: its kind (code and both titles), the answers (codes, and in
words in both languages), status and its reason, when it came and last changed, and the
feature it is about when that feature's layer is one the reader may see. The resident's free
text is left out: it may carry names and telephone numbers, and only moderators read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from psycopg import sql

from gisplatform.i18n import message
from gisplatform.registry import (
    Access,
    FieldSpec,
    FieldType,
    GeometryType,
    LayerRegistry,
    LayerSpec,
    Localized,
)
from gisplatform.registry.spec import EnumValue, LayerStyle, LocalizedList, UpdateFrequency

COLLECTION_ID = "reports"
#: the statuses a published report can have (``unconfirmed`` ones are not published)
PUBLIC_STATUSES = ("open", "in_progress", "resolved", "duplicate", "rejected")
PUBLIC_VIEW = ("reports", "public_requests")


@dataclass(frozen=True)
class Option:
    """One answer option: its code and titles."""

    code: str
    title: Localized


@dataclass(frozen=True)
class Question:
    """One question of a kind."""

    code: str
    title: Localized
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Kind:
    """What the collection needs to know of a report kind."""

    code: str
    title: Localized
    layer: str | None
    questions: tuple[Question, ...]


def _localized(key: str) -> Localized:
    text = message(key)
    return Localized(uk=text.uk, en=text.en)


def _field(name: str, kind: FieldType, **extra: Any) -> FieldSpec:
    return FieldSpec(name=name, type=kind, title=_localized(f"reports_field_{name}"), **extra)


def collection_spec(kinds: Sequence[Kind], registry: LayerRegistry) -> LayerSpec:
    """The collection's description, derived from the report kinds and the registry."""
    layers = sorted({k.layer for k in kinds if k.layer}, key=lambda n: n)
    layer_values = tuple(
        EnumValue(value=n, uk=registry.get(n).title.uk, en=registry.get(n).title.en) for n in layers
    )
    kind_values = tuple(EnumValue(value=k.code, uk=k.title.uk, en=k.title.en) for k in kinds)
    status_values = tuple(
        EnumValue(value=s, uk=message(f"report_status_{s}").uk, en=message(f"report_status_{s}").en)
        for s in PUBLIC_STATUSES
    )
    fields = [
        _field("kind", FieldType.ENUM, values=kind_values, required=True),
        _field("kind_title_uk", FieldType.STRING, required=True),
        _field("kind_title_en", FieldType.STRING, required=True),
        _field("answers", FieldType.STRING_LIST),
        _field("answers_uk", FieldType.STRING),
        _field("answers_en", FieldType.STRING),
        _field("status", FieldType.ENUM, values=status_values, required=True),
        _field("status_reason", FieldType.STRING),
        _field("duplicate_of", FieldType.INTEGER),
        _field("reported_at", FieldType.DATETIME, required=True),
        _field("changed_at", FieldType.DATETIME, required=True),
    ]
    if layer_values:
        fields.append(_field("layer", FieldType.ENUM, values=layer_values))
        fields.append(_field("feature_id", FieldType.STRING))
    owner = _localized("reports_collection_owner")
    return LayerSpec(
        name=COLLECTION_ID,
        title=_localized("reports_collection_title"),
        description=_localized("reports_collection_description"),
        theme="safety",
        geometry=GeometryType.POINT,
        access=Access.PUBLIC,
        fields=tuple(fields),
        natural_key=("kind",),
        temporal_field="reported_at",
        style=LayerStyle(color="#6a3d9a", radius=6, fill_opacity=0.9, label_field="kind"),
        licence="CC-BY-4.0",
        owner=owner,
        update_frequency=UpdateFrequency.CONTINUAL,
        keywords=LocalizedList(
            uk=["повідомлення мешканців", "укриття", "освітлення"],
            en=["residents' reports", "shelters", "street lighting"],
        ),
    )


def _labels(kinds: Iterable[Kind], lang: str) -> dict[str, Any]:
    """``{kind: {"title": …, "questions": {code: {"title", "pos", "options": {code: title}}}}}``."""
    yes_no = {"true": message("yes").get(lang), "false": message("no").get(lang)}
    return {
        kind.code: {
            "title": kind.title.get(lang),
            "questions": {
                q.code: {
                    "title": q.title.get(lang),
                    "pos": pos,
                    "options": {o.code: o.title.get(lang) for o in q.options} or yes_no,
                }
                for pos, q in enumerate(kind.questions)
            },
        }
        for kind in kinds
    }


#: one answer's values as text, whether it is one option, several, or a yes/no
_VALUES = sql.SQL(
    "jsonb_array_elements_text(CASE jsonb_typeof(a.value) WHEN 'array' THEN a.value"
    " ELSE jsonb_build_array(a.value) END) AS o(v)"
)


def _answers_text(labels: sql.Composable) -> sql.Composable:
    """The answers in words, in the kind's question order: ``Проблема: зачинено; …``."""
    question = sql.SQL("({} -> r.kind -> 'questions' -> a.key)").format(labels)
    return sql.SQL(
        # «Що сталося? Зачинено», «Стан: темно»: a colon unless the question has its mark
        "(SELECT string_agg("
        "regexp_replace(coalesce({q} ->> 'title', a.key), '([^?:])$', '\\1:') || ' ' || ("
        "SELECT string_agg(coalesce({q} -> 'options' ->> o.v, o.v), ', ') FROM {values}),"
        " '; ' ORDER BY ({q} ->> 'pos')::int, a.key) FROM jsonb_each(r.answers) AS a)"
    ).format(q=question, values=_VALUES)


def _shown(visible: Sequence[tuple[str, sql.Composable]]) -> sql.Composable:
    """A report about a feature is shown only while the reader's view of its layer shows
    that feature: a withdrawn layer, area or restricted layer hides the report (its point
    would tell where the feature is)."""
    shown: list[sql.Composable] = [sql.SQL("r.layer IS NULL")]
    for layer, view in visible:
        shown.append(
            sql.SQL(
                "(r.layer = {} AND (r.feature_id IS NULL OR EXISTS"
                " (SELECT FROM {} AS v WHERE v.fid::text = r.feature_id)))"
            ).format(sql.Literal(layer), view)
        )
    return sql.SQL("({})").format(sql.SQL(" OR ").join(shown))


def source(kinds: Sequence[Kind], visible: Sequence[tuple[str, sql.Composable]]) -> sql.Composable:
    """The collection's rows, with the columns :func:`collection_spec` names (and ``fid``,
    ``is_demo``, ``geom`` as the Features queries expect), as a parenthesised subquery.

    ``visible``: the layers the reader sees that kinds point at, with the reader's view of each.
    """
    uk = sql.SQL("{}::jsonb").format(sql.Literal(orjson.dumps(_labels(kinds, "uk")).decode()))
    en = sql.SQL("{}::jsonb").format(sql.Literal(orjson.dumps(_labels(kinds, "en")).decode()))
    layers = sql.Literal(sorted(name for name, _ in visible))
    return sql.SQL(
        "(SELECT r.id AS fid, r.is_demo, r.geom, r.kind,"
        " coalesce({uk} -> r.kind ->> 'title', r.kind) AS kind_title_uk,"
        " coalesce({en} -> r.kind ->> 'title', r.kind) AS kind_title_en,"
        " ARRAY(SELECT a.key || '=' || o.v FROM jsonb_each(r.answers) AS a, {values}"
        " ORDER BY 1) AS answers,"
        " {answers_uk} AS answers_uk, {answers_en} AS answers_en,"
        " r.status, r.status_reason, r.duplicate_of, r.created_at AS reported_at,"
        " r.updated_at AS changed_at,"
        " CASE WHEN r.layer = ANY({layers}::text[]) THEN r.layer END AS layer,"
        " CASE WHEN r.layer = ANY({layers}::text[]) THEN r.feature_id END AS feature_id"
        " FROM {view} AS r WHERE r.status = ANY({statuses}::text[]) AND {shown})"
    ).format(
        uk=uk,
        en=en,
        answers_uk=_answers_text(uk),
        answers_en=_answers_text(en),
        layers=layers,
        shown=_shown(visible),
        view=sql.Identifier(*PUBLIC_VIEW),
        statuses=sql.Literal(list(PUBLIC_STATUSES)),
        values=_VALUES,
    )
