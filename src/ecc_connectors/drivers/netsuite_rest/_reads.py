"""The ``netsuite_rest`` driver's reads: the keyset listing of sales orders, probes, key pages and one order.

Theory of operation
-------------------
A listing is a keyset walk over ``(lastmodifieddate, id)`` (``SEEK_ORDERS``, see ``_suiteql``), so it meets the
engine's zero-loss promise; a page is four queries: the orders, their item lines (walked by
``(transaction, line id)``, so a page of orders with many lines never relies on an offset), and their shipping and
billing address rows. ``get_order`` reads the same rows for one id and maps them the same way, so the copy the
engine reads back after a write is the copy the next download lists. A probe reads one key at an offset, up to
SuiteQL's 100,000-row cap (past it the engine reads one bigger slice instead).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...driver import (
    BrokenAnswer,
    ConfigurationError,
    Flow,
    KeyPage,
    Order,
    OrderKey,
    OrderQuery,
    Page,
    PayloadError,
    Probe,
    Seek,
    StoreError,
    StoreStatus,
)
from . import _suiteql as sql
from ._client import NetSuiteRestClient
from ._mapping import ORDER_STATUSES, order_from_rows, order_key_of, status_letters
from ._suiteql import MAX_LIMIT, MAX_OFFSET

__all__ = ["NetSuiteRestReads"]


class NetSuiteRestReads(NetSuiteRestClient):
    """The read flows of :class:`~ecc_connectors.drivers.netsuite_rest.NetSuiteRestDriver`."""

    def _letters(self, query: OrderQuery) -> list[str] | None:
        try:
            return status_letters(query.statuses)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None

    # reads -------------------------------------------------------------------------------------------------
    def list_statuses(self) -> Flow[tuple[StoreStatus, ...]]:
        # Sales order statuses are fixed by NetSuite (no custom ones): the table is the whole list.
        return ORDER_STATUSES
        yield  # pragma: no cover - a flow that sends nothing

    def _orders(self, headers: Sequence[dict[str, Any]]) -> Flow[list[Order | PayloadError]]:
        """Full orders for transaction rows: their item lines (as many answers as they take, walked by key) and their
        rows in the two address tables."""
        ids = [int(str(h["id"])) for h in headers if str(h.get("id", "")).isdigit()]
        lines: dict[str, list[dict[str, Any]]] = {}
        after: tuple[int, int] | None = None
        while ids:
            body = yield from self._query(sql.lines_query(ids, after), MAX_LIMIT)
            rows = body["items"]
            for row in rows:
                lines.setdefault(str(row.get("transaction")), []).append(row)
            if not rows or (len(rows) < MAX_LIMIT and not body.get("hasMore")):
                break  # a full answer is followed up whatever hasMore says: a flag that lies must not drop lines
            try:
                next_after = (int(str(rows[-1]["transaction"])), int(str(rows[-1]["id"])))
            except (KeyError, ValueError):
                raise BrokenAnswer("a line row without its ids", code="BAD_ROW", store=self.store_id) from None
            if after is not None and next_after <= after:
                raise BrokenAnswer("line rows are not sorted", code="UNSORTED", store=self.store_id)
            after = next_after
        addresses: dict[str, dict[str, dict[str, Any]]] = {}
        for table, column in (
            ("transactionshippingaddress", "shippingaddress"),
            ("transactionbillingaddress", "billingaddress"),
        ):
            keys = sorted({int(str(h[column])) for h in headers if str(h.get(column, "")).isdigit()})
            found: dict[str, dict[str, Any]] = {}
            if keys:
                for row in (yield from self._all_rows(sql.addresses_query(table, keys))):
                    found[str(row.get("nkey"))] = row
            addresses[column] = found
        orders: list[Order | PayloadError] = []
        for header in headers:
            order_id = str(header.get("id"))
            try:
                orders.append(
                    order_from_rows(
                        header,
                        lines.get(order_id, []),
                        addresses["shippingaddress"].get(str(header.get("shippingaddress"))),
                        addresses["billingaddress"].get(str(header.get("billingaddress"))),
                        store=self.store_id,
                        default_currency=self.settings.currency,
                        zone=self.zone,
                    )
                )
            except PayloadError as error:
                orders.append(error)
        return orders

    def _keys(self, rows: Sequence[Mapping[str, Any]]) -> tuple[OrderKey, ...]:
        keys = []
        for index, row in enumerate(rows):
            found = order_key_of(row, self.zone)
            if found is None:
                raise BrokenAnswer(
                    f"row {index} without a readable id and lastmodifieddate", code="BAD_KEY", store=self.store_id
                )
            keys.append(OrderKey(found[1], found[0]))
        return tuple(keys)

    def seek_page(self, query: OrderQuery, seek: Seek, size: int) -> Flow[Page]:
        """Orders of ``query`` with keys in ``(seek.after, seek.through]``, sorted by ``(lastmodifieddate, id)``."""
        letters = self._letters(query)
        if letters == []:
            return Page(orders=(), total=0)
        limit = max(1, min(size, self.settings.page_size, MAX_LIMIT))
        body = yield from self._query(sql.orders_query(query, letters, seek, self.zone), limit)
        rows = body["items"]
        keys = self._keys(rows)
        orders = yield from self._orders(rows)
        return Page(orders=tuple(orders), total=self._total(body), keys=keys)

    def probe(self, query: OrderQuery, offset: int) -> Flow[Probe]:
        """The key at ``offset`` of the listing: one row of two columns, and the count."""
        if offset < 0:
            raise ValueError(f"offset must be 0 or more, got {offset}")
        letters = self._letters(query)
        if letters == []:
            return Probe(None, 0)
        if offset >= MAX_OFFSET:
            return Probe(None, None)  # SuiteQL pages no further by offset: the engine reads one bigger slice
        body = yield from self._query(sql.orders_query(query, letters, Seek(), self.zone, keys_only=True), 1, offset)
        total = self._total(body, offset)
        if not body["items"]:
            return Probe(None, total)
        return Probe(self._keys(body["items"])[0], total)

    def list_keys(self, query: OrderQuery, seek: Seek, size: int) -> Flow[KeyPage]:
        letters = self._letters(query)
        if letters == []:
            return KeyPage((), 0)
        limit = max(1, min(size, MAX_LIMIT))
        body = yield from self._query(sql.orders_query(query, letters, seek, self.zone, keys_only=True), limit)
        return KeyPage(self._keys(body["items"]), self._total(body))

    def get_order(self, order_id: str) -> Flow[Order]:
        if not str(order_id).strip().isdigit():
            raise StoreError(
                f"NetSuite order ids are numbers, got {order_id!r}",
                code="BAD_ID",
                http_status=404,
                store=self.store_id,
                order_id=str(order_id),
            )
        body = yield from self._query(sql.order_by_id(int(order_id)), 1)
        if not body["items"]:
            raise StoreError(
                f"NetSuite has no sales order {order_id}",
                code="RCRD_DSNT_EXIST",
                http_status=404,
                store=self.store_id,
                order_id=str(order_id),
            )
        (order,) = yield from self._orders(body["items"])
        if isinstance(order, PayloadError):
            raise order
        return order
