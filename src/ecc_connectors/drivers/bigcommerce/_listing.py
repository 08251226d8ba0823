"""Listing BigCommerce orders without losing one: a keyset built from what v2 ``GET /orders`` can do.

Theory of operation
-------------------
**Listing is a keyset** (``SEEK_ORDERS``), built from what v2 ``GET /orders`` can do: filter on
``min_date_modified``/``max_date_modified`` (whole seconds, both bounds inclusive), on ``min_id``/``max_id``, and
sort on *one* field (``date_modified`` or ``id``). The SDK's key is ``(updated_at, id)``; no single v2 sort gives
it, so one keyset page is built from at most two requests:

1. **by stamp**: ``min_date_modified = t`` (the cursor's second ``t``, included) up to the slice's end,
   ``sort=date_modified:asc``. Every second *before* the page's last stamp is complete in the answer (the sort
   put all of its rows ahead of the last one); the last second may be cut anywhere (v2 does not say how it orders
   ties), so when the page is full its rows are left for the next page. The rows of ``t`` up to the cursor were
   read before and are dropped; the rest is sorted by key locally. Usually that is the whole page, in one request;
2. **by id, inside one second**, when a full page holds nothing new in its complete seconds (one second fills
   the page): ``min_date_modified = max_date_modified = that second``, ``min_id = cursor id + 1``,
   ``sort=id:asc``. Inside one second the id sort *is* the key order, and nothing new is ever stamped in a past
   second (an edit stamps "now", past the window's end), so this is an exact keyset inside the second. When the
   cursor's second has nothing left, step 1 goes on from the next second.

So a page holds only whole seconds or an id-ordered run of one second: the cursor never passes a key it did not
return, which is the keyset's promise (``ecc_connectors._keyset`` has the proof for the engine's side). Rows
must come sorted as asked; a page whose stamps go down is a :class:`BrokenAnswer` (asked again, then the run
fails loudly), never silently trusted.

The first page of a download (sent before the window's end is known) holds at most ``FIRST_PAGE`` orders, since
it is read alone before any slice can start, and it also counts the rows after its start by galloping over
``limit=1`` pages (about ``log2(n / 10) + 3`` tiny requests, to within an eighth), so the engine can cut the
window into slices read concurrently. The page's total is never below what it held plus one, so a count that
lies low can never end the listing early (a total only ever ends a slice when it is reached). ``probe`` is the
same one-row page.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ...driver import (
    BrokenAnswer,
    Flow,
    FollowCursor,
    KeyPage,
    Order,
    OrderKey,
    OrderQuery,
    Page,
    PayloadError,
    Probe,
    Seek,
)
from .._common import ceil_second, floor_second
from ._mapping import format_time, parse_order
from ._pieces import OrderReads
from ._rest import INCLUDE

__all__ = ["FIRST_PAGE", "Listing"]

FIRST_PAGE = 10
"""Rows of a download's first page (read before the window can be cut into concurrent slices)."""
_SECOND = timedelta(seconds=1)


class Listing(OrderReads):
    """Keyset pages, probes, keys and the cursor walk (see the module notes)."""

    def _filters(self, query: OrderQuery) -> dict[str, str]:
        params: dict[str, str] = {}
        if query.created_from is not None:
            params["min_date_created"] = format_time(ceil_second(query.created_from))
        if query.created_to is not None:
            params["max_date_created"] = format_time(floor_second(query.created_to))
        if query.statuses is not None and len(query.statuses) == 1 and query.statuses[0].isdigit():
            params["status_id"] = query.statuses[0]
        return params

    def _starting_id(self, query: OrderQuery) -> int | None:
        number = (query.starting_number or "").strip()
        return int(number) if number.isdigit() else None

    def _second(
        self,
        query: OrderQuery,
        second: datetime,
        after_id: int | None,
        through: OrderKey | None,
        size: int,
        whole: bool = True,
    ) -> Flow[list[dict[str, Any]]]:
        """The orders stamped in ``second`` with an id above ``after_id`` (and not past ``through``), by id."""
        params = (
            self._filters(query)
            | {
                "min_date_modified": format_time(second),
                "max_date_modified": format_time(second),
                "sort": "id:asc",
                "limit": str(size),
                "page": "1",
            }
            | (INCLUDE if whole else {})
        )
        low = max(after_id + 1 if after_id is not None else 0, self._starting_id(query) or 0)
        if low:
            params["min_id"] = str(low)
        if through is not None and floor_second(through.updated_at) == second:
            if through.id < low:
                return []
            params["max_id"] = str(through.id)
        rows = yield from self._orders(params)
        last = -1
        for row in rows:
            key = self._key(row)
            if floor_second(key.updated_at) != second or key.id <= last or key.id < low:
                raise BrokenAnswer(
                    f"asked for the orders of {format_time(second)} by id, the store answered order {key.id}"
                    f" stamped {format_time(key.updated_at)} out of that order",
                    store=self.store_id,
                )
            last = key.id
        return rows

    def _seek_rows(self, query: OrderQuery, seek: Seek, size: int, *, whole: bool = True) -> Flow[list[dict[str, Any]]]:
        """The rows of one keyset page: keys after ``seek.after``, up to ``seek.through`` (or the query's end),
        sorted by key, only whole seconds or an id run of one second (see the module docstring). ``whole``:
        with each order's consignments (not needed for keys)."""
        size = max(1, min(size, self.page_size))
        if query.statuses is not None and not query.statuses:
            return []  # no status asked for: nothing to list (and no request)
        after, through = seek.after, seek.through
        end = through.updated_at if through is not None else query.updated_to
        end_second = floor_second(end) if end is not None else None
        cursor_second = floor_second(after.updated_at) if after is not None else None
        if cursor_second is not None:
            lower: datetime | None = cursor_second  # the cursor's second again: its rows after the cursor
        else:
            lower = ceil_second(query.updated_from) if query.updated_from is not None else None
        for _attempt in range(2):
            if end_second is not None and lower is not None and lower > end_second:
                return []
            rows = yield from self._stamp_page(query, lower, end_second, size, whole)
            if not rows:
                return []
            keys = [self._key(row) for row in rows]
            full = len(rows) >= size
            last = floor_second(keys[-1].updated_at)
            # Every second before the last one is complete in a full page; the last may be cut anywhere.
            kept = [
                (key, row)
                for key, row in zip(keys, rows, strict=True)
                if (not full or floor_second(key.updated_at) < last)
                and (after is None or key > after)
                and (through is None or key <= through)
            ]
            if kept or not full:
                kept.sort(key=lambda pair: pair[0])
                return [row for _key, row in kept]
            # A full page with nothing new in its complete seconds: read its last second by id.
            run = yield from self._second(
                query, last, after.id if cursor_second == last and after else None, through, size, whole
            )
            if run or (through is not None and last == floor_second(through.updated_at)):
                return run
            if cursor_second != last:
                raise BrokenAnswer(
                    f"the store listed orders stamped {format_time(last)} but none when asked for them by id",
                    store=self.store_id,
                )
            lower = last + _SECOND  # the cursor's second is read to its end: go on after it
        raise BrokenAnswer("the listing did not move past one second", store=self.store_id)  # pragma: no cover

    def _stamp_page(
        self, query: OrderQuery, lower: datetime | None, upper: datetime | None, size: int, whole: bool
    ) -> Flow[list[dict[str, Any]]]:
        """One ``sort=date_modified:asc`` page from ``lower`` to ``upper`` (whole seconds, inclusive)."""
        params = self._filters(query) | {"sort": "date_modified:asc", "limit": str(size), "page": "1"}
        if whole:
            params |= INCLUDE
        if lower is not None:
            params["min_date_modified"] = format_time(lower)
        if upper is not None:
            params["max_date_modified"] = format_time(upper)
        if self._starting_id(query) is not None:
            params["min_id"] = str(self._starting_id(query))
        rows = yield from self._orders(params)
        keys = [self._key(row) for row in rows]
        for before, following in itertools.pairwise(keys):
            if floor_second(following.updated_at) < floor_second(before.updated_at):
                raise BrokenAnswer(
                    f"asked for sort=date_modified:asc, the store answered order {following.id}"
                    f" ({following.updated_at}) after order {before.id} ({before.updated_at})",
                    store=self.store_id,
                )
        return rows

    def _exists(self, params: Mapping[str, str], offset: int) -> Flow[dict[str, Any] | None]:
        rows = yield from self._orders(dict(params) | {"limit": "1", "page": str(offset + 1)})
        return rows[0] if rows else None

    def _count(self, query: OrderQuery, shown: int) -> Flow[int | None]:
        """About how many orders the unbounded listing from ``query.updated_from`` holds now (at least that many,
        within an eighth), by galloping over one-row pages (``page=k&limit=1`` is the row at offset ``k - 1``);
        ``None`` when nothing follows the ``shown`` rows of the first page (one request: a small incremental run
        pays no more)."""
        params = self._filters(query) | {"sort": "date_modified:asc"}
        if query.updated_from is not None:
            params["min_date_modified"] = format_time(ceil_second(query.updated_from))
        if self._starting_id(query) is not None:
            params["min_id"] = str(self._starting_id(query))
        if (yield from self._exists(params, shown)) is None:
            return None
        low, high = shown + 1, 2 * (shown + 1)  # a row at offset low - 1 exists; high: a count to test
        while (yield from self._exists(params, high - 1)) is not None:
            low, high = high, high * 2
        # To within an eighth: the count only plans the slices (a count a little off costs balance, never
        # orders), and each halving is one more request sent before any slice starts.
        while high - low > max(1, low // 8):
            middle = (low + high) // 2
            if (yield from self._exists(params, middle - 1)) is not None:
                low = middle
            else:
                high = middle
        return low

    def _parsed(self, rows: list[dict[str, Any]]) -> Flow[tuple[Order | PayloadError, ...]]:
        """Each row with its pieces, mapped; a row that cannot be read is its ``PayloadError`` (kept, visible)."""
        orders: list[Order | PayloadError] = []
        for row in rows:
            pieces = yield from self._pieces(row)
            orders.append(pieces if isinstance(pieces, PayloadError) else parse_order(self.store_id, pieces))
        return tuple(orders)

    def seek_page(self, query: OrderQuery, seek: Seek, size: int) -> Flow[Page]:
        first = seek.after is None and seek.through is None and query.updated_to is None
        if first:
            # The download's first page is read alone (one flow, its orders' sub-resources one after another)
            # before the engine can cut the window into slices: keep it short so the slices start soon.
            size = min(size, FIRST_PAGE)
        rows = yield from self._seek_rows(query, seek, size)
        orders = yield from self._parsed(rows)
        total = None
        if first and rows:
            # The download's first page: count what follows, so the engine can cut the window into slices read
            # concurrently. Never less than one more than this page: the count is a planning aid (the rows
            # after the start when the run began) and must not end the head slice early.
            counted = yield from self._count(query, len(rows))
            total = None if counted is None else max(counted, len(rows) + 1)
        return Page(orders, total=total, keys=tuple(self._key(row) for row in rows))

    def probe(self, query: OrderQuery, offset: int) -> Flow[Probe]:
        """The key at ``offset`` of the ``date_modified`` sort (ties in a second in the store's order: a key a
        little off costs a slice's balance, never an order)."""
        params = self._filters(query) | {"sort": "date_modified:asc"}
        if query.updated_from is not None:
            params["min_date_modified"] = format_time(ceil_second(query.updated_from))
        if query.updated_to is not None:
            params["max_date_modified"] = format_time(floor_second(query.updated_to))
        if self._starting_id(query) is not None:
            params["min_id"] = str(self._starting_id(query))
        row = yield from self._exists(params, offset)
        return Probe(self._key(row) if row is not None else None, None)

    def list_keys(self, query: OrderQuery, seek: Seek, size: int) -> Flow[KeyPage]:
        rows = yield from self._seek_rows(query, seek, size, whole=False)
        return KeyPage(tuple(self._key(row) for row in rows), None)

    def first_page(self, query: OrderQuery) -> Flow[Page]:
        """The keyset walk as a cursor (for callers that list by pages): each page goes on after its last key."""
        page = yield from self._cursor_page(query, Seek())
        return page

    def _cursor_page(self, query: OrderQuery, seek: Seek) -> Flow[Page]:
        rows = yield from self._seek_rows(query, seek, self.page_size)
        orders = yield from self._parsed(rows)
        following = None
        if rows:
            last = self._key(rows[-1])
            following = FollowCursor(lambda: self._cursor_page(query, Seek(last, seek.through)))
        return Page(orders, following)
