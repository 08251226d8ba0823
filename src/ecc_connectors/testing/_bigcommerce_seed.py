"""Seeding the BigCommerce fake shop: orders in bursts within one second, in every kind of status.

``seed`` stamps orders in bursts of up to six in one second (a checkout rush, an import), which is what a
keyset over whole seconds must get right; ``add_order`` makes one order from the catalog, shipped already (one
shipment per shipping address, or a partial one) when its status says it was.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

from ._bigcommerce_state import rfc2822
from ._bigcommerce_writes import OrderWrites

__all__ = ["Seeding"]

_SHIPPED_STATES = {2, 3, 10}
_FIRST = ["Jane", "John", "Ana", "Kai", "Mia", "Noor", "Luis", "Eve"]
_LAST = ["Doe", "Smith", "Okafor", "Tanaka", "Silva", "Berg", "Novak", "Kim"]
_CITIES = [("Austin", "Texas", "78751"), ("Portland", "Oregon", "97201"), ("Boston", "Massachusetts", "02108")]


class Seeding(OrderWrites):
    """``seed`` and ``add_order`` (see the module notes)."""

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
            order["date_modified"] = rfc2822(when)
            return order

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
