"""Seed data for the fake Magento store: a product catalogue and orders shaped like Magento 2.4 REST payloads.

Everything here is generated (deterministically for a seed and an anchor date); the field structure follows
what a Magento store answers on ``GET /V1/orders/{id}``: money and quantities as JSON numbers, dates as UTC
``"YYYY-MM-DD HH:MM:SS"`` strings without an offset, ``total_paid``/``total_invoiced`` keys *absent* (not
zero) while nothing is paid, configurable products as a parent line plus a child line carrying
``parent_item_id`` and a copy of its parent, addresses under ``extension_attributes.shipping_assignments``.
"""

from __future__ import annotations

import copy
import hashlib
import random
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

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
CENT = Decimal("0.01")
ZERO = Decimal(0)


def num(value: Decimal | int) -> int | float:
    """A JSON number the way Magento prints it: ``5`` for whole amounts, ``396.87`` otherwise."""
    if isinstance(value, int):
        return value
    value = value.quantize(CENT, rounding=ROUND_HALF_UP) if value != value.to_integral_value() else value
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def format_date(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(MAGENTO_DATE_FORMAT)


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


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
# Catalogue

_GARMENTS = [
    ("Harbor Fleece Hoodie", "MH", Decimal("64.00")),
    ("Ridge Trail Jacket", "MJ", Decimal("92.00")),
    ("Cove Cotton Tee", "MT", Decimal("24.00")),
    ("Summit Running Short", "MS", Decimal("32.50")),
    ("Meadow Wrap Dress", "WD", Decimal("118.00")),
    ("Lakeside Knit Sweater", "WK", Decimal("71.25")),
    ("Canyon Yoga Pant", "WP", Decimal("54.00")),
]
_GEAR = [
    ("Trailhead Water Bottle", "GB01", Decimal("12.99"), Decimal("0.5")),
    ("Basecamp Duffle Bag", "GB02", Decimal("45.00"), Decimal("1.2")),
    ("Pinecone Yoga Mat", "GM01", Decimal("38.00"), Decimal("1.5")),
    ("Riverstone Foam Roller", "GF01", Decimal("27.00"), Decimal("1")),
    ("Night Owl Headlamp", "GH01", Decimal("19.95"), Decimal("0.2")),
    ("Granite Fitness Watch", "GW01", Decimal("189.00"), Decimal("0.1")),
    ("Ember Insulated Mug", "GU01", Decimal("16.50"), Decimal("0.4")),
    ("Aspen Resistance Band", "GR01", Decimal("9.99"), Decimal("0.1")),
]
_SIZES = ["XS", "S", "M", "L", "XL"]
_COLORS = [("Blue", 50), ("Black", 49), ("Green", 53), ("Red", 58)]


class Product:
    """A catalogue entry; ``payload`` is what ``GET /V1/products`` lists."""

    __slots__ = (
        "children",
        "name",
        "option_values",
        "parent",
        "payload",
        "price",
        "product_id",
        "sku",
        "type_id",
        "weight",
    )

    def __init__(
        self,
        product_id: int,
        sku: str,
        name: str,
        price: Decimal,
        weight: Decimal,
        type_id: str,
        created_at: str,
    ) -> None:
        self.product_id = product_id
        self.sku = sku
        self.name = name
        self.price = price
        self.weight = weight
        self.type_id = type_id
        self.parent: Product | None = None
        self.children: list[Product] = []
        self.option_values: tuple[int, int] | None = None
        self.payload: dict[str, Any] = {
            "id": product_id,
            "sku": sku,
            "name": name,
            "attribute_set_id": 9 if type_id == "configurable" else 4,
            "price": num(price),
            "status": 1,
            "visibility": 4,
            "type_id": type_id,
            "created_at": created_at,
            "updated_at": created_at,
            "weight": num(weight),
            "extension_attributes": {"website_ids": [1], "category_links": []},
            "product_links": [],
            "options": [],
            "media_gallery_entries": [],
            "tier_prices": [],
            "custom_attributes": [
                {"attribute_code": "url_key", "value": sku.lower()},
                {"attribute_code": "tax_class_id", "value": "2"},
            ],
        }


def generate_products(created_at: str = "2024-01-15 09:00:00") -> list[Product]:
    """A small outdoor-shop catalogue: simple gear plus configurable garments with size/colour children."""
    products: list[Product] = []
    next_id = 1
    for name, prefix, price in _GARMENTS:
        parent = Product(
            next_id, f"{prefix}{next_id:02d}", name, price, Decimal(1), "configurable", created_at
        )
        next_id += 1
        products.append(parent)
        for size in _SIZES[:4]:
            for color, color_value in _COLORS[:3]:
                child_sku = f"{parent.sku}-{size}-{color}"
                child = Product(
                    next_id, child_sku, f"{name}-{size}-{color}", price, Decimal(1), "simple", created_at
                )
                child.payload["visibility"] = 1
                child.parent = parent
                child.option_values = (5590 + _SIZES.index(size), color_value)
                parent.children.append(child)
                products.append(child)
                next_id += 1
        parent.payload["extension_attributes"]["configurable_product_links"] = [
            c.product_id for c in parent.children
        ]
    for name, sku, price, weight in _GEAR:
        products.append(Product(next_id, sku, name, price, weight, "simple", created_at))
        next_id += 1
    return products


# ------------------------------------------------------------------------------------------------------------
# People and places

_FIRST = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Mateo",
    "Sofia",
    "Lucas",
    "Mia",
    "Ethan",
    "Chloé",
    "Jonas",
    "Amara",
    "Kenji",
    "Priya",
    "Tomás",
    "Ingrid",
    "Yusuf",
    "Hannah",
    "Oskar",
]
_LAST = [
    "Hartley",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Castillo",
    "Nakamura",
    "Bennett",
    "Schäfer",
    "Patel",
    "O'Neill",
    "Kowalski",
    "Dubois",
    "Reyes",
    "Fischer",
    "Whitaker",
    "Haddad",
]
# (city, region, region_code, region_id, country, postcode, street, tax percent)
_PLACES = [
    ("Calder", "Michigan", "MI", 33, "US", "49628-7978", "4120 Maple Ridge Road", Decimal("8.25")),
    ("Austin", "Texas", "TX", 57, "US", "78701", "18 Congress Avenue", Decimal("0")),
    ("Portland", "Oregon", "OR", 49, "US", "97205", "733 Alder Street", Decimal("0")),
    ("Brooklyn", "New York", "NY", 43, "US", "11201", "95 Atlantic Avenue, Apt 3", Decimal("8.375")),
    ("Sacramento", "California", "CA", 12, "US", "95814", "2200 Capitol Mall", Decimal("8.25")),
    ("Hamburg", "Hamburg", "HH", 82, "DE", "20095", "Mönckebergstraße 7", Decimal("0")),
    ("Lyon", "Rhône", "69", 262, "FR", "69002", "14 Rue de la République", Decimal("0")),
    ("Leeds", "West Yorkshire", "", 0, "GB", "LS1 4AP", "27 Briggate", Decimal("0")),
]
_METHODS = [
    ("checkmo", "Check / Money order"),
    ("banktransfer", "Bank Transfer Payment"),
    ("cashondelivery", "Cash On Delivery"),
    ("purchaseorder", "Purchase Order"),
]
_CARRIERS = [
    ("tablerate_bestway", "Best Way - Table Rate", None),
    ("flatrate_flatrate", "Flat Rate - Fixed", Decimal("5")),
    ("freeshipping_freeshipping", "Free Shipping - Free", Decimal("0")),
]

# (state, status, weight) for the generated mix.
_STATE_MIX = [
    ("new", "pending", 24),
    ("processing", "processing", 24),
    ("complete", "complete", 20),
    ("canceled", "canceled", 8),
    ("holded", "holded", 6),
    ("closed", "closed", 6),
    ("pending_payment", "pending_payment", 7),
    ("processing", "fraud", 2),
    ("payment_review", "payment_review", 3),
]


class Person:
    __slots__ = ("customer_id", "email", "firstname", "lastname", "place", "telephone")

    def __init__(self, rng: random.Random, customer_id: int | None) -> None:
        self.firstname = rng.choice(_FIRST)
        self.lastname = rng.choice(_LAST)
        self.customer_id = customer_id
        local = (
            f"{self.firstname}.{self.lastname}".lower().replace("'", "").replace("é", "e").replace("ä", "ae")
        )
        self.email = f"{local}{rng.randint(1, 99)}@example.com"
        self.place = rng.choice(_PLACES)
        self.telephone = f"({rng.randint(200, 989)}) 555-{rng.randint(1000, 9999)}"


# ------------------------------------------------------------------------------------------------------------
# Orders


class OrderBuilder:
    """Builds order payloads, drawing entity ids from the store's ``IdSequence``."""

    def __init__(self, ids: IdSequence, products: Sequence[Product]) -> None:
        self.ids = ids
        self.products = list(products)
        self._sellable = [p for p in products if p.type_id == "simple"]

    # -- public ----------------------------------------------------------------------------------------------

    def generate(
        self, rng: random.Random, count: int, anchor: datetime, days: int = 60
    ) -> Iterator[dict[str, Any]]:
        """``count`` orders created over the ``days`` before ``anchor`` (oldest first), a realistic mix."""
        span = days * 86400
        offsets = sorted(rng.randrange(span) for _ in range(count))
        for offset in reversed(offsets):
            created = anchor - timedelta(seconds=offset + 1)
            state, status = rng.choices([(s, t) for s, t, _ in _STATE_MIX], [w for *_, w in _STATE_MIX])[0]
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
        shipping_method = shipping_method or rng.choice(_CARRIERS)
        payment_method = payment_method or rng.choice(_METHODS)
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
                "protect_code": hashlib.md5(
                    f"{entity_id}:{rng.random()}".encode(), usedforsecurity=False
                ).hexdigest(),
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
            row_total = _money(price * qty)
            discount = _money(row_total * discount_percent / 100)
            tax = _money((row_total - discount) * tax_percent / 100)
        item: dict[str, Any] = {
            "amount_refunded": 0,
            "base_amount_refunded": 0,
            "base_discount_amount": num(discount),
            "base_discount_invoiced": 0,
            "base_discount_tax_compensation_amount": 0,
            "base_original_price": num(price) if child_of is None else 0,
            "base_price": num(price) if child_of is None else 0,
            "base_price_incl_tax": num(_money(price * (100 + tax_percent) / 100)) if child_of is None else 0,
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
            "price_incl_tax": num(_money(price * (100 + tax_percent) / 100)),
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
                child = self._item(
                    order, product, qty, created, tax_percent, discount_percent, child_of=parent
                )
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

    def _addresses(
        self, order: dict[str, Any], person: Person, method: tuple[str, str, Decimal | None]
    ) -> None:
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
            order["extension_attributes"]["applied_taxes"] = [
                {**rate, "amount": num(tax), "base_amount": num(tax)}
            ]
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
            self.history(
                order, "invoice", "processing", f"Invoiced amount of ${num(amount)}.", format_date(later())
            )
        if state == "complete" or state == "closed":
            ship_all(order)
            later()
        elif state == "processing" and rng.random() < 0.25:
            first = order["items"][0]
            ship_item(order, first, int(first["qty_ordered"]))
            later()
        if state == "closed":
            refund_all(order)
            self.history(
                order, "creditmemo", "closed", "We refunded the full amount offline.", format_date(later())
            )
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


# ------------------------------------------------------------------------------------------------------------
# Lifecycle helpers shared with the store (they change a payload in place).


def _d(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def iter_item_views(order: dict[str, Any], item_id: int) -> Iterator[dict[str, Any]]:
    """Every copy of one order line in the payload: ``items``, shipping assignment, nested ``parent_item``."""
    lists: list[Any] = [order.get("items") or []]
    extension = order.get("extension_attributes")
    if isinstance(extension, dict):
        for assignment in extension.get("shipping_assignments") or []:
            if isinstance(assignment, dict):
                lists.append(assignment.get("items") or [])
    seen: set[int] = set()
    for entries in lists:
        for item in entries:
            if not isinstance(item, dict):
                continue
            for view in (item, item.get("parent_item")):
                if isinstance(view, dict) and view.get("item_id") == item_id and id(view) not in seen:
                    seen.add(id(view))
                    yield view


def set_item_field(order: dict[str, Any], item_id: int, key: str, value: Any) -> None:
    for view in iter_item_views(order, item_id):
        view[key] = value


def related_item_ids(order: dict[str, Any], item_id: int) -> list[int]:
    """An item together with its configurable parent or children: Magento ships and invoices them together."""
    ids = [item_id]
    for item in order.get("items", []):
        if item.get("parent_item_id") == item_id:
            ids.append(item["item_id"])
        elif item.get("item_id") == item_id and item.get("parent_item_id") is not None:
            ids.append(item["parent_item_id"])
    return ids


def ship_item(order: dict[str, Any], item: dict[str, Any], qty: int | float) -> None:
    for item_id in related_item_ids(order, item["item_id"]):
        current = next(iter_item_views(order, item_id))
        set_item_field(order, item_id, "qty_shipped", num(_d(current.get("qty_shipped")) + _d(qty)))


def ship_all(order: dict[str, Any]) -> None:
    for item in order["items"]:
        remaining = (
            _d(item["qty_ordered"])
            - _d(item.get("qty_shipped"))
            - _d(item.get("qty_canceled"))
            - _d(item.get("qty_refunded"))
        )
        if remaining > 0:
            set_item_field(
                order, item["item_id"], "qty_shipped", num(_d(item.get("qty_shipped")) + remaining)
            )


def invoice_all(order: dict[str, Any]) -> Decimal:
    """Invoice every remaining line; sets the ``*_paid``/``*_invoiced`` keys a paid order carries."""
    for item in order["items"]:
        remaining = _d(item["qty_ordered"]) - _d(item.get("qty_invoiced")) - _d(item.get("qty_canceled"))
        if remaining > 0:
            set_item_field(
                order, item["item_id"], "qty_invoiced", num(_d(item.get("qty_invoiced")) + remaining)
            )
            for key in ("row_invoiced", "tax_invoiced", "discount_invoiced"):
                source = {
                    "row_invoiced": "row_total",
                    "tax_invoiced": "tax_amount",
                    "discount_invoiced": "discount_amount",
                }[key]
                set_item_field(order, item["item_id"], key, item.get(source, 0))
                set_item_field(order, item["item_id"], f"base_{key}", item.get(f"base_{source}", 0))
    grand = _d(order.get("grand_total"))
    already = _d(order.get("total_paid"))
    amount = grand - already
    for prefix in ("base_", ""):
        order[f"{prefix}total_paid"] = order[f"{prefix}grand_total"]
        order[f"{prefix}total_invoiced"] = order[f"{prefix}grand_total"]
        order[f"{prefix}total_due"] = 0
        order[f"{prefix}subtotal_invoiced"] = order.get(f"{prefix}subtotal", 0)
        order[f"{prefix}tax_invoiced"] = order.get(f"{prefix}tax_amount", 0)
        order[f"{prefix}shipping_invoiced"] = order.get(f"{prefix}shipping_amount", 0)
        order[f"{prefix}discount_invoiced"] = order.get(f"{prefix}discount_amount", 0)
    payment = order.get("payment")
    if isinstance(payment, dict):
        payment["amount_paid"] = order["grand_total"]
        payment["base_amount_paid"] = order["base_grand_total"]
        payment["base_amount_paid_online"] = 0
    return amount


_INVOICED = {
    "row_total": "row_invoiced",
    "tax_amount": "tax_invoiced",
    "discount_amount": "discount_invoiced",
    "base_row_total": "base_row_invoiced",
    "base_tax_amount": "base_tax_invoiced",
    "base_discount_amount": "base_discount_invoiced",
}


def _share(item: dict[str, Any], key: str, qty: Decimal, last: bool) -> Decimal:
    """The part of line amount ``key`` that ``qty`` units carry; the last units take what is left, so a line
    invoiced in parts adds up to the line exactly."""
    total = _d(item.get(key))
    if last:
        return total - _d(item.get(_INVOICED[key]))
    ordered = _d(item.get("qty_ordered"))
    return _money(total * qty / ordered) if ordered else ZERO


def invoice_lines(order: dict[str, Any], wanted: dict[int, Decimal] | None) -> dict[str, Any]:
    """Invoice top-level lines ``{item_id: qty}`` (``None``: everything left), the way ``Invoice::register()``
    and an offline capture change the order; children of a configurable line follow their parent's quantity.

    Line ``qty_invoiced`` and ``row/tax/discount_invoiced`` grow; the order's ``*_invoiced`` and ``*_paid``
    totals grow by the invoice (the first invoice carries the whole shipping amount), ``total_due`` shrinks.
    Returns the invoice's amounts and lines: ``{"lines": [(order item, qty, amounts)], "subtotal", "tax",
    "discount", "shipping", "grand_total"}`` (Decimals). ``amounts`` is the line's share of ``row_total``,
    ``tax_amount`` and ``discount_amount`` (and their ``base_``), ``None`` for a configurable's child line,
    which follows its parent in ``lines``."""
    top = [i for i in order.get("items", []) if "parent_item_id" not in i]
    subtotal = tax = discount = ZERO
    lines: list[tuple[dict[str, Any], Decimal, dict[str, Decimal] | None]] = []
    for item in top:
        left = _d(item.get("qty_ordered")) - _d(item.get("qty_invoiced")) - _d(item.get("qty_canceled"))
        qty = min(left if wanted is None else wanted.get(int(item["item_id"]), ZERO), left)
        if qty <= 0:
            continue
        parts = {key: _share(item, key, qty, qty >= left) for key in _INVOICED}
        subtotal += parts["row_total"]
        tax += parts["tax_amount"]
        discount += parts["discount_amount"]
        for key, target in _INVOICED.items():
            set_item_field(order, item["item_id"], target, num(_d(item.get(target)) + parts[key]))
        lines.append((item, qty, parts))
        for item_id in related_item_ids(order, item["item_id"]):
            view = next(iter_item_views(order, item_id))
            set_item_field(order, item_id, "qty_invoiced", num(_d(view.get("qty_invoiced")) + qty))
            if item_id != item["item_id"]:
                lines.append((view, qty, None))
    shipping = ZERO if _d(order.get("shipping_invoiced")) else _d(order.get("shipping_amount"))
    grand = subtotal - discount + tax + shipping
    for prefix in ("base_", ""):
        for key, amount in (
            ("subtotal_invoiced", subtotal),
            ("tax_invoiced", tax),
            ("shipping_invoiced", shipping),
            ("discount_invoiced", -discount),
            ("total_invoiced", grand),
            ("total_paid", grand),
        ):
            order[f"{prefix}{key}"] = num(_d(order.get(f"{prefix}{key}")) + amount)
        due = _d(order.get(f"{prefix}grand_total")) - _d(order.get(f"{prefix}total_paid"))
        order[f"{prefix}total_due"] = num(max(due, ZERO))
    payment = order.get("payment")
    if isinstance(payment, dict):
        payment["amount_paid"] = order["total_paid"]
        payment["base_amount_paid"] = order["base_total_paid"]
        payment.setdefault("base_amount_paid_online", 0)
    return {
        "lines": lines,
        "subtotal": subtotal,
        "tax": tax,
        "discount": discount,
        "shipping": shipping,
        "grand_total": grand,
    }


def refund_all(order: dict[str, Any]) -> None:
    for item in order["items"]:
        set_item_field(order, item["item_id"], "qty_refunded", item.get("qty_invoiced", 0))
        set_item_field(order, item["item_id"], "amount_refunded", item.get("row_invoiced", 0))
        set_item_field(order, item["item_id"], "base_amount_refunded", item.get("base_row_invoiced", 0))
    for prefix in ("base_", ""):
        order[f"{prefix}total_refunded"] = order[f"{prefix}grand_total"]
        order[f"{prefix}total_offline_refunded"] = order[f"{prefix}grand_total"]
        order[f"{prefix}subtotal_refunded"] = order.get(f"{prefix}subtotal", 0)
        order[f"{prefix}tax_refunded"] = order.get(f"{prefix}tax_amount", 0)
        order[f"{prefix}shipping_refunded"] = order.get(f"{prefix}shipping_amount", 0)
    payment = order.get("payment")
    if isinstance(payment, dict):
        payment["amount_refunded"] = order["grand_total"]
        payment["base_amount_refunded"] = order["base_grand_total"]


def cancel_all(order: dict[str, Any]) -> None:
    """What ``Order::cancel()`` leaves behind: canceled quantities and the ``*_canceled`` totals."""
    for item in order["items"]:
        remaining = _d(item["qty_ordered"]) - _d(item.get("qty_invoiced")) - _d(item.get("qty_canceled"))
        if remaining > 0:
            set_item_field(
                order, item["item_id"], "qty_canceled", num(_d(item.get("qty_canceled")) + remaining)
            )
    if "total_paid" in order:
        return
    for prefix in ("base_", ""):
        order[f"{prefix}discount_canceled"] = order.get(f"{prefix}discount_amount", 0)
        order[f"{prefix}shipping_canceled"] = order.get(f"{prefix}shipping_amount", 0)
        order[f"{prefix}subtotal_canceled"] = order.get(f"{prefix}subtotal", 0)
        order[f"{prefix}tax_canceled"] = order.get(f"{prefix}tax_amount", 0)
        order[f"{prefix}total_canceled"] = order.get(f"{prefix}grand_total", 0)
