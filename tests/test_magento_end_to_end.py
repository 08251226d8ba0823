"""The whole stack against the fake Magento store over a real socket: engine + Magento driver + SQLite ledger.

Every request the store receives is checked against Adobe's schema (the ``fake_magento_factory`` fixture).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from _shared import magento_policy
from ecc_connectors import (
    AsyncConnector,
    Connector,
    Limits,
    SQLiteLedger,
    StatusRule,
    Tracking,
    Unselected,
)
from ecc_connectors.drivers.magento2 import BearerToken, Magento2Driver
from ecc_connectors.testing import FakeMagentoStore

Factory = Callable[..., FakeMagentoStore]

POLICY = magento_policy(StatusRule("canceled", download=False, unselected=Unselected.SKIP))


def driver_for(store: FakeMagentoStore, page_size: int = 25, concurrency: int = 4) -> Magento2Driver:
    return Magento2Driver(
        store.base_url, auth=BearerToken(store.token), page_size=page_size, limits=Limits(concurrency=concurrency)
    )


def table(ledger: SQLiteLedger, store: str) -> set[tuple[Any, ...]]:
    return {(r.order_id, r.tab.value, r.paid, r.shipped, r.fingerprint) for r in ledger.orders(store)} | {
        (r.order_id, r.tab.value, r.paid, r.shipped, r.fingerprint) for r in ledger.orders(store, tab=_ignore())
    }


def _ignore() -> Any:
    from ecc_connectors import Tab

    return Tab.IGNORE


def test_download_pages_concurrently_to_total_count_and_fills_the_tabs(fake_magento_factory: Factory) -> None:
    store = fake_magento_factory(seed=11, order_count=130, edited_pairs=0)
    driver = driver_for(store)
    with Connector(driver, POLICY, SQLiteLedger()) as connector:
        report = connector.download()
        by_status: dict[str, int] = {}
        for order in store.orders():
            by_status[order["status"]] = by_status.get(order["status"], 0) + 1

        selected = sum(n for s, n in by_status.items() if s in ("pending", "processing", "complete"))
        assert report.downloaded == selected == len(connector.orders())
        assert report.skipped == by_status.get("canceled", 0)
        assert report.ignored == len(connector.ignored()) == 130 - selected - report.skipped
        # Keyset listing: every order read exactly once, in slices between pages read by number, without a
        # one-row probe: six pages, page 5 read by number beside the first slice's second page, the keys before
        # it (pages 3 and 4) and after it by keyset.
        assert report.seen == 130
        listing = [dict(r.query) for r in store.requests if r.path.endswith("/V1/orders")]
        probes = [q for q in listing if q.get("searchCriteria[pageSize]") == "1"]
        pages = [q for q in listing if q.get("searchCriteria[pageSize]") == "25"]
        assert probes == []
        assert [q["searchCriteria[currentPage]"] for q in pages if q["searchCriteria[currentPage]"] != "1"] == ["5"]
        assert len(pages) == 6  # ceil(130 / 25): not one request more than the pages
        for record in connector.orders():
            assert record.paid is (record.status != "pending")
            assert record.shipped is (record.status == "complete")


@pytest.mark.parametrize("shell", ["sync", "async"])
def test_under_a_rate_limit_the_window_is_cut_into_no_more_slices_than_the_rate_keeps_busy(
    fake_magento_factory: Factory, shell: str
) -> None:
    # 60 ms a round trip at 20 requests a second: one slice asks about 16 a second, so two slices keep the rate
    # busy and a third covers a slow answer; the five more that concurrency 8 allows would only add requests.
    store = fake_magento_factory(seed=4, order_count=200, edited_pairs=0, latency=0.06)
    driver = Magento2Driver(
        store.base_url, auth=BearerToken(store.token), page_size=20, limits=Limits(concurrency=8, rate=20)
    )
    if shell == "sync":
        with Connector(driver, POLICY, SQLiteLedger()) as connector:
            report = connector.download()
    else:

        async def run() -> Any:
            async with AsyncConnector(driver, POLICY, SQLiteLedger()) as connector:
                return await connector.download()

        report = asyncio.run(run())
    assert report.seen == 200
    listing = [dict(r.query) for r in store.requests if r.path.endswith("/V1/orders")]
    numbered = [q for q in listing if q.get("searchCriteria[currentPage]", "1") != "1"]
    assert 1 <= len(numbered) <= 3  # 2 to 4 slices (round trips of 60-100 ms), not 8


def test_reconcile_reads_what_changed_a_hundred_orders_a_request(fake_magento_factory: Factory) -> None:
    # The store's clock is ours minus a minute until the edits are made, then ours: the edits are stamped a
    # minute back, inside the window reconcile reads (which ends at the store's time, as its last answer said,
    # less the settle delay).
    behind = [timedelta(minutes=1)]
    store = fake_magento_factory(
        seed=7, order_count=240, edited_pairs=0, clock=lambda: datetime.now(timezone.utc) - behind[0]
    )
    with Connector(driver_for(store, page_size=50), POLICY, SQLiteLedger()) as connector:
        connector.download()
        edited = [int(o["entity_id"]) for o in store.orders()][:130]
        for entity in edited:
            store.edit_order(entity, {"shipping_address": {"city": "Reconcile City"}})
        behind[0] = timedelta(0)
        # Reconcile's window ends where the store's clock was last seen; one answer shows it caught up (without
        # it, an edit in the second after the download's last answer can fall past the window's end). The
        # statuses are cached by the driver, so the answer is an order's.
        seen_before = len(store.requests)
        connector.get_order(str(edited[0]))
        assert len(store.requests) == seen_before + 1
        before = len(store.requests)
        report = connector.reconcile()
        asked = store.requests[before:]
        # The canceled orders (skipped by the policy) are not kept, so the key comparison finds them missing.
        skipped = sum(1 for o in store.orders() if o["status"] == "canceled")
        kept_edits = sum(1 for o in store.orders()[:130] if o["status"] != "canceled")
        assert (report.listed, report.changed, report.missing, report.vanished) == (240, kept_edits, skipped, 0)
        by_id = [dict(r.query) for r in asked if r.path.endswith("/V1/orders")
                 and dict(r.query).get("searchCriteria[filter_groups][0][filters][0][field]") == "entity_id"]
        sizes = [len(q["searchCriteria[filter_groups][0][filters][0][value]"].split(",")) for q in by_id]
        assert sorted(sizes) == sorted([100, kept_edits + skipped - 100])  # 100 ids a read, both at once
        assert not [r for r in asked if "/V1/orders/" in r.path]  # no order read one by one
        # The edits of Orders-tab orders are Updates (an Ignore-tab order's is not watched), and nothing else is.
        pending = {u.order_id for u in connector.updates()}
        assert report.updates == len(pending) > 0
        assert pending <= {str(e) for e in edited}
        again = connector.reconcile()
        assert (again.changed, again.missing) == (0, skipped)


def test_sync_and_async_connectors_write_the_same_ledger(fake_magento_factory: Factory, tmp_path: Path) -> None:
    store = fake_magento_factory(seed=5, order_count=90)
    sync_ledger = SQLiteLedger(tmp_path / "sync.db")
    with Connector(driver_for(store), POLICY, sync_ledger) as connector:
        connector.download()

    async def run() -> SQLiteLedger:
        ledger = SQLiteLedger(tmp_path / "async.db")
        async with AsyncConnector(driver_for(store), POLICY, ledger) as connector:
            await connector.download()
        return ledger

    async_ledger = asyncio.run(run())
    store_id = driver_for(store).store_id
    assert table(sync_ledger, store_id) == table(async_ledger, store_id)
    assert len(table(sync_ledger, store_id)) > 50


def test_our_own_post_backs_do_not_come_back_as_updates(fake_magento_factory: Factory) -> None:
    store = fake_magento_factory(seed=2, order_count=60, edited_pairs=0)
    with Connector(driver_for(store), POLICY, SQLiteLedger()) as connector:
        connector.download()
        to_ship = next(r for r in connector.orders() if r.status == "processing" and not r.shipped)
        result = connector.ship(to_ship.order_id, Tracking("1Z999", "ups", "UPS"))
        assert store.shipments(int(to_ship.order_id))[0]["entity_id"] == int(result.shipment_id)
        to_cancel = next(r for r in connector.orders() if r.status == "pending")
        connector.cancel(to_cancel.order_id)

        report = connector.download()
        assert report.updates == 0
        assert connector.updates() == []
        assert connector.ledger.get(connector.store, to_cancel.order_id).status == "canceled"  # type: ignore[union-attr]
        shipped = connector.ledger.get(connector.store, to_ship.order_id)
        assert shipped is not None
        assert shipped.shipped


def test_a_change_made_in_the_store_lands_in_updates_and_redownload_clears_it(
    fake_magento_factory: Factory,
) -> None:
    store = fake_magento_factory(seed=4, order_count=40, edited_pairs=0)
    with Connector(driver_for(store), POLICY, SQLiteLedger()) as connector:
        connector.download()
        target = next(r for r in connector.orders() if r.status == "processing")
        store.edit_order(int(target.order_id), {"shipping_address": {"city": "Springfield"}})
        pending = next(r for r in connector.orders() if r.status == "pending")
        edited = store.admin_edit(int(pending.order_id), {"customer_email": "new@example.com"})

        report = connector.download()
        updates = {u.order_id: u for u in connector.updates()}
        assert len(updates) == 2, updates
        assert report.updates == 2
        city = [c for c in updates[target.order_id].changes if c.path == "shipping_address.city"]
        assert len(city) == 1
        assert city[0].new == "Springfield"
        replacement = next(u for u in updates.values() if u.replaces is not None)
        assert replacement.order.order_id == str(edited)
        assert any(c.path == "customer.email" and c.new == "new@example.com" for c in replacement.changes)

        for order_id in list(updates):
            connector.redownload(order_id)
        assert connector.updates() == []
        assert str(edited) in {r.order_id for r in connector.orders()}
        assert connector.download().updates == 0


def test_throttling_and_server_errors_are_retried_until_the_download_completes(
    fake_magento_factory: Factory,
) -> None:
    store = fake_magento_factory(seed=9, order_count=75, edited_pairs=0)
    store.inject_429(2, retry_after=0)
    store.inject_5xx(2, status=503)
    slept: list[float] = []
    with Connector(driver_for(store), POLICY, SQLiteLedger(), sleep=slept.append) as connector:
        report = connector.download()
    assert report.seen == 75
    assert len(slept) >= 4


def test_quickstart_runs_against_the_embedded_fake_store() -> None:
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in ("Orders tab", "Ignore tab", "Updates tab", "Shipped #", "shipping_address.city"):
        assert expected in out, out


@pytest.mark.parametrize("concurrency", [1, 3])
def test_concurrency_limit_is_what_the_store_sees(fake_magento_factory: Factory, concurrency: int) -> None:
    store = fake_magento_factory(seed=1, order_count=100, edited_pairs=0, latency=0.05)
    with Connector(driver_for(store, page_size=10, concurrency=concurrency), POLICY, SQLiteLedger()) as connector:
        connector.download()
    assert 1 <= store.peak_concurrent_latency <= concurrency
