"""Selling on the phone through WooCommerce: the catalogue search and phone orders placed once.

A phone order carries its back-office reference in the order meta (``REFERENCE_META``); before creating one
the flow searches the customer's recent orders for it, so a retry after a lost answer returns the order placed
the first time instead of placing a second one. SKUs the caller did not resolve are looked up first; an unknown
one fails the order before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...driver import (
    BrokenAnswer,
    Flow,
    Item,
    ItemQuery,
    NewOrder,
    Order,
    PayloadError,
    StoreError,
)
from ._mapping import item_from_product, order_from_payload
from ._rest import MAX_PAGE, WooRest

__all__ = ["REFERENCE_META", "PhoneOrders"]

REFERENCE_META = "ecc_connectors_reference"
"""The order meta key holding a phone order's back-office reference."""


class PhoneOrders(WooRest):
    """``search_items`` and ``create_order`` (see the module notes)."""

    phone_orders_paid: bool

    def search_items(self, query: ItemQuery) -> Flow[tuple[Item, ...]]:
        """Products by exact SKUs (``sku=`` a comma list, which also matches variations) or by ``search`` text;
        a variable product found by text brings its variations (``/products/{id}/variations``)."""
        limit = max(1, min(query.limit, MAX_PAGE))
        params = {"per_page": str(limit), "status": "publish"}
        if query.skus:
            params["sku"] = ",".join(query.skus)
        else:
            params["search"] = query.text
        response = yield self._get("/products", params)
        body = self._json(response)
        if not isinstance(body, list):
            raise BrokenAnswer("the product search is not a list", store=self.store_id)
        items: list[Item] = []
        for product in body:
            if not isinstance(product, Mapping):
                continue
            if product.get("type") == "variable":
                answer = yield self._get(f"/products/{int(product['id'])}/variations", {"per_page": str(MAX_PAGE)})
                variations = self._json(answer)
                for variation in variations if isinstance(variations, list) else ():
                    if not isinstance(variation, Mapping):
                        continue
                    if query.skus and variation.get("sku") not in query.skus:
                        continue
                    item = self._item(variation, product)
                    if item is not None:
                        items.append(item)
                continue
            if int(product.get("parent_id") or 0):
                parent = {"id": product["parent_id"], "name": product.get("name")}
                item = self._item(product, parent)
            else:
                item = self._item(product, None)
            if item is not None:
                items.append(item)
        return tuple(items[:limit])

    def _item(self, product: Mapping[str, Any], parent: Mapping[str, Any] | None) -> Item | None:
        try:
            return item_from_product(self.name, product, parent)
        except ValueError:
            return None  # a product without a readable price cannot be sold on the phone; left out

    def create_order(self, order: NewOrder, reservation: str | None = None) -> Flow[Order]:
        """Look for an order already placed for ``order.reference`` (the customer's recent orders, by the
        reference in the order meta), else ``POST /orders`` once, with ``set_paid`` as the settings say."""
        found = yield from self._placed(order)
        if found is not None:
            return found
        unresolved = tuple(line.sku for line in order.lines if not line.item_id)
        resolved: dict[str, str] = {}
        if unresolved:
            items = yield from self.search_items(ItemQuery(skus=unresolved, limit=MAX_PAGE))
            resolved = {item.sku: item.item_id for item in items}
            missing = [sku for sku in unresolved if sku not in resolved]
            if missing:
                raise StoreError(f"no product with SKU {', '.join(missing)}", code="unknown_sku", store=self.store_id)
        body = _new_order_body(order, self.phone_orders_paid, resolved)
        response = yield self._send("POST", "/orders", body)
        made = self._json(response)
        placed = order_from_payload(self.store_id, made)
        if isinstance(placed, PayloadError):
            raise placed
        return placed

    def _placed(self, order: NewOrder) -> Flow[Order | None]:
        term = order.customer.email or order.billing_address.email or order.billing_address.name
        if not term:
            return None
        response = yield self._get(
            "/orders", {"search": term, "per_page": str(MAX_PAGE), "orderby": "date", "order": "desc"}
        )
        rows = self._json(response)
        for row in rows if isinstance(rows, list) else ():
            if not isinstance(row, Mapping):
                continue
            for meta in row.get("meta_data") or ():
                if (
                    isinstance(meta, Mapping)
                    and meta.get("key") == REFERENCE_META
                    and meta.get("value") == order.reference
                ):
                    placed = order_from_payload(self.store_id, row)
                    if isinstance(placed, PayloadError):
                        raise placed
                    return placed
        return None


def _address_body(address: Any, email: str = "", with_contact: bool = True) -> dict[str, str]:
    first, _, last = address.name.partition(" ")
    street = [*list(address.street), "", ""]
    body = {
        "first_name": first,
        "last_name": last,
        "company": address.company,
        "address_1": street[0],
        "address_2": street[1],
        "city": address.city,
        "state": address.region,
        "postcode": address.postcode,
        "country": address.country,
    }
    if with_contact:
        body["email"] = email or address.email
        body["phone"] = address.phone
    return body


def _new_order_body(order: NewOrder, paid: bool, resolved: Mapping[str, str]) -> dict[str, Any]:
    lines: list[dict[str, Any]] = []
    for line in order.lines:
        entry: dict[str, Any] = {"quantity": int(line.quantity)}
        product, _, variation = (line.item_id or resolved[line.sku]).partition(":")
        entry["product_id"] = str(int(product))  # the wc/v3 document types it a string; WordPress reads both
        if variation:
            entry["variation_id"] = int(variation)
        if line.unit_price is not None:
            entry["subtotal"] = str(line.unit_price * line.quantity)
            entry["total"] = str(line.unit_price * line.quantity)
        lines.append(entry)
    return {
        "payment_method": order.payment_method,
        "payment_method_title": order.payment_method,
        "set_paid": paid,
        "currency": order.currency,
        "customer_note": "",
        "billing": _address_body(order.billing_address, order.customer.email),
        "shipping": _address_body(order.shipping_address, with_contact=False),
        "line_items": lines,
        "shipping_lines": [{"method_id": order.shipping_method, "method_title": order.shipping_method, "total": "0"}],
        "meta_data": [{"key": REFERENCE_META, "value": order.reference}],
    }
