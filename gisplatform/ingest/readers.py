"""Reading source files batch by batch, each an attribute table plus optional geometries.

Spatial formats (Shapefile, zipped Shapefile, GeoPackage, GeoJSON, FlatGeobuf,
KML, XLSX …) go through GDAL via pyogrio; CSV is read with pandas as text so
that every value is validated by the same parsers.
"""

from __future__ import annotations

import codecs
import csv
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from gisplatform.i18n import message
from gisplatform.ingest.errors import IngestError
from gisplatform.ingest.threads import prefetched

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
#: Formats that are plain text and must be decodable before GDAL sees them.
TEXT_SUFFIXES = (*CSV_SUFFIXES, ".geojson", ".json", ".kml", ".gml", ".geojsonl")
SINGLE_LAYER_SUFFIXES = (".geojson", ".json", ".geojsonl", ".fgb", ".shp")


#: Rows per batch: reading, validating and COPYing overlap batch by batch.
BATCH_ROWS = 20_000


@dataclass(frozen=True)
class SourceBatch:
    """A run of consecutive rows of a file: attributes (original names) and geometries."""

    offset: int  # rows of the file before this batch
    frame: pd.DataFrame
    geometry: NDArray[np.object_] | None

    def __len__(self) -> int:
        return len(self.frame)


@dataclass(frozen=True)
class Source:
    """An open file: its columns and CRS, known up front, and its rows in batches."""

    path: Path
    layer: str | None
    columns: list[str]
    crs: CRS | None
    batches: Iterator[SourceBatch]


@contextmanager
def open_source(
    path: Path,
    source_layer: str | None = None,
    encoding: str | None = None,
    batch_rows: int | None = None,
) -> Iterator[Source]:
    """Open ``path`` (choosing ``source_layer`` in multi-layer files) for batch-wise reading.

    Spatial formats stream through GDAL's Arrow interface; text files are checked to
    decode (as UTF-8 or ``encoding``) while GDAL parses them.
    """
    if not path.is_file():
        raise IngestError(message("no_such_file", path=path))
    batch_rows = batch_rows or BATCH_ROWS
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        _check_encoding(path, encoding)
        source = _open_csv(path, encoding, batch_rows)
        with prefetched(source.batches) as batches:
            yield replace(source, batches=batches)
        return
    gdal_path = f"/vsizip/{path}" if suffix == ".zip" else str(path)
    with (
        tempfile.TemporaryDirectory(prefix="gisplatform-import-") as tmp,
        ThreadPoolExecutor(1) as pool,
    ):
        if suffix in TEXT_SUFFIXES and encoding:
            _check_encoding(path, encoding)
            gdal_path, encoding = _transcode(path, encoding, Path(tmp)), None
            checked = None
        else:  # GDAL releases the GIL: the check runs beside its first pass
            checked = pool.submit(_check_encoding, path, None) if suffix in TEXT_SUFFIXES else None
        layer = _choose_layer(path, gdal_path, source_layer)
        with ExitStack() as stack:
            try:
                source = _open_gdal(stack, path, gdal_path, layer, encoding, batch_rows)
            finally:
                if checked is not None:
                    checked.result()  # a decoding error explains more than GDAL's
            yield source


def _open_gdal(
    stack: ExitStack,
    path: Path,
    gdal_path: str,
    layer: str | None,
    encoding: str | None,
    batch_rows: int,
) -> Source:
    """A GDAL layer as an Arrow stream; the row-wise reader when Arrow cannot read it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if encoding is None:
            try:
                meta, reader = stack.enter_context(
                    pyogrio.open_arrow(
                        gdal_path, layer=layer, batch_size=batch_rows, use_pyarrow=True
                    )
                )
            except Exception:  # e.g. text not in UTF-8: the row-wise reader copes or explains
                pass
            else:
                geometry_name = meta.get("geometry_name") or "wkb_geometry"
                has_geometry = (
                    meta.get("geometry_type") is not None and geometry_name in reader.schema.names
                )
                return Source(
                    path,
                    layer,
                    [n for n in reader.schema.names if not (has_geometry and n == geometry_name)],
                    CRS(meta["crs"]) if meta.get("crs") else None,
                    stack.enter_context(
                        prefetched(
                            _arrow_batches(path, reader, geometry_name if has_geometry else None)
                        )
                    ),
                )
        try:
            frame = pyogrio.read_dataframe(gdal_path, layer=layer, encoding=encoding)
        except Exception as exc:  # GDAL reports corrupt input through many error types
            raise IngestError(message("cannot_read", file=path.name, reason=exc)) from exc
    geometry, crs = None, None
    if "geometry" in frame.columns:
        geometry = np.asarray(frame.geometry.to_numpy(), dtype=object)
        crs = frame.crs
        frame = pd.DataFrame(frame.drop(columns="geometry"))
    batch = SourceBatch(0, frame.astype(object), geometry)
    return Source(path, layer, [str(c) for c in frame.columns], crs, iter([batch]))


def _arrow_batches(
    path: Path, reader: pa.RecordBatchReader, geometry_name: str | None
) -> Iterator[SourceBatch]:
    offset = 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except Exception as exc:
            raise IngestError(
                message("cannot_read_after", file=path.name, row=offset, reason=exc)
            ) from exc
        geometry = None
        if geometry_name is not None:
            wkb = batch.column(geometry_name).to_numpy(zero_copy_only=False)
            geometry = shapely.from_wkb(wkb)
            batch = batch.drop_columns([geometry_name])
        frame = batch.to_pandas().astype(object)
        yield SourceBatch(offset, frame, geometry)
        offset += len(frame)


#: Bytes the encoding check decodes at a time.
ENCODING_CHUNK = 1 << 20


def _check_encoding(path: Path, encoding: str | None) -> None:
    """Decode the whole file as ``encoding`` (UTF-8) a chunk at a time; say where it fails."""
    try:
        decoder = codecs.getincrementaldecoder(encoding or "utf-8")()
    except LookupError as exc:
        raise IngestError(message("unknown_encoding", value=repr(encoding))) from exc
    offset = 0
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(ENCODING_CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # the decoder's input is what it kept of the last chunk, then this one
                kept = len(exc.object) - len(chunk)
                at = offset - kept + exc.start
                byte = f"0x{exc.object[exc.start]:02x}"
                if encoding:
                    raise IngestError(
                        message(
                            "not_encoding", file=path.name, encoding=encoding, byte=byte, offset=at
                        )
                    ) from exc
                raise IngestError(
                    message("not_utf8", file=path.name, byte=byte, offset=at)
                ) from exc
            if not chunk:
                return
            offset += len(chunk)


def _transcode(path: Path, encoding: str, tmp: Path) -> str:
    target = tmp / path.name
    with (
        path.open(encoding=encoding, newline="") as source,
        target.open("w", encoding="utf-8", newline="") as out,
    ):
        shutil.copyfileobj(source, out, ENCODING_CHUNK)
    return str(target)


def _choose_layer(path: Path, gdal_path: str, wanted: str | None) -> str | None:
    if wanted is None and path.suffix.lower() in SINGLE_LAYER_SUFFIXES:
        return None  # listing layers would parse the whole file once more
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(gdal_path)]
    except Exception as exc:
        raise IngestError(message("cannot_read", file=path.name, reason=exc)) from exc
    if wanted is not None:
        if wanted not in layers:
            raise IngestError(
                message(
                    "no_such_layer_in_file", file=path.name, layer=wanted, layers=", ".join(layers)
                )
            )
        return wanted
    if len(layers) > 1:
        raise IngestError(
            message("several_layers", file=path.name, count=len(layers), layers=", ".join(layers))
        )
    return layers[0] if layers else None


def _open_csv(path: Path, encoding: str | None, batch_rows: int) -> Source:
    enc = encoding or "utf-8-sig"
    with path.open(encoding=enc, newline="") as handle:
        sample = handle.read(65536)
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    options: dict[str, Any] = {
        "dtype": str,
        "keep_default_na": False,
        "na_values": [""],
        "encoding": enc,
        "sep": delimiter,
    }
    try:
        columns = [str(c) for c in pd.read_csv(path, nrows=0, **options).columns]
    except pd.errors.EmptyDataError:
        return Source(path, None, [], None, iter([]))
    except (pd.errors.ParserError, ValueError) as exc:
        raise IngestError(message("cannot_read_csv", file=path.name, reason=exc)) from exc
    return Source(path, None, columns, None, _csv_batches(path, options, batch_rows))


def _csv_batches(path: Path, options: dict[str, Any], batch_rows: int) -> Iterator[SourceBatch]:
    offset = 0
    try:
        with pd.read_csv(path, chunksize=batch_rows, **options) as chunks:
            for chunk in chunks:
                frame = chunk.reset_index(drop=True).astype(object)
                yield SourceBatch(offset, frame, None)
                offset += len(frame)
    except (pd.errors.ParserError, ValueError) as exc:
        raise IngestError(message("cannot_read_csv", file=path.name, reason=exc)) from exc
