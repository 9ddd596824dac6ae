"""Import and export of real-world files: validated, CRS-correct, all-or-nothing."""

from gisplatform.ingest.batches import prepare
from gisplatform.ingest.errors import IngestError, RowProblem, RowsRejected
from gisplatform.ingest.export import export_layer
from gisplatform.ingest.importer import ImportResult, import_file
from gisplatform.ingest.load import Mode
from gisplatform.ingest.options import ImportOptions, ImportTimeouts

__all__ = [
    "ImportOptions",
    "ImportResult",
    "ImportTimeouts",
    "IngestError",
    "Mode",
    "RowProblem",
    "RowsRejected",
    "export_layer",
    "import_file",
    "prepare",
]
