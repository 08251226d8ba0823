"""The keyset walk for a driver with ``listing_page``: the window is cut by pages read by number (no one-row
probe), and nothing is lost or read twice when orders move while it is read."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

import httpx
import pytest

from ecc_connectors import AsyncConnector, Connector, DownloadReport
from ecc_connectors.ledger import SQLiteLedger
from fakedriver import FakeStore, InjectedCrash, PagingFakeDriver, iso, make_order, parse_time
from plugin_engine import NOW, T0, Clock, make_policy


def _orders(count: int) -> list[dict[str, Any]]:
    # Every order downloaded (processing), a minute apart, a few sharing a second (ties broken by id).
    return [make_order(n, updated=T0 + timedelta(minutes=n // 3)) for n in range(1, count + 1)]


def _download(store: FakeStore, ledger: SQLiteLedger, clock: Clock, shell: str, **options: Any) -> DownloadReport:
    driver = PagingFakeDriver(**options)
    if shell == "sync":
        with httpx.Client(transport=store.transport()) as client, Connector(
            driver, make_policy(), ledger, client=client, clock=clock, sleep=lambda _: None
        ) as connector:
            return connector.download()

    async def run() -> DownloadReport:
        async with httpx.AsyncClient(transport=store.async_transport()) as client, AsyncConnector(
            driver, make_policy(), ledger, client=client, clock=clock
        ) as connector:
            return await connector.download()

    return asyncio.run(run())


def test_a_quiet_window_is_read_in_as_many_requests_as_pages_without_a_probe() -> None:
    store = FakeStore(_orders(200))
    driver = PagingFakeDriver(page_size=10, concurrency=4)
    with SQLiteLedger() as ledger, httpx.Client(transport=store.transport()) as client, Connector(
        driver, make_policy(), ledger, client=client, clock=Clock(), sleep=lambda _: None
    ) as connector:
        report = connector.download()
        assert report.seen == 200
        assert len(connector.orders()) == 200
    listing = [r for r in store.requests if r.url.path == "/orders"]
    assert [r for r in listing if "probe" in r.url.params] == []
    assert len(listing) == 20  # 200 orders, 10 a page: not one request more
    # Beside the second page, pages 7, 12 and 17 by number: the stretches before, between and after them hold
    # 4, 4, 4 and 3 pages, one slice each.
    assert driver.numbers == [7, 12, 17]


def test_a_page_number_past_the_end_is_harmless() -> None:
    # The first page counted 120 orders; 80 of them leave the window before the pages by number are read, so
    # those pages lie past the end and the store answers its last page again (as Magento does).
    store = FakeStore(_orders(120))
    gone = [str(n) for n in range(1, 81) if n > 20]

    def leave(number: int) -> None:
        if number == 2:
            for order_id in gone:
                store.orders[order_id] = {**store.orders[order_id], "updated": iso(NOW + timedelta(hours=1))}

    store.on_list = leave
    clock = Clock()
    with SQLiteLedger() as ledger:
        report = _download(store, ledger, clock, "sync", page_size=10, concurrency=4)
        # The 40 orders left are read (and any that left after a page by number had held them), each once.
        kept = {o["id"] for o in store.orders.values() if o["id"] not in gone}
        read = {r.order_id for r in ledger.orders("fake-store")}
        assert kept <= read
        assert report.seen == len(read)


@pytest.mark.parametrize("shell", ["sync", "async"])
def test_orders_moving_while_the_window_is_read_by_number_lose_nothing(shell: str) -> None:
    """Seeded schedules: while a window is read, orders are edited (they leave it, and every row behind them
    moves up), at random listing requests. After the run every order that was not touched is in the ledger and
    none was read twice; after one more run, the ledger holds every order with the store's own stamp."""
    schedules = 60 if shell == "sync" else 25
    for seed in range(schedules):
        rng = random.Random(seed)
        count = rng.randint(15, 150)
        store = FakeStore(_orders(count))
        touched: set[str] = set()
        edits: dict[int, list[str]] = {}
        for _ in range(rng.randint(0, 12)):
            edits.setdefault(rng.randint(1, 12), []).append(str(rng.randint(1, count)))

        def churn(number: int, store: FakeStore = store, edits: dict[int, list[str]] = edits,
                  touched: set[str] = touched, rng: random.Random = rng) -> None:
            for order_id in edits.get(number, []):
                touched.add(order_id)
                later = NOW + timedelta(minutes=rng.randint(1, 50))
                # A new stamp alone (a touch): the newer copy then replaces the stored one, so the end state is
                # checked stamp for stamp.
                store.orders[order_id] = {**store.orders[order_id], "updated": iso(later)}

        store.on_list = churn
        clock = Clock()
        options: dict[str, Any] = {"page_size": rng.randint(2, 9), "concurrency": rng.randint(2, 6)}
        with SQLiteLedger() as ledger:
            report = _download(store, ledger, clock, shell, **options)
            kept = {r.order_id for r in ledger.orders("fake-store")}
            untouched = {o for o in store.orders if o not in touched}
            assert untouched <= kept, (seed, sorted(untouched - kept, key=int))
            assert report.seen == len(kept), seed  # every order read is kept, and none was read twice
            store.on_list = None
            clock.now = NOW + timedelta(hours=2)
            _download(store, ledger, clock, shell, **options)
            stamps = {r.order_id: r.order.updated_at for r in ledger.orders("fake-store")}
            assert set(stamps) == set(store.orders), seed
            for order_id, order in store.orders.items():
                assert iso(stamps[order_id]) == order["updated"], (seed, order_id)



@pytest.mark.parametrize("crash_before", [3, 4, 5, 7, 9])
def test_a_run_that_dies_between_pages_resumes_without_loss(crash_before: int) -> None:
    # Pages read by number are committed ahead of the slices before them; the mark must still stay at the
    # first unfinished slice, so a run that dies mid-way and resumes from its mark (less the lookback) misses
    # nothing.
    store = FakeStore(_orders(150))
    clock = Clock()
    with SQLiteLedger() as ledger:
        driver = PagingFakeDriver(page_size=10, concurrency=3)
        driver.crash_before_page = crash_before
        with httpx.Client(transport=store.transport()) as client, Connector(
            driver, make_policy(), ledger, client=client, clock=clock, sleep=lambda _: None
        ) as connector:
            with pytest.raises(InjectedCrash):
                connector.download()
            mark = ledger.high_water("fake-store")
            assert driver.numbers  # pages by number were asked for before the crash
            committed = {r.order_id for r in ledger.orders("fake-store")}
            if mark is None:
                assert committed == set()  # the pages commit with their marks or not at all
            else:
                # The mark never passes an order not committed (the pages read by number run ahead of it).
                below = {o["id"] for o in store.orders.values() if parse_time(o["updated"]) < mark.mark}
                assert below <= committed
            driver.crash_before_page = None
            connector.download()
        assert {r.order_id for r in ledger.orders("fake-store")} == set(store.orders)
        assert committed < set(store.orders)
