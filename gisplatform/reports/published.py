"""The report kinds as the public collection sees them (codes, titles, questions, options)."""

from __future__ import annotations

from typing import Any

from gisplatform.registry import Localized
from gisplatform.reports.public import Kind, Option, Question


def _localized(value: Any) -> Localized:
    return Localized(uk=value.uk, en=value.en)


def _kind(kind: Any) -> Kind:
    return Kind(
        code=kind.code,
        title=_localized(kind.title),
        layer=kind.layer,
        questions=tuple(
            Question(
                code=q.code,
                title=_localized(q.title),
                options=tuple(Option(o.code, _localized(o.title)) for o in q.options),
            )
            for q in kind.questions
        ),
    )


def published_kinds(state: Any) -> list[Kind]:
    """The kinds of the app whose ``state`` is given (loaded from ``reports/`` at start)."""
    cached: list[Kind] | None = getattr(state, "reports_published_kinds", None)
    if cached is None:
        loaded = getattr(state, "report_kinds", None) or ()
        kinds = loaded.values() if hasattr(loaded, "values") else loaded
        cached = [_kind(k) for k in kinds]
        state.reports_published_kinds = cached
    return cached
