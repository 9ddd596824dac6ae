"""A bounded in-memory LRU cache of rendered vector tiles.

Keys carry the revision of every layer in the tile, so an edit or an import
of a layer makes its old tiles unreachable; they age out of the LRU. They carry the
audience's view schema too: a tile rendered for staff is never served to anyone else.

The bound is on the memory the entries really take, not on their bodies alone: an empty
tile (most tiles at high zoom) has no body, yet its key and the cache's bookkeeping cost a
few hundred bytes; counted as free, a crawler asking for random z20 tiles would grow the
cache without limit. Each entry is charged :data:`ENTRY_OVERHEAD` (the ordered dict's slot
and node, measured with ``tracemalloc``, see ``tests/test_tilecache.py``), ``sys.getsizeof``
of the key and of every part in it, and the tile object and its body; every empty tile
shares one tile object. The number of entries is capped as well.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from dataclasses import dataclass

#: (layer names with revisions, tile matrix set, z, x, y, settings fingerprint, audience schema)
TileKey = tuple[tuple[tuple[str, int], ...], str, int, int, int, str, str]

#: bytes one entry costs the ordered dict itself (hash table slot and index, linked-list
#: node, amortised growth), beyond its key and value: 47 to 117 measured on CPython 3.12,
#: depending on where the table is in its growth
ENTRY_OVERHEAD = 112
#: entries kept at most, whatever their size
DEFAULT_MAX_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class RenderedTile:
    """An MVT body and the layers whose feature cap cut it short."""

    body: bytes
    truncated: tuple[tuple[str, int], ...] = ()


#: the one object every empty, untruncated tile is kept as
EMPTY_TILE = RenderedTile(b"")


def _interned(part: object) -> object:
    """``part`` with every string in it interned: one copy for all the entries that name it."""
    if isinstance(part, str):
        return sys.intern(part)
    if isinstance(part, tuple):
        return tuple(_interned(item) for item in part)
    return part


def own_size(part: object) -> int:
    """Bytes ``part`` of a key takes for its entry alone (``sys.getsizeof``, recursively).

    Strings are interned when the entry is kept (layer names, tile matrix set, fingerprint,
    schema: shared by all entries) and small ints are shared by CPython: neither is charged.
    """
    if isinstance(part, tuple):
        return sys.getsizeof(part) + sum(own_size(item) for item in part)
    if isinstance(part, str) or (isinstance(part, int) and -5 <= part <= 256):
        return 0
    return sys.getsizeof(part)


def entry_cost(key: TileKey, tile: RenderedTile) -> int:
    """Bytes an entry takes: bookkeeping, key, and the tile unless it is the shared empty one."""
    cost = ENTRY_OVERHEAD + own_size(key)
    if tile is not EMPTY_TILE:
        cost += sys.getsizeof(tile) + sys.getsizeof(tile.body) + own_size(tile.truncated)
    return cost


class TileCache:
    """Least-recently-used tiles, bounded by the memory they take and by their number."""

    def __init__(self, max_bytes: int, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._tiles: OrderedDict[TileKey, RenderedTile] = OrderedDict()
        self._size = 0
        self.hits = 0
        self.misses = 0

    @property
    def size(self) -> int:
        """Bytes held now (see :func:`entry_cost`)."""
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
        """Keep ``tile``, evicting the least recently used ones beyond the bounds."""
        if not tile.body and not tile.truncated:
            tile = EMPTY_TILE
        key = _interned(key)  # type: ignore[assignment]
        cost = entry_cost(key, tile)
        if cost > self.max_bytes or self.max_entries < 1:
            return
        old = self._tiles.pop(key, None)
        if old is not None:
            self._size -= entry_cost(key, old)
        self._tiles[key] = tile
        self._size += cost
        while self._size > self.max_bytes or len(self._tiles) > self.max_entries:
            evicted_key, evicted = self._tiles.popitem(last=False)
            self._size -= entry_cost(evicted_key, evicted)

    def clear(self) -> None:
        """Forget every tile."""
        self._tiles.clear()
        self._size = 0
