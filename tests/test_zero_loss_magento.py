"""Zero loss and exactly-once writes against the fake Magento store over its real socket.

Randomized schedules (seeded, so a failure names its seed) drive downloads through both shells while the store
edits and creates orders between listing requests, with its clock ahead of or behind ours, and crashes the run
between pages; write-backs lose their answers after the store applied them and are called again, as a user does
after an exception. After each schedule the store goes quiet, one more run passes, and the ledger must match the
store exactly, with no notified comment or shipment twice. A second test kills a real process with SIGKILL in
the middle of a download and of a write-back, then resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest

from _shared import magento_policy
from ecc_connectors import (
    AsyncConnector,
    Connector,
    ConnectorError,
    Limits,
    SQLiteLedger,
    SyncPolicy,
    Tracking,
)
from ecc_connectors.drivers.magento2 import BearerToken, Magento2Driver
from ecc_connectors.testing import FakeMagentoStore, ReceivedRequest

Factory = Callable[..., FakeMagentoStore]

POLICY = magento_policy()
COMMENT = "Received by the back office"


class Crash(Exception):
    """Stands for the process dying between two pages."""


@attrs.define
class Schedule:
    seed: int
    orders: int
    page_size: int
    concurrency: int
    skew: timedelta
    churn: float
    crash_after_pages: int | None
    lose: str

    @classmethod
    def draw(cls, seed: int) -> Schedule:
        rng = random.Random(seed)
        return cls(
            seed=seed,
            orders=rng.randint(8, 45),
            page_size=rng.randint(3, 9),
            concurrency=rng.randint(1, 4),
            skew=rng.choice([timedelta(hours=-3), timedelta(0), timedelta(minutes=20), timedelta(hours=2)]),
            churn=rng.choice([0.0, 0.4, 0.9]),
            crash_after_pages=rng.choice([None, None, 1, 2, 4]),
            lose=rng.choice(["500", "drop", "short"]),
        )


def _driver(store: FakeMagentoStore, schedule: Schedule) -> Magento2Driver:
    return Magento2Driver(
        store.base_url,
        auth=BearerToken(store.token),
        page_size=schedule.page_size,
        limits=Limits(concurrency=schedule.concurrency, max_attempts=6),
    )


def _churn(store: FakeMagentoStore, rng: random.Random, rate: float) -> Callable[[ReceivedRequest], None]:
    def mutate(received: ReceivedRequest) -> None:
        if received.method != "GET" or not received.path.endswith("/V1/orders") or rng.random() >= rate:
            return
        ids = store.order_ids()
        if rng.random() < 0.6 and ids:
            store.edit_order(rng.choice(ids), {"customer_firstname": f"Edited {rng.randint(0, 9999)}"})
        else:
            store.generate_order()

    return mutate


def _problems(ledger: SQLiteLedger, driver: Magento2Driver, store: FakeMagentoStore) -> list[str]:
    problems = []
    for order in store.orders():
        oid = str(order["entity_id"])
        record = ledger.get(driver.store_id, oid)
        if record is None:
            problems.append(f"{oid}: missing")
            continue
        if record.order.status == order["status"]:
            continue
        pending = ledger.pending(driver.store_id, oid)
        if pending is None or pending.order.status != order["status"]:
            problems.append(f"{oid}: stale status {record.order.status} (store: {order['status']})")
    for order in store.orders():
        notified = [h for h in order.get("status_histories") or [] if h.get("comment") == COMMENT]
        if len(notified) > 1:
            problems.append(f"{order['entity_id']}: the comment was posted {len(notified)} times")
        tracks = [t["track_number"] for s in store.shipments(int(order["entity_id"])) for t in s.get("tracks") or []]
        if len(tracks) != len(set(tracks)):
            problems.append(f"{order['entity_id']}: a tracking number shipped twice: {tracks}")
    return problems


def _crash_after(pages: int | None) -> Callable[[int, int | None], None] | None:
    if pages is None:
        return None
    seen = [0]

    def progress(done: int, total: int | None) -> None:
        seen[0] += 1
        if seen[0] == pages:
            raise Crash(f"died after page {pages}")

    return progress


def _shippable(order: dict[str, Any]) -> bool:
    return any(
        float(i.get("qty_ordered") or 0) > float(i.get("qty_shipped") or 0) + float(i.get("qty_canceled") or 0)
        for i in order.get("items") or []
        if not i.get("is_virtual") and "parent_item_id" not in i
    )


def _write_targets(store: FakeMagentoStore, rng: random.Random) -> tuple[list[int], list[int]]:
    """Two processing orders to acknowledge with a notified comment, and one with something left to ship."""
    processing = [o for o in store.orders() if o.get("state") == "processing"]
    rng.shuffle(processing)
    shippable = [int(o["entity_id"]) for o in processing if _shippable(o)][:1]
    commented = [int(o["entity_id"]) for o in processing if int(o["entity_id"]) not in shippable][:2]
    return commented, shippable


async def _retry_async(call: Callable[[], Any]) -> Any:
    for _ in range(4):
        try:
            return await call()
        except ConnectorError:
            continue
    return await call()


def _retry(call: Callable[[], Any]) -> Any:
    for _ in range(4):
        try:
            return call()
        except ConnectorError:
            continue
    return call()


def _store(factory: Factory, schedule: Schedule) -> FakeMagentoStore:
    """The schedule's store, its clock off ours by the schedule's skew."""
    skew = schedule.skew
    # Requests are checked against Adobe's schema in the other tests; here the point is behaviour, at volume.
    return factory(
        seed=schedule.seed,
        order_count=schedule.orders,
        edited_pairs=0,
        validate=False,
        clock=lambda: datetime.now(timezone.utc) + skew,
    )


def run_sync(factory: Factory, schedule: Schedule) -> list[str]:
    rng = random.Random(schedule.seed)
    store = _store(factory, schedule)
    driver = _driver(store, schedule)
    with SQLiteLedger() as ledger, Connector(driver, POLICY, ledger) as connector:
        store.on_request(_churn(store, rng, schedule.churn))
        for run in range(2):
            with contextlib.suppress(Crash):
                connector.download(progress=_crash_after(schedule.crash_after_pages) if run == 0 else None)
        acknowledged, shipped = _write_targets(store, rng)
        for entity in acknowledged:
            status = store.order(entity)["status"]
            store.lose_write_answers(1, mode=schedule.lose)
            _retry(lambda e=entity, s=status: connector.set_status(str(e), s, comment=COMMENT, notify=True))
        for entity in shipped:
            store.lose_write_answers(1, mode=schedule.lose)
            _retry(lambda e=entity: connector.ship(str(e), Tracking(f"1Z{e:08d}", "ups", "UPS")))
        schedule_churn_off(store)
        connector.download()
        return _problems(ledger, driver, store)


async def run_async(factory: Factory, schedule: Schedule) -> list[str]:
    rng = random.Random(schedule.seed)
    store = _store(factory, schedule)
    driver = _driver(store, schedule)
    with SQLiteLedger() as ledger:
        async with AsyncConnector(driver, POLICY, ledger) as connector:
            store.on_request(_churn(store, rng, schedule.churn))
            for run in range(2):
                with contextlib.suppress(Crash):
                    await connector.download(progress=_crash_after(schedule.crash_after_pages) if run == 0 else None)
            acknowledged, shipped = _write_targets(store, rng)
            for entity in acknowledged:
                status = store.order(entity)["status"]
                store.lose_write_answers(1, mode=schedule.lose)
                await _retry_async(
                    lambda e=entity, s=status: connector.set_status(str(e), s, comment=COMMENT, notify=True)
                )
            for entity in shipped:
                store.lose_write_answers(1, mode=schedule.lose)
                await _retry_async(lambda e=entity: connector.ship(str(e), Tracking(f"1Z{e:08d}", "ups", "UPS")))
            schedule_churn_off(store)
            await connector.download()
            return _problems(ledger, driver, store)


def schedule_churn_off(store: FakeMagentoStore) -> None:
    store.clear_hooks() if hasattr(store, "clear_hooks") else store._hooks.clear()


SCHEDULES = int(os.environ.get("ECC_ZERO_LOSS_SCHEDULES", "200"))


def _run_all(runner: Callable[[Schedule], list[str]], offset: int) -> dict[int, Any]:
    failures: dict[int, Any] = {}
    logging.disable(logging.WARNING)  # retries, crashes and moved totals are the point here
    try:
        for seed in range(offset, offset + SCHEDULES):
            schedule = Schedule.draw(seed)
            problems = runner(schedule)
            if problems:
                failures[seed] = (schedule, problems[:4])
    finally:
        logging.disable(logging.NOTSET)
    return failures


def test_schedules_against_the_magento_fake_lose_nothing_sync(fake_magento_factory: Factory) -> None:
    assert _run_all(lambda s: run_sync(fake_magento_factory, s), 0) == {}


def test_schedules_against_the_magento_fake_lose_nothing_async(fake_magento_factory: Factory) -> None:
    assert _run_all(lambda s: asyncio.run(run_async(fake_magento_factory, s)), 100_000) == {}


# ---------------------------------------------------------------------------------------------------------
# SIGKILL


CHILD = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timedelta, timezone
    from ecc_connectors import (Connector, DownloadRange, Limits, SQLiteLedger, StatusMapping, StatusRule,
                                SyncPolicy, Tracking, Unselected)
    from ecc_connectors.drivers.magento2 import BearerToken, Magento2Driver

    base_url, token, path, what = sys.argv[1:5]
    policy = SyncPolicy(
        statuses=StatusMapping((StatusRule("pending"), StatusRule("processing", process_payment=False),
                                StatusRule("complete", process_payment=False, process_shipping=False))),
        range=DownloadRange(start=datetime.now(timezone.utc) - timedelta(days=3650)),
        unselected=Unselected.IGNORE_TAB,
    )
    driver = Magento2Driver(base_url, auth=BearerToken(token), page_size=7, limits=Limits(concurrency=3))
    with Connector(driver, policy, SQLiteLedger(path)) as connector:
        if what == "download":
            connector.download()
        else:
            connector.ship(what, Tracking("1ZKILLED0001", "ups", "UPS"))
    """
)


def _spawn(store: FakeMagentoStore, path: Path, what: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, store.base_url, store.token, str(path), what],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("kill_after", [2, 5, 9])
def test_a_download_killed_with_sigkill_resumes_without_loss(
    fake_magento_factory: Factory, tmp_path: Path, kill_after: int
) -> None:
    store = fake_magento_factory(seed=kill_after, order_count=90, edited_pairs=0, latency=0.02)
    path = tmp_path / "ledger.db"
    listed: list[int] = []
    child = _spawn(store, path, "download")

    def kill_midway(received: ReceivedRequest) -> None:
        if received.path.endswith("/V1/orders"):
            listed.append(1)
            if len(listed) == kill_after:
                os.kill(child.pid, signal.SIGKILL)

    store.on_request(kill_midway)
    assert child.wait(60) == -signal.SIGKILL
    driver = Magento2Driver(store.base_url, auth=BearerToken(store.token), page_size=7, limits=Limits(concurrency=3))
    with SQLiteLedger(path) as ledger, Connector(driver, POLICY, ledger) as connector:
        connector.download()
        assert _problems(ledger, driver, store) == []
        assert len({r.order_id for r in ledger.orders(driver.store_id)}) == len(ledger.orders(driver.store_id))


def test_a_write_killed_with_sigkill_is_finished_once_after_the_lease(
    fake_magento_factory: Factory, tmp_path: Path
) -> None:
    store = fake_magento_factory(seed=3, order_count=20, edited_pairs=0)
    entity = next(int(o["entity_id"]) for o in store.orders() if o.get("state") == "processing")
    path = tmp_path / "ledger.db"
    driver = Magento2Driver(store.base_url, auth=BearerToken(store.token))
    with SQLiteLedger(path) as ledger, Connector(driver, POLICY, ledger) as connector:
        connector.download()
    child = _spawn(store, path, str(entity))
    shipped: list[int] = []

    def kill_after_ship(received: ReceivedRequest) -> None:
        if received.method == "GET" and shipped:
            os.kill(child.pid, signal.SIGKILL)  # the store has applied the shipment; the child dies before logging
        if received.method == "POST" and received.path.endswith("/ship"):
            shipped.append(1)

    store.on_request(kill_after_ship)
    child.wait(60)
    schedule_churn_off(store)
    assert len(store.shipments(entity)) == 1
    later = [datetime.now(timezone.utc) + timedelta(minutes=6)]  # the dead child's lease has run out
    with SQLiteLedger(path) as ledger, Connector(driver, POLICY, ledger, clock=lambda: later[0]) as connector:
        result = connector.ship(str(entity), Tracking("1ZKILLED0001", "ups", "UPS"))
        assert result.already_shipped
        assert len(store.shipments(entity)) == 1
        (action,) = [a for a in connector.actions(str(entity)) if a.kind == "ship"]
        assert action.state == "done"
        assert action.attempts == 2
        record = ledger.get(driver.store_id, str(entity))
        assert record is not None
        assert record.shipped


# ---------------------------------------------------------------------------------------------------------
# The report's cases, one by one, over the socket


def _connector(store: FakeMagentoStore, ledger: SQLiteLedger, policy: SyncPolicy = POLICY, **kw: Any) -> Connector:
    driver = Magento2Driver(
        store.base_url,
        auth=BearerToken(store.token),
        page_size=kw.pop("page_size", 50),
        limits=Limits(concurrency=kw.pop("concurrency", 4), max_attempts=8),
    )
    return Connector(driver, policy, ledger, sleep=lambda _: None, **kw)


def _missing(store: FakeMagentoStore, ledger: SQLiteLedger, connector: Connector) -> list[int]:
    return [e for e in store.order_ids() if ledger.get(connector.store, str(e)) is None]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_busy_store_with_faults_loses_nothing(fake_magento_factory: Factory, seed: int) -> None:
    """2,000 orders; while they are listed the store edits and creates orders, answers 5% of requests with 500
    and drops 2% of connections. Round 1 lost 3 to 12 orders for good on every seed."""
    store = fake_magento_factory(seed=seed, order_count=2000, edited_pairs=0)
    rng = random.Random(seed)

    def busy(received: ReceivedRequest) -> None:
        if received.method != "GET" or not received.path.endswith("/V1/orders"):
            return
        roll = rng.random()
        if roll < 0.05:
            store.inject_5xx(1, status=500)
        elif roll < 0.07:
            store.drop_connections(1)
        if rng.random() < 0.3:
            store.edit_order(rng.choice(store.order_ids()), {"customer_firstname": f"E{rng.randint(0, 99)}"})
        if rng.random() < 0.1:
            store.generate_order()

    store.on_request(busy)
    logging.disable(logging.WARNING)
    try:
        with SQLiteLedger() as ledger, _connector(store, ledger) as connector:
            connector.download()
            schedule_churn_off(store)
            store.clear_faults()
            time.sleep(1.05)
            connector.download()
            assert _missing(store, ledger, connector) == []
            assert _problems(ledger, connector.driver, store) == []  # type: ignore[arg-type]
    finally:
        logging.disable(logging.NOTSET)


def test_one_edit_between_page_one_and_two_loses_nothing(fake_magento_factory: Factory) -> None:
    """Round 1: a quiet 500-order store with one edit between page 1 and page 2 lost one unrelated order."""
    store = fake_magento_factory(seed=5, order_count=500, edited_pairs=0)
    listed = [0]
    first_id = min(store.order_ids())

    def edit_once(received: ReceivedRequest) -> None:
        if received.method == "GET" and received.path.endswith("/V1/orders"):
            listed[0] += 1
            if listed[0] == 2:
                store.edit_order(first_id, {"customer_firstname": "Edited"})

    store.on_request(edit_once)
    with SQLiteLedger() as ledger, _connector(store, ledger, concurrency=1) as connector:
        connector.download()
        # Every order but the edited one is in (it left the window: the next run takes it).
        assert _missing(store, ledger, connector) in ([], [first_id])
        time.sleep(1.05)
        connector.download()
        assert _missing(store, ledger, connector) == []


def test_a_cut_short_200_is_read_again(fake_magento_factory: Factory) -> None:
    store = fake_magento_factory(seed=6, order_count=120, edited_pairs=0)
    store.short_bodies(3)
    with SQLiteLedger() as ledger, _connector(store, ledger) as connector:
        connector.download()
        assert _missing(store, ledger, connector) == []


def test_a_store_clock_far_behind_loses_no_edit_made_during_the_run(fake_magento_factory: Factory) -> None:
    behind = timedelta(hours=-6)
    store = fake_magento_factory(
        seed=7, order_count=300, edited_pairs=0, clock=lambda: datetime.now(timezone.utc) + behind
    )
    ids = sorted(store.order_ids())
    listed = [0]

    def edit_late_ones(received: ReceivedRequest) -> None:
        if received.method == "GET" and received.path.endswith("/V1/orders"):
            listed[0] += 1
            if listed[0] in (3, 4):
                store.edit_order(ids[-listed[0]], {"status": "holded", "state": "holded"})

    store.on_request(edit_late_ones)
    with SQLiteLedger() as ledger, _connector(store, ledger, page_size=20) as connector:
        report = connector.download()
        assert report.updated_to < datetime.now(timezone.utc) + behind + timedelta(seconds=5)
        schedule_churn_off(store)
        time.sleep(1.05)
        connector.download()
        assert _problems(ledger, connector.driver, store) == []  # type: ignore[arg-type]


def test_a_stamp_in_2099_does_not_stop_later_downloads(fake_magento_factory: Factory) -> None:
    store = fake_magento_factory(seed=8, order_count=60, edited_pairs=0)
    store.stamp_outside_window(2)
    with SQLiteLedger() as ledger, _connector(store, ledger, page_size=20) as connector:
        report = connector.download()
        mark = ledger.high_water(connector.store)
        assert mark is not None
        assert mark.mark <= report.updated_to
        assert mark.mark.year < 2099
        new = store.generate_order()
        time.sleep(1.05)
        connector.download()
        assert ledger.get(connector.store, str(new)) is not None


@pytest.mark.parametrize("defect", ["huge_exponent", "invalid_utf8", "deep_nesting"])
def test_a_poisoned_order_is_quarantined_and_never_blocks(fake_magento_factory: Factory, defect: str) -> None:
    store = fake_magento_factory(seed=9, order_count=30, edited_pairs=0)
    bad = store.add_malformed_order(defect)
    with SQLiteLedger() as ledger, _connector(store, ledger, page_size=10) as connector:
        report = connector.download()
        assert report.failures == 1
        (failure,) = connector.failures()
        assert failure.order_ref is not None
        assert failure.raw is not None
        assert _missing(store, ledger, connector) == [bad]
        mark = ledger.high_water(connector.store)
        assert mark is not None
        # The next run does not fail on it either, and the failure stays visible.
        time.sleep(1.05)
        connector.download()
        assert len(connector.failures()) == 1


def test_a_lying_total_and_an_ignored_page_size_stay_bounded(fake_magento_factory: Factory) -> None:
    store = fake_magento_factory(seed=10, order_count=40, edited_pairs=0)
    store.total_count_override = 10**12
    with SQLiteLedger() as ledger, _connector(store, ledger, page_size=10) as connector:
        connector.download()
        assert _missing(store, ledger, connector) == []
        assert store.request_count < 60
    store = fake_magento_factory(seed=11, order_count=300, edited_pairs=0)
    store.ignore_page_size = True
    with SQLiteLedger() as ledger, _connector(store, ledger, page_size=10) as connector:
        report = connector.download()
        assert _missing(store, ledger, connector) == []
        assert report.seen <= 2 * 300
        assert store.request_count < 20


LOST = ["500", "drop", "short"]


def _processing(store: FakeMagentoStore) -> int:
    return next(int(o["entity_id"]) for o in store.orders() if o.get("state") == "processing")


@pytest.mark.parametrize("mode", LOST)
def test_a_status_comment_whose_answer_was_lost_is_not_posted_again(fake_magento_factory: Factory, mode: str) -> None:
    store = fake_magento_factory(seed=12, order_count=20, edited_pairs=0)
    policy = attrs.evolve(
        POLICY, acknowledgement=attrs.evolve(POLICY.acknowledgement, status="processing", notify_customer=True)
    )
    entity = _processing(store)
    with SQLiteLedger() as ledger, _connector(store, ledger, policy) as connector:
        connector.download()
        store.lose_write_answers(1, mode=mode)
        with pytest.raises(ConnectorError):
            connector.acknowledge(str(entity))
        connector.acknowledge(str(entity))
        texts = [c.get("comment") for c in store.comments(entity)]
        assert texts.count(policy.acknowledgement.comment) == 1
        (action,) = connector.actions(str(entity))
        assert action.state == "done"
        assert action.attempts == 2


@pytest.mark.parametrize("mode", LOST)
def test_a_cancel_whose_answer_was_lost_notifies_once(fake_magento_factory: Factory, mode: str) -> None:
    store = fake_magento_factory(seed=13, order_count=20, edited_pairs=0)
    policy = attrs.evolve(POLICY, cancellation=attrs.evolve(POLICY.cancellation, send_email=True))
    entity = next(int(o["entity_id"]) for o in store.orders() if o.get("state") == "new")
    with SQLiteLedger() as ledger, _connector(store, ledger, policy) as connector:
        connector.download()
        store.lose_write_answers(2, mode=mode)  # the cancel and its comment both lose their answers
        for _ in range(3):
            try:
                connector.cancel(str(entity))
                break
            except ConnectorError:
                continue
        notified = [c for c in store.comments(entity) if c.get("comment") == policy.cancellation.comment]
        assert len(notified) == 1
        assert store.order(entity)["state"] == "canceled"


def _die_in_finish(ledger: SQLiteLedger) -> None:
    real = ledger.finish_action

    def die_once(*args: Any, **kwargs: Any) -> Any:
        ledger.finish_action = real  # type: ignore[method-assign]
        raise Crash("died between the store's answer and the ledger")

    ledger.finish_action = die_once  # type: ignore[method-assign]


@pytest.mark.parametrize("kind", ["ship_untracked", "invoice", "acknowledge", "cancel"])
def test_a_write_whose_process_died_before_the_ledger_recorded_it_finishes_once(
    fake_magento_factory: Factory, kind: str
) -> None:
    store = fake_magento_factory(seed=14, order_count=30, edited_pairs=0)
    policy = attrs.evolve(
        POLICY,
        acknowledgement=attrs.evolve(POLICY.acknowledgement, status="processing", notify_customer=True),
        cancellation=attrs.evolve(POLICY.cancellation, send_email=True),
    )
    state = "new" if kind in ("cancel", "invoice") else "processing"
    entity = next(
        int(o["entity_id"])
        for o in store.orders()
        if o.get("state") == state and (kind != "ship_untracked" or _shippable(o))
    )
    later = [datetime.now(timezone.utc)]
    with SQLiteLedger() as ledger, _connector(store, ledger, policy, clock=lambda: later[0]) as connector:
        connector.download()

        def act() -> Any:
            if kind == "ship_untracked":
                return connector.ship(str(entity), [])
            if kind == "invoice":
                return connector.invoice(str(entity))
            if kind == "acknowledge":
                return connector.acknowledge(str(entity))
            return connector.cancel(str(entity))

        _die_in_finish(ledger)
        with pytest.raises(Crash):
            act()
        later[0] += timedelta(minutes=6)  # the dead caller's lease runs out
        act()
        record = ledger.get(connector.store, str(entity))
        assert record is not None
        if kind == "ship_untracked":
            assert len(store.shipments(entity)) == 1
            assert record.shipped
        elif kind == "invoice":
            assert len(store.invoices(entity)) == 1
            assert record.paid
        elif kind == "acknowledge":
            texts = [c.get("comment") for c in store.comments(entity)]
            assert texts.count(policy.acknowledgement.comment) == 1
        else:
            texts = [c.get("comment") for c in store.comments(entity)]
            assert texts.count(policy.cancellation.comment) == 1
        (action,) = [a for a in connector.actions(str(entity)) if a.kind != "refresh"]
        assert action.state == "done"
        assert action.attempts == 2


@pytest.mark.parametrize("mode", LOST)
def test_a_phone_order_whose_answer_was_lost_is_placed_once(fake_magento_factory: Factory, mode: str) -> None:
    """The cart is reserved and recorded first; the order is placed from it; the answer is lost; the call again
    finds the order placed from that cart (``quote_id``) instead of placing a second one."""
    from test_magento_driver import new_order

    store = fake_magento_factory(seed=15, order_count=5, edited_pairs=0)
    order = new_order(reference="PHONE-1", skus=(store.products[0]["sku"],))
    before = len(store.order_ids())
    with SQLiteLedger() as ledger, _connector(store, ledger) as connector:
        placing = [0]

        def lose_the_placing(received: ReceivedRequest) -> None:
            # Faults are drawn before hooks run: set on the last write before placing, it hits the placing.
            if received.path.endswith("/shipping-information") and not placing[0]:
                placing[0] = 1
                store.lose_write_answers(1, mode=mode)

        store.on_request(lose_the_placing)
        with pytest.raises(ConnectorError):
            connector.create_phone_order(order)
        created = connector.create_phone_order(order)
        assert len(store.order_ids()) == before + 1
        assert str(created.order_id) in {str(e) for e in store.order_ids()}
        (action,) = connector.actions("PHONE-1")
        assert action.state == "done"
        assert action.checkpoint is not None
