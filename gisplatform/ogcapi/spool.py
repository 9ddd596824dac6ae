"""A response body read whole from the database before the first byte goes to the client.

Large items pages are written here while the connection is held, and sent from here once
it is back in the pool: a client that reads slowly (a phone on a bad line, or someone doing
it on purpose) holds a file, never a database connection. Up to :data:`MEMORY_BYTES` stay in
memory, the rest goes to a temporary file that is deleted when the body is sent or dropped.
The body's length is known before it is sent, so it goes out with ``Content-Length``: a
connection cut part-way can never pass for a complete page.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator

import anyio

#: bytes of a body kept in memory before it goes to a temporary file
MEMORY_BYTES = 1 << 20
#: bytes read from the spool per chunk sent
CHUNK_BYTES = 64 * 1024


class Spool:
    """A write-once, read-once body: in memory while small, then in a temporary file."""

    def __init__(self) -> None:
        # closed by close() or at the end of chunks(): the body outlives this method
        self._file = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=MEMORY_BYTES, prefix="gisplatform-"
        )
        self.size = 0

    def write(self, data: bytes) -> None:
        """Append ``data`` (page-cache writes of a few hundred kB: fine on the event loop)."""
        self._file.write(data)
        self.size += len(data)

    def close(self) -> None:
        """Drop the body (and its temporary file)."""
        self._file.close()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body from its start, :data:`CHUNK_BYTES` at a time; closes the spool at the end."""
        try:
            self._file.seek(0)
            on_disk = self.size > MEMORY_BYTES
            while True:
                if on_disk:
                    chunk = await anyio.to_thread.run_sync(self._file.read, CHUNK_BYTES)
                else:
                    chunk = self._file.read(CHUNK_BYTES)
                if not chunk:
                    break
                yield chunk
        finally:
            self.close()
