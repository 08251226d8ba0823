"""The fake BigCommerce store's state and dialect: orders v2 and catalog v3 as plain functions over an in-memory
shop, with no HTTP (``bigcommerce.py`` serves them).

Theory of operation
-------------------
The shop keeps what BigCommerce keeps, in its shapes (``orders.v2.oas2.yml`` and ``products_catalog.v3.yml``):
an order row per order (money as four-decimal strings, RFC 2822 times in whole seconds, the billing address
inline, the sub-resources as ``{"url", "resource"}`` links), and beside it the order's products, shipping
addresses and shipments, each with its own id. Every change stamps ``date_modified`` with the store's clock,
floored to the second, as BigCommerce does.

It is hostile where the spec leaves room: orders stamped in the same second come back from
``sort=date_modified`` in an order that is *not* by id (a fixed shuffle per shop), an empty list is ``204`` with
no body (for listings and for sub-resources), ``limit`` above 250 is cut to 250, and filters on times take
RFC 2822 or ISO 8601, both bounds inclusive. Whatever the spec says the store refuses (a status id outside
0..14, a shipment of more than is left, an address that is not the order's) is answered ``400`` with v2's
error list ``[{"status": 400, "message": ...}]``.
"""

from __future__ import annotations

import email.utils
import hashlib
import random
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs

from ._bigcommerce_tables import ORDER_SORT_FIELDS, STATUSES

__all__ = ["BigCommerceShop", "Reply", "ShopError"]

_CENT = Decimal("0.0001")
_SHIPPED_STATES = {2, 3, 10}


@attrs.define
class Reply:
    """What a handler answers: a status and a JSON body (``None``: no body, as with ``204``)."""

    status: int
    body: Any = None
    headers: dict[str, str] = attrs.field(factory=dict)


class ShopError(Exception):
    """A refusal, answered with v2's error list."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _money(value: Decimal | int | str) -> str:
    return str(Decimal(str(value)).quantize(_CENT))


def _rfc2822(moment: datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(timezone.utc).replace(microsecond=0), usegmt=False)


def _when(text: str, name: str) -> datetime:
    """A filter time, as BigCommerce reads them: RFC 2822 or ISO 8601 (a time without a zone is UTC)."""
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ShopError(400, f"The field '{name}' is invalid: not an RFC 2822 or ISO 8601 date.") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _int(query: Mapping[str, str], name: str) -> int | None:
    if name not in query or query[name] == "":
        return None
    try:
        return int(Decimal(query[name]))
    except ArithmeticError:
        raise ShopError(400, f"The field '{name}' is invalid: not a number.") from None


_FIRST = ["Jane", "John", "Ana", "Kai", "Mia", "Noor", "Luis", "Eve"]
_LAST = ["Doe", "Smith", "Okafor", "Tanaka", "Silva", "Berg", "Novak", "Kim"]
_CITIES = [("Austin", "Texas", "78751"), ("Portland", "Oregon", "97201"), ("Boston", "Massachusetts", "02108")]


class BigCommerceShop:
    """The orders, their sub-resources and the catalog of one fake store. ``clock`` is the store's time."""

    def __init__(self, store_hash: str, token: str, clock: Callable[[], datetime], *, seed: int = 1) -> None:
        self.store_hash = store_hash
        self.token = token
        self.clock = clock
        self.lock: threading.RLock = threading.RLock()
        self.orders: dict[int, dict[str, Any]] = {}
        self.products: dict[int, list[dict[str, Any]]] = {}
        self.addresses: dict[int, list[dict[str, Any]]] = {}
        self.shipments: dict[int, list[dict[str, Any]]] = {}
        self.catalog: list[dict[str, Any]] = []
        self._ids = {"order": 100, "product": 1000, "address": 500, "shipment": 1, "catalog": 76, "variant": 300}
        self._salt = f"{store_hash}:{seed}"
        self._seed_catalog(random.Random(seed))

    # -- time and ids ----------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock().astimezone(timezone.utc).replace(microsecond=0)

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def _tie(self, order_id: int) -> str:
        # Orders of one second come back in a fixed order that is not by id: nothing may rely on ties.
        return hashlib.sha256(f"{self._salt}:{order_id}".encode()).hexdigest()

    # -- building ------------------------------------------------------------------------------------------

    def _seed_catalog(self, rng: random.Random) -> None:
        names = ["Orbit Terrarium", "Fog Linen Towel", "Canvas Tote", "Able Brewing System", "Chemex Coffee"]
        for index, name in enumerate(names):
            product_id = self._next("catalog")
            base_sku = f"SKU-{index + 1:03d}"
            price = Decimal(rng.randint(800, 9000)) / 100
            variants = [
                {
                    "id": self._next("variant"),
                    "product_id": product_id,
                    "sku": base_sku,
                    "price": None,
                    "calculated_price": float(price),
                    "inventory_level": 40,
                    "option_values": [],
                }
            ]
            if index % 2 == 0:  # products with options: each option value a variant with its own SKU
                variants = [
                    {
                        "id": self._next("variant"),
                        "product_id": product_id,
                        "sku": f"{base_sku}-{size}",
                        "price": float(price + extra),
                        "calculated_price": float(price + extra),
                        "inventory_level": 10 + extra,
                        "option_values": [{"id": 1, "label": size, "option_id": 7, "option_display_name": "Size"}],
                    }
                    for size, extra in (("S", 0), ("M", 2), ("L", 4))
                ]
            self.catalog.append(
                {
                    "id": product_id,
                    "name": name,
                    "type": "physical",
                    "sku": base_sku,
                    "price": float(price),
                    "calculated_price": float(price),
                    "inventory_level": sum(v["inventory_level"] for v in variants),
                    "inventory_tracking": "variant" if index % 2 == 0 else "product",
                    "base_variant_id": variants[0]["id"],
                    "variants": variants,
                }
            )

    def seed(self, count: int, *, start: datetime, end: datetime, seed: int = 1) -> None:
        """``count`` orders stamped between ``start`` and ``end``; stamps come in bursts of up to six orders in
        one second (a checkout rush, an import), which is what a keyset over whole seconds must get right."""
        rng = random.Random(seed)
        span = max(1, int((end - start).total_seconds()))
        made = 0
        while made < count:
            burst = min(count - made, rng.choice((1, 1, 2, 3, 6)))
            stamp = start + timedelta(seconds=rng.randrange(span))
            for _ in range(burst):
                status = rng.choice((11, 11, 7, 9, 1, 10, 2, 5, 3, 0, 12, 14))
                self.add_order(status_id=status, stamp=stamp, rng=rng)
            made += burst

    def add_order(
        self,
        *,
        status_id: int = 11,
        stamp: datetime | None = None,
        rng: random.Random | None = None,
        lines: int | None = None,
        digital: bool = False,
        payment_status: str | None = None,
        external_order_id: str | None = None,
        addresses: int = 1,
    ) -> dict[str, Any]:
        """A new order (its products from the catalog), stamped ``stamp`` (default: now). ``addresses``: how
        many shipping addresses its lines are shipped to (the lines dealt out in turn)."""
        rng = rng or random.Random(len(self.orders) + 7)
        with self.lock:
            order_id = self._next("order")
            when = (stamp or self.now()).astimezone(timezone.utc).replace(microsecond=0)
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            city, state, zip_code = rng.choice(_CITIES)
            billing = {
                "first_name": first,
                "last_name": last,
                "company": "",
                "street_1": f"{rng.randint(1, 999)} Main St",
                "street_2": "",
                "city": city,
                "state": state,
                "zip": zip_code,
                "country": "United States",
                "country_iso2": "US",
                "phone": "555-0100",
                "email": f"{first.lower()}@example.com",
                "form_fields": [],
            }
            address_ids = [self._next("address") for _ in range(max(1, addresses))]
            products = []
            for index in range(lines if lines is not None else rng.randint(1, 3)):
                item = rng.choice(self.catalog)
                variant = rng.choice(item["variants"])
                address_id = address_ids[index % len(address_ids)]
                products.append(self._order_product(order_id, address_id, item, variant, rng.randint(1, 3), None))
            self.products[order_id] = products
            self.addresses[order_id] = (
                [] if digital else [self._shipping_address(order_id, a, billing) for a in address_ids]
            )
            self.shipments[order_id] = []
            order = self._order_row(order_id, when, status_id, billing, payment_status, external_order_id)
            self.orders[order_id] = order
            self._totals(order_id)
            if status_id in _SHIPPED_STATES and not digital:
                self._ship_all(order_id, when, partial=status_id == 3)
            order["date_modified"] = _rfc2822(when)
            return order

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
        tax = (unit * Decimal("0.0825")).quantize(_CENT)
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
            "base_price": _money(unit),
            "price_ex_tax": _money(unit),
            "price_inc_tax": _money(unit + tax),
            "price_tax": _money(tax),
            "base_total": _money(unit * quantity),
            "total_ex_tax": _money(unit * quantity),
            "total_inc_tax": _money((unit + tax) * quantity),
            "total_tax": _money(tax * quantity),
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

    def _link(self, order_id: int, name: str) -> dict[str, str]:
        return {
            "url": f"https://api.bigcommerce.com/stores/{self.store_hash}/v2/orders/{order_id}/{name}",
            "resource": f"/orders/{order_id}/{name}",
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
            "date_created": _rfc2822(when),
            "date_modified": _rfc2822(when),
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
            subtotal_ex_tax=_money(subtotal),
            subtotal_inc_tax=_money(subtotal + tax),
            subtotal_tax=_money(tax),
            total_ex_tax=_money(subtotal + shipping),
            total_inc_tax=_money(subtotal + shipping + tax),
            total_tax=_money(tax),
            shipping_cost_ex_tax=_money(shipping),
            shipping_cost_inc_tax=_money(shipping),
            items_total=sum(int(p["quantity"]) for p in products),
            items_shipped=sum(int(p["quantity_shipped"]) for p in products),
            shipping_address_count=len(self.addresses[order_id]),
            order_is_digital=not self.addresses[order_id],
        )
        for address in self.addresses[order_id]:
            mine = [p for p in products if p["order_address_id"] == address["id"]]
            address["items_total"] = sum(int(p["quantity"]) for p in mine)
            address["items_shipped"] = sum(int(p["quantity_shipped"]) for p in mine)

    def _ship_all(self, order_id: int, when: datetime, *, partial: bool) -> None:
        """Seed shipments: every line (``partial``: one unit less of the first line, or only it), one shipment
        per shipping address."""
        products = self.products[order_id]
        chosen = products[:1] if partial else products
        for address in self.addresses[order_id]:
            items = [
                {"order_product_id": p["id"], "quantity": int(p["quantity"]) - (1 if partial else 0) or 1}
                for p in chosen
                if p["order_address_id"] == address["id"]
            ]
            if items:
                self._make_shipment(
                    order_id,
                    {"order_address_id": address["id"], "items": items, "tracking_number": f"1ZSEED{order_id}"},
                    when,
                    move_status=False,
                )

    # -- changes ---------------------------------------------------------------------------------------------

    def touch(self, order_id: int) -> None:
        self.orders[order_id]["date_modified"] = _rfc2822(self.now())

    def edit(self, order_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change an order's row as the admin would; ``date_modified`` moves to now."""
        with self.lock:
            order = self.orders[order_id]
            order.update(changes)
            self.touch(order_id)
            return order

    def delete(self, order_id: int) -> None:
        with self.lock:
            for table in (self.orders, self.products, self.addresses, self.shipments):
                table.pop(order_id, None)

    def find(self, order_id: int | str) -> dict[str, Any] | None:
        with self.lock:
            try:
                return self.orders.get(int(order_id))
            except ValueError:
                return None

    # -- the dialect: orders v2 ------------------------------------------------------------------------------

    def _order(self, order_id: str) -> dict[str, Any]:
        order = self.find(order_id)
        if order is None:
            raise ShopError(404, "The requested resource was not found.")
        return order

    def list_orders(self, query: Mapping[str, str]) -> Reply:
        """``GET /v2/orders``: filters, one sort field (``:asc`` / ``:desc``), ``page`` and ``limit``."""
        with self.lock:
            rows = list(self.orders.values())
            bounds = {name: _int(query, name) for name in ("min_id", "max_id", "status_id", "customer_id")}
            if bounds["min_id"] is not None:
                rows = [o for o in rows if o["id"] >= bounds["min_id"]]
            if bounds["max_id"] is not None:
                rows = [o for o in rows if o["id"] <= bounds["max_id"]]
            if bounds["status_id"] is not None:
                rows = [o for o in rows if o["status_id"] == bounds["status_id"]]
            if bounds["customer_id"] is not None:
                rows = [o for o in rows if o["customer_id"] == bounds["customer_id"]]
            for name, field, low in (
                ("min_date_created", "date_created", True),
                ("max_date_created", "date_created", False),
                ("min_date_modified", "date_modified", True),
                ("max_date_modified", "date_modified", False),
            ):
                if query.get(name):
                    bound = _when(query[name], name)
                    rows = [
                        o
                        for o in rows
                        if (
                            email.utils.parsedate_to_datetime(o[field]) >= bound
                            if low
                            else email.utils.parsedate_to_datetime(o[field]) <= bound
                        )
                    ]
            if query.get("external_order_id"):
                rows = [o for o in rows if o.get("external_order_id") == query["external_order_id"]]
            if query.get("email"):
                rows = [o for o in rows if o["billing_address"].get("email") == query["email"]]
            field, _, direction = (query.get("sort") or "id").partition(":")
            if field not in ORDER_SORT_FIELDS or direction not in ("", "asc", "desc"):
                raise ShopError(400, f"The field 'sort' is invalid: {query.get('sort')!r}.")

            def key(order: Mapping[str, Any]) -> tuple[Any, ...]:
                value = order.get(field)
                if field.startswith("date_"):
                    value = email.utils.parsedate_to_datetime(str(value))
                return (value if value is not None else "", self._tie(int(order["id"])))

            rows.sort(key=key, reverse=direction == "desc")
            limit = max(1, min(_int(query, "limit") or 50, 250))
            page = max(1, _int(query, "page") or 1)
            chosen = rows[(page - 1) * limit : page * limit]
            return Reply(204) if not chosen else Reply(200, [self._shown(o, query) for o in chosen])

    def get_order(self, order_id: str, query: Mapping[str, str] | None = None) -> Reply:
        with self.lock:
            return Reply(200, self._shown(self._order(order_id), query or {}))

    def _shown(self, order: Mapping[str, Any], query: Mapping[str, str]) -> dict[str, Any]:
        """The order row as answered: with ``include=consignments[.line_items]&consignment_structure=object``,
        its consignments (each shipping address with its line items, or the line items as a link; a digital
        order's items as a download consignment)."""
        shown = dict(order)
        include = set((query.get("include") or "").split(","))
        if query.get("consignment_structure") != "object" or not include & {"consignments", "consignments.line_items"}:
            return shown
        order_id = int(order["id"])
        inline = "consignments.line_items" in include
        products = self.products.get(order_id, [])

        def items(address_id: int | None) -> Any:
            mine = [dict(p) for p in products if address_id is None or p["order_address_id"] == address_id]
            return mine if inline else self._link(order_id, "products")

        shipping = [dict(a) | {"line_items": items(a["id"])} for a in self.addresses.get(order_id, [])]
        downloads = (
            []
            if self.addresses.get(order_id)
            else [{"recipient_email": order["billing_address"].get("email", ""), "line_items": items(None)}]
        )
        shown["consignments"] = {"shipping": shipping, "downloads": downloads, "pickups": [], "email": {}}
        return shown

    def sub_resource(self, order_id: str, name: str, query: Mapping[str, str]) -> Reply:
        """``/orders/{id}/products``, ``/shipping_addresses``, ``/shipments`` (paged; empty: ``204``)."""
        with self.lock:
            order = self._order(order_id)
            table = {"products": self.products, "shipping_addresses": self.addresses, "shipments": self.shipments}
            rows = table[name].get(int(order["id"]), [])
            limit = max(1, min(_int(query, "limit") or 50, 250))
            page = max(1, _int(query, "page") or 1)
            chosen = rows[(page - 1) * limit : page * limit]
            return Reply(204) if not chosen else Reply(200, [dict(r) for r in chosen])

    def order_statuses(self) -> Reply:
        return Reply(
            200,
            [
                {
                    "id": i,
                    "name": name,
                    "system_label": name,
                    "custom_label": custom,
                    "system_description": "",
                    "order": order,
                }
                for i, name, custom, order in STATUSES
            ],
        )

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
            "date_created": _rfc2822(when),
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
        order["date_shipped"] = _rfc2822(when)
        order["date_modified"] = _rfc2822(when)
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

    # -- the dialect: catalog v3 ---------------------------------------------------------------------------

    def list_products(self, query: Mapping[str, str]) -> Reply:
        """``GET /v3/catalog/products``: ``sku`` / ``sku:in`` (the product's own SKU), ``keyword`` (name or any
        SKU), ``include=variants``, ``limit`` / ``page``; answers ``{data, meta.pagination}``."""
        with self.lock:
            rows = list(self.catalog)
            if query.get("sku"):
                rows = [p for p in rows if p["sku"] == query["sku"]]
            if query.get("sku:in"):
                wanted = set(query["sku:in"].split(","))
                rows = [p for p in rows if p["sku"] in wanted]
            if query.get("keyword"):
                word = query["keyword"].lower()
                rows = [
                    p
                    for p in rows
                    if word in p["name"].lower()
                    or word in p["sku"].lower()
                    or any(word in str(v["sku"]).lower() for v in p["variants"])
                ]
            include = set((query.get("include") or "").split(","))
            limit = max(1, min(_int(query, "limit") or 50, 250))
            page = max(1, _int(query, "page") or 1)
            chosen = rows[(page - 1) * limit : page * limit]
            data = [{k: v for k, v in p.items() if k != "variants" or "variants" in include} for p in chosen]
            pages = max(1, -(-len(rows) // limit))
            return Reply(
                200,
                {
                    "data": data,
                    "meta": {
                        "pagination": {
                            "total": len(rows),
                            "count": len(data),
                            "per_page": limit,
                            "current_page": page,
                            "total_pages": pages,
                        }
                    },
                },
            )
