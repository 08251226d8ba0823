"""The driver conformance suite against the ``netsuite_rest`` driver and :class:`FakeNetSuiteRest`, through an
adapter that gives the fake the ``ConformanceStore`` side the checks need."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ecc_connectors.drivers.netsuite_rest import ClientCredentials, NetSuiteRestDriver, NetSuiteRestSettings
from ecc_connectors.testing.conformance import CHECKS, ConformanceStore, FakeStoreAdapter, run_checks
from ecc_connectors.testing.netsuite_rest import FakeNetSuiteRest, status_code
from ecc_connectors.testing.pytest_plugin import DriverConformance

ITEM = "15"  # TD-100 of the sample data: active, in stock
CUSTOMER = "87"


class NetSuiteRestConformanceStore(FakeStoreAdapter[FakeNetSuiteRest]):
    """Adapts a :class:`FakeNetSuiteRest` to the checks. Order ids are sales order internal ids; a status is the
    schema's ``SalesOrderOrderStatus`` value of the order's letter (what the driver reports). NetSuite keeps no
    comment history: a comment is a line of the order's ``memo`` or the ``memo`` of one of its fulfilments.
    Shipments are item fulfilments created from the order."""

    def __init__(self, orders: int = 14) -> None:
        super().__init__(FakeNetSuiteRest())
        start = self.fake.now() - timedelta(days=2)
        for n in range(orders):
            self.fake.add_sales_order(
                [(ITEM, n % 3 + 1, "14.00")], customer=CUSTOMER, created=start + timedelta(minutes=n)
            )

    def order_ids(self) -> list[str]:
        with self.fake.lock:
            orders = sorted(self.fake.sales_orders.values(), key=lambda o: (o["lastModifiedDate"], int(o["id"])))
            return [str(o["id"]) for o in orders]

    def edit(self, order_id: str) -> None:
        self.fake.touch(order_id, email=f"edited{order_id}@example.com")

    def create(self) -> str:
        """A new order pending fulfilment: shippable, approved already, cancellable by closing its lines."""
        return self.fake.add_sales_order([(ITEM, 2, "14.00")], customer=CUSTOMER, status="B")

    def status_of(self, order_id: str) -> str:
        return status_code(self.fake.status_of(order_id))

    def count_comments(self, order_id: str, text: str) -> int:
        with self.fake.lock:
            memos = str(self.fake.sales_orders[order_id].get("memo") or "").splitlines()
            memos += [str(f.get("memo")) for f in self.fake.fulfilments.values() if f["createdFrom"] == order_id]
        return memos.count(text)

    def count_shipments(self, order_id: str) -> int:
        with self.fake.lock:
            return sum(1 for f in self.fake.fulfilments.values() if f["createdFrom"] == order_id)


def rest_store() -> NetSuiteRestConformanceStore:
    return NetSuiteRestConformanceStore()


def rest_driver(store: NetSuiteRestConformanceStore) -> NetSuiteRestDriver:
    fake = store.fake
    credentials = ClientCredentials(fake.account, fake.client_id, fake.certificate_id, fake.private_key_pem)
    return NetSuiteRestDriver(
        credentials, NetSuiteRestSettings(endpoint=fake.base_url, time_zone=fake.time_zone, page_size=5)
    )


pytestmark = pytest.mark.usefixtures("quiet_retries")  # lost answers and dropped connections are the point


class TestNetSuiteRest(DriverConformance):
    """The netsuite_rest driver against FakeNetSuiteRest, five orders a page."""

    store_factory = staticmethod(rest_store)
    driver_factory = staticmethod(rest_driver)


def test_the_adapter_is_a_conformance_store() -> None:
    store = rest_store()
    try:
        assert isinstance(store, ConformanceStore)
        assert len(store.order_ids()) >= 10
    finally:
        store.stop()


def test_run_checks_reports_every_check() -> None:
    outcomes = run_checks(rest_driver, rest_store, ["capabilities"])
    assert set(outcomes) <= set(CHECKS)
    assert outcomes["capabilities"] == "passed"
