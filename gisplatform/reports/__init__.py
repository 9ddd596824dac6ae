"""Residents' reports: kinds as data, the ``reports`` schema, submission, Open311."""

from gisplatform.reports.kinds import (
    OptionSpec,
    QuestionSpec,
    ReportKind,
    ReportKinds,
    load_report_kinds,
)

__all__ = ["OptionSpec", "QuestionSpec", "ReportKind", "ReportKinds", "load_report_kinds"]
