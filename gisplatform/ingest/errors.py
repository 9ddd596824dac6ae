"""Errors and per-row problems of imports and exports."""

from __future__ import annotations

from dataclasses import dataclass

from gisplatform.errors import GisPlatformError
from gisplatform.i18n import Text, join, message


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why one row (1-based, in file order) was rejected, naming the field at fault."""

    row: int
    field: str
    message: str | Text
    value: str = ""
    column: str = ""

    @property
    def text(self) -> Text:
        """The whole problem in both languages."""
        return message("row_problem", row=self.row, field=self.field, message=self.message)

    def __str__(self) -> str:
        return str(self.text)


class IngestError(GisPlatformError):
    """A file cannot be imported or a layer cannot be exported as asked."""

    status_code = 422


class RowsRejected(IngestError):
    """Some rows are invalid and --skip-invalid was not given; nothing was written."""

    def __init__(self, problems: list[RowProblem], shown: int = 20) -> None:
        self.problems = problems
        rows = len({p.row for p in problems})
        lines = [p.text for p in problems[:shown]]
        if len(problems) > shown:
            lines.append(message("more_problems", count=len(problems) - shown))
        super().__init__(message("rows_rejected", rows=rows) + join(lines, "\n"))
