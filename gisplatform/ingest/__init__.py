"""Import and export of real-world files: validated, CRS-correct, all-or-nothing."""

from gisplatform.ingest.errors import IngestError, RowProblem, RowsRejected
from gisplatform.ingest.export import export_layer
from gisplatform.ingest.importer import ImportOptions, ImportResult, import_file, prepare
from gisplatform.ingest.load import Mode

__all__ = [
    "ImportOptions",
    "ImportResult",
    "IngestError",
    "Mode",
    "RowProblem",
    "RowsRejected",
    "export_layer",
    "import_file",
    "prepare",
]
