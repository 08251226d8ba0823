"""Large windows through a bulk operation, served to the engine's keyset walk page by page.

Theory of operation
-------------------
A first download of tens of thousands of orders would take thousands of cost-limited pages. Shopify's answer is
a bulk operation: ``bulkOperationRunQuery`` runs the listing on Shopify's side and writes the result as a JSONL
file (one object a line; a line item on a line of its own with ``__parentId``, right after its order, with
``groupObjects``). The driver chooses it by itself: on the first page of a window (no cursor yet) it asks
``ordersCount`` for the window, and above the threshold it starts a bulk operation sorted by ``UPDATED_AT``,
polls it (each poll is one request; the cost pacer spaces them) and reads the file.

The engine still owns the walk: each :meth:`~ShopifyDriver.seek_page` returns the next ``size`` orders of the
file as a keyset page, so the ledger, the high-water mark and the zero-loss argument are the same as on the
paged path. The file is read with HTTP ``Range`` requests of :data:`CHUNK` bytes, and only complete lines are
parsed: the file is never loaded whole, only the orders of one page and the lines of one chunk are in memory.
Between two pages the position (byte offset, the partial line, the order being assembled and the rows of a
second not yet complete) is kept in a :class:`BulkCursor` keyed by the window and the last key returned.

Ties: as on the paged path, a page ends only at a second boundary (its rows sorted by ``(updatedAt, id)``), so
a tie order Shopify does not document cannot make the engine's cursor skip a row. When the file is not sorted
by ``updatedAt`` (a row earlier than one already returned), when the page asked for is not the one the cursor
expects (a retry, another process), or when the file cannot be read, the driver drops the bulk cursor and goes
on with the paged walk from the engine's cursor, which is always correct: the bulk path is a speed-up, never a
second source of truth.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ...driver import OrderKey, OrderQuery, Seek

__all__ = ["CHUNK", "BulkCursor", "BulkCursors", "assemble", "window_of"]

CHUNK = 256 * 1024
"""Bytes per ``Range`` request of the result file."""


def window_of(query: OrderQuery) -> tuple[datetime | None, datetime | None, datetime | None]:
    return (query.updated_from, query.created_from, query.created_to)


@attrs.define
class BulkCursor:
    """Where the reading of one bulk result stands (module notes)."""

    url: str
    offset: int = 0
    size: int | None = None
    tail: bytes = b""
    current: dict[str, Any] | None = None
    held: list[tuple[OrderKey, dict[str, Any]]] = attrs.Factory(list)
    last: OrderKey | None = None
    finished: bool = False
    chunks: int = 0

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """The orders completed by ``data`` (the next bytes of the file), in file order."""
        lines = (self.tail + data).split(b"\n")
        self.tail = lines.pop()
        self.offset += len(data)
        self.chunks += 1
        return self._lines(lines)

    def close(self) -> list[dict[str, Any]]:
        """The end of the file: a last line without a newline, and the order being assembled."""
        lines, self.tail = [self.tail], b""
        done = self._lines(lines)
        if self.current is not None:
            done.append(self.current)
            self.current = None
        self.finished = True
        return done

    def _lines(self, lines: list[bytes]) -> list[dict[str, Any]]:
        done: list[dict[str, Any]] = []
        for line in lines:
            if not line.strip():
                continue
            row = json.loads(line)
            if "__parentId" in row:
                if self.current is not None:
                    del row["__parentId"]
                    self.current["lineItems"]["nodes"].append(row)
                continue
            if self.current is not None:
                done.append(self.current)
            self.current = assemble(row)
        return done


def assemble(row: Mapping[str, Any]) -> dict[str, Any]:
    """A root line as the order node the paged query returns (its line items to be appended)."""
    node = dict(row)
    node["lineItems"] = {"nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}
    return node


class BulkCursors:
    """The bulk cursors of one driver, by window (thread-safe; several slices never share one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[tuple[Any, ...], BulkCursor] = {}

    def take(self, query: OrderQuery, seek: Seek) -> BulkCursor | None:
        """The cursor that continues exactly after ``seek.after`` for this window (removed while in use)."""
        with self._lock:
            key = window_of(query)
            found = self._open.get(key)
            if found is None or found.last != seek.after or seek.through is not None:
                return None
            return self._open.pop(key)

    def keep(self, query: OrderQuery, cursor: BulkCursor) -> None:
        with self._lock:
            if not cursor.finished or cursor.held:
                self._open[window_of(query)] = cursor
            else:
                self._open.pop(window_of(query), None)
