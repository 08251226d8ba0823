"""Zero loss under a changing store, at the engine level, against the in-memory keyset store of ``fakedriver``.

The randomized schedules drive downloads (sync and async shells) while the store edits, creates and moves orders
between requests, with stamps that tie, a store clock ahead of or behind ours, and crashes between pages; after
each schedule the store goes quiet, one more run passes, and the ledger must equal the store exactly. The same
promise against the Magento fake over its real socket is in ``test_magento_zero_loss.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import httpx
import pytest

from ecc_connectors import (
    ActionInProgress,
    AsyncConnector,
    Capability,
    Connector,
    Incremental,
    SQLiteLedger,
    Unselected,
)
from fakedriver import FakeDriver, FakeStore, InjectedCrash, iso, make_order
from plugin_engine import NOW, T0, Clock, make_policy

STORE = "fake-store"
STATUSES = ("processing", "pending", "complete")


def _store_at(start: datetime) -> tuple[FakeStore, list[datetime]]:
    store = FakeStore(async_delay=0.0)
    now = [start]
    store.clock = lambda: now[0]
    return store, now


def _ledger_matches_store(ledger: SQLiteLedger, store: FakeStore) -> list[str]:
    """Every store order is in the ledger (one row: the ledger is keyed by order), with the store's status, in
    the copy kept or in a pending update of it. (An edit the policy does not watch, such as a new address on an
    ignored order, rightly leaves the kept copy as it was.)"""
    problems = []
    for oid, order in store.orders.items():
        record = ledger.get(STORE, oid)
        if record is None:
            problems.append(f"{oid}: missing")
            continue
        if record.order.status == order["status"]:
            continue
        pending = ledger.pending(STORE, oid)
        if pending is None or pending.order.status != order["status"]:
            problems.append(
                f"{oid}: stale status {record.order.status} (store: {order['status']} at {order['updated']})"
            )
    return problems


@attrs.define
class Schedule:
    seed: int
    mode: str
    orders: int
    page_size: int
    concurrency: int
    skew: timedelta
    churn: float
    crash_at: int | None
    lookback: timedelta

    @classmethod
    def draw(cls, seed: int, mode: str) -> Schedule:
        rng = random.Random(seed)
        return cls(
            seed=seed,
            mode=mode,
            orders=rng.randint(5, 60),
            page_size=rng.randint(2, 7),
            concurrency=rng.randint(1, 4),
            skew=rng.choice([timedelta(hours=-3), timedelta(0), timedelta(minutes=7), timedelta(hours=5)]),
            churn=rng.choice([0.0, 0.3, 0.8]),
            crash_at=rng.choice([None, None, 2, 3, 5]),
            lookback=rng.choice([timedelta(0), timedelta(minutes=5)]),
        )


def _seed_store(schedule: Schedule) -> tuple[FakeStore, list[datetime], random.Random]:
    rng = random.Random(schedule.seed * 7919 + 1)
    store_start = NOW + schedule.skew  # the store's clock, against the client's NOW
    store, now = _store_at(store_start)
    # Stamps drawn from few seconds, so ties are common.
    seconds = [T0 + timedelta(hours=rng.randint(0, 200), seconds=rng.randint(0, 2)) for _ in range(12)]
    for n in range(1, schedule.orders + 1):
        stamp = rng.choice(seconds)
        store.put(make_order(n, updated=stamp, status=rng.choice(STATUSES)))
    return store, now, rng


def _churn(store: FakeStore, now: list[datetime], rng: random.Random, rate: float) -> Callable[[int], None]:
    next_id = [10_000 + rng.randint(0, 100)]

    def mutate(_: int) -> None:
        now[0] += timedelta(seconds=1)  # time passes at the store between two listing requests
        if rng.random() >= rate or not store.orders:
            return
        what = rng.random()
        stamp = iso(now[0])
        if what < 0.5:
            order = store.orders[rng.choice(list(store.orders))]
            order["updated"] = stamp
            order["ship_city"] = f"City {rng.randint(0, 999)}"
        elif what < 0.8:
            next_id[0] += 1
            store.put(make_order(next_id[0], updated=now[0], status=rng.choice(STATUSES)))
        else:
            order = store.orders[rng.choice(list(store.orders))]
            order["status"] = rng.choice(STATUSES)
            order["updated"] = stamp

    return mutate


def _driver(schedule: Schedule) -> FakeDriver:
    if schedule.mode == "keyset":
        return FakeDriver(mode="keyset", page_size=schedule.page_size, concurrency=schedule.concurrency)
    # Offset pages, verified against the key listing before the mark moves.
    return FakeDriver(
        mode="numbered",
        page_size=schedule.page_size,
        concurrency=schedule.concurrency,
        capabilities=frozenset(Capability) - {Capability.SEEK_ORDERS},
    )


def _policy(schedule: Schedule) -> Any:
    return make_policy(
        unselected=Unselected.IGNORE_TAB, incremental=Incremental(lookback=schedule.lookback)
    )


def run_schedule_sync(schedule: Schedule) -> list[str]:
    store, now, rng = _seed_store(schedule)
    driver = _driver(schedule)
    with SQLiteLedger() as ledger, httpx.Client(transport=store.transport()) as client:
        connector = Connector(driver, _policy(schedule), ledger, client=client, clock=Clock(), sleep=lambda _: None)
        store.on_list = _churn(store, now, rng, schedule.churn)
        for run in range(3):
            driver.crash_before_page = schedule.crash_at if run == 1 else None
            with contextlib.suppress(InjectedCrash):
                connector.download()
        store.on_list = lambda _: None  # quiet
        driver.crash_before_page = None
        now[0] += timedelta(seconds=2)
        connector.download()
        connector.close()
        return _ledger_matches_store(ledger, store)


async def run_schedule_async(schedule: Schedule) -> list[str]:
    store, now, rng = _seed_store(schedule)
    driver = _driver(schedule)
    with SQLiteLedger() as ledger:
        async with httpx.AsyncClient(transport=store.async_transport()) as client:
            connector = AsyncConnector(driver, _policy(schedule), ledger, client=client, clock=Clock())
            store.on_list = _churn(store, now, rng, schedule.churn)
            for run in range(3):
                driver.crash_before_page = schedule.crash_at if run == 1 else None
                with contextlib.suppress(InjectedCrash):
                    await connector.download()
            store.on_list = lambda _: None
            driver.crash_before_page = None
            now[0] += timedelta(seconds=2)
            await connector.download()
            await connector.aclose()
        return _ledger_matches_store(ledger, store)


SCHEDULES = 200


@pytest.mark.parametrize("mode", ["keyset", "numbered"])
def test_randomized_schedules_lose_nothing_sync(mode: str) -> None:
    logging.disable(logging.WARNING)  # crashes and moved totals are expected here: keep the output short
    try:
        failures = {}
        for seed in range(SCHEDULES):
            schedule = Schedule.draw(seed, mode)
            problems = run_schedule_sync(schedule)
            if problems:
                failures[seed] = (schedule, problems[:5])
    finally:
        logging.disable(logging.NOTSET)
    assert failures == {}


@pytest.mark.parametrize("mode", ["keyset", "numbered"])
def test_randomized_schedules_lose_nothing_async(mode: str) -> None:
    logging.disable(logging.WARNING)
    try:
        failures = {}
        for seed in range(SCHEDULES):
            schedule = Schedule.draw(seed + 10_000, mode)
            problems = asyncio.run(run_schedule_async(schedule))
            if problems:
                failures[seed] = (schedule, problems[:5])
    finally:
        logging.disable(logging.NOTSET)
    assert failures == {}


# ---------------------------------------------------------------------------------------------------------
# The cases of the report, one by one


def _quiet_store(count: int) -> tuple[FakeStore, list[datetime]]:
    store, now = _store_at(NOW)
    for n in range(1, count + 1):
        store.put(make_order(n, updated=T0 + timedelta(minutes=n)))
    return store, now


def test_one_edit_between_two_pages_loses_no_unedited_order() -> None:
    """A 500-order store, one order edited right after page 1 was read: offset pages would slide the first row
    of page 2 onto page 1 and lose it for good; the keyset walk and the verified offset walk both keep it."""
    for capabilities in (None, frozenset(Capability) - {Capability.SEEK_ORDERS}):
        store, now = _quiet_store(500)
        mode = "keyset" if capabilities is None else "numbered"
        driver = FakeDriver(mode=mode, page_size=50, concurrency=1, capabilities=capabilities)

        def edit_after_first(number: int, store: FakeStore = store, now: list[datetime] = now) -> None:
            if number == 2:
                store.orders["3"]["updated"] = iso(now[0])
                store.orders["3"]["ship_city"] = "York"

        store.on_list = edit_after_first
        with SQLiteLedger() as ledger, httpx.Client(transport=store.transport()) as client:
            connector = Connector(driver, make_policy(), ledger, client=client, clock=Clock())
            connector.download()
            missing = [oid for oid in store.orders if ledger.get(STORE, oid) is None]
            assert missing == [], mode
            connector.close()


def test_the_window_ends_at_the_store_clock_so_edits_during_a_run_are_not_lost() -> None:
    """The store's clock is 3 hours behind ours. An order not yet read is edited during the run: its new stamp
    is after the window (store time), so the next run reads it; the mark never passes it."""
    store, now = _store_at(NOW - timedelta(hours=3))
    for n in range(1, 41):
        store.put(make_order(n, updated=T0 + timedelta(minutes=n)))
    driver = FakeDriver(mode="keyset", page_size=5, concurrency=2)

    def edit_late(number: int) -> None:
        now[0] += timedelta(seconds=1)
        if number == 3:
            store.orders["38"]["updated"] = iso(now[0])
            store.orders["38"]["status"] = "pending"

    store.on_list = edit_late
    with SQLiteLedger() as ledger, httpx.Client(transport=store.transport()) as client:
        connector = Connector(driver, make_policy(), ledger, client=client, clock=Clock())
        report = connector.download()
        assert report.updated_to <= NOW - timedelta(hours=3) + timedelta(seconds=5)
        mark = ledger.high_water(STORE)
        assert mark is not None
        assert mark.mark <= report.updated_to
        store.on_list = None
        connector.download()
        record = ledger.get(STORE, "38")
        assert record is not None
        assert record.order.status == "pending"
        connector.close()


def test_a_stamp_far_in_the_future_does_not_move_the_mark_past_the_window(caplog: pytest.LogCaptureFixture) -> None:
    store, now = _quiet_store(12)
    driver = FakeDriver(mode="keyset", page_size=4, concurrency=1)
    real_list = store._list

    def lying_list(request: httpx.Request) -> httpx.Response:
        response = real_list(request)
        data = response.json()
        if data.get("orders") and "after_t" in request.url.params:
            data["orders"][-1] = {**data["orders"][-1], "updated": "2099-01-01T00:00:00Z"}
            return httpx.Response(200, json=data)
        return response

    store._list = lying_list  # type: ignore[method-assign]
    with SQLiteLedger() as ledger, httpx.Client(transport=store.transport()) as client:
        connector = Connector(driver, make_policy(), ledger, client=client, clock=Clock())
        with caplog.at_level(logging.WARNING):
            report = connector.download()
        mark = ledger.high_water(STORE)
        assert mark is not None
        assert mark.mark <= report.updated_to < datetime(2099, 1, 1, tzinfo=timezone.utc)
        assert "outside the window asked for" in caplog.text
        # The next run still reads what changed after it.
        store._list = real_list  # type: ignore[method-assign]
        store.put(make_order(13, updated=now[0] - timedelta(seconds=1)))
        now[0] += timedelta(seconds=5)
        connector.download()
        assert ledger.get(STORE, "13") is not None
        connector.close()


def test_a_cut_short_answer_to_a_read_is_asked_again() -> None:
    store, _ = _quiet_store(10)
    driver = FakeDriver(mode="keyset", page_size=4, concurrency=1)
    real_list = store._list
    broken = [2]

    def truncating(request: httpx.Request) -> httpx.Response:
        response = real_list(request)
        if broken[0] > 0:
            broken[0] -= 1
            return httpx.Response(200, content=response.content[: len(response.content) // 2])
        return response

    store._list = truncating  # type: ignore[method-assign]
    with SQLiteLedger() as ledger, httpx.Client(transport=store.transport()) as client:
        connector = Connector(driver, make_policy(), ledger, client=client, clock=Clock())
        connector.download()
        assert all(ledger.get(STORE, oid) is not None for oid in store.orders)
        assert broken == [0]
        connector.close()


def test_a_poisoned_order_is_quarantined_and_the_run_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from ecc_connectors import rules

    store, now = _quiet_store(10)
    driver = FakeDriver(mode="keyset", page_size=4, concurrency=1)
    real_decide = rules.decide

    def poisoned(order: Any, *args: Any, **kwargs: Any) -> Any:
        if order.order_id == "5":
            raise ArithmeticError("overflow computing the total")
        return real_decide(order, *args, **kwargs)

    monkeypatch.setattr(rules, "decide", poisoned)
    with SQLiteLedger() as ledger, httpx.Client(transport=store.transport()) as client:
        connector = Connector(driver, make_policy(), ledger, client=client, clock=Clock())
        report = connector.download()
        assert report.failures == 1
        (failure,) = connector.failures()
        assert "ArithmeticError" in failure.problem
        assert failure.raw is not None
        assert {r.order_id for r in connector.orders()} == {str(n) for n in range(1, 11)} - {"5"}
        mark = ledger.high_water(STORE)
        assert mark is not None
        assert mark.mark >= T0 + timedelta(minutes=10)
        # Fixed in the store: the next read of that order lands and clears the failure.
        monkeypatch.setattr(rules, "decide", real_decide)
        store.orders["5"]["updated"] = iso(now[0] - timedelta(seconds=1))
        now[0] += timedelta(seconds=5)
        connector.download()
        assert connector.failures() == []
        assert ledger.get(STORE, "5") is not None
        connector.close()


def test_numbered_pages_stop_where_the_store_runs_out_whatever_the_total_says() -> None:
    from ecc_connectors import NumberedPages, OrderQuery, Page

    store, _ = _quiet_store(5)

    class LyingTotal(FakeDriver):
        def first_page(self, query: OrderQuery) -> Any:
            page = yield from super().first_page(query)
            fetch = page.next.fetch if page.next is not None else (lambda n: self._page(query, n, None))
            return Page(page.orders, NumberedPages(range(2, 10**12), fetch, page_size=2), total=10**12)

    driver = LyingTotal(mode="numbered", page_size=2, concurrency=2)
    with SQLiteLedger() as ledger, httpx.Client(transport=store.transport()) as client:
        connector = Connector(driver, make_policy(), ledger, client=client, clock=Clock())
        connector.download()
        assert all(ledger.get(STORE, oid) is not None for oid in store.orders)
        assert len(store.sent("GET", "/orders")) < 10
        connector.close()


# ---------------------------------------------------------------------------------------------------------
# Reconcile


def test_reconcile_finds_orders_never_seen_and_changes_behind_the_mark() -> None:
    store, _now = _quiet_store(30)
    driver = FakeDriver(mode="keyset", page_size=7, concurrency=3)
    with SQLiteLedger() as ledger, httpx.Client(transport=store.transport()) as client:
        connector = Connector(driver, make_policy(), ledger, client=client, clock=Clock())
        connector.download()
        # What a lossy listing would leave behind: an order the ledger never saw, stamped far behind the mark,
        # and a change to a known order also stamped behind the mark.
        store.put(make_order(31, updated=T0 + timedelta(seconds=30)))
        store.orders["4"]["status"] = "pending"
        store.orders["4"]["updated"] = iso(T0 + timedelta(minutes=4, seconds=30))
        assert connector.download().downloaded == 0  # behind the mark: an incremental run cannot see them
        report = connector.reconcile()
        assert (report.listed, report.missing, report.changed) == (31, 1, 1)
        assert (report.downloaded, report.updates) == (1, 1)
        assert ledger.get(STORE, "31") is not None
        assert ledger.pending(STORE, "4") is not None
        # A second pass finds nothing left to repair.
        again = connector.reconcile()
        assert (again.missing, again.changed) == (0, 0)
        connector.close()


def test_reconcile_comparing_content_catches_an_edit_that_kept_its_stamp() -> None:
    store, _ = _quiet_store(12)
    driver = FakeDriver(mode="keyset", page_size=5, concurrency=2)
    with SQLiteLedger() as ledger, httpx.Client(transport=store.transport()) as client:
        connector = Connector(driver, make_policy(), ledger, client=client, clock=Clock())
        connector.download()
        store.orders["7"]["ship_city"] = "Hull"  # changed without touching "updated"
        assert connector.reconcile().changed == 0
        report = connector.reconcile(compare_content=True)
        assert report.updates == 1
        pending = ledger.pending(STORE, "7")
        assert pending is not None
        assert pending.order.shipping_address is not None
        assert pending.order.shipping_address.city == "Hull"
        connector.close()


def test_a_newer_copy_that_changes_nothing_watched_is_kept_so_reconcile_stops_reading_it() -> None:
    # A touch that only moves an order's stamp, and an edit of an Ignore-tab order (nothing the user watches):
    # both come out Unchanged. Keeping the older copy left the ledger's stamp behind the store's, so every
    # reconcile called them changed and read them again, for ever.
    store, _ = _quiet_store(12)
    store.orders["5"]["status"] = "complete"  # not selected: the Ignore tab
    driver = FakeDriver(mode="keyset", page_size=5, concurrency=2)
    policy = make_policy(unselected=Unselected.IGNORE_TAB)
    with SQLiteLedger() as ledger, httpx.Client(transport=store.transport()) as client:
        connector = Connector(driver, policy, ledger, client=client, clock=Clock())
        connector.download()
        later = iso(T0 + timedelta(hours=2))
        store.orders["3"]["updated"] = later  # touched: nothing else changed
        store.orders["5"]["ship_city"] = "Hull"  # an Ignore-tab order edited
        store.orders["5"]["updated"] = later
        report = connector.download()
        assert (report.downloaded, report.updates) == (0, 0)
        assert report.unchanged >= 2
        for oid in ("3", "5"):
            record = ledger.get(STORE, oid)
            assert record is not None
            assert iso(record.order.updated_at) == later
        ignored = ledger.get(STORE, "5")
        assert ignored is not None
        assert ignored.tab.value == "ignore"
        assert ignored.order.shipping_address is not None
        assert ignored.order.shipping_address.city == "Hull"
        assert ledger.updates(STORE) == []
        assert connector.reconcile().changed == 0
        connector.close()


# ---------------------------------------------------------------------------------------------------------
# Writes: one at a time across connectors sharing a ledger


def test_two_connectors_sharing_a_ledger_never_ship_the_same_order_twice(tmp_path: Any) -> None:
    store, _ = _quiet_store(3)
    path = tmp_path / "shared.db"
    gate = threading.Event()
    release = threading.Event()
    real_route = store._route

    def slow_shipments(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/shipments"):
            gate.set()
            release.wait(5)
        return real_route(request)

    store._route = slow_shipments  # type: ignore[method-assign]
    with SQLiteLedger(path) as first_ledger, SQLiteLedger(path) as second_ledger:
        clients = [httpx.Client(transport=store.transport()) for _ in range(2)]
        first = Connector(FakeDriver(), make_policy(), first_ledger, client=clients[0], clock=Clock())
        second = Connector(FakeDriver(), make_policy(), second_ledger, client=clients[1], clock=Clock())
        first.download()
        results: list[Any] = []
        worker = threading.Thread(target=lambda: results.append(first.ship("1", ["1Z1"])))
        worker.start()
        assert gate.wait(5)
        with pytest.raises(ActionInProgress):
            second.ship("1", ["1Z1"])
        release.set()
        worker.join(5)
        assert len(store.sent("POST", "/orders/1/shipments")) == 1
        # Once the first is done, the second gets its recorded result without a second shipment.
        assert second.ship("1", ["1Z1"]) == results[0]
        assert len(store.sent("POST", "/orders/1/shipments")) == 1
        for thing in (first, second, *clients):
            thing.close()


def test_schedules_are_varied() -> None:
    """The randomized schedules above cover what they claim: churn, crashes, skew both ways, ties, slices."""
    drawn = [Schedule.draw(seed, "keyset") for seed in range(SCHEDULES)]
    assert {s.skew for s in drawn} >= {timedelta(hours=-3), timedelta(hours=5)}
    assert sum(1 for s in drawn if s.crash_at) > 40
    assert sum(1 for s in drawn if s.churn > 0) > 100
    assert max(s.concurrency for s in drawn) == 4
    assert copy.copy(drawn[0]) == drawn[0]
