"""The bulk path's flows: starting and polling a bulk operation, checking its file, and serving it as pages.

How the bulk path works and why it is safe is in :mod:`._bulk` (the position in the file is a
:class:`~._bulk.BulkCursor` there); this module is the part that talks to Shopify: ``ordersCount`` for the
window, ``bulkOperationRunQuery``, the polls of its status (a running operation is asked again after
``bulk_poll_seconds``, by :meth:`BulkPages.retry_hint`, so the flow never sleeps), and the ``Range`` reads of the
result file. Whenever the file cannot serve a page, a flow here answers ``None`` and the paged walk reads it.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

import httpx

from ...driver import Flow, OrderQuery, Page, RetryHint, Seek
from . import _queries as q
from ._auth import OPERATION_HEADER
from ._bulk import BulkCursor, BulkCursors
from ._graphql import ShopifyGraphQL
from ._mapping import parse_order, parse_time
from ._window import created_inside, inside, row_key

__all__ = ["BulkPages"]

logger = logging.getLogger("ecc_connectors.drivers.shopify")


def _range_total(response: httpx.Response) -> int | None:
    found = response.headers.get("content-range", "")
    total = found.rsplit("/", 1)[-1] if "/" in found else ""
    return int(total) if total.isdigit() else None


class BulkPages(ShopifyGraphQL):
    """The bulk operation flows of the Shopify driver (module notes)."""

    bulk_threshold: int
    bulk_poll_seconds: float
    bulk_runs: int
    bulk_chunk: int
    bulk_timeout: float
    _bulk: BulkCursors

    def retry_hint(self, response: httpx.Response) -> RetryHint | None:
        """A poll answering that the bulk operation still runs is asked again after a pause; the rest as
        :meth:`ShopifyGraphQL.retry_hint`."""
        if (
            response.status_code == 200
            and response.request.headers.get(OPERATION_HEADER) == "BulkStatus"
            and (b'"RUNNING"' in response.content or b'"CREATED"' in response.content)
        ):
            # The bulk operation is still running: ask again after a pause (a poll changes nothing).
            return RetryHint("bulk operation running", self.bulk_poll_seconds, quiet=True)
        return super().retry_hint(response)

    def _start_bulk(self, query: OrderQuery) -> Flow[BulkCursor | None]:
        """A bulk operation over the window when it holds more than ``bulk_threshold`` orders; ``None``
        otherwise, or when it cannot run (the paged walk then reads the window)."""
        text = q.search_text(query.updated_from, query.updated_to, query.created_from, query.created_to)
        data = yield from self._call("OrdersCount", q.COUNT, {"query": text, "limit": self.bulk_threshold + 1})
        count = int(((data.get("ordersCount") or {}).get("count")) or 0)
        if count <= self.bulk_threshold:
            return None
        data = yield from self._call("Bulk", q.BULK_RUN, {"query": q.bulk_orders_query(text)})
        payload = data.get("bulkOperationRunQuery") or {}
        errors = payload.get("userErrors") or []
        operation = payload.get("bulkOperation") or {}
        if errors or not operation.get("id"):
            logger.warning("bulk operation not started (%s): reading the window by pages", errors[:1])
            return None
        self.bulk_runs += 1
        # Reading the clock is no I/O: the poll itself waits in the engine (retry_hint), the flow only stops.
        deadline = time.monotonic() + self.bulk_timeout
        while time.monotonic() < deadline:
            found = yield from self._call("BulkStatus", q.BULK_STATUS, {"id": operation["id"]})
            node = found.get("node") or {}
            status = node.get("status")
            if status == "COMPLETED":
                if not node.get("url"):  # an empty result has no file
                    return BulkCursor("", finished=True)
                url = str(node["url"])
                ordered = yield from self._bulk_sorted(url)
                if not ordered:
                    logger.warning("the bulk result is not sorted by updatedAt: reading the window by pages")
                    return None
                return BulkCursor(url)
            if status in ("FAILED", "CANCELED", "CANCELING", "EXPIRED"):
                logger.warning(
                    "bulk operation %s ended %s (%s): reading the window by pages",
                    node.get("id"),
                    status,
                    node.get("errorCode"),
                )
                return None
        logger.warning(
            "bulk operation %s still running after %s s: reading the window by pages",
            operation["id"],
            self.bulk_timeout,
        )
        return None

    def _bulk_sorted(self, url: str) -> Flow[bool]:
        """Whether the result file's orders come in ``updatedAt`` order (ties in any order), read once in
        chunks before any page is served: a page served from an unsorted file could let the engine's cursor
        pass an order further down the file, so such a file is not used at all."""
        scan = BulkCursor(url)
        newest: datetime | None = None
        while not scan.finished:
            response = yield from self._bulk_chunk(scan)
            if response is None:
                return False
            for node in response:
                try:
                    stamp = parse_time(node["updatedAt"])
                except (KeyError, TypeError, ValueError):
                    return False
                if newest is not None and stamp < newest:
                    return False
                newest = stamp
        return True

    def _bulk_chunk(self, cursor: BulkCursor) -> Flow[list[dict[str, Any]] | None]:
        """The orders completed by the next chunk of the file (``None``: it cannot be read)."""
        request = httpx.Request(
            "GET", cursor.url, headers={"Range": f"bytes={cursor.offset}-{cursor.offset + self.bulk_chunk - 1}"}
        )
        response = yield request
        if response.status_code == 416:
            return cursor.close()
        if response.status_code not in (200, 206):
            logger.warning("the bulk result answered HTTP %s: reading the window by pages", response.status_code)
            return None
        data = response.content
        found = cursor.feed(data)
        total = _range_total(response)
        if response.status_code == 200 or not data or (total is not None and cursor.offset >= total):
            found += cursor.close()
        return found

    def _bulk_page(self, query: OrderQuery, seek: Seek, size: int, cursor: BulkCursor) -> Flow[Page | None]:
        """The next complete seconds of the bulk file, at least ``size`` orders unless it ends (``None``: the
        file cannot serve this page; the caller reads by pages instead)."""
        rows = list(cursor.held)
        cursor.held = []
        newest = rows[-1][0].updated_at if rows else None
        while True:
            if len(rows) >= size and newest is not None and newest > rows[size - 1][0].updated_at:
                break
            if cursor.finished:
                break
            if not cursor.url:
                cursor.finished = True
                break
            found = yield from self._bulk_chunk(cursor)
            if found is None:
                return None
            for node in found:
                key = row_key(node, "bulk result", self.store_id)
                if cursor.last is not None and key.updated_at <= cursor.last.updated_at:
                    logger.warning("the bulk result is not sorted by updatedAt: reading the window by pages")
                    return None
                newest = key.updated_at if newest is None or key.updated_at > newest else newest
                if inside(key, seek, query) and created_inside(node, query):
                    rows.append((key, node))
            rows.sort(key=lambda row: row[0])
        if cursor.finished:
            chosen, cursor.held = rows, []
        else:
            assert newest is not None
            chosen = [row for row in rows if row[0].updated_at < newest]
            cursor.held = [row for row in rows if row[0].updated_at >= newest]
        if chosen:
            cursor.last = chosen[-1][0]
        self._bulk.keep(query, cursor)
        orders = tuple(parse_order(node, self.store_id) for _key, node in chosen)
        done = cursor.finished and not cursor.held
        return Page(orders, keys=tuple(k for k, _ in chosen), total=len(chosen) if done else None)
