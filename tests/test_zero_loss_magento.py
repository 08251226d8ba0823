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

from ecc_connectors import (
    AsyncConnector,
    ConnectorError,
    Connector,
    DownloadRange,
    Limits,
    SQLiteLedger,
    StatusMapping,
    StatusRule,
    SyncPolicy,
    Tracking,
    Unselected,
)
from ecc_connectors.drivers.magento2 import BearerToken, Magento2Driver
from ecc_connectors.testing import FakeMagentoStore, ReceivedRequest

Factory = Callable[..., FakeMagentoStore]

POLICY = SyncPolicy(
    statuses=StatusMapping(
        (
            StatusRule("pending"),
            StatusRule("processing", process_payment=False),
            StatusRule("complete", process_payment=False, process_shipping=False),
        )
    ),
    range=DownloadRange(start=datetime.now(timezone.utc) - timedelta(days=3650)),
    unselected=Unselected.IGNORE_TAB,
)
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
        notified = [
            h for h in order.get("status_histories") or [] if h.get("comment") == COMMENT
        ]
        if len(notified) > 1:
            problems.append(f"{order['entity_id']}: the comment was posted {len(notified)} times")
        tracks = [
            t["track_number"]
            for s in store.shipments(int(order["entity_id"]))
            for t in s.get("tracks") or []
        ]
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


def _write_targets(store: FakeMagentoStore, rng: random.Random) -> tuple[list[int], list[int]]:
    processing = [int(o["entity_id"]) for o in store.orders() if o.get("state") == "processing"]
    rng.shuffle(processing)
    return processing[:2], processing[2:3]


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


def run_sync(factory: Factory, schedule: Schedule) -> list[str]:
    rng = random.Random(schedule.seed)
    skew = schedule.skew
    store = factory(seed=schedule.seed, order_count=schedule.orders, edited_pairs=0,
                    clock=lambda: datetime.now(timezone.utc) + skew)
    driver = _driver(store, schedule)
    with SQLiteLedger() as ledger, Connector(driver, POLICY, ledger) as connector:
        store.on_request(_churn(store, rng, schedule.churn))
        for run in range(2):
            try:
                connector.download(progress=_crash_after(schedule.crash_after_pages) if run == 0 else None)
            except Crash:
                pass
        acknowledged, shipped = _write_targets(store, rng)
        for entity in acknowledged:
            status = store.order(entity)["status"]
            store.lose_write_answers(1, mode=schedule.lose)
            _retry(lambda e=entity, s=status: connector.set_status(str(e), s, comment=COMMENT, notify=True))
        for entity in shipped:
            store.lose_write_answers(1, mode=schedule.lose)
            _retry(lambda e=entity: connector.ship(str(e), Tracking(f"1Z{e:08d}", "ups", "UPS")))
        schedule_churn_off(store)
        time.sleep(1.05)  # one store second, so the quiet run's window covers the last edits
        connector.download()
        return _problems(ledger, driver, store)


async def run_async(factory: Factory, schedule: Schedule) -> list[str]:
    rng = random.Random(schedule.seed)
    skew = schedule.skew
    store = factory(seed=schedule.seed, order_count=schedule.orders, edited_pairs=0,
                    clock=lambda: datetime.now(timezone.utc) + skew)
    driver = _driver(store, schedule)
    with SQLiteLedger() as ledger:
        async with AsyncConnector(driver, POLICY, ledger) as connector:
            store.on_request(_churn(store, rng, schedule.churn))
            for run in range(2):
                try:
                    await connector.download(
                        progress=_crash_after(schedule.crash_after_pages) if run == 0 else None
                    )
                except Crash:
                    pass
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
            await asyncio.sleep(1.05)
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
        assert record is not None and record.shipped
