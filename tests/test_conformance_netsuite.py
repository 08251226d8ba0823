"""The driver conformance suite against the NetSuite driver and FakeSuiteTalk, through an adapter that gives the
fake the ``ConformanceStore`` side the checks need."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ecc_connectors.drivers.netsuite import NetSuiteDriver, NetSuiteSettings, TokenCredentials
from ecc_connectors.testing import FakeSuiteTalk
from ecc_connectors.testing.conformance import CHECKS, ConformanceStore, FakeStoreAdapter, run_checks
from ecc_connectors.testing.pytest_plugin import DriverConformance

ITEM = "15"  # TD-100 of the sample data: active, in stock
CUSTOMER = "87"


class NetSuiteConformanceStore(FakeStoreAdapter[FakeSuiteTalk]):
    """Adapts a :class:`FakeSuiteTalk` to the conformance checks. Order ids are sales order internal ids (as
    ``NetSuiteDriver`` names orders). Comments: NetSuite has no order comment history; what a post-back writes
    as text is the ``memo`` of the record it adds or updates, so a comment here is the order's ``memo`` or the
    ``memo`` of one of its item fulfilments. Shipments are item fulfilments created from the order."""

    def __init__(self, fake: FakeSuiteTalk | None = None, orders: int = 14) -> None:
        super().__init__(fake or FakeSuiteTalk())
        start = self.fake.now() - timedelta(days=2)
        for n in range(orders):  # besides the three sample orders: a store big enough to list in several pages
            self.fake.add_sales_order(
                [(ITEM, n % 3 + 1, "14.00")], customer=CUSTOMER, created=start + timedelta(minutes=n)
            )

    @property
    def url(self) -> str:
        """The SOAP endpoint the driver is pointed at."""
        return self.fake.url

    @property
    def credentials(self) -> TokenCredentials:
        return self.fake.credentials

    def order_ids(self) -> list[str]:
        """Sales order internal ids, oldest ``lastModifiedDate`` first (ties by internal id)."""
        with self.fake.lock:
            orders = sorted(
                self.fake.sales_orders.values(), key=lambda o: (o["lastModifiedDate"], int(o["internalId"]))
            )
            return [str(o["internalId"]) for o in orders]

    def edit(self, order_id: str) -> None:
        """A new memo, as a user would type it (``lastModifiedDate`` moves to now)."""
        self.fake.touch(order_id, memo=f"Edited {order_id}")

    def create(self) -> str:
        """A new order pending fulfilment (the status an added order gets): shippable, approved already (so
        acknowledging it with its own status is done), cancellable by closing its lines."""
        return self.fake.add_sales_order([(ITEM, 2, "14.00")], customer=CUSTOMER, status="_pendingFulfillment")

    def status_of(self, order_id: str) -> str:
        with self.fake.lock:
            return str(self.fake.sales_orders[order_id]["orderStatus"])

    def count_comments(self, order_id: str, text: str) -> int:
        with self.fake.lock:
            memos = [self.fake.sales_orders[order_id].get("memo")]
            memos += [f.get("memo") for f in self.fake.fulfilments.values() if f["createdFrom"] == order_id]
        return sum(1 for memo in memos if memo == text)

    def count_shipments(self, order_id: str) -> int:
        with self.fake.lock:
            return sum(1 for f in self.fake.fulfilments.values() if f["createdFrom"] == order_id)


def netsuite_store() -> NetSuiteConformanceStore:
    return NetSuiteConformanceStore()


def netsuite_driver(store: NetSuiteConformanceStore) -> NetSuiteDriver:
    return NetSuiteDriver(store.credentials, NetSuiteSettings(endpoint=store.url, page_size=5))


pytestmark = pytest.mark.usefixtures("quiet_retries")  # lost answers and dropped connections are the point


class TestNetSuite(DriverConformance):
    """The NetSuite driver against FakeSuiteTalk."""

    store_factory = staticmethod(netsuite_store)
    driver_factory = staticmethod(netsuite_driver)


def test_the_adapter_is_a_conformance_store() -> None:
    store = netsuite_store()
    try:
        assert isinstance(store, ConformanceStore)
        assert len(store.order_ids()) >= 10
    finally:
        store.stop()


def test_run_checks_reports_every_check() -> None:
    outcomes: dict[str, Any] = run_checks(netsuite_driver, netsuite_store, ["capabilities"])
    assert set(outcomes) <= set(CHECKS)
    assert outcomes["capabilities"] == "passed"
