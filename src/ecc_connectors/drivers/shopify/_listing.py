"""Reading orders: the keyset listing (pages between two keys, keys only), one order by id, and the statuses.

Theory of operation
-------------------
**Listing is keyset** (``SEEK_ORDERS``), the shape the engine's zero-loss walk owns. Shopify cannot filter on an
``(updatedAt, id)`` pair, and does not document how it orders ties of ``UPDATED_AT``, so one :meth:`seek_page`
asks for ``updated_at`` from the cursor's second (one second of slack), sorted by ``UPDATED_AT``, and follows
Shopify's own ``endCursor`` inside the flow until it has ``size`` rows past the cursor **and** has seen a row of a
later second: every second it returns is then complete (a whole second's rows are read before any later one,
whatever the tie order), and it sorts them by ``(updatedAt, legacyResourceId)`` itself. The engine's cursor
therefore never stands inside a second that has unread rows, and an order edited mid-download gets a stamp past
the window's end (the store's ``Date`` bounds the window) and leaves it: no row slides past a cursor.
:meth:`list_keys` is the same walk over ``legacyResourceId`` and ``updatedAt`` only. A large window is served
from a bulk operation's file instead (:mod:`._bulk`), page by page in the same shape.

**The 60-day window**: without ``read_all_orders`` Shopify silently lists only orders created in the last 60
days. The driver reads the token's scopes once (``currentAppInstallation.accessScopes``) and refuses a window
reaching further back with a :class:`ConfigurationError` naming the scope (or, with ``allow_recent_only``,
logs a warning and goes on).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from ...driver import (
    BrokenAnswer,
    ConfigurationError,
    Flow,
    FollowCursor,
    KeyPage,
    Order,
    OrderKey,
    OrderQuery,
    Page,
    PayloadError,
    Seek,
    StoreError,
    StoreStatus,
    answer,
)
from . import _queries as q
from ._bulk_pages import BulkPages
from ._graphql import MAX_PAGE, connection, gid
from ._mapping import parse_order
from ._statuses import every_status
from ._window import created_inside, inside, row_key

__all__ = ["Listing"]

logger = logging.getLogger("ecc_connectors.drivers.shopify")

_RECENT = timedelta(days=60)


class Listing(BulkPages):
    """The read flows of the Shopify driver (module notes)."""

    page_size: int
    allow_recent_only: bool
    _scopes: frozenset[str] | None
    _scopes_lock: threading.Lock

    # -- scopes and the 60-day window ------------------------------------------------------------------------

    def _check_window(self, query: OrderQuery) -> Flow[None]:
        with self._scopes_lock:
            scopes = self._scopes
        if scopes is None:
            data = yield from self._call("Scopes", q.SCOPES, {})
            found = ((data.get("currentAppInstallation") or {}).get("accessScopes")) or []
            scopes = frozenset(str(s.get("handle")) for s in found if isinstance(s, Mapping))
            with self._scopes_lock:
                self._scopes = scopes
        if "read_all_orders" in scopes:
            return
        starts = [t for t in (query.updated_from, query.created_from) if t is not None]
        horizon = datetime.now(timezone.utc) - _RECENT
        if not starts or min(starts) < horizon:
            message = (
                f"store {self.store_id!r}: the token lacks the read_all_orders scope, so Shopify lists only orders "
                "created in the last 60 days, and this download starts earlier"
            )
            if not self.allow_recent_only:
                raise ConfigurationError(message + " (grant read_all_orders, or set allow_recent_only)")
            logger.warning("%s; going on with the last 60 days (allow_recent_only)", message)

    # -- reads -----------------------------------------------------------------------------------------------

    def list_statuses(self) -> Flow[tuple[StoreStatus, ...]]:
        """Every ``FINANCIAL|FULFILLMENT`` pair, with ``CANCELLED`` and ``CLOSED`` on their axes (no I/O:
        Shopify's statuses are a fixed enumeration)."""
        return answer(every_status())

    def _walk(
        self, document: str, operation: str, query: OrderQuery, seek: Seek, size: int, per_page: int
    ) -> Flow[tuple[list[tuple[OrderKey, Mapping[str, Any]]], bool]]:
        """Rows past ``seek.after`` up to the bound, whole seconds only, sorted; and whether the window ended."""
        low = seek.after.updated_at if seek.after is not None else query.updated_from
        high = seek.through.updated_at if seek.through is not None else query.updated_to
        text = q.search_text(low, high, query.created_from, query.created_to)
        rows: list[tuple[OrderKey, Mapping[str, Any]]] = []
        cursor: str | None = None
        while True:
            data = yield from self._call(operation, document, {"first": per_page, "after": cursor, "query": text})
            nodes, info = connection(data.get("orders"), operation, self.store_id)
            last: OrderKey | None = None
            for node in nodes:
                key = row_key(node, operation, self.store_id)
                last = key
                if inside(key, seek, query) and created_inside(node, query):
                    rows.append((key, node))
            if not info.get("hasNextPage") or not nodes:
                rows.sort(key=lambda row: row[0])
                return rows, True
            cursor = str(info.get("endCursor") or "")
            if not cursor:
                raise BrokenAnswer(f"{operation}: hasNextPage without an endCursor", store=self.store_id)
            if last is not None and len(rows) >= size:
                rows.sort(key=lambda row: row[0])
                if last.updated_at > rows[size - 1][0].updated_at:
                    # Every second before the last row's is complete; the last row's may not be.
                    return [row for row in rows if row[0].updated_at < last.updated_at], False

    def seek_page(self, query: OrderQuery, seek: Seek, size: int) -> Flow[Page]:
        """The next ``size`` orders after ``seek.after``: from a bulk operation's file when the window is
        large (see :mod:`._bulk`), else by the paged walk (module notes)."""
        yield from self._check_window(query)
        if self.bulk_threshold:
            cursor = self._bulk.take(query, seek)
            if cursor is None and seek.after is None and seek.through is None:
                cursor = yield from self._start_bulk(query)
            if cursor is not None:
                page = yield from self._bulk_page(query, seek, size, cursor)
                if page is not None:
                    return page
        per_page = max(1, min(self.page_size, query.page_size, size, q.ORDERS_PER_PAGE))
        rows, ended = yield from self._walk(q.ORDERS, "Orders", query, seek, size, per_page)
        orders: list[Order | PayloadError] = []
        for _key, node in rows:
            lines = yield from self._rest_of_lines(node)
            orders.append(parse_order(node, self.store_id, lines))
        return Page(tuple(orders), keys=tuple(k for k, _ in rows), total=len(rows) if ended else None)

    def first_page(self, query: OrderQuery) -> Flow[Page]:
        """The window's first keyset page, its ``next`` following the key of its last row (``LIST_ORDERS`` for
        callers without the keyset walk; the engine itself uses :meth:`seek_page`)."""
        page = yield from self.seek_page(query, Seek(), max(1, query.page_size))
        return self._then(query, page)

    def _then(self, query: OrderQuery, page: Page) -> Page:
        if page.total is not None or not page.keys:
            return page
        after = page.keys[-1]
        return attrs.evolve(page, next=FollowCursor(lambda: self._page_after(query, after)))

    def _page_after(self, query: OrderQuery, after: OrderKey) -> Flow[Page]:
        page = yield from self.seek_page(query, Seek(after=after), max(1, query.page_size))
        return self._then(query, page)

    def list_keys(self, query: OrderQuery, seek: Seek, size: int) -> Flow[KeyPage]:
        yield from self._check_window(query)
        rows, ended = yield from self._walk(q.KEYS, "OrderKeys", query, seek, size, MAX_PAGE)
        keys = tuple(k for k, _ in rows)
        return KeyPage(keys, total=len(keys) if ended else None)

    def _rest_of_lines(self, node: Mapping[str, Any]) -> Flow[list[Mapping[str, Any]] | None]:
        """All line items of an order whose first page of them was not all (``None``: the node has them)."""
        found = node.get("lineItems") if isinstance(node, Mapping) else None
        if not isinstance(found, Mapping) or not (found.get("pageInfo") or {}).get("hasNextPage"):
            return None
        lines = list(found.get("nodes") or ())
        cursor = (found.get("pageInfo") or {}).get("endCursor")
        order_id = str(node.get("legacyResourceId"))
        while cursor:
            data = yield from self._call(
                "OrderLines", q.ORDER_LINES, {"id": node["id"], "after": cursor}, order_id=order_id
            )
            more, info = connection((data.get("order") or {}).get("lineItems"), "OrderLines", self.store_id)
            lines += more
            cursor = info.get("endCursor") if info.get("hasNextPage") else None
        return lines

    def get_order(self, order_id: str) -> Flow[Order]:
        data = yield from self._call("Order", q.ORDER, {"id": gid("Order", order_id)}, order_id=order_id)
        node = data.get("order")
        if node is None:
            raise StoreError(
                f"order {order_id} does not exist", http_status=404, store=self.store_id, order_id=order_id
            )
        lines = yield from self._rest_of_lines(node)
        parsed = parse_order(node, self.store_id, lines)
        if isinstance(parsed, PayloadError):
            raise parsed
        return parsed
