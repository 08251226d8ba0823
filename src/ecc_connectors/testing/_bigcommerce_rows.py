"""The BigCommerce fake shop's rows in BigCommerce's shapes: order rows, their products and shipping addresses.

The shapes are those of ``orders.v2.oas2.yml``: money as four-decimal strings, RFC 2822 times in whole seconds,
the billing address inline, the sub-resources as ``{"url", "resource"}`` links; statuses and their labels from
the spec's table (``_bigcommerce_tables.STATUSES``). Totals are computed from the products (an 8.25 % tax and a
flat shipping cost per order with a shipping address), and each address counts its items and items shipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from ._bigcommerce_state import CENT, ShopState, money, rfc2822
from ._bigcommerce_tables import STATUSES

__all__ = ["RowBuilding"]


class RowBuilding(ShopState):
    """Building an order's rows (see the module notes)."""

    def _order_product(
        self,
        order_id: int,
        address_id: int,
        item: Mapping[str, Any],
        variant: Mapping[str, Any] | None,
        quantity: int,
        price: Decimal | None,
    ) -> dict[str, Any]:
        unit = price if price is not None else Decimal(str((variant or item).get("price") or item["price"]))
        tax = (unit * Decimal("0.0825")).quantize(CENT)
        return {
            "id": self._next("product"),
            "order_id": order_id,
            "product_id": int(item.get("id") or 0),
            "variant_id": int(variant["id"]) if variant else 0,
            "order_address_id": address_id,
            "name": str(item["name"]),
            "name_customer": str(item["name"]),
            "name_merchant": str(item["name"]),
            "sku": str((variant or item).get("sku") or ""),
            "upc": "",
            "type": "physical",
            "base_price": money(unit),
            "price_ex_tax": money(unit),
            "price_inc_tax": money(unit + tax),
            "price_tax": money(tax),
            "base_total": money(unit * quantity),
            "total_ex_tax": money(unit * quantity),
            "total_inc_tax": money((unit + tax) * quantity),
            "total_tax": money(tax * quantity),
            "weight": "1.0000",
            "quantity": quantity,
            "base_cost_price": "0.0000",
            "is_refunded": False,
            "quantity_refunded": 0,
            "refund_amount": "0.0000",
            "return_id": 0,
            "quantity_shipped": 0,
            "fixed_shipping_cost": "0.0000",
            "parent_order_product_id": None,
            "is_bundled_product": False,
            "applied_discounts": [],
            "product_options": [],
        }

    def _shipping_address(self, order_id: int, address_id: int, billing: Mapping[str, Any]) -> dict[str, Any]:
        row = {k: v for k, v in billing.items() if k != "form_fields"}
        return row | {
            "id": address_id,
            "order_id": order_id,
            "items_total": 0,
            "items_shipped": 0,
            "shipping_method": "Flat Rate",
            "base_cost": "5.0000",
            "cost_ex_tax": "5.0000",
            "cost_inc_tax": "5.0000",
            "cost_tax": "0.0000",
            "cost_tax_class_id": 0,
            "base_handling_cost": "0.0000",
            "handling_cost_ex_tax": "0.0000",
            "handling_cost_inc_tax": "0.0000",
            "handling_cost_tax": "0.0000",
            "handling_cost_tax_class_id": 0,
            "shipping_zone_id": 1,
            "shipping_zone_name": "United States",
            "shipping_quotes": {
                "url": f"https://api.bigcommerce.com/stores/{self.store_hash}/v2/orders/{order_id}"
                f"/shipping_addresses/{address_id}/shipping_quotes",
                "resource": f"/orders/{order_id}/shipping_addresses/{address_id}/shipping_quotes",
            },
            "form_fields": [],
        }

    def _order_row(
        self,
        order_id: int,
        when: datetime,
        status_id: int,
        billing: Mapping[str, Any],
        payment_status: str | None,
        external_order_id: str | None,
    ) -> dict[str, Any]:
        label = next(s[1] for s in STATUSES if s[0] == status_id)
        custom = next(s[2] for s in STATUSES if s[0] == status_id)
        if payment_status is None:
            payment_status = {7: "pending", 0: "", 1: "pending", 5: "void", 12: "held for review"}.get(
                status_id, "captured"
            )
        return {
            "id": order_id,
            "customer_id": 0 if order_id % 3 == 0 else 10 + order_id % 7,
            "date_created": rfc2822(when),
            "date_modified": rfc2822(when),
            "date_shipped": "",
            "status_id": status_id,
            "status": label,
            "custom_status": custom,
            "subtotal_ex_tax": "0.0000",
            "subtotal_inc_tax": "0.0000",
            "subtotal_tax": "0.0000",
            "base_shipping_cost": "5.0000",
            "shipping_cost_ex_tax": "5.0000",
            "shipping_cost_inc_tax": "5.0000",
            "shipping_cost_tax": "0.0000",
            "shipping_cost_tax_class_id": 0,
            "base_handling_cost": "0.0000",
            "handling_cost_ex_tax": "0.0000",
            "handling_cost_inc_tax": "0.0000",
            "handling_cost_tax": "0.0000",
            "handling_cost_tax_class_id": 0,
            "base_wrapping_cost": "0.0000",
            "wrapping_cost_ex_tax": "0.0000",
            "wrapping_cost_inc_tax": "0.0000",
            "wrapping_cost_tax": "0.0000",
            "wrapping_cost_tax_class_id": 0,
            "total_ex_tax": "0.0000",
            "total_inc_tax": "0.0000",
            "total_tax": "0.0000",
            "is_tax_inclusive_pricing": False,
            "items_total": 0,
            "items_shipped": 0,
            "payment_method": "Credit Card",
            "payment_provider_id": f"txn-{order_id}",
            "payment_status": payment_status,
            "refunded_amount": "0.0000",
            "order_is_digital": False,
            "store_credit_amount": "0.0000",
            "gift_certificate_amount": "0.0000",
            "ip_address": "",
            "ip_address_v6": "",
            "geoip_country": "",
            "geoip_country_iso2": "",
            "currency_id": 1,
            "currency_code": "USD",
            "currency_exchange_rate": "1.0000000000",
            "default_currency_id": 1,
            "default_currency_code": "USD",
            "staff_notes": "",
            "customer_message": "",
            "discount_amount": "0.0000",
            "coupon_discount": "0.0000",
            "shipping_address_count": 0,
            "is_deleted": False,
            "ebay_order_id": "0",
            "cart_id": "",
            "billing_address": dict(billing),
            "is_email_opt_in": False,
            "order_source": "www",
            "channel_id": 1,
            "external_source": None,
            "external_id": None,
            "external_merchant_id": None,
            "external_order_id": external_order_id or "",
            "tax_provider_id": "BasicTaxProvider",
            "customer_locale": "en",
            "store_default_currency_code": "USD",
            "store_default_to_transactional_exchange_rate": "1.0000000000",
            "products": self._link(order_id, "products"),
            "shipping_addresses": self._link(order_id, "shipping_addresses"),
            "coupons": self._link(order_id, "coupons"),
        }

    def _totals(self, order_id: int) -> None:
        order, products = self.orders[order_id], self.products[order_id]
        subtotal = sum((Decimal(p["total_ex_tax"]) for p in products), Decimal(0))
        tax = sum((Decimal(p["total_tax"]) for p in products), Decimal(0))
        shipping = Decimal(order["shipping_cost_ex_tax"]) if self.addresses[order_id] else Decimal(0)
        order.update(
            subtotal_ex_tax=money(subtotal),
            subtotal_inc_tax=money(subtotal + tax),
            subtotal_tax=money(tax),
            total_ex_tax=money(subtotal + shipping),
            total_inc_tax=money(subtotal + shipping + tax),
            total_tax=money(tax),
            shipping_cost_ex_tax=money(shipping),
            shipping_cost_inc_tax=money(shipping),
            items_total=sum(int(p["quantity"]) for p in products),
            items_shipped=sum(int(p["quantity_shipped"]) for p in products),
            shipping_address_count=len(self.addresses[order_id]),
            order_is_digital=not self.addresses[order_id],
        )
        for address in self.addresses[order_id]:
            mine = [p for p in products if p["order_address_id"] == address["id"]]
            address["items_total"] = sum(int(p["quantity"]) for p in mine)
            address["items_shipped"] = sum(int(p["quantity_shipped"]) for p in mine)
