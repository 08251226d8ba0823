"""The fake WooCommerce store as a ``ConformanceStore`` for the driver conformance suite.

Order ids are WooCommerce's numeric ids as strings (what ``WooCommerceDriver`` calls ``Order.order_id``); a
status is the order's slug; a comment is an order note with exactly that text; a shipment is a tracking item of
the Shipment Tracking extension (on in this store), since WooCommerce core has no shipment of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._woocommerce import FakeWooCommerce
from .conformance import FakeStoreAdapter

__all__ = ["WooCommerceConformanceStore"]


class WooCommerceConformanceStore(FakeStoreAdapter[FakeWooCommerce]):
    """A started :class:`FakeWooCommerce` with ``order_count`` orders, adapted to ``ConformanceStore``;
    ``spec`` (the wc/v3 OpenAPI file) checks every request the suite makes."""

    def __init__(self, order_count: int = 30, seed: int = 3, spec: str | Path | None = None, **kwargs: Any) -> None:
        super().__init__(FakeWooCommerce(order_count, seed=seed, spec=spec, **kwargs))

    @property
    def base_url(self) -> str:
        """The site's address (``FakeWooCommerce.url``), what the driver takes; it adds ``/wp-json/wc/v3``."""
        return self.fake.url

    def order_ids(self) -> list[str]:
        with self.fake.lock:
            rows = sorted(self.fake.shop.orders.values(), key=lambda o: (o["date_modified_gmt"], o["id"]))
            return [str(o["id"]) for o in rows if o["status"] not in ("trash", "checkout-draft")]

    def edit(self, order_id: str) -> None:
        with self.fake.lock:
            self.fake.shop.edit(int(order_id))

    def create(self) -> str:
        with self.fake.lock:
            return str(self.fake.shop.new_order("processing")["id"])

    def status_of(self, order_id: str) -> str:
        with self.fake.lock:
            return str(self.fake.shop.orders[int(order_id)]["status"])

    def count_comments(self, order_id: str, text: str) -> int:
        with self.fake.lock:
            return sum(1 for note in self.fake.shop.notes.get(int(order_id), []) if note["note"] == text)

    def count_shipments(self, order_id: str) -> int:
        with self.fake.lock:
            return len(self.fake.shop.trackings(order_id))
