"""One BigCommerce order with its pieces: lines, shipping addresses and shipments, however the store gives them.

**An order's pieces.** v2 gives line items, shipping addresses and shipments only as links
(``{"url", "resource"}``). Every page and order read asks ``include=consignments.line_items`` with
``consignment_structure=object``, so each order comes with its consignments: its shipping addresses, each with
its line items (the ``/products`` rows), and a digital order's items as a download consignment. Only an order
with something shipped (``items_shipped`` > 0) costs one more request, ``/orders/{id}/shipments``. A store that
answers without consignments (or with the line items as links) is read the long way: ``/products`` (paged by
250) and ``/shipping_addresses``. Either way lines and addresses are sorted by id, so a listing and a read by id
map an order the same. These requests run inside the page's flow, one after another (the engine runs a flow's
requests in order; the concurrency is its slices'). An order that vanished between the listing and its
shipments is a ``PayloadError`` in the page (kept, visible), not a failed run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...driver import Flow, Order, PayloadError, StoreError
from ._mapping import Pieces, parse_order
from ._rest import INCLUDE, SUB_LIMIT, BigCommerceRest

__all__ = ["OrderReads"]


class OrderReads(BigCommerceRest):
    """An order row's pieces, one order by id, and the sub-resources both read (see the module notes)."""

    def _sub(self, order_id: str, name: str) -> Flow[list[dict[str, Any]]]:
        """Every row of a sub-resource (``products``, ``shipping_addresses``, ``shipments``), 250 a page."""
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            response = yield self._get(
                self._v2(f"/orders/{order_id}/{name}"), {"limit": str(SUB_LIMIT), "page": str(page)}
            )
            found = self._list(response, f"order {order_id}'s {name}", order_id)
            rows += [dict(row) for row in found if isinstance(row, Mapping)]
            if len(found) < SUB_LIMIT:
                return rows
            page += 1

    def _pieces(self, row: Mapping[str, Any]) -> Flow[Pieces | PayloadError]:
        """The order's lines, addresses and shipments: from its consignments when the answer carried them
        (``include=consignments.line_items``), else from the sub-resources; shipments only once something
        shipped. Lines and addresses are sorted by id, so both ways give the same order."""
        order_id = str(row.get("id"))
        products: list[dict[str, Any]] = []
        addresses: list[dict[str, Any]] = []
        shipments: list[dict[str, Any]] = []
        field = "products"
        try:
            inline = _from_consignments(row.get("consignments"))
            if inline is not None:
                products, addresses = inline
            else:
                products = yield from self._sub(order_id, "products")
                field = "shipping_addresses"
                if int(row.get("shipping_address_count") or 0) > 0:
                    addresses = yield from self._sub(order_id, "shipping_addresses")
            field = "shipments"
            if int(row.get("items_shipped") or 0) > 0:
                shipments = yield from self._sub(order_id, "shipments")
        except StoreError as exc:
            if exc.http_status != 404:
                raise
            # Deleted between the listing and this read: keep what came, visible, and let the run go on.
            pieces = Pieces(row, products, addresses, shipments)
            return PayloadError(
                self.store_id, order_id, field, f"the order's {field} are gone: {exc}", raw=pieces.raw()
            )
        except (TypeError, ValueError) as exc:
            return PayloadError(self.store_id, order_id, field, f"{type(exc).__name__}: {exc}", raw=Pieces(row).raw())
        products.sort(key=_by_id)
        addresses.sort(key=_by_id)
        return Pieces(_without_consignments(row), products, addresses, shipments)

    def _read(self, order_id: str) -> Flow[dict[str, Any]]:
        if not str(order_id).isdigit():
            raise StoreError(
                f"{order_id!r} is not a BigCommerce order id",
                http_status=404,
                store=self.store_id,
                order_id=str(order_id),
            )
        response = yield self._get(self._v2(f"/orders/{order_id}"), INCLUDE)
        return self._object(response, f"order {order_id}", str(order_id))

    def get_order(self, order_id: str) -> Flow[Order]:
        row = yield from self._read(order_id)
        pieces = yield from self._pieces(row)
        if isinstance(pieces, PayloadError):
            raise pieces
        parsed = parse_order(self.store_id, pieces)
        if isinstance(parsed, PayloadError):
            raise parsed
        return parsed


def _by_id(row: Mapping[str, Any]) -> int:
    try:
        return int(row.get("id") or 0)
    except (TypeError, ValueError):
        return 0


def _from_consignments(consignments: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
    """``(products, shipping addresses)`` from an order's consignments object, or ``None`` when it is not
    there in that shape (a store that ignored ``include``, or line items given only as links)."""
    if not isinstance(consignments, Mapping):
        return None
    products: list[dict[str, Any]] = []
    addresses: list[dict[str, Any]] = []
    for kind in ("shipping", "pickups", "downloads"):
        groups = consignments.get(kind) or []
        if not isinstance(groups, list):
            return None
        for group in groups:
            if not isinstance(group, Mapping):
                return None
            items = group.get("line_items") or []
            if not isinstance(items, list) or not all(isinstance(i, Mapping) and "id" in i for i in items):
                return None  # line items as a link: read /products instead
            products += [dict(i) for i in items]
            if kind == "shipping":
                addresses.append({k: v for k, v in group.items() if k != "line_items"})
    return products, addresses


def _without_consignments(row: Mapping[str, Any]) -> Mapping[str, Any]:
    # The consignments are kept as lines and addresses; keeping them twice would make raw copies differ
    # between a listing and a read by id for nothing.
    return {k: v for k, v in row.items() if k != "consignments"} if "consignments" in row else row
