"""The BigCommerce fake shop's orders v2 writes: ``PUT /v2/orders/{id}``, shipments, ``POST /v2/orders``.

Whatever the spec says the store refuses (a status id outside 0..14, a shipment of more than is left, an
address that is not the order's, a product or variant that does not exist) is answered ``400`` with v2's error
list ``[{"status": 400, "message": ...}]``. A shipment moves the order itself, as BigCommerce does: Shipped when
nothing is left to ship, else Partially Shipped. Every change stamps ``date_modified`` with the store's clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from ._bigcommerce_rows import RowBuilding
from ._bigcommerce_state import Reply, ShopError, rfc2822
from ._bigcommerce_tables import STATUSES

__all__ = ["OrderWrites"]


class OrderWrites(RowBuilding):
    """The v2 write handlers (see the module notes)."""

    def update_order(self, order_id: str, body: Any) -> Reply:
        """``PUT /v2/orders/{id}``: the status (0..14), the staff notes and the customer message."""
        if not isinstance(body, Mapping):
            raise ShopError(400, "The request body is not a JSON object.")
        with self.lock:
            order = self._order(order_id)
            if "status_id" in body:
                status = body["status_id"]
                if isinstance(status, bool) or not isinstance(status, int) or not any(s[0] == status for s in STATUSES):
                    raise ShopError(400, f"The field 'status_id' is invalid: {status!r} is not an order status.")
                order["status_id"] = status
                order["status"] = next(s[1] for s in STATUSES if s[0] == status)
                order["custom_status"] = next(s[2] for s in STATUSES if s[0] == status)
            for name in ("staff_notes", "customer_message", "external_order_id"):
                if name in body:
                    order[name] = str(body[name] or "")
            self.touch(int(order["id"]))
            return Reply(200, dict(order))

    def _make_shipment(
        self, order_id: int, body: Mapping[str, Any], when: datetime, *, move_status: bool = True
    ) -> dict[str, Any]:
        address_id = body.get("order_address_id")
        if isinstance(address_id, bool) or not isinstance(address_id, int):
            raise ShopError(400, "The field 'order_address_id' is invalid: an integer is required.")
        address = next((a for a in self.addresses[order_id] if a["id"] == address_id), None)
        if address is None:
            raise ShopError(
                400, f"The field 'order_address_id' is invalid: {address_id} is not an address of the order."
            )
        items = body.get("items")
        if not isinstance(items, list) or not items:
            raise ShopError(400, "The field 'items' is invalid: at least one item is required.")
        products = {p["id"]: p for p in self.products[order_id]}
        for item in items:
            product = products.get(item.get("order_product_id")) if isinstance(item, Mapping) else None
            quantity = item.get("quantity") if isinstance(item, Mapping) else None
            if product is None or product["order_address_id"] != address_id:
                raise ShopError(400, "The field 'items' is invalid: an item is not a product of that address.")
            if not isinstance(quantity, int) or quantity < 1:
                raise ShopError(400, "The field 'quantity' is invalid.")
            if product["quantity_shipped"] + quantity > product["quantity"]:
                raise ShopError(400, f"The quantity of product {product['id']} exceeds the quantity left to ship.")
        for item in items:
            products[item["order_product_id"]]["quantity_shipped"] += item["quantity"]
        order = self.orders[order_id]
        shipment = {
            "id": self._next("shipment"),
            "order_id": order_id,
            "customer_id": order["customer_id"],
            "order_address_id": address_id,
            "date_created": rfc2822(when),
            "tracking_number": str(body.get("tracking_number") or ""),
            "merchant_shipping_cost": "0.0000",
            "shipping_method": str(body.get("shipping_method") or "None"),
            "comments": str(body.get("comments") or ""),
            "shipping_provider": str(body.get("shipping_provider") or ""),
            "tracking_carrier": str(body.get("tracking_carrier") or ""),
            "tracking_link": "",
            "billing_address": {k: v for k, v in order["billing_address"].items() if k != "form_fields"},
            "shipping_address": {k: v for k, v in address.items() if k in order["billing_address"]},
            "items": [
                {
                    "order_product_id": i["order_product_id"],
                    "product_id": products[i["order_product_id"]]["product_id"],
                    "quantity": i["quantity"],
                }
                for i in items
            ],
        }
        self.shipments[order_id].append(shipment)
        self._totals(order_id)
        if move_status:
            # BigCommerce moves the order itself: Shipped when nothing is left, else Partially Shipped.
            done = all(p["quantity_shipped"] >= p["quantity"] for p in self.products[order_id])
            status = 2 if done else 3
            order.update(
                status_id=status,
                status=next(s[1] for s in STATUSES if s[0] == status),
                custom_status=next(s[2] for s in STATUSES if s[0] == status),
            )
        order["date_shipped"] = rfc2822(when)
        order["date_modified"] = rfc2822(when)
        return shipment

    def create_shipment(self, order_id: str, body: Any) -> Reply:
        if not isinstance(body, Mapping):
            raise ShopError(400, "The request body is not a JSON object.")
        with self.lock:
            order = self._order(order_id)
            return Reply(201, dict(self._make_shipment(int(order["id"]), body, self.now())))

    def create_order(self, body: Any) -> Reply:
        """``POST /v2/orders``: catalog products (``product_id`` [+ ``variant_id``]) or custom ones (``name``,
        prices), a billing address, shipping addresses, a status (default 1 Pending)."""
        if not isinstance(body, Mapping):
            raise ShopError(400, "The request body is not a JSON object.")
        billing = body.get("billing_address")
        lines = body.get("products")
        if not isinstance(billing, Mapping):
            raise ShopError(400, "The field 'billing_address' is required.")
        if not isinstance(lines, list) or not lines:
            raise ShopError(400, "The field 'products' is required.")
        with self.lock:
            order_id = self._next("order")
            when = self.now()
            full_billing = {"company": "", "street_2": "", "phone": "", "country": "", "form_fields": []} | dict(
                billing
            )
            addresses = body.get("shipping_addresses") or []
            self.addresses[order_id] = []
            for address in addresses:
                base = {"company": "", "street_2": "", "phone": "", "country": ""} | dict(address)
                self.addresses[order_id].append(self._shipping_address(order_id, self._next("address"), base))
            address_id = self.addresses[order_id][0]["id"] if self.addresses[order_id] else 0
            products = []
            for line in lines:
                if not isinstance(line, Mapping) or not isinstance(line.get("quantity"), int):
                    raise ShopError(400, "The field 'products' is invalid: a quantity is required.")
                price = line.get("price_ex_tax")
                if "product_id" in line:
                    item = next((p for p in self.catalog if p["id"] == line["product_id"]), None)
                    if item is None:
                        raise ShopError(400, f"The product {line['product_id']} does not exist.")
                    variant = None
                    if line.get("variant_id"):
                        variant = next((v for v in item["variants"] if v["id"] == line["variant_id"]), None)
                        if variant is None:
                            raise ShopError(400, f"The variant {line['variant_id']} does not exist.")
                    elif len(item["variants"]) > 1:
                        raise ShopError(400, f"The product {item['id']} has options: a variant is required.")
                else:
                    item = {"id": 0, "name": str(line.get("name") or ""), "price": price, "sku": line.get("sku", "")}
                    variant = None
                products.append(
                    self._order_product(
                        order_id,
                        address_id,
                        item,
                        variant,
                        int(line["quantity"]),
                        Decimal(str(price)) if price is not None else None,
                    )
                )
            self.products[order_id] = products
            self.shipments[order_id] = []
            status = body.get("status_id", 1)
            if not isinstance(status, int) or not any(s[0] == status for s in STATUSES):
                raise ShopError(400, "The field 'status_id' is invalid.")
            order = self._order_row(
                order_id, when, status, full_billing, None, str(body.get("external_order_id") or "") or None
            )
            order["customer_id"] = int(body.get("customer_id") or 0)
            order["staff_notes"] = str(body.get("staff_notes") or "")
            self.orders[order_id] = order
            self._totals(order_id)
            return Reply(201, dict(order))
