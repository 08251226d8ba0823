"""The fake WooCommerce store as a ``ConformanceStore`` for the driver conformance suite.

Order ids are WooCommerce's numeric ids as strings (what ``WooCommerceDriver`` calls ``Order.order_id``); a
status is the order's slug; a comment is an order note with exactly that text; a shipment is a tracking item of
the Shipment Tracking extension (on in this store), since WooCommerce core has no shipment of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ._base_faults import ListingHook, LostAnswerMode
from ._woocommerce import FakeWooCommerce
from .base import ReceivedRequest

__all__ = ["WooCommerceConformanceStore"]


class WooCommerceConformanceStore:
    """A started :class:`FakeWooCommerce` with ``order_count`` orders, adapted to ``ConformanceStore``;
    ``spec`` (the wc/v3 OpenAPI file) checks every request the suite makes."""

    def __init__(self, order_count: int = 30, seed: int = 3, spec: str | Path | None = None, **kwargs: Any) -> None:
        self.fake = FakeWooCommerce.started(order_count, seed=seed, spec=spec, **kwargs)

    @property
    def base_url(self) -> str:
        return self.fake.url

    @property
    def requests(self) -> Sequence[ReceivedRequest]:
        return self.fake.requests

    def is_write(self, request: ReceivedRequest) -> bool:
        return self.fake.is_write(request)

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

    def lose_next_write_answer(self, mode: LostAnswerMode) -> None:
        self.fake.lose_write_answers(1, mode=mode)

    def count_comments(self, order_id: str, text: str) -> int:
        with self.fake.lock:
            return sum(1 for note in self.fake.shop.notes.get(int(order_id), []) if note["note"] == text)

    def count_shipments(self, order_id: str) -> int:
        with self.fake.lock:
            return len(self.fake.shop.trackings(order_id))

    def on_listing(self, callback: Callable[[int], object] | None) -> ListingHook | None:
        return self.fake.on_listing(callback)

    def stop(self) -> None:
        self.fake.stop()
