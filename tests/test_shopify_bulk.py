"""Large windows through a bulk operation: chosen by the driver above its threshold, the JSONL result read in
byte ranges (never whole), served to the engine page by page; the same ledger as the paged path, and a failed
or unsorted bulk result falls back to pages without losing an order."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ecc_connectors import Connector, Order, SQLiteLedger
from ecc_connectors.testing.shopify import FakeShopify
from test_shopify_support import fake_shop, policy, shopify_driver

pytestmark = pytest.mark.usefixtures("quiet_retries")


def _shop(count: int = 30) -> FakeShopify:
    store = fake_shop(count, seed=11)
    with store.lock:  # a crowd of ties: eight orders in one second
        moment = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=1)
        for _ in range(8):
            store.shop.add_order(created=moment, updated=moment, lines=(("MUG-001", 1),) * 1 + (("SOCK-3PK", 2),))
    store.bulk(steps=2)
    return store


def _ledger(store: FakeShopify, **driver_kwargs: Any) -> tuple[dict[str, Order], Any]:
    driver = shopify_driver(store, page_size=5, bulk_poll_seconds=0.01, **driver_kwargs)
    with Connector(driver, policy(), SQLiteLedger()) as connector:
        connector.download()
        records = connector.orders() + connector.ignored()
        return {r.order_id: r.order for r in records}, driver


def test_bulk_and_paged_downloads_give_the_same_ledger() -> None:
    with _shop() as store:
        paged, paged_driver = _ledger(store, bulk_threshold=0)
        store.clear_requests()
        bulk, bulk_driver = _ledger(store, bulk_threshold=20, bulk_chunk=4096)
        requests = store.requests
    assert paged_driver.bulk_runs == 0
    assert bulk_driver.bulk_runs == 1
    assert len(paged) == 38
    assert bulk == paged
    ranges = [r for r in requests if r.path.startswith("/bulk/")]
    assert len(ranges) > 3  # the file was read a chunk at a time
    assert all("range" in {k.lower() for k in r.headers} for r in ranges)
    assert not [r for r in requests if b"query Orders(" in r.body]  # no paged listing on the bulk path


def test_a_window_under_the_threshold_reads_by_pages() -> None:
    with _shop(10) as store:
        found, driver = _ledger(store, bulk_threshold=100)
    assert driver.bulk_runs == 0
    assert len(found) == 18
    assert not store.endpoint.bulk


def test_a_failed_bulk_operation_falls_back_to_pages() -> None:
    with _shop() as store:
        expected, _ = _ledger(store, bulk_threshold=0)
        store.bulk(fail=True)
        found, driver = _ledger(store, bulk_threshold=20)
    assert driver.bulk_runs == 1
    assert found == expected


def test_an_unsorted_bulk_result_is_refused_and_pages_read_the_window() -> None:
    with _shop() as store:
        expected, _ = _ledger(store, bulk_threshold=0)
        store.bulk(unsorted=True)
        store.clear_requests()
        found, driver = _ledger(store, bulk_threshold=20, bulk_chunk=2048)
        paged = [r for r in store.requests if b"query Orders(" in r.body]
    assert driver.bulk_runs == 1
    assert found == expected
    assert paged  # the file was refused before any page was served from it, and pages read the window
