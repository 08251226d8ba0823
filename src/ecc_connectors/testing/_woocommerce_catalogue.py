"""The WooCommerce fake shop's catalogue and the orders placed over REST (``POST /orders``, phone orders).

Three simple products and one variable product with two variations (one out of stock). ``sku=`` matches
variations too and answers them as products with a ``parent_id``, as WooCommerce's filter does; a created order
is built like any other (``OrderMaking.new_order``), marked ``created_via: rest-api``, ``processing`` when
``set_paid`` and otherwise the status asked for (``pending`` by default), refused when that status is not
registered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._woocommerce_orders import OrderMaking
from ._woocommerce_tables import bad_param
from .base import HttpError

__all__ = ["Catalogue"]


class Catalogue(OrderMaking):
    """The products table, its listing, and order creation (see the module notes)."""

    def _seed_catalogue(self) -> None:
        for n, (name, price) in enumerate((("Mug", "9.50"), ("Poster", "14.00"), ("Tote bag", "12.25")), start=1):
            pid = 10 + n
            self.products[pid] = {
                "id": pid,
                "name": name,
                "type": "simple",
                "status": "publish",
                "sku": f"WOO-{n:03d}",
                "price": price,
                "regular_price": price,
                "stock_quantity": 20 * n,
                "stock_status": "instock",
                "parent_id": 0,
                "variations": [],
            }
        self.products[20] = {
            "id": 20,
            "name": "T-shirt",
            "type": "variable",
            "status": "publish",
            "sku": "WOO-TEE",
            "price": "18.00",
            "regular_price": "18.00",
            "stock_quantity": None,
            "stock_status": "instock",
            "parent_id": 0,
            "variations": [21, 22],
        }
        self.variations[20] = [
            {
                "id": 21,
                "sku": "WOO-TEE-S",
                "price": "18.00",
                "regular_price": "18.00",
                "stock_quantity": 5,
                "stock_status": "instock",
                "attributes": [{"id": 1, "name": "Size", "option": "S"}],
            },
            {
                "id": 22,
                "sku": "WOO-TEE-L",
                "price": "19.50",
                "regular_price": "19.50",
                "stock_quantity": 0,
                "stock_status": "outofstock",
                "attributes": [{"id": 1, "name": "Size", "option": "L"}],
            },
        ]

    def list_products(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        rows = [p for p in self.products.values() if params.get("status", "any") in ("any", p["status"])]
        if params.get("sku"):
            skus = {s.strip() for s in params["sku"].split(",")}
            found = [p for p in rows if p["sku"] in skus]
            # WooCommerce's sku filter matches variations too, answering them as products with a parent_id.
            for parent, variations in self.variations.items():
                for v in variations:
                    if v["sku"] in skus:
                        found.append(
                            {
                                **v,
                                "name": self.products[parent]["name"],
                                "type": "variation",
                                "parent_id": parent,
                                "status": "publish",
                            }
                        )
            rows = found
        elif params.get("search"):
            term = params["search"].lower()
            rows = [p for p in rows if term in p["name"].lower() or term in p["sku"].lower()]
        per_page = int(params.get("per_page", "10"))
        return [dict(p) for p in rows[:per_page]]

    def list_variations(self, product_id: str) -> list[dict[str, Any]]:
        if int(product_id) not in self.products:
            raise HttpError(404, "Invalid ID.", {"code": "woocommerce_rest_product_invalid_id"})
        return [dict(v) for v in self.variations.get(int(product_id), [])]

    def create(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise HttpError(400, "The request body is not a JSON object.", {"code": "rest_invalid_json"})
        lines: list[tuple[int, int, int]] = []
        for row in body.get("line_items") or ():
            product = int(row.get("product_id") or 0)
            if product not in self.products:
                raise HttpError(
                    400, f"Product ID {product} is invalid.", {"code": "woocommerce_rest_invalid_product_id"}
                )
            lines.append((product, int(row.get("variation_id") or 0), int(row.get("quantity") or 1)))
        if not lines:
            raise HttpError(400, "An order needs line items.", {"code": "woocommerce_rest_required_product_reference"})
        shipping_lines = body.get("shipping_lines") or [{}]
        method = shipping_lines[0]
        status = "processing" if body.get("set_paid") else str(body.get("status") or "pending")
        if status not in self.statuses:
            raise bad_param("status", f"status is not one of {', '.join(self.statuses)}.")
        order = self.new_order(
            status,
            lines=lines,
            billing=body.get("billing") or {},
            shipping=body.get("shipping") or {},
            meta=[{"id": self._next("item"), **m} for m in body.get("meta_data") or ()],
            payment_method=str(body.get("payment_method") or "bacs"),
            shipping_method=(
                str(method.get("method_id") or "flat_rate"),
                str(method.get("method_title") or ""),
                str(method.get("total") or "0.00"),
            ),
            customer_note=str(body.get("customer_note") or ""),
            via="rest-api",
            extras=False,
        )
        return self.shown(order)
