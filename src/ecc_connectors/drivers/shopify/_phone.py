"""Phone orders: finding product variants, and placing an order through a draft order, never twice.

An order is placed in two halves. ``reserve_order`` makes a draft order tagged with the back office's reference
(``ecc-ref-<reference>``); ``create_order`` completes it, paid or payment pending as set. Both look for the
tagged draft first, so a lost answer finds the draft (or the order its completion made) and never makes a
second one.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from ...driver import Flow, Item, ItemQuery, NewOrder, Order, PayloadError
from . import _queries as q
from ._graphql import MAX_PAGE, ShopifyGraphQL, connection, gid
from ._mapping import parse_order

__all__ = ["PhoneOrders"]

logger = logging.getLogger("ecc_connectors.drivers.shopify")


def _quote(text: str) -> str:
    """A value in Shopify's search syntax, quoted."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _address_input(address: Any) -> dict[str, Any] | None:
    if address is None:
        return None
    first, _, last = str(address.name).partition(" ")
    street = tuple(address.street)
    return {
        "firstName": first or None,
        "lastName": last or None,
        "company": address.company or None,
        "address1": street[0] if street else None,
        "address2": street[1] if len(street) > 1 else None,
        "city": address.city or None,
        "provinceCode": address.region or None,
        "zip": address.postcode or None,
        "countryCode": address.country or None,
        "phone": address.phone or None,
    }


class PhoneOrders(ShopifyGraphQL):
    """The item search and draft order flows of the Shopify driver (module notes)."""

    phone_orders_paid: bool

    def search_items(self, query: ItemQuery) -> Flow[tuple[Item, ...]]:
        if query.skus:
            text = " OR ".join(f"sku:{_quote(s)}" for s in query.skus)
        else:
            text = _quote(query.text) if query.text else ""
        data = yield from self._call(
            "Variants", q.VARIANTS, {"first": max(1, min(query.limit, MAX_PAGE)), "query": text or None}
        )
        nodes, _ = connection(data.get("productVariants"), "Variants", self.store_id)
        items = []
        for node in nodes:
            try:
                items.append(
                    Item(
                        source=self.store_id,
                        item_id=str(node["legacyResourceId"]),
                        sku=str(node.get("sku") or ""),
                        name=str(node.get("displayName") or node.get("title") or ""),
                        price=Decimal(str(node["price"])),
                        available=Decimal(int(node["inventoryQuantity"]))
                        if node.get("inventoryQuantity") is not None
                        else None,
                        item_type="variant",
                    )
                )
            except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                logger.warning("variant %s left out: %s", node.get("id"), exc)
        return tuple(items)

    def _reference_tag(self, order: NewOrder) -> str:
        return f"ecc-ref-{order.reference}"

    def reserve_order(self, order: NewOrder) -> Flow[str | None]:
        """A draft order tagged with the back office's reference (found again by that tag, never made twice)."""
        tag = self._reference_tag(order)
        data = yield from self._call("DraftFind", q.DRAFT_FIND, {"query": f"tag:{_quote(tag)}"})
        nodes, _ = connection(data.get("draftOrders"), "DraftFind", self.store_id)
        if nodes:
            return str(nodes[0]["id"])
        lines = []
        for line in order.lines:
            item: dict[str, Any] = {"quantity": int(line.quantity)}
            if line.item_id:
                item["variantId"] = gid("ProductVariant", line.item_id)
            else:
                item.update(title=line.name or line.sku, sku=line.sku, originalUnitPrice=str(line.unit_price or 0))
            lines.append(item)
        address = _address_input(order.shipping_address)
        draft_input: dict[str, Any] = {
            "lineItems": lines,
            "tags": [tag],
            "email": order.customer.email or None,
            "shippingAddress": address,
            "billingAddress": _address_input(order.billing_address),
            "note": f"Phone order {order.reference}",
        }
        data = yield from self._call("DraftCreate", q.DRAFT_CREATE, {"input": draft_input})
        payload = data.get("draftOrderCreate")
        self._user_errors("draftOrderCreate", payload, order.reference)
        return str(((payload or {}).get("draftOrder") or {}).get("id") or "")

    def create_order(self, order: NewOrder, reservation: str | None = None) -> Flow[Order]:
        """Complete the reserved draft (paid or pending per ``phone_orders_paid``), or return the order an
        earlier completion made."""
        if not reservation:
            reservation = yield from self.reserve_order(order)
        data = yield from self._call("DraftFind", q.DRAFT_FIND, {"query": f"tag:{_quote(self._reference_tag(order))}"})
        nodes, _ = connection(data.get("draftOrders"), "DraftFind", self.store_id)
        done = next((n for n in nodes if n.get("status") == "COMPLETED" and n.get("order")), None)
        if done is None:
            data = yield from self._call(
                "DraftComplete", q.DRAFT_COMPLETE, {"id": reservation, "paymentPending": not self.phone_orders_paid}
            )
            payload = data.get("draftOrderComplete")
            self._user_errors("draftOrderComplete", payload, order.reference)
            done = (payload or {}).get("draftOrder") or {}
        parsed = parse_order(done.get("order"), self.store_id)
        if isinstance(parsed, PayloadError):
            raise parsed
        return parsed
