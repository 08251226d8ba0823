"""Seed data for the fake Magento store: a product catalogue and orders shaped like Magento 2.4 REST payloads.

Everything here is generated (deterministically for a seed and an anchor date); the field structure follows
what a Magento store answers on ``GET /V1/orders/{id}``: money and quantities as JSON numbers, dates as UTC
``"YYYY-MM-DD HH:MM:SS"`` strings without an offset, ``total_paid``/``total_invoiced`` keys *absent* (not
zero) while nothing is paid, configurable products as a parent line plus a child line carrying
``parent_item_id`` and a copy of its parent, addresses under ``extension_attributes.shipping_assignments``.

The catalogue, people and methods are in ``_magento_catalogue``; how lines change as an order is invoiced,
shipped, refunded or cancelled in ``_magento_lifecycle`` (``num``, ``Product``, ``generate_products`` and
``invoice_lines`` are re-exported here).
"""

from __future__ import annotations

import copy
import hashlib
import random
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from ._magento_catalogue import CARRIERS, METHODS, STATE_MIX, Person, Product, generate_products
from ._magento_lifecycle import (
    ZERO,
    cancel_all,
    invoice_all,
    invoice_lines,
    money,
    num,
    refund_all,
    ship_all,
    ship_item,
)

__all__ = [
    "MAGENTO_DATE_FORMAT",
    "STATE_STATUSES",
    "IdSequence",
    "OrderBuilder",
    "Product",
    "format_date",
    "generate_products",
    "invoice_lines",
    "num",
]

MAGENTO_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

# Magento's default state -> statuses assignment (sales_order_status_state). Since 2.4.7 a comment may only
# set a status assigned to the order's current state.
STATE_STATUSES: dict[str, tuple[str, ...]] = {
    "new": ("pending",),
    "pending_payment": ("pending_payment",),
    "processing": ("processing", "fraud"),
    "complete": ("complete",),
    "closed": ("closed",),
    "canceled": ("canceled",),
    "holded": ("holded",),
    "payment_review": ("payment_review", "fraud"),
}

STORE_NAME = "Main Website\nMain Website Store\nDefault Store View"


def format_date(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(MAGENTO_DATE_FORMAT)


class IdSequence:
    """Auto-increment counters, one per Magento table the fake writes to."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def next(self, table: str) -> int:
        value = self._next.get(table, 1)
        self._next[table] = value + 1
        return value

    def bump(self, table: str, at_least: int) -> None:
        """Make sure the next id is above ``at_least`` (after seeding a payload that brought its own ids)."""
        if self._next.get(table, 1) <= at_least:
            self._next[table] = at_least + 1


# ------------------------------------------------------------------------------------------------------------
# Orders


class OrderBuilder:
    """Builds order payloads, drawing entity ids from the store's ``IdSequence``."""

    def __init__(self, ids: IdSequence, products: Sequence[Product]) -> None:
        self.ids = ids
        self.products = list(products)
        self._sellable = [p for p in products if p.type_id == "simple"]

    # -- public ----------------------------------------------------------------------------------------------

    def generate(self, rng: random.Random, count: int, anchor: datetime, days: int = 60) -> Iterator[dict[str, Any]]:
        """``count`` orders created over the ``days`` before ``anchor`` (oldest first), a realistic mix."""
        span = days * 86400
        offsets = sorted(rng.randrange(span) for _ in range(count))
        for offset in reversed(offsets):
            created = anchor - timedelta(seconds=offset + 1)
            state, status = rng.choices([(s, t) for s, t, _ in STATE_MIX], [w for *_, w in STATE_MIX])[0]
            guest = rng.random() < 0.25
            yield self.build(rng, created=created, state=state, status=status, guest=guest, anchor=anchor)

    def build(
        self,
        rng: random.Random,
        *,
        created: datetime,
        state: str,
        status: str,
        guest: bool,
        anchor: datetime | None = None,
        lines: Sequence[tuple[Product, int]] | None = None,
        person: Person | None = None,
        shipping_method: tuple[str, str, Decimal | None] | None = None,
        payment_method: tuple[str, str] | None = None,
        discount: bool | None = None,
    ) -> dict[str, Any]:
        entity_id = self.ids.next("order")
        increment_id = f"{self.ids.next('increment'):09d}"
        if person is None:
            person = Person(rng, None if guest else 1000 + rng.randint(1, 400))
        if lines is None:
            lines = self._pick_lines(rng)
        shipping_method = shipping_method or rng.choice(CARRIERS)
        payment_method = payment_method or rng.choice(METHODS)
        created_s = format_date(created)
        order = self._skeleton(entity_id, increment_id, created_s, person, guest, state, status, rng)
        if discount is None:
            discount = rng.random() < 0.15
        self._add_items(order, lines, created_s, person.place[7], discount=discount)
        self._add_shipping(order, shipping_method)
        self._totals(order)
        self._addresses(order, person, shipping_method)
        self._payment(order, payment_method, rng)
        self._apply_lifecycle(order, rng, state, status, created, anchor)
        return order

    # -- pieces ----------------------------------------------------------------------------------------------

    def _pick_lines(self, rng: random.Random) -> list[tuple[Product, int]]:
        chosen: list[tuple[Product, int]] = []
        seen: set[int] = set()
        for _ in range(rng.choices([1, 2, 3, 4], [40, 30, 20, 10])[0]):
            product = rng.choice(self._sellable)
            root = product.parent.product_id if product.parent else product.product_id
            if root in seen:
                continue
            seen.add(root)
            chosen.append((product, rng.choices([1, 2, 3], [70, 20, 10])[0]))
        return chosen

    def _skeleton(
        self,
        entity_id: int,
        increment_id: str,
        created: str,
        person: Person,
        guest: bool,
        state: str,
        status: str,
        rng: random.Random,
    ) -> dict[str, Any]:
        order: dict[str, Any] = {
            "base_currency_code": "USD",
            "base_to_global_rate": 1,
            "base_to_order_rate": 1,
            "created_at": created,
            "customer_email": person.email,
        }
        if guest:
            order.update({"customer_group_id": 0, "customer_is_guest": 1, "customer_note_notify": 1})
        else:
            order.update(
                {
                    "customer_firstname": person.firstname,
                    "customer_group_id": 1,
                    "customer_id": person.customer_id,
                    "customer_is_guest": 0,
                    "customer_lastname": person.lastname,
                    "customer_note_notify": 1,
                }
            )
        order.update(
            {
                "entity_id": entity_id,
                "global_currency_code": "USD",
                "increment_id": increment_id,
                "is_virtual": 0,
                "order_currency_code": "USD",
                "protect_code": hashlib.md5(f"{entity_id}:{rng.random()}".encode(), usedforsecurity=False).hexdigest(),
                "quote_id": self.ids.next("quote"),
                "remote_ip": f"203.0.113.{rng.randint(1, 254)}",
                "state": state,
                "status": status,
                "store_currency_code": "USD",
                "store_id": 1,
                "store_name": STORE_NAME,
                "store_to_base_rate": 0,
                "store_to_order_rate": 0,
                "updated_at": created,
            }
        )
        return order

    def _item(
        self,
        order: dict[str, Any],
        product: Product,
        qty: int,
        created: str,
        tax_percent: Decimal,
        discount_percent: Decimal,
        *,
        child_of: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        item_id = self.ids.next("order_item")
        price = product.price
        if child_of is not None:
            # A configurable's child line carries no money: its parent line does.
            row_total = ZERO
            tax = ZERO
            discount = ZERO
        else:
            row_total = money(price * qty)
            discount = money(row_total * discount_percent / 100)
            tax = money((row_total - discount) * tax_percent / 100)
        item: dict[str, Any] = {
            "amount_refunded": 0,
            "base_amount_refunded": 0,
            "base_discount_amount": num(discount),
            "base_discount_invoiced": 0,
            "base_discount_tax_compensation_amount": 0,
            "base_original_price": num(price) if child_of is None else 0,
            "base_price": num(price) if child_of is None else 0,
            "base_price_incl_tax": num(money(price * (100 + tax_percent) / 100)) if child_of is None else 0,
            "base_row_invoiced": 0,
            "base_row_total": num(row_total),
            "base_row_total_incl_tax": num(row_total + tax),
            "base_tax_amount": num(tax),
            "base_tax_invoiced": 0,
            "created_at": created,
            "discount_amount": num(discount),
            "discount_invoiced": 0,
            "discount_percent": num(discount_percent) if child_of is None else 0,
            "free_shipping": 0,
            "discount_tax_compensation_amount": 0,
            "is_qty_decimal": 0,
            "is_virtual": 0,
            "item_id": item_id,
            "name": product.name,
            "no_discount": 0,
            "order_id": order["entity_id"],
            "original_price": num(price) if child_of is None else 0,
            "price": num(price),
            "price_incl_tax": num(money(price * (100 + tax_percent) / 100)),
            "product_id": product.product_id,
            "product_type": product.type_id,
            "qty_canceled": 0,
            "qty_invoiced": 0,
            "qty_ordered": qty,
            "qty_refunded": 0,
            "qty_shipped": 0,
            "quote_item_id": self.ids.next("quote_item"),
            "row_invoiced": 0,
            "row_total": num(row_total),
            "row_total_incl_tax": num(row_total + tax),
            "row_weight": num(product.weight * qty) if child_of is None else 0,
            "sku": product.sku,
            "store_id": 1,
            "tax_amount": num(tax),
            "tax_invoiced": 0,
            "tax_percent": num(tax_percent) if child_of is None else 0,
            "updated_at": created,
            "weight": num(product.weight),
        }
        if discount:
            item["applied_rule_ids"] = "1"
        if child_of is not None:
            item["parent_item_id"] = child_of["item_id"]
            item["parent_item"] = copy.deepcopy(child_of)
        return item

    def _add_items(
        self,
        order: dict[str, Any],
        lines: Sequence[tuple[Product, int]],
        created: str,
        tax_percent: Decimal,
        *,
        discount: bool,
    ) -> None:
        discount_percent = Decimal(10) if discount else ZERO
        items: list[dict[str, Any]] = []
        for product, qty in lines:
            if product.parent is not None:
                parent = self._item(order, product.parent, qty, created, tax_percent, discount_percent)
                # The parent line is sold under the child's sku and carries the chosen options.
                parent["sku"] = product.sku
                assert product.option_values is not None
                parent["product_option"] = {
                    "extension_attributes": {
                        "configurable_item_options": [
                            {"option_id": "152", "option_value": product.option_values[0]},
                            {"option_id": "93", "option_value": product.option_values[1]},
                        ]
                    }
                }
                child = self._item(order, product, qty, created, tax_percent, discount_percent, child_of=parent)
                items.extend([parent, child])
            else:
                items.append(self._item(order, product, qty, created, tax_percent, discount_percent))
        order["items"] = items
        if discount:
            order["applied_rule_ids"] = "1"
            order["discount_description"] = "SPRING10"

    def _add_shipping(self, order: dict[str, Any], method: tuple[str, str, Decimal | None]) -> None:
        code, description, flat = method
        qty = sum(int(i["qty_ordered"]) for i in order["items"] if "parent_item_id" not in i)
        amount = Decimal(5) * qty if flat is None else flat * (qty if code.startswith("flatrate") else 1)
        order["shipping_description"] = description
        for prefix in ("base_", ""):
            order[f"{prefix}shipping_amount"] = num(amount)
            order[f"{prefix}shipping_discount_amount"] = 0
            order[f"{prefix}shipping_incl_tax"] = num(amount)
            order[f"{prefix}shipping_tax_amount"] = 0
        order["base_shipping_discount_tax_compensation_amnt"] = 0
        order["shipping_discount_tax_compensation_amount"] = 0

    def _totals(self, order: dict[str, Any]) -> None:
        top = [i for i in order["items"] if "parent_item_id" not in i]
        subtotal = sum((Decimal(str(i["row_total"])) for i in top), ZERO)
        tax = sum((Decimal(str(i["tax_amount"])) for i in top), ZERO)
        discount = sum((Decimal(str(i["discount_amount"])) for i in top), ZERO)
        shipping = Decimal(str(order["shipping_amount"]))
        grand = subtotal - discount + tax + shipping
        for prefix in ("base_", ""):
            order[f"{prefix}discount_amount"] = num(-discount)
            order[f"{prefix}discount_tax_compensation_amount"] = 0
            order[f"{prefix}grand_total"] = num(grand)
            order[f"{prefix}subtotal"] = num(subtotal)
            order[f"{prefix}subtotal_incl_tax"] = num(subtotal + tax)
            order[f"{prefix}tax_amount"] = num(tax)
            order[f"{prefix}total_due"] = num(grand)
        order["total_item_count"] = len(top)
        order["total_qty_ordered"] = sum(int(i["qty_ordered"]) for i in top)
        order["weight"] = num(sum((Decimal(str(i["row_weight"])) for i in top), ZERO))

    def _address(self, order: dict[str, Any], person: Person, kind: str) -> dict[str, Any]:
        city, region, region_code, region_id, country, postcode, street, _ = person.place
        address: dict[str, Any] = {
            "address_type": kind,
            "city": city,
            "country_id": country,
            "email": person.email,
            "entity_id": self.ids.next("order_address"),
            "firstname": person.firstname,
            "lastname": person.lastname,
            "parent_id": order["entity_id"],
            "postcode": postcode,
            "region": region,
            "street": [street],
            "telephone": person.telephone,
        }
        if region_code:
            address["region_code"] = region_code
            address["region_id"] = region_id
        if person.customer_id is not None:
            address["customer_address_id"] = person.customer_id * 2 + (kind == "billing")
        return address

    def _addresses(self, order: dict[str, Any], person: Person, method: tuple[str, str, Decimal | None]) -> None:
        shipping = self._address(order, person, "shipping")
        billing = self._address(order, person, "billing")
        order["billing_address_id"] = billing["entity_id"]
        order["billing_address"] = billing
        tax = Decimal(str(order["tax_amount"]))
        percent = person.place[7]
        order["extension_attributes"] = {
            "shipping_assignments": [
                {
                    "shipping": {
                        "address": shipping,
                        "method": method[0],
                        "total": {
                            key: order[key]
                            for key in (
                                "base_shipping_amount",
                                "base_shipping_discount_amount",
                                "base_shipping_discount_tax_compensation_amnt",
                                "base_shipping_incl_tax",
                                "base_shipping_tax_amount",
                                "shipping_amount",
                                "shipping_discount_amount",
                                "shipping_discount_tax_compensation_amount",
                                "shipping_incl_tax",
                                "shipping_tax_amount",
                            )
                        },
                    },
                    "items": copy.deepcopy(order["items"]),
                }
            ],
            "payment_additional_info": [],
            "applied_taxes": [],
            "item_applied_taxes": [],
            "converting_from_quote": True,
        }
        if tax:
            code = f"{person.place[4]}-{person.place[2]}-*-Rate 1"
            rate = {"code": code, "title": code, "percent": num(percent)}
            order["extension_attributes"]["applied_taxes"] = [{**rate, "amount": num(tax), "base_amount": num(tax)}]
            order["extension_attributes"]["item_applied_taxes"] = [
                {
                    "type": "product",
                    "item_id": i["item_id"],
                    "applied_taxes": [{**rate, "amount": i["tax_amount"], "base_amount": i["tax_amount"]}],
                }
                for i in order["items"]
                if i["tax_amount"]
            ]

    def _payment(self, order: dict[str, Any], method: tuple[str, str], rng: random.Random) -> None:
        code, title = method
        payment: dict[str, Any] = {
            "account_status": None,
            "additional_information": [title],
            "amount_ordered": order["grand_total"],
            "base_amount_ordered": order["base_grand_total"],
            "base_shipping_amount": order["base_shipping_amount"],
            "cc_exp_year": "0",
            "cc_last4": None,
            "cc_ss_start_month": "0",
            "cc_ss_start_year": "0",
            "entity_id": self.ids.next("order_payment"),
            "method": code,
            "parent_id": order["entity_id"],
            "shipping_amount": order["shipping_amount"],
        }
        if code == "purchaseorder":
            payment["po_number"] = f"PO-{rng.randint(10000, 99999)}"
        order["payment"] = payment
        order["status_histories"] = []
        order["extension_attributes"]["payment_additional_info"] = [{"key": "method_title", "value": title}]

    # -- lifecycle -------------------------------------------------------------------------------------------

    def _apply_lifecycle(
        self,
        order: dict[str, Any],
        rng: random.Random,
        state: str,
        status: str,
        created: datetime,
        anchor: datetime | None,
    ) -> None:
        """Bring the payload to what a store shows for ``state``: invoiced, shipped, canceled or refunded."""
        limit = anchor or created + timedelta(days=30)
        moment = created

        def later() -> datetime:
            nonlocal moment
            room = max(1, int((limit - moment).total_seconds()) - 1)
            moment = moment + timedelta(seconds=rng.randint(1, min(room, 4 * 86400)))
            return moment

        if state in ("processing", "complete", "closed") or (state == "holded" and rng.random() < 0.5):
            amount = invoice_all(order)
            self.history(order, "invoice", "processing", f"Invoiced amount of ${num(amount)}.", format_date(later()))
        if state == "complete" or state == "closed":
            ship_all(order)
            later()
        elif state == "processing" and rng.random() < 0.25:
            first = order["items"][0]
            ship_item(order, first, int(first["qty_ordered"]))
            later()
        if state == "closed":
            refund_all(order)
            self.history(order, "creditmemo", "closed", "We refunded the full amount offline.", format_date(later()))
        if state == "canceled":
            cancel_all(order)
            self.history(order, "order", "canceled", None, format_date(later()))
        if state == "holded":
            order["hold_before_state"] = "processing" if "total_paid" in order else "new"
            order["hold_before_status"] = "processing" if "total_paid" in order else "pending"
            self.history(order, "order", "holded", "Held: waiting for stock.", format_date(later()))
        order["state"] = state
        order["status"] = status
        order["updated_at"] = format_date(moment)

    def history(
        self,
        order: dict[str, Any],
        entity_name: str,
        status: str | None,
        comment: str | None,
        created: str,
        *,
        notified: int = 0,
        visible: int = 0,
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "comment": comment,
            "created_at": created,
            "entity_id": self.ids.next("order_status_history"),
            "entity_name": entity_name,
            "is_customer_notified": notified,
            "is_visible_on_front": visible,
            "parent_id": order["entity_id"],
            "status": status,
        }
        if comment is None:
            # A status change without a note is stored with an empty comment (the schema requires the key).
            entry["comment"] = ""
        order.setdefault("status_histories", []).insert(0, entry)
        return entry
