"""Selling on the phone through BigCommerce: catalog v3 search and phone orders placed once.

A phone order carries its reference in ``external_order_id`` and is looked up by it before it is placed, so a
retry after a lost answer returns the order placed the first time instead of placing a second one. Items come
from catalog v3 with their variants (one item per variant with option values); a product that cannot be mapped
is left out of a search, not an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...driver import Address, BrokenAnswer, Flow, Item, ItemQuery, NewOrder, Order, StoreError
from ._mapping import parse_item
from ._pieces import OrderReads

__all__ = ["PhoneOrders"]


class PhoneOrders(OrderReads):
    """``search_items`` and ``create_order`` (see the module notes)."""

    phone_order_status_id: int

    def _products(self, params: Mapping[str, str]) -> Flow[list[dict[str, Any]]]:
        response = yield self._get(self._v3("/catalog/products"), params)
        body = self._object(response, "the catalog")
        data = body.get("data")
        if not isinstance(data, list):
            raise BrokenAnswer("the catalog answered without data", store=self.store_id)
        return [dict(row) for row in data if isinstance(row, Mapping)]

    def _items(self, rows: Sequence[Mapping[str, Any]]) -> list[Item]:
        items: list[Item] = []
        for product in rows:
            variants = [v for v in product.get("variants") or () if isinstance(v, Mapping)]
            options = [v for v in variants if v.get("option_values")]
            try:
                if options:
                    items += [parse_item(self.store_id, product, variant, "") for variant in options]
                else:
                    items.append(parse_item(self.store_id, product, variants[0] if variants else None, ""))
            except (KeyError, TypeError, ValueError):
                continue  # a product that cannot be mapped is left out, not an error
        return items

    def search_items(self, query: ItemQuery) -> Flow[tuple[Item, ...]]:
        """Catalog v3 products with their variants: exact SKUs (``sku:in``, then ``keyword`` for a variant's
        SKU, which ``sku:in`` does not match), or ``keyword`` for text."""
        limit = max(1, min(query.limit, 250))
        if query.skus:
            wanted = set(query.skus)
            rows = yield from self._products(
                {"sku:in": ",".join(query.skus), "include": "variants", "limit": str(limit)}
            )
            items = [item for item in self._items(rows) if item.sku in wanted]
            for sku in sorted(wanted - {item.sku for item in items}):
                more = yield from self._products({"keyword": sku, "include": "variants", "limit": str(limit)})
                items += [item for item in self._items(more) if item.sku == sku]
            return tuple(items[:limit])
        if not query.text.strip():
            return ()
        rows = yield from self._products({"keyword": query.text.strip(), "include": "variants", "limit": str(limit)})
        return tuple(self._items(rows)[:limit])

    def create_order(self, order: NewOrder, reservation: str | None = None) -> Flow[Order]:
        """``POST /v2/orders`` with ``external_order_id`` = the back office's reference, after looking for an
        order that already carries it (a retry after a lost answer returns that one)."""
        existing = yield from self._orders({"external_order_id": order.reference, "limit": "1"})
        if existing:
            placed = yield from self.get_order(str(existing[0]["id"]))
            return placed
        products: list[dict[str, Any]] = []
        for line in order.lines:
            item_id = line.item_id
            if item_id is None:
                found = yield from self.search_items(ItemQuery(skus=(line.sku,)))
                if not found:
                    raise StoreError(
                        f"phone order {order.reference}: no product with SKU {line.sku!r}",
                        http_status=404,
                        store=self.store_id,
                    )
                item_id = found[0].item_id
            product_id, _, variant_id = item_id.partition(":")
            row: dict[str, Any] = {"product_id": int(product_id), "quantity": int(line.quantity)}
            if variant_id:
                row["variant_id"] = int(variant_id)
            if line.unit_price is not None:
                row["price_ex_tax"] = line.unit_price
                row["price_inc_tax"] = line.unit_price
            products.append(row)
        body: dict[str, Any] = {
            "status_id": self.phone_order_status_id,
            "customer_id": int(order.customer.store_customer_id or 0)
            if (order.customer.store_customer_id or "").isdigit()
            else 0,
            "billing_address": _address_body(order.billing_address, order.customer.email),
            "shipping_addresses": [_address_body(order.shipping_address, order.customer.email)],
            "products": products,
            "external_order_id": order.reference,
            "staff_notes": f"Phone order {order.reference}",
        }
        response = yield self._json("POST", self._v2("/orders"), body)
        made = self._object(response, f"phone order {order.reference}")
        placed = yield from self.get_order(str(made["id"]))
        return placed


def _address_body(address: Address, email: str) -> dict[str, Any]:
    first, _, last = address.name.partition(" ")
    street = [*address.street, "", ""]
    return {
        "first_name": first,
        "last_name": last,
        "company": address.company,
        "street_1": street[0],
        "street_2": street[1],
        "city": address.city,
        "state": address.region,
        "zip": address.postcode,
        "country_iso2": address.country,
        "phone": address.phone,
        "email": address.email or email,
    }
