"""Report kinds as data (``reports/*.yaml``), checked against the layer registry.

Each file declares one kind: what residents may report (a locked shelter, a dark street
light), the layer a report may point at, the questions asked, the response deadline and the
registry role that handles it. The JSON Schema of a file is ``reports/report.schema.json``
(:func:`report_schema`); the loader validates each file with the same models and then
checks the names against the registry (layers, roles), naming the file and the field.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, ValidationError, field_validator, model_validator

from gisplatform.errors import LayerSpecError, ReportKindError
from gisplatform.i18n import message
from gisplatform.registry import LayerRegistry
from gisplatform.registry.loader import _field_path
from gisplatform.registry.spec import Identifier, Localized, _Frozen
from gisplatform.registry.yamlfile import read_yaml

log = logging.getLogger(__name__)

#: the JSON Schema of a report kind file, beside the files
SCHEMA_FILE = "report.schema.json"
SCHEMA_ID = "https://gisplatform.example/schemas/report.schema.json"
QuestionType = Literal["choice", "multi_choice", "boolean"]


class OptionSpec(_Frozen):
    """One answer a question offers."""

    code: Identifier
    title: Localized
    marks_feature: bool = Field(
        default=False,
        description="an open report with this answer marks the feature publicly "
        "(e.g. a locked shelter) until it is resolved",
    )


class Condition(_Frozen):
    """Ask a follow-up question only when an earlier question has this answer."""

    question: Identifier
    equals: Identifier


class QuestionSpec(_Frozen):
    """One question of a kind's form (and one Open311 attribute)."""

    code: Identifier
    title: Localized
    type: QuestionType
    required: bool = False
    options: tuple[OptionSpec, ...] = ()
    when: Condition | None = None

    @model_validator(mode="after")
    def _options_fit_type(self) -> Self:
        if self.type == "boolean" and self.options:
            raise ValueError("a boolean question has no options")
        if self.type != "boolean" and not self.options:
            raise ValueError(f"a {self.type} question needs options")
        codes = [o.code for o in self.options]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"options listed twice: {', '.join(twice)}")
        return self

    def option(self, code: str) -> OptionSpec | None:
        """The option ``code`` of this question, or None."""
        return next((o for o in self.options if o.code == code), None)


class ReportKind(_Frozen):
    """One kind of report residents may send (one Open311 service)."""

    code: Identifier
    title: Localized
    description: Localized
    layer: Identifier | None = Field(
        default=None, description="the registry layer whose features a report may point at"
    )
    handler_role: Identifier = Field(description="the registry role that handles these reports")
    deadline_hours: int = Field(ge=1, le=24 * 366, description="response deadline, hours")
    questions: tuple[QuestionSpec, ...] = ()

    @field_validator("questions")
    @classmethod
    def _questions_consistent(cls, questions: tuple[QuestionSpec, ...]) -> tuple[QuestionSpec, ...]:
        seen: dict[str, QuestionSpec] = {}
        for question in questions:
            if question.code in seen:
                raise ValueError(f"question '{question.code}' is listed twice")
            if question.when is not None:
                earlier = seen.get(question.when.question)
                if earlier is None or earlier.type != "choice":
                    raise ValueError(
                        f"question '{question.code}': 'when' must name an earlier choice question"
                    )
                if earlier.option(question.when.equals) is None:
                    raise ValueError(
                        f"question '{question.code}': '{earlier.code}' has no option "
                        f"'{question.when.equals}'"
                    )
            seen[question.code] = question
        return questions

    def question(self, code: str) -> QuestionSpec | None:
        """The question ``code`` of this kind, or None."""
        return next((q for q in self.questions if q.code == code), None)

    @property
    def marking_answers(self) -> dict[str, list[str]]:
        """Per question, the options that mark the feature (``reports.kinds.marking_answers``)."""
        marks = {q.code: [o.code for o in q.options if o.marks_feature] for q in self.questions}
        return {code: options for code, options in marks.items() if options}


@dataclass(frozen=True)
class ReportKinds:
    """Every report kind of a deployment, in file order (by code)."""

    kinds: tuple[ReportKind, ...] = ()

    def __iter__(self) -> Iterator[ReportKind]:
        return iter(self.kinds)

    def __len__(self) -> int:
        return len(self.kinds)

    def __contains__(self, code: object) -> bool:
        return any(k.code == code for k in self.kinds)

    def get(self, code: str) -> ReportKind | None:
        """The kind ``code``, or None."""
        return next((k for k in self.kinds if k.code == code), None)

    def for_layer(self, layer: str) -> list[ReportKind]:
        """The kinds whose reports may point at a feature of ``layer``."""
        return [k for k in self.kinds if k.layer == layer]

    @property
    def layers(self) -> list[str]:
        """The layers some kind points at (the map offers the form in their popups)."""
        return sorted({k.layer for k in self.kinds if k.layer})


def report_schema() -> dict[str, Any]:
    """The JSON Schema of one ``reports/*.yaml`` file."""
    schema = ReportKind.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def report_schema_text() -> str:
    """:func:`report_schema` as the committed file's text."""
    return json.dumps(report_schema(), ensure_ascii=False, indent=2) + "\n"


def parse_kind(data: Any, source: str) -> ReportKind:
    """Validate one kind already parsed from YAML; problems name the file and field."""
    if not isinstance(data, dict):
        raise ReportKindError([(source, "(top level)", str(message("report_kind_not_mapping")))])
    try:
        return ReportKind.model_validate(data)
    except ValidationError as exc:
        problems = [
            (source, _field_path(data, e["loc"]), e["msg"].removeprefix("Value error, "))
            for e in exc.errors()
        ]
        raise ReportKindError(problems) from None


def _registry_problems(
    kind: ReportKind, source: str, registry: LayerRegistry
) -> list[tuple[str, str, str]]:
    problems = []
    if kind.layer is not None and kind.layer not in registry:
        problems.append(
            (source, "layer", str(message("report_kind_unknown_layer", name=kind.layer)))
        )
    if kind.handler_role not in registry.role_names:
        known = ", ".join(sorted(registry.role_names)) or "-"
        why = message("report_kind_unknown_role", name=kind.handler_role, known=known)
        problems.append((source, "handler_role", str(why)))
    return problems


def kind_files(directory: Path) -> list[Path]:
    """The kind files of ``directory`` (``*.yaml`` not starting with ``_``), by name."""
    return sorted(p for p in directory.glob("*.yaml") if not p.name.startswith("_"))


def load_report_kinds(
    directory: Path, registry: LayerRegistry, *, only_known: bool = False
) -> ReportKinds:
    """Load every kind of ``directory``; all problems of all files are reported at once.

    A missing directory means no kinds. With ``only_known`` a kind naming a layer or role
    this registry lacks is left out with a warning instead (a migration or an app built
    on part of the registry, e.g. in tests); its other problems are still errors.
    """
    if not directory.is_dir():
        return ReportKinds()
    kinds: list[ReportKind] = []
    problems: list[tuple[str, str, str]] = []
    for path in kind_files(directory):
        try:
            kind = parse_kind(read_yaml(path), str(path))
        except (ReportKindError, LayerSpecError) as exc:
            problems.extend(exc.problems)
            continue
        if kind.code != path.stem:
            why = message("report_kind_file_name", code=kind.code, file=path.name)
            problems.append((str(path), "code", str(why)))
            continue
        foreign = _registry_problems(kind, str(path), registry)
        if foreign and only_known:
            log.warning("report kind %s left out: %s", kind.code, "; ".join(p[2] for p in foreign))
            continue
        problems.extend(foreign)
        kinds.append(kind)
    if problems:
        raise ReportKindError(problems)
    return ReportKinds(tuple(kinds))
