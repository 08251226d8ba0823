"""The driver through the SDK's engine, against the fake Ecwid store over a real local socket."""

from __future__ import annotations

import importlib.metadata
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from ecc_connectors_ecwid import EcwidDriver
from ecc_connectors_ecwid.testing import FakeEcwidStore

import ecc_connectors
from conftest import Clock
from ecc_connectors import (
    Connector,
    DownloadRange,
    Incremental,
    SQLiteLedger,
    StatusMapping,
    StatusRule,
    SyncPolicy,
    Tracking,
    Unselected,
)
from ecc_connectors.driver import Capability, ShipmentRequest, StoreError
from ecc_connectors.testing.base import ReceivedRequest

START = datetime(2020, 1, 1, tzinfo=timezone.utc)


def policy() -> SyncPolicy:
    return SyncPolicy(
        statuses=StatusMapping((
            StatusRule("PAID|*", process_payment=False),
            StatusRule("AWAITING_PAYMENT|*", process_payment=True),
        )),
        range=DownloadRange(start=START),
        unselected=Unselected.IGNORE_TAB,
        incremental=Incremental(lookback=timedelta(minutes=5), settle_delay=timedelta(0)),
    )


def is_search(request: ReceivedRequest) -> bool:
    return request.method == "GET" and request.path.endswith("/orders")


def driver_for(store: FakeEcwidStore) -> EcwidDriver:
    return EcwidDriver(store.store_id, store.token, base_url=store.base_url)


@pytest.fixture
def clock() -> Clock:
    """The store's clock, from the host's time on but moved by hand: until a connector has had an answer (and
    its ``Date``), the engine takes the window's end from the host's clock."""
    return Clock(time.time())


@pytest.fixture
def store(clock: Clock) -> Iterator[FakeEcwidStore]:
    with FakeEcwidStore(orders=0, clock=clock.utc) as fake:
        now = int(clock())
        fake.shop.seed(320, start=now - 20 * 86400, end=now - 600, seed=3)
        yield fake


def test_found_through_its_entry_point(store: FakeEcwidStore) -> None:
    distribution = importlib.metadata.distribution("ecc-connectors-ecwid")
    points = [ep for ep in distribution.entry_points if ep.group == "ecc_connectors.drivers"]
    assert [(ep.name, ep.value) for ep in points] == [("ecwid", "ecc_connectors_ecwid:EcwidDriver")]
    assert ecc_connectors.available_drivers()["ecwid"] is EcwidDriver
    driver = ecc_connectors.create_driver("ecwid", store_id=store.store_id, token=store.token,
                                          base_url=store.base_url)
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        assert len(connector.list_statuses()) == 48


def test_download_everything_once(store: FakeEcwidStore) -> None:
    with Connector(driver_for(store), policy(), SQLiteLedger()) as connector:
        report = connector.download()
        records = {r.order_id: r for r in (*connector.orders(), *connector.ignored())}
        assert report.downloaded + report.ignored == 320 == len(records)
        again = connector.download()
        assert again.downloaded == again.ignored == 0
    for order in store.shop.orders.values():
        record = records[str(order["internalId"])]
        assert record.order.totals.grand_total == Decimal(str(order["total"]))
        assert record.order.status == f"{order['paymentStatus']}|{order['fulfillmentStatus']}"
        paid = order["paymentStatus"] == "PAID"
        assert record.paid is paid or order["paymentStatus"] not in ("PAID", "AWAITING_PAYMENT")


def test_a_download_under_churn_loses_nothing(store: FakeEcwidStore, clock: Clock) -> None:
    """Orders edited between pages leave the window (their stamp moves past its end), so the rows behind them
    move up one place and slide onto pages already read. The key listing finds each one and it is read by id."""
    shop = store.shop
    edited: list[int] = []

    def churn(request: ReceivedRequest) -> None:
        params = dict(request.query)
        if not is_search(request) or params.get("responseFields") or params.get("offset", "0") == "0":
            return
        clock.now += 5  # the store's time moves on: what it edits now is stamped after the window
        newest_first = sorted(shop.orders.values(), key=lambda o: (o["createTimestamp"], o["internalId"]),
                              reverse=True)
        with store.lock:
            for order in newest_first[:3]:  # on the first page, already read
                if order["internalId"] not in edited:
                    edited.append(order["internalId"])
                    shop.edit(order["internalId"], {"orderComments": "changed"})

    store.on_request(churn)  # before each request is answered (an order search's, here)
    before = set(shop.orders)
    with Connector(driver_for(store), policy(), SQLiteLedger()) as connector:
        connector.download()
        store.clear_hooks()
        unchanged = before - set(edited)
        held = {int(r.order_id) for r in (*connector.orders(), *connector.ignored())}
        assert unchanged <= held, f"lost {sorted(unchanged - held)}"
        assert edited  # the churn happened
        connector.download()  # the next run reads the edited ones
        held = {int(r.order_id) for r in (*connector.orders(), *connector.ignored())}
        assert held == before


class PagesOnly(EcwidDriver):
    """The same driver without its key listing: what the engine could do without ``list_keys``."""

    capabilities = EcwidDriver.capabilities - {Capability.LIST_KEYS}


def test_without_the_key_listing_the_same_churn_loses_orders(store: FakeEcwidStore, clock: Clock) -> None:
    """The churn test has teeth: the numbered pages alone skip the rows that slid."""
    shop = store.shop
    done: list[int] = []

    def churn(request: ReceivedRequest) -> None:
        if not is_search(request) or dict(request.query).get("offset", "0") == "0" or done:
            return
        clock.now += 5
        with store.lock:
            newest = max(shop.orders.values(), key=lambda o: (o["createTimestamp"], o["internalId"]))
            done.append(newest["internalId"])
            shop.edit(newest["internalId"])

    store.on_request(churn)
    driver = PagesOnly(store.store_id, store.token, base_url=store.base_url)
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        connector.download()
        held = {int(r.order_id) for r in (*connector.orders(), *connector.ignored())}
    assert len(set(shop.orders) - set(done) - held) >= 1


def test_ship_cancel_and_status_happen_once(store: FakeEcwidStore) -> None:
    shop = store.shop
    unpaid = next(o for o in shop.orders.values() if o["paymentStatus"] == "AWAITING_PAYMENT")
    paid = next(o for o in shop.orders.values() if o["paymentStatus"] == "PAID")
    with Connector(driver_for(store), policy(), SQLiteLedger(), sleep=lambda s: None) as connector:
        connector.download()
        store.lose_write_answers(1)  # the store applies the update, then its answer is lost (a 500)
        with pytest.raises(StoreError):  # the driver marks its PUTs as not to be resent blindly
            connector.ship(str(paid["internalId"]), Tracking("1Z999AA1", "ups", "UPS"))
        assert shop.orders[paid["internalId"]]["fulfillmentStatus"] == "SHIPPED"
        assert shop.orders[paid["internalId"]]["trackingNumber"] == "1Z999AA1"
        puts = [r for r in store.requests if r.method == "PUT"]
        assert [r.json() for r in puts] == [{"fulfillmentStatus": "SHIPPED", "trackingNumber": "1Z999AA1"}]
        # Called again, as a user does after an error: the store is checked first and nothing is sent twice.
        assert connector.ship(str(paid["internalId"]), Tracking("1Z999AA1", "ups", "UPS")).already_shipped
        assert [r for r in store.requests if r.method == "PUT"] == puts
        connector.ship(str(paid["internalId"]), Tracking("1Z999AA1", "ups", "UPS"))  # recorded: no request
        assert [r for r in store.requests if r.method == "PUT"] == puts
        fresh = driver_for(store)  # another process, without the ledger's record: the store is checked first
        assert connector.run(fresh.ship(ShipmentRequest(str(paid["internalId"]), (Tracking("1Z999AA1"),)))) \
            .already_shipped
        assert [r for r in store.requests if r.method == "PUT"] == puts
        connector.set_status(str(unpaid["internalId"]), "PROCESSING")
        connector.cancel(str(unpaid["internalId"]))
        assert shop.orders[unpaid["internalId"]]["paymentStatus"] == "CANCELLED"
        assert shop.orders[unpaid["internalId"]]["fulfillmentStatus"] == "PROCESSING"


def test_throttled_requests_wait_and_go_on(store: FakeEcwidStore) -> None:
    store.inject_429(2, retry_after=0)
    with Connector(driver_for(store), policy(), SQLiteLedger(), sleep=lambda s: None) as connector:
        report = connector.download()
    assert report.downloaded + report.ignored == 320


def test_reconcile_finds_nothing_missing_after_a_download(store: FakeEcwidStore) -> None:
    with Connector(driver_for(store), policy(), SQLiteLedger()) as connector:
        connector.download()
        report = connector.reconcile()
    assert report.listed == 320
    assert report.missing == 0


def test_the_async_shell_runs_the_same_driver(store: FakeEcwidStore) -> None:
    import asyncio

    from ecc_connectors import AsyncConnector

    async def main() -> int:
        async with AsyncConnector(driver_for(store), policy(), SQLiteLedger()) as connector:
            report = await connector.download()
            return report.downloaded + report.ignored

    assert asyncio.run(main()) == 320
