"""The driver conformance suite of ecc-connectors against the Ecwid driver and the fake Ecwid store."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from ecc_connectors_ecwid import EcwidDriver
from ecc_connectors_ecwid.testing import FakeEcwidStore

from ecc_connectors.testing.base import ListingHook, LostAnswerMode, ReceivedRequest
from ecc_connectors.testing.conformance import ConformanceStore
from ecc_connectors.testing.pytest_plugin import DriverConformance

_ON_ITS_WAY = ("SHIPPED", "OUT_FOR_DELIVERY", "DELIVERED")


# region: adapter
class EcwidConformanceStore:
    """The fake Ecwid store as a ``ConformanceStore``: order ids are ``internalId`` strings (what
    ``EcwidDriver`` calls ``Order.order_id``), a status is ``"PAYMENT|FULFILMENT"``, a comment is a line of the
    order's private admin notes, and an order has one shipment once its fulfilment status says it left."""

    def __init__(self, orders: int = 30, seed: int = 3) -> None:
        self.fake = FakeEcwidStore.started(orders, seed=seed)

    @property
    def base_url(self) -> str:
        return self.fake.base_url

    @property
    def requests(self) -> list[ReceivedRequest]:
        return self.fake.requests

    def is_write(self, request: ReceivedRequest) -> bool:
        return self.fake.is_write(request)

    def order_ids(self) -> list[str]:
        with self.fake.lock:
            orders = sorted(self.fake.shop.orders.values(), key=lambda o: (o["updateTimestamp"], o["internalId"]))
            return [str(o["internalId"]) for o in orders]

    def edit(self, order_id: str) -> None:
        """A new shipping city, as the merchant would type it (the update stamp moves to now)."""
        with self.fake.lock:
            order = self.fake.shop.orders[int(order_id)]
            person = dict(order["shippingPerson"], city=f"Edited {order_id}")
            self.fake.shop.edit(int(order_id), {"shippingPerson": person})

    def create(self) -> str:
        """An order awaiting payment and processing: shippable, its status settable, cancellable."""
        order = self.fake.shop.add_order(paymentStatus="AWAITING_PAYMENT", fulfillmentStatus="AWAITING_PROCESSING")
        return str(order["internalId"])

    def status_of(self, order_id: str) -> str:
        with self.fake.lock:
            order = self.fake.shop.orders[int(order_id)]
            return f"{order['paymentStatus']}|{order['fulfillmentStatus']}"

    def lose_next_write_answer(self, mode: LostAnswerMode) -> None:
        self.fake.lose_write_answers(1, mode=mode)

    def count_comments(self, order_id: str, text: str) -> int:
        with self.fake.lock:
            notes = str(self.fake.shop.orders[int(order_id)].get("privateAdminNotes") or "")
        return notes.split("\n").count(text)

    def count_shipments(self, order_id: str) -> int:
        with self.fake.lock:
            return int(self.fake.shop.orders[int(order_id)]["fulfillmentStatus"] in _ON_ITS_WAY)

    def on_listing(self, callback: Callable[[int], object] | None) -> ListingHook | None:
        """Every order search counts (pages, key listings and reads by id)."""
        return self.fake.on_listing(callback)

    def stop(self) -> None:
        self.fake.stop()
# endregion


@pytest.fixture(autouse=True)
def _quiet_retries() -> Iterator[None]:
    logging.disable(logging.WARNING)  # lost answers and dropped connections are the point here
    yield
    logging.disable(logging.NOTSET)


# region: suite
class TestEcwid(DriverConformance):
    """Every check of the suite, each against a fresh store of 30 orders, the driver reading 5 a page."""

    store_factory = EcwidConformanceStore
    driver_factory = staticmethod(
        lambda store: EcwidDriver(store.fake.store_id, store.fake.token, base_url=store.base_url, page_size=5)
    )
# endregion


def test_the_adapter_is_a_conformance_store() -> None:
    store: Any = EcwidConformanceStore(orders=12)
    try:
        assert isinstance(store, ConformanceStore)
        assert len(store.order_ids()) == 12
    finally:
        store.stop()
