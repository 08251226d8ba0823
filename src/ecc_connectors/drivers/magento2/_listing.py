"""Reading orders: numbered pages, the keyset listing (pages between two keys, probes, keys only), one order
by id, and the store's statuses.

Every listing goes to ``GET /V1/orders`` with ``searchCriteria`` (built in ``_search``); each order keeps its
own JSON text as received (``RawJSON``, cut out of the page by ``_errors.read_envelope``): the faithful audit
copy, and no re-encoding when the ledger stores it. An order that cannot be read is a ``PayloadError`` in its
page's place, never the end of the download.

What Magento does that shapes this: past the last page it answers with the last page again (so the page count
comes from ``total_count`` and nothing beyond it is asked for); it may ignore ``pageSize`` (then the first page
is all it gives); and its ``total_count`` can be a number no search returns, which plans nothing.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

import httpx

from ...driver import (
    Flow,
    KeyPage,
    Order,
    OrderKey,
    OrderQuery,
    OrdersOnDemand,
    Page,
    PayloadError,
    Probe,
    Seek,
    StoreStatus,
    answer,
    pages_from_total,
)
from . import _scan
from ._errors import Envelope
from ._mapping import DEFAULT_STATUSES
from ._rest import MagentoRest, entity_id
from ._schema import decode_order, read_key
from ._search import KEY_FIELDS, clamp_page_size, ids_criteria, order_criteria, seek_criteria

__all__ = ["Listing"]

logger = logging.getLogger("ecc_connectors.drivers.magento2")


class Listing(MagentoRest):
    """The read flows of the Magento 2 driver."""

    def _page_size(self, query: OrderQuery) -> int:
        return clamp_page_size(query.page_size, self.page_size)

    def _fetch_orders(
        self, query: OrderQuery, size: int, number: int
    ) -> Flow[tuple[tuple[Order | PayloadError, ...], int | None]]:
        criteria = order_criteria(query, size, number)
        envelope = self._read_envelope((yield self._get("/V1/orders", criteria.params())))
        if envelope.total is None:
            logger.warning("store %s: total_count of page %d is not a possible count; not used", self.store_id, number)
        return tuple(decode_order(item, self.store_id) for item in envelope.items), envelope.total

    def first_page(self, query: OrderQuery) -> Flow[Page]:
        if query.statuses == ():
            return Page(orders=(), next=None, total=0)
        size = self._page_size(query)
        orders, total = yield from self._fetch_orders(query, size, 1)
        count = len(orders)
        if count > size:
            # The store ignored pageSize: what came is all it will give; asking for page 2 would repeat it.
            logger.warning("store %s sent %d orders for a page of %d: reading no further", self.store_id, count, size)
            return Page(orders=orders, next=None, total=total)
        if count < size and total is not None and total > count:
            # A short first page is the whole listing, whatever total_count claims (reported as the store said).
            logger.warning("store %s: first page holds %d orders, total_count says %d", self.store_id, count, total)
        # A count no search can return (None: negative, beyond every id) plans nothing: the engine's key listing
        # after numbered pages finds what lies beyond the first page.
        following = pages_from_total(total, size, functools.partial(self._later_page, query, size), shown=count)
        return Page(orders=orders, next=following, total=total)

    def _later_page(self, query: OrderQuery, size: int, number: int) -> Flow[Page]:
        orders, total = yield from self._fetch_orders(query, size, number)
        return Page(orders=orders, next=None, total=total)

    # Keyset listing --------------------------------------------------------------------------------------
    def seek_page(self, query: OrderQuery, seek: Seek, size: int) -> Flow[Page]:
        """Orders of ``query`` with keys in ``(seek.after, seek.through]`` (or below ``seek.before``), sorted by
        ``(updated_at, entity_id)``, one :class:`OrderKey` per row (rows that cannot be decoded included)."""
        return (yield from self._keyset_page(query, seek, size))

    def listing_page(self, query: OrderQuery, number: int, size: int) -> Flow[Page]:
        """Page ``number`` of the keyset listing (``currentPage``; past the end Magento answers its last page)."""
        if number < 1:
            raise ValueError(f"page numbers start at 1, got {number}")
        return (yield from self._keyset_page(query, Seek(), size, number))

    def _keyset_page(self, query: OrderQuery, seek: Seek, size: int, number: int = 1) -> Flow[Page]:
        if query.statuses == ():
            return Page(orders=(), next=None, total=0)
        criteria = seek_criteria(query, seek, clamp_page_size(size, self.page_size), page=number)
        response = yield self._get("/V1/orders", criteria.params())
        envelope = self._read_envelope(response)
        keys = self._keys_of(response, envelope)
        # Only the keys are read here; each order is decoded and mapped when the engine reads it, after the
        # slice's next request has gone out.
        orders = OrdersOnDemand(
            envelope.items, functools.partial(decode_order, store=self.store_id), store=self.store_id,
            refs=[str(key.id) for key in keys],
        )
        return Page(orders=orders, next=None, total=envelope.total, keys=keys)

    def _keys_of(self, response: httpx.Response, envelope: Envelope) -> tuple[OrderKey, ...]:
        keys = []
        for index, item in enumerate(envelope.items):
            key = read_key(item)
            if key is None:
                raise self._broken(response, f"row {index} without a readable entity_id and updated_at")
            keys.append(key)
        return tuple(keys)

    def probe(self, query: OrderQuery, offset: int) -> Flow[Probe]:
        """The key at ``offset`` of ``query``'s keyset listing: one row, two columns, and the count."""
        if offset < 0:
            raise ValueError(f"offset must be 0 or more, got {offset}")
        if query.statuses == ():
            return Probe(None, 0)
        criteria = seek_criteria(query, Seek(), 1, page=offset + 1)
        response = yield self._get("/V1/orders", [*criteria.params(), ("fields", KEY_FIELDS)])
        envelope = self._read_envelope(response)
        if envelope.total is None:
            return Probe(None, None)  # a count that lies: which row sits at the offset cannot be told
        if offset >= envelope.total:
            # Past the end Magento serves the last page again: that row is not at this offset.
            return Probe(None, envelope.total)
        if not envelope.items:
            raise self._broken(response, f"no row at offset {offset} of {envelope.total}")
        return Probe(self._keys_of(response, envelope)[0], envelope.total)

    def list_keys(self, query: OrderQuery, seek: Seek, size: int) -> Flow[KeyPage]:
        """The keys of ``query`` within ``seek`` (the same filters as :meth:`seek_page`), up to 300 a page."""
        if query.statuses == ():
            return KeyPage((), 0)
        criteria = seek_criteria(query, seek, clamp_page_size(size))
        response = yield self._get("/V1/orders", [*criteria.params(), ("fields", KEY_FIELDS)])
        envelope = self._read_envelope(response)
        return KeyPage(self._keys_of(response, envelope), envelope.total)

    # Orders by id, statuses -----------------------------------------------------------------------------
    def get_orders(self, order_ids: Sequence[str]) -> Flow[tuple[Order | PayloadError, ...]]:
        """Up to 100 orders by ``entity_id`` (one ``in`` filter), decoded as listed rows are."""
        entities = [entity_id(order_id) for order_id in order_ids]
        if not entities:
            return (yield from answer(()))
        if len(entities) > self.orders_per_read:
            raise ValueError(f"at most {self.orders_per_read} orders a read, got {len(entities)}")
        criteria = ids_criteria(entities)
        envelope = self._read_envelope((yield self._get("/V1/orders", criteria.params())))
        return tuple(decode_order(item, self.store_id) for item in envelope.items)

    def get_order(self, order_id: str) -> Flow[Order]:
        entity = entity_id(order_id)
        response = yield self._get(f"/V1/orders/{entity}")
        self.check(response, order_id)
        # The same decoding as a listed order, so the order keeps the store's own JSON text as its raw payload.
        order = decode_order(response.content, self.store_id)
        if isinstance(order, PayloadError):
            try:
                is_object, _ = _scan.members(response.content)
            except _scan.ScanError as exc:
                raise self._broken(response, f"a body that is not one JSON object ({exc})", order_id) from None
            if not is_object:
                raise self._broken(response, "an array where an order was expected", order_id)
            raise order
        return order

    def list_statuses(self) -> Flow[tuple[StoreStatus, ...]]:
        # Core Magento has no REST call that lists statuses (GET /V1/orders/{id}/statuses is one order's
        # status label); the table is the statuses a fresh store has. Custom statuses are matched by code.
        return (yield from answer(tuple(StoreStatus(code, label, state) for code, label, state in DEFAULT_STATUSES)))
