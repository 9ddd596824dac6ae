"""Reading source files into one shape: an attribute table plus optional geometries.

Spatial formats (Shapefile, zipped Shapefile, GeoPackage, GeoJSON, FlatGeobuf,
KML, XLSX …) go through GDAL via pyogrio; CSV is read with pandas as text so
that every value is validated by the same parsers.
"""

from __future__ import annotations

import csv
import tempfile
import warnings
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
from numpy.typing import NDArray
from pyproj import CRS

from gisplatform.ingest.errors import IngestError

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
#: Formats that are plain text and must be decodable before GDAL sees them.
TEXT_SUFFIXES = (*CSV_SUFFIXES, ".geojson", ".json", ".kml", ".gml", ".geojsonl")
SINGLE_LAYER_SUFFIXES = (".geojson", ".json", ".geojsonl", ".fgb", ".shp")
_HAS_ARROW = find_spec("pyarrow") is not None


@dataclass(frozen=True)
class SourceData:
    """What a file holds: attributes (original column names), geometries and CRS."""

    path: Path
    layer: str | None
    frame: pd.DataFrame
    geometry: NDArray[np.object_] | None
    crs: CRS | None

    @property
    def columns(self) -> list[str]:
        """The attribute column names, in file order."""
        return [str(c) for c in self.frame.columns]

    def __len__(self) -> int:
        return len(self.frame)


def read_source(
    path: Path, source_layer: str | None = None, encoding: str | None = None
) -> SourceData:
    """Read ``path`` (choosing ``source_layer`` in multi-layer files)."""
    if not path.is_file():
        raise IngestError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        _check_encoding(path, encoding)
    if suffix in CSV_SUFFIXES:
        return _read_csv(path, encoding)
    gdal_path = f"/vsizip/{path}" if suffix == ".zip" else str(path)
    with tempfile.TemporaryDirectory(prefix="gisplatform-import-") as tmp:
        if encoding and suffix in TEXT_SUFFIXES:
            gdal_path = _transcode(path, encoding, Path(tmp))
            encoding = None
        layer = _choose_layer(path, gdal_path, source_layer)
        frame = _read_gdal(path, gdal_path, layer, encoding)
    geometry: NDArray[np.object_] | None = None
    crs: CRS | None = None
    if "geometry" in frame.columns and hasattr(frame, "crs"):
        geometry = np.asarray(frame.geometry.to_numpy(), dtype=object)
        crs = frame.crs
        frame = pd.DataFrame(frame.drop(columns="geometry"))
    return SourceData(path, layer, frame.astype(object), geometry, crs)


def _read_gdal(path: Path, gdal_path: str, layer: str | None, encoding: str | None) -> Any:
    """The file as a GeoDataFrame: through Arrow when possible (much faster), else row-wise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if encoding is None and _HAS_ARROW:
            try:
                return pyogrio.read_dataframe(gdal_path, layer=layer, use_arrow=True)
            except Exception:  # e.g. text not in UTF-8: the row-wise reader copes or explains
                pass
        try:
            return pyogrio.read_dataframe(gdal_path, layer=layer, encoding=encoding)
        except Exception as exc:  # GDAL reports corrupt input through many error types
            raise IngestError(
                f"cannot read {path.name}: {exc} (is the file truncated or corrupt?)"
            ) from exc


def _check_encoding(path: Path, encoding: str | None) -> None:
    data = path.read_bytes()
    try:
        data.decode(encoding or "utf-8")
    except LookupError as exc:
        raise IngestError(f"unknown encoding {encoding!r}") from exc
    except UnicodeDecodeError as exc:
        if encoding:
            raise IngestError(
                f"{path.name} is not valid {encoding} (byte 0x{data[exc.start]:02x} at "
                f"offset {exc.start}); try another --encoding"
            ) from exc
        raise IngestError(
            f"{path.name} is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "give its encoding, e.g. --encoding cp1251"
        ) from exc


def _transcode(path: Path, encoding: str, tmp: Path) -> str:
    target = tmp / path.name
    target.write_text(path.read_text(encoding=encoding), encoding="utf-8")
    return str(target)


def _choose_layer(path: Path, gdal_path: str, wanted: str | None) -> str | None:
    if wanted is None and path.suffix.lower() in SINGLE_LAYER_SUFFIXES:
        return None  # listing layers would parse the whole file once more
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(gdal_path)]
    except Exception as exc:
        raise IngestError(
            f"cannot read {path.name}: {exc} (is the file truncated or corrupt?)"
        ) from exc
    if wanted is not None:
        if wanted not in layers:
            raise IngestError(
                f"{path.name} has no layer {wanted!r}; its layers are: {', '.join(layers)}"
            )
        return wanted
    if len(layers) > 1:
        raise IngestError(
            f"{path.name} holds {len(layers)} layers ({', '.join(layers)}); "
            "choose one with --source-layer"
        )
    return layers[0] if layers else None


def _read_csv(path: Path, encoding: str | None) -> SourceData:
    enc = encoding or "utf-8-sig"
    with path.open(encoding=enc, newline="") as handle:
        sample = handle.read(65536)
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            encoding=enc,
            sep=delimiter,
        )
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame()
    except (pd.errors.ParserError, ValueError) as exc:
        raise IngestError(f"cannot read {path.name} as CSV: {exc}") from exc
    return SourceData(path, None, frame.astype(object), None, None)
