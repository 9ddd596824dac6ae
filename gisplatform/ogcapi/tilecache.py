"""A bounded in-memory LRU cache of rendered vector tiles.

Keys carry the revision of every layer in the tile, so an edit or an import
of a layer makes its old tiles unreachable; they age out of the LRU. They carry the
audience's view schema too: a tile rendered for staff is never served to anyone else.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

#: (layer names with revisions, tile matrix set, z, x, y, settings fingerprint, audience schema)
TileKey = tuple[tuple[tuple[str, int], ...], str, int, int, int, str, str]


@dataclass(frozen=True)
class RenderedTile:
    """An MVT body and the layers whose feature cap cut it short."""

    body: bytes
    truncated: tuple[tuple[str, int], ...] = ()


class TileCache:
    """Least-recently-used tiles, bounded by the total size of their bodies."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._tiles: OrderedDict[TileKey, RenderedTile] = OrderedDict()
        self._size = 0
        self.hits = 0
        self.misses = 0

    @property
    def size(self) -> int:
        """Bytes held now."""
        return self._size

    def __len__(self) -> int:
        return len(self._tiles)

    def get(self, key: TileKey) -> RenderedTile | None:
        """The tile under ``key``, marked as recently used; None on a miss."""
        tile = self._tiles.get(key)
        if tile is None:
            self.misses += 1
            return None
        self._tiles.move_to_end(key)
        self.hits += 1
        return tile

    def put(self, key: TileKey, tile: RenderedTile) -> None:
        """Keep ``tile``, evicting the least recently used ones beyond the bound."""
        cost = len(tile.body) + 64
        if cost > self.max_bytes:
            return
        old = self._tiles.pop(key, None)
        if old is not None:
            self._size -= len(old.body) + 64
        self._tiles[key] = tile
        self._size += cost
        while self._size > self.max_bytes:
            _, evicted = self._tiles.popitem(last=False)
            self._size -= len(evicted.body) + 64

    def clear(self) -> None:
        """Forget every tile."""
        self._tiles.clear()
        self._size = 0
