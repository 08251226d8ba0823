"""Making orders in the WooCommerce fake shop: seeded shoppers' orders, crowded seconds, admins' edits.

Every order is built with the wc/v3 spec's fields (``ORDER_FIELDS``, ``LINE_ITEM_FIELDS``, ``BILLING_FIELDS``;
asserted, so nothing of the fake's own leaks in) and totals computed as WooCommerce does (line totals, a 20 %
tax, shipping, fees and coupons). ``seed`` spreads orders over the registered statuses (plugin statuses included)
and stamps some in the same second as their predecessor, as a busy shop does; ``crowd`` puts many in one second
(a bulk import), which a listing that pages by offset cannot get through.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from . import _woocommerce_spec as spec
from ._woocommerce_tables import CENT, TRACKING_META, WooTables, money, to_second

__all__ = ["OrderMaking"]

_CITIES = (("Porto", "PT", "4000-001"), ("Lyon", "FR", "69001"), ("Austin", "US", "73301"), ("Kyoto", "JP", "600-8001"))
_NAMES = (("Ana", "Silva"), ("Louis", "Martin"), ("Jo", "Smith"), ("Yui", "Sato"), ("Ola", "Nordmann"))


class OrderMaking(WooTables):
    """``new_order``, ``seed``, ``crowd`` and ``edit`` (see the module notes)."""

    def _product_line(self, product_id: int, variation_id: int, quantity: int) -> dict[str, Any]:
        product = self.products[product_id]
        variant = next((v for v in self.variations.get(product_id, ()) if v["id"] == variation_id), None)
        price = Decimal((variant or product)["price"])
        subtotal = price * quantity
        tax = (subtotal * Decimal("0.20")).quantize(CENT)
        line = {
            "id": self._next("item"),
            "name": product["name"] + (f" - {variant['attributes'][0]['option']}" if variant else ""),
            "parent_name": product["name"] if variant else None,
            "product_id": product_id,
            "variation_id": variation_id,
            "quantity": quantity,
            "tax_class": "",
            "subtotal": money(subtotal),
            "subtotal_tax": money(tax),
            "total": money(subtotal),
            "total_tax": money(tax),
            "taxes": [{"id": 1, "total": money(tax), "subtotal": money(tax)}],
            "meta_data": [],
            "sku": (variant or product)["sku"],
            "price": float(price) if price != price.to_integral() else int(price),
        }
        assert set(line) <= set(spec.LINE_ITEM_FIELDS)
        return line

    def _order_item(self, **fields: Any) -> dict[str, Any]:
        """A shipping, coupon or fee line: ``fields`` with an id of the order item counter, no meta data."""
        return {"id": self._next("item"), **fields, "meta_data": []}

    def _totals(self, order: dict[str, Any]) -> None:
        items = sum((Decimal(line["total"]) for line in order["line_items"]), Decimal(0))
        item_tax = sum((Decimal(line["total_tax"]) for line in order["line_items"]), Decimal(0))
        fees = sum((Decimal(fee["total"]) for fee in order["fee_lines"]), Decimal(0))
        shipping = sum((Decimal(s["total"]) for s in order["shipping_lines"]), Decimal(0))
        discount = sum((Decimal(c["discount"]) for c in order["coupon_lines"]), Decimal(0))
        order["discount_total"] = money(discount)
        order["discount_tax"] = "0.00"
        order["shipping_total"] = money(shipping)
        order["shipping_tax"] = "0.00"
        order["cart_tax"] = money(item_tax)
        order["total_tax"] = money(item_tax)
        order["total"] = money(items + item_tax + fees + shipping - discount)
        order["tax_lines"] = (
            [
                {
                    "id": 1,
                    "rate_code": "VAT-1",
                    "rate_id": 1,
                    "label": "VAT",
                    "compound": False,
                    "tax_total": money(item_tax),
                    "shipping_tax_total": "0.00",
                    "meta_data": [],
                }
            ]
            if item_tax
            else []
        )

    def new_order(
        self,
        status: str = "processing",
        *,
        created: datetime | None = None,
        modified: datetime | None = None,
        rng: random.Random | None = None,
        lines: Sequence[tuple[int, int, int]] | None = None,
        billing: Mapping[str, str] | None = None,
        shipping: Mapping[str, str] | None = None,
        meta: Sequence[Mapping[str, Any]] = (),
        payment_method: str = "bacs",
        shipping_method: tuple[str, str, str] = ("flat_rate", "Flat rate", "5.00"),
        customer_note: str = "",
        via: str = "checkout",
        extras: bool = True,
    ) -> dict[str, Any]:
        """An order with the spec's fields (``ORDER_FIELDS``), added to the shop and returned; ``extras``: some
        orders get a coupon (every fifth id) or a fee (every seventh), as shoppers' orders do."""
        rng = rng or random.Random(self._ids)
        oid = self._next("order")
        first, last = _NAMES[oid % len(_NAMES)]
        city, country, postcode = _CITIES[oid % len(_CITIES)]
        person = {
            "first_name": first,
            "last_name": last,
            "company": "",
            "address_1": f"{oid} Main Street",
            "address_2": "",
            "city": city,
            "state": "",
            "postcode": postcode,
            "country": country,
        }
        bill = {**person, "email": f"{first.lower()}.{oid}@example.com", "phone": f"+1555{oid:06d}", **(billing or {})}
        ship = {**person, **(shipping or {})}
        chosen = (
            list(lines)
            if lines is not None
            else [(11 + rng.randrange(3), 0, 1 + rng.randrange(3)) for _ in range(1 + rng.randrange(2))]
        )
        created = to_second(created or self.now())
        order: dict[str, Any] = {
            "id": oid,
            "parent_id": 0,
            "number": str(oid),
            "order_key": "wc_order_" + hashlib.md5(str(oid).encode()).hexdigest()[:13],
            "created_via": via,
            "version": "8.9.1",
            "status": status,
            "currency": self.currency,
            "prices_include_tax": False,
            "customer_id": 0 if oid % 3 else 7,
            "customer_ip_address": "",
            "customer_user_agent": "",
            "customer_note": customer_note,
            "billing": bill,
            "shipping": ship,
            "payment_method": payment_method,
            "payment_method_title": "Direct bank transfer" if payment_method == "bacs" else payment_method,
            "transaction_id": "",
            "cart_hash": "",
            "meta_data": [dict(m) for m in meta],
            "line_items": [self._product_line(p, v, q) for p, v, q in chosen],
            "fee_lines": [],
            "coupon_lines": [],
            "shipping_lines": [
                self._order_item(
                    method_title=shipping_method[1],
                    method_id=shipping_method[0],
                    instance_id="1",
                    total=shipping_method[2],
                    total_tax="0.00",
                    taxes=[],
                )
            ],
            "refunds": [],
        }
        if extras and oid % 5 == 0:
            order["coupon_lines"] = [self._order_item(code="spring10", discount="2.00", discount_tax="0.00")]
        if extras and oid % 7 == 0:
            order["fee_lines"] = [
                self._order_item(
                    name="Gift wrap", tax_class="", tax_status="none", total="3.00", total_tax="0.00", taxes=[]
                )
            ]
        self._totals(order)
        if status == "refunded":
            order["refunds"] = [{"id": self._next("item"), "reason": "", "total": "-" + order["total"]}]
        self._stamp(order, "date_created", created)
        paid = status in ("processing", "completed", "refunded", "shipped")
        self._stamp(order, "date_paid", created + timedelta(minutes=1) if paid else None)
        self._stamp(order, "date_completed", created + timedelta(days=1) if status == "completed" else None)
        self._stamp(order, "date_modified", modified or created)
        assert set(order) <= set(spec.ORDER_FIELDS)  # the spec's shape, nothing of our own
        assert set(bill) <= set(spec.BILLING_FIELDS)
        self.orders[oid] = order
        self.notes[oid] = []
        return order

    def seed(self, count: int, *, start: datetime, end: datetime, seed: int = 1, same_second: int = 3) -> None:
        """``count`` orders created between ``start`` and ``end``, in statuses spread over the registered ones
        (plugin statuses included, ``checkout-draft`` left out), some sharing their modified second (every
        ``same_second``-th order is stamped with its predecessor's second)."""
        rng = random.Random(seed)
        statuses = [s for s in self.statuses if s != "checkout-draft"]
        span = max(1, int((end - start).total_seconds()))
        moments = sorted(start + timedelta(seconds=rng.randrange(span)) for _ in range(count))
        previous: datetime | None = None
        for n, created in enumerate(moments):
            status = statuses[n % len(statuses)] if n % 2 else "processing"
            modified = created + timedelta(seconds=rng.randrange(3600))
            if previous is not None and same_second and n % same_second == 0:
                modified = max(previous, created)
            modified = min(modified, end)
            order = self.new_order(status, created=created, modified=modified, rng=rng)
            if status == "completed" and self.tracking and n % 4 == 1:
                order["meta_data"].append(
                    {
                        "id": self._next("item"),
                        "key": TRACKING_META,
                        "value": [
                            {
                                "tracking_provider": "usps",
                                "custom_tracking_provider": "",
                                "custom_tracking_link": "",
                                "tracking_number": f"9400{order['id']:08d}",
                                "date_shipped": str(int(modified.timestamp())),
                                "tracking_id": hashlib.md5(f"seed{order['id']}".encode()).hexdigest(),
                            }
                        ],
                    }
                )
            previous = self.gmt_of(order, "date_modified")

    def crowd(self, count: int, second: datetime, status: str = "processing") -> list[int]:
        """``count`` orders all modified in one ``second`` (a bulk import or a mass status change)."""
        moment = to_second(second)
        return [
            self.new_order(status, created=moment - timedelta(hours=1), modified=moment)["id"] for _ in range(count)
        ]

    def edit(self, order_id: int, **fields: Any) -> dict[str, Any]:
        """An admin's edit: ``fields`` set (default: a new shipping city) and the order saved now."""
        order = self.orders[order_id]
        if not fields:
            fields = {"shipping": {**order["shipping"], "city": f"Edited {order_id}"}}
        order.update(fields)
        self.touch(order)
        return order
