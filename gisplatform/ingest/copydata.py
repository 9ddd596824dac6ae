"""Validated values as the CSV data of a ``COPY … (FORMAT csv)``, written by Arrow.

Arrow renders a whole batch in C++ (with the GIL released), several times faster
than handing PostgreSQL one Python tuple per row. Unquoted empty fields are NULL,
quoted ones empty strings, as PostgreSQL's CSV format reads them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely
from numpy.typing import NDArray

from gisplatform.registry import FieldType

ARROW_TYPES: dict[FieldType, pa.DataType] = {
    FieldType.STRING: pa.string(),
    FieldType.ENUM: pa.string(),
    FieldType.INTEGER: pa.int64(),
    FieldType.NUMBER: pa.float64(),
    FieldType.BOOLEAN: pa.bool_(),
    FieldType.DATE: pa.date32(),
    FieldType.DATETIME: pa.timestamp("us", tz="UTC"),
}
_OPTIONS = pacsv.WriteOptions(include_header=False)


def array_literal(items: list[str] | None) -> str | None:
    """A list of strings as a PostgreSQL array literal (``text[]`` input)."""
    if items is None:
        return None
    quoted = ('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in items)
    return "{" + ",".join(quoted) + "}"


def column_array(kind: FieldType, values: NDArray[np.object_]) -> pa.Array:
    """One validated column (Python values, ``None`` for none) as an Arrow array."""
    if kind is FieldType.STRING_LIST:
        return pa.array([array_literal(v) for v in values], type=pa.string())
    return pa.array(values, type=ARROW_TYPES[kind], from_pandas=True)


def geometry_array(geometry: NDArray[np.object_], srid: int = 4326) -> pa.Array:
    """Geometries as hex EWKB text, which PostGIS reads as ``geometry`` input."""
    ewkb = shapely.to_wkb(shapely.set_srid(geometry, srid), hex=True, include_srid=True)
    return pa.array(ewkb, type=pa.string())


def csv_data(columns: Sequence[pa.Array]) -> bytes:
    """The rows made of ``columns`` as CSV without a header."""
    table = pa.Table.from_arrays(list(columns), names=[f"c{i}" for i in range(len(columns))])
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, _OPTIONS)
    return bytes(sink.getvalue().to_pybytes())
