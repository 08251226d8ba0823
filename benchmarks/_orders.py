"""Realistic Magento 2 order payloads for the in-memory scenarios (CPU, memory), built without the fake store.

Each order has the shape ``GET /V1/orders`` returns on a real store (Adobe's 2.4 schema, ``sales-data-order``):
three simple lines, billing address, a shipping assignment repeating the lines (as Magento does), payment and a
status history entry, about 11 KB of JSON. Values are derived from the entity id, so runs are reproducible.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

_EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)
_STATUSES = (("processing", "processing"), ("pending", "new"), ("complete", "complete"), ("holded", "holded"))
_PRODUCTS = (
    ("MH09-XS-Blue", "Abominable Hoodie-XS-Blue", "69.00"),
    ("WS12-M-Orange", "Radiant Tee-M-Orange", "22.00"),
    ("24-MB01", "Joust Duffle Bag", "34.00"),
    ("WJ12-S-Blue", "Olivia 1/4 Zip Light Jacket-S-Blue", "77.00"),
    ("MP11-32-Green", "Meteor Workout Short-32-Green", "32.50"),
)
_CITIES = (("Calder", "Michigan", "MI", 33, "49628-7978"), ("Austin", "Texas", "TX", 57, "78701"),
           ("Portland", "Oregon", "OR", 49, "97201"))


def _stamp(moment: datetime) -> str:
    # Magento writes UTC without an offset.
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _address(kind: str, entity_id: int, n: int) -> dict[str, Any]:
    city, region, code, region_id, postcode = _CITIES[n % len(_CITIES)]
    return {
        "address_type": kind, "city": city, "country_id": "US", "customer_address_id": 1000 + n % 500,
        "email": f"customer{n % 5000}@example.com", "entity_id": entity_id, "firstname": "Veronica",
        "lastname": f"Costello{n % 97}", "parent_id": n, "postcode": postcode, "region": region,
        "region_code": code, "region_id": region_id, "street": [f"{6000 + n % 900} Honey Bluff Parkway"],
        "telephone": "(555) 229-3326",
    }


def _item(order_id: int, item_id: int, k: int, created: str) -> dict[str, Any]:
    sku, name, price_text = _PRODUCTS[(order_id + k) % len(_PRODUCTS)]
    price = float(price_text)
    qty = 1 + (order_id + k) % 3
    row = round(price * qty, 2)
    tax = round(row * 0.0825, 2)
    return {
        "amount_refunded": 0, "applied_rule_ids": "2,3", "base_amount_refunded": 0, "base_discount_amount": 0,
        "base_discount_invoiced": 0, "base_discount_tax_compensation_amount": 0, "base_original_price": price,
        "base_price": price, "base_price_incl_tax": round(price * 1.0825, 2), "base_row_invoiced": 0,
        "base_row_total": row, "base_row_total_incl_tax": round(row + tax, 2), "base_tax_amount": tax,
        "base_tax_invoiced": 0, "created_at": created, "discount_amount": 0, "discount_invoiced": 0,
        "discount_percent": 0, "free_shipping": 0, "discount_tax_compensation_amount": 0, "is_qty_decimal": 0,
        "is_virtual": 0, "item_id": item_id, "name": name, "no_discount": 0, "order_id": order_id,
        "original_price": price, "price": price, "price_incl_tax": round(price * 1.0825, 2),
        "product_id": 100 + (order_id + k) % 5, "product_type": "simple", "qty_canceled": 0, "qty_invoiced": 0,
        "qty_ordered": qty, "qty_refunded": 0, "qty_shipped": 0, "quote_item_id": item_id + 7, "row_invoiced": 0,
        "row_total": row, "row_total_incl_tax": round(row + tax, 2), "row_weight": qty, "sku": sku,
        "store_id": 1, "tax_amount": tax, "tax_invoiced": 0, "tax_percent": 8.25, "updated_at": created,
        "weight": 1,
    }


def magento_order(n: int) -> dict[str, Any]:
    """Order ``n`` (entity id ``n``, increment id ``0000{n}``), as a store would list it."""
    created_dt = _EPOCH + timedelta(minutes=7 * n)
    created = _stamp(created_dt)
    updated = _stamp(created_dt + timedelta(minutes=3))
    status, state = _STATUSES[n % len(_STATUSES)]
    items = [_item(n, 3 * n + k, k, created) for k in range(3)]
    subtotal = round(sum(i["row_total"] for i in items), 2)
    tax = round(sum(i["tax_amount"] for i in items), 2)
    shipping = 5.0 * len(items)
    grand = round(subtotal + tax + shipping, 2)
    paid = state in ("processing", "complete")
    billing = _address("billing", 2 * n, n)
    shipping_address = _address("shipping", 2 * n + 1, n)
    order: dict[str, Any] = {
        "applied_rule_ids": "2,3", "base_currency_code": "USD", "base_discount_amount": 0,
        "base_grand_total": grand, "base_discount_tax_compensation_amount": 0, "base_shipping_amount": shipping,
        "base_shipping_discount_amount": 0, "base_shipping_discount_tax_compensation_amnt": 0,
        "base_shipping_incl_tax": shipping, "base_shipping_tax_amount": 0, "base_subtotal": subtotal,
        "base_subtotal_incl_tax": round(subtotal + tax, 2), "base_tax_amount": tax, "base_to_global_rate": 1,
        "base_to_order_rate": 1, "billing_address_id": 2 * n, "created_at": created,
        "customer_email": billing["email"], "customer_firstname": "Veronica",
        "customer_group_id": 1, "customer_id": 1000 + n % 500, "customer_is_guest": 0,
        "customer_lastname": billing["lastname"], "customer_note_notify": 1, "discount_amount": 0,
        "email_sent": 1, "entity_id": n, "global_currency_code": "USD", "grand_total": grand,
        "discount_tax_compensation_amount": 0, "increment_id": f"{n:09d}", "is_virtual": 0,
        "order_currency_code": "USD", "protect_code": f"{n * 2654435761 % (1 << 64):016x}", "quote_id": n + 3,
        "remote_ip": "127.0.0.1", "shipping_amount": shipping, "shipping_description": "Flat Rate - Fixed",
        "shipping_discount_amount": 0, "shipping_discount_tax_compensation_amount": 0,
        "shipping_incl_tax": shipping, "shipping_tax_amount": 0, "state": state, "status": status,
        "store_currency_code": "USD", "store_id": 1,
        "store_name": "Main Website\nMain Website Store\nDefault Store View", "store_to_base_rate": 0,
        "store_to_order_rate": 0, "subtotal": subtotal, "subtotal_incl_tax": round(subtotal + tax, 2),
        "tax_amount": tax, "total_due": 0 if paid else grand, "total_item_count": 3,
        "total_qty_ordered": sum(i["qty_ordered"] for i in items), "updated_at": updated, "weight": 3,
        "items": items,
        "billing_address": billing,
        "payment": {
            "account_status": None, "additional_information": ["Check / Money order"], "amount_ordered": grand,
            "base_amount_ordered": grand, "base_shipping_amount": shipping, "cc_exp_year": "0",
            "cc_last4": None, "cc_ss_start_month": "0", "cc_ss_start_year": "0", "entity_id": n,
            "method": "checkmo", "parent_id": n, "shipping_amount": shipping,
            **({"amount_paid": grand, "base_amount_paid": grand} if paid else {}),
        },
        "status_histories": [{
            "comment": "Order placed.", "created_at": created, "entity_id": 5 * n, "entity_name": "order",
            "is_customer_notified": 0, "is_visible_on_front": 0, "parent_id": n, "status": status,
        }],
        "extension_attributes": {
            "shipping_assignments": [{
                "shipping": {
                    "address": shipping_address, "method": "flatrate_flatrate",
                    "total": {"base_shipping_amount": shipping, "shipping_amount": shipping,
                              "base_shipping_incl_tax": shipping, "shipping_incl_tax": shipping,
                              "base_shipping_tax_amount": 0, "shipping_tax_amount": 0},
                },
                "items": items,
            }],
            "payment_additional_info": [{"key": "method_title", "value": "Check / Money order"}],
        },
    }
    if paid:
        # Magento leaves the paid keys out (not zero) while nothing is paid.
        order.update({"total_paid": grand, "base_total_paid": grand, "total_invoiced": grand,
                      "base_total_invoiced": grand})
    return order


def page_body(first: int, count: int, total: int, page_size: int, current_page: int) -> bytes:
    """One ``GET /V1/orders`` response body: orders ``first .. first+count-1`` of ``total``."""
    body = {
        "items": [magento_order(n) for n in range(first, first + count)],
        "search_criteria": {"filter_groups": [], "page_size": page_size, "current_page": current_page},
        "total_count": total,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def pages(total: int, page_size: int) -> Iterator[bytes]:
    for index, first in enumerate(range(1, total + 1, page_size), start=1):
        yield page_body(first, min(page_size, total - first + 1), total, page_size, index)
