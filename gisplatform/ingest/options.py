"""What an import is told (its options) and how it reports progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from gisplatform.ingest.area import Territory
from gisplatform.ingest.crs import AreaOfInterest
from gisplatform.ingest.load import Mode


class Reporter(Protocol):
    """Receives progress: a new stage with an optional total, then advances."""

    def start(self, task: str, total: int | None = None) -> None: ...

    def advance(self, amount: int) -> None: ...


class Silent:
    """A reporter that shows nothing."""

    def start(self, task: str, total: int | None = None) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass


@dataclass(frozen=True)
class ImportTimeouts:
    """Limits of the import's database session, so that a stalled import frees the layer.

    ``lock_s``: how long to wait for the layer's lock (another import or a long query
    holds it); ``statement_s``: how long one statement may run; ``idle_s``: how long
    the session may sit idle inside its transaction (a client stopped half-way).
    """

    lock_s: float = 10.0
    statement_s: float = 3600.0
    idle_s: float = 300.0


@dataclass(frozen=True)
class ImportOptions:
    """Everything an import can be told besides the layer and the file."""

    mode: Mode = Mode.APPEND
    source_layer: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    source_crs: str | None = None
    dry_run: bool = False
    skip_invalid: bool = False
    repair: bool = False
    x: str | None = None
    y: str | None = None
    wkt: str | None = None
    dms: tuple[str, str] | None = None
    encoding: str | None = None
    #: rows outside this box are rejected (the CLI derives it from the hromada profile)
    area: AreaOfInterest | None = None
    #: rows that do not touch this territory are left out and counted as outside
    keep_inside: Territory | None = None
    swap_xy: bool = False
    report: Path | None = None
    actor: str | None = None
    timeouts: ImportTimeouts = field(default_factory=ImportTimeouts)
