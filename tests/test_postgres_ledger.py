"""PostgresLedger against the real server: the ledger conformance suite unchanged, migrations from an empty
schema and between versions, many stores in one database, the per-store download lock (busy, crash take-over,
fencing of a holder that lost it), typed errors, and the engine (sync and async) on top of it.

Each ledger lives in a schema of its own (dropped at the end), so parallel runs never collide. Without a server
these tests skip; under ``ECC_REQUIRE_SERVICES=1`` (CI) they fail.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest

from ecc_connectors import (
    AsyncConnector,
    Connector,
    ConnectorError,
    DownloadRange,
    StatusMapping,
    StatusRule,
    SyncPolicy,
    Tab,
    Unselected,
)
from ecc_connectors.contrib.services import require_postgres, unique_name
from ecc_connectors.drivers.magento2 import BearerToken, Magento2Driver
from ecc_connectors.ledger import HighWater, PageBatch, RowWrite, SQLiteLedger
from ecc_connectors.ledger.postgres import PG_MIGRATIONS, DownloadLockLost, PostgresLedger, StoreBusy
from ecc_connectors.testing import FakeMagentoStore
from ecc_connectors.testing.ledger_suite import LedgerContract, LedgerFactory, make_order

NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def dsn() -> str:
    return require_postgres()


@pytest.fixture(scope="module")
def schemas(dsn: str) -> Iterator[list[str]]:
    """Every schema the module made; dropped at its end."""
    made: list[str] = []
    yield made
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def new_ledger(dsn: str, schemas: list[str]) -> Iterator[Any]:
    opened: list[PostgresLedger] = []

    def make(schema: str | None = None, **kwargs: Any) -> PostgresLedger:
        if schema is None:
            schema = unique_name()
            schemas.append(schema)
        ledger = PostgresLedger(dsn, schema=schema, **kwargs)
        opened.append(ledger)
        return ledger

    yield make
    for ledger in opened:
        ledger.close()


@pytest.fixture
def ledger_factory(new_ledger: Any) -> LedgerFactory[PostgresLedger]:
    return LedgerFactory(fresh=new_ledger, reopen=lambda ledger: new_ledger(ledger.schema))


class TestPostgresLedger(LedgerContract):
    """Every check of the ledger conformance suite, unchanged, against the real server (two instances on one
    schema stand for two processes)."""


# ---------------------------------------------------------------------------------------------------------
# Schema


def test_an_empty_schema_is_migrated_to_the_newest_version(new_ledger: Any, dsn: str) -> None:
    ledger = new_ledger()
    assert ledger.version == len(PG_MIGRATIONS) >= 2
    with psycopg.connect(dsn) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (ledger.schema,)
            )
        }
    assert {
        "orders",
        "pending_updates",
        "failures",
        "high_water",
        "actions",
        "phone_orders",
        "download_locks",
        "schema_version",
    } <= tables


def test_a_version_1_schema_opens_with_the_current_code_its_data_intact(new_ledger: Any, dsn: str) -> None:
    """A schema written by version 1 (before the lock table) is migrated on open; its rows, marks and actions
    read back as they were."""
    old = new_ledger()
    schema = old.schema
    old.commit_page(
        PageBatch(
            "s1", NOW, rows=[RowWrite(make_order(1), Tab.ORDERS, True, False)], high_water=HighWater(NOW, "scope")
        )
    )
    action, _ = old.begin_action("s1", "1", "ship", "ship:1", {"n": 1}, NOW, owner="w")
    old.close()
    with psycopg.connect(dsn, autocommit=True) as conn:  # back to version 1, as an older SDK left it
        conn.execute(f'DROP TABLE "{schema}".download_locks')
        conn.execute(f'UPDATE "{schema}".schema_version SET version = 1')
    reopened = new_ledger(schema)
    assert reopened.version == len(PG_MIGRATIONS)
    record = reopened.get("s1", "1")
    assert record is not None
    assert record.order == make_order(1)
    assert record.paid
    assert reopened.high_water("s1") == HighWater(NOW, "scope")
    assert [a.id for a in reopened.actions("s1")] == [action.id]
    with reopened.download_lock("s1") as lock:  # the new table works
        assert lock.token == 1


def test_a_schema_from_a_newer_sdk_is_refused(new_ledger: Any, dsn: str) -> None:
    ledger = new_ledger()
    ledger.close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'UPDATE "{ledger.schema}".schema_version SET version = 99')
    with pytest.raises(ConnectorError, match="newer than this ecc-connectors"):
        new_ledger(ledger.schema)


def test_workers_opening_together_migrate_once(new_ledger: Any, schemas: list[str]) -> None:
    schema = unique_name()
    schemas.append(schema)
    opened: list[int] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            opened.append(new_ledger(schema).version)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert opened == [len(PG_MIGRATIONS)] * 6


def test_a_bad_schema_name_is_refused_before_any_sql(dsn: str) -> None:
    with pytest.raises(ConnectorError, match="lower-case"):
        PostgresLedger(dsn, schema='x"; DROP TABLE y; --')


def test_many_stores_in_one_schema_stay_apart(new_ledger: Any) -> None:
    ledger = new_ledger()
    for n in range(30):
        store = f"store-{n}"
        ledger.commit_page(
            PageBatch(
                store,
                NOW,
                rows=[RowWrite(make_order(k, store=store), Tab.ORDERS, False, False) for k in range(1, n % 5 + 2)],
            )
        )
    assert len(ledger.stores()) == 30
    for n in range(30):
        assert len(ledger.orders(f"store-{n}")) == n % 5 + 1
        assert set(ledger.known_keys(f"store-{n}")) == {str(k) for k in range(1, n % 5 + 2)}


def test_known_keys_stays_fast_for_20000_orders(new_ledger: Any) -> None:
    ledger = new_ledger()
    base = datetime(2024, 1, 1, tzinfo=timezone.utc)
    for start in range(0, 20_000, 2_000):
        rows = [
            RowWrite(make_order(n, updated=base + timedelta(minutes=n)), Tab.ORDERS, False, False)
            for n in range(start, start + 2_000)
        ]
        ledger.commit_page(PageBatch("big", NOW, rows=rows))
    ledger.known_keys("big")  # warm the pool and the plan
    started = time.perf_counter()
    keys = ledger.known_keys("big")
    took = time.perf_counter() - started
    assert len(keys) == 20_000
    assert keys["19999"] == base + timedelta(minutes=19_999)
    assert took < 1.0, f"known_keys over 20,000 orders took {took * 1000:.0f} ms"


# ---------------------------------------------------------------------------------------------------------
# Errors and secrets


def test_a_server_that_does_not_answer_is_a_typed_error_without_the_password() -> None:
    with pytest.raises(ConnectorError, match=r"ledger: opening PostgreSQL 127\.0\.0\.1:1/test") as caught:
        PostgresLedger("host=127.0.0.1 port=1 dbname=test user=u password=hunter2 connect_timeout=1", timeout=2)
    assert "hunter2" not in str(caught.value)
    assert caught.value.__cause__ is not None


def test_the_repr_never_shows_the_password(new_ledger: Any, dsn: str) -> None:
    ledger = new_ledger()
    assert "127.0.0.1" in repr(ledger)
    assert ledger.schema in repr(ledger)
    with_password = PostgresLedger(f"{dsn} password=hunter2", schema=ledger.schema)
    try:
        assert "hunter2" not in repr(with_password)
    finally:
        with_password.close()


def test_a_connection_killed_by_the_server_is_replaced(new_ledger: Any, dsn: str) -> None:
    """An administrator (or a failover) kills the ledger's connections: the next calls get fresh ones."""
    name = unique_name("ecc_app")
    ledger = new_ledger(min_size=2, max_size=2, connect_kwargs={"application_name": name})
    ledger.commit_page(PageBatch("s", NOW, rows=[RowWrite(make_order(1), Tab.ORDERS, False, False)]))
    with psycopg.connect(dsn, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s", (name,)
        ).fetchone()
    assert killed is not None
    assert killed[0] >= 1
    for _ in range(3):
        assert ledger.get("s", "1") is not None


# ---------------------------------------------------------------------------------------------------------
# One store, one syncer


def test_a_second_syncer_of_a_store_is_told_it_is_busy_and_who_holds_it(new_ledger: Any) -> None:
    first = new_ledger()
    second = new_ledger(first.schema)
    with first.download_lock("acme", owner="worker-a") as lock:
        assert lock.held
        assert lock.token == 1
        with pytest.raises(StoreBusy) as busy:
            second.download_lock("acme", owner="worker-b").acquire()
        assert busy.value.holder is not None
        assert "worker-a" in busy.value.holder
        assert f":{os.getpid()}" in busy.value.holder
        with second.download_lock("other-store") as other:  # other stores are free
            assert other.held
        started = time.monotonic()
        with pytest.raises(StoreBusy):
            second.download_lock("acme", wait=0.6).acquire()
        assert time.monotonic() - started >= 0.55, "wait= must poll that long before giving up"
    with second.download_lock("acme", owner="worker-b") as taken:
        assert taken.token == 2, "each holder gets the next fencing token"


def test_the_lock_is_re_entrant_in_one_thread_of_one_ledger_only(new_ledger: Any) -> None:
    """A helper around an engine that takes the lock too: the inner take succeeds and releases nothing; another
    thread of the same process is refused."""
    ledger = new_ledger()
    with ledger.download_lock("acme") as outer:
        with ledger.download_lock("acme") as inner:
            assert inner.held
            assert inner.token == outer.token
        assert outer.held
        refused: list[BaseException] = []

        def other_thread() -> None:
            try:
                ledger.download_lock("acme").acquire()
            except StoreBusy as exc:
                refused.append(exc)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join(10)
        assert len(refused) == 1
        with pytest.raises(StoreBusy):
            new_ledger(ledger.schema).download_lock("acme").acquire()
    assert not outer.held
    with new_ledger(ledger.schema).download_lock("acme") as later:
        assert later.token == 2


def test_a_waiting_syncer_gets_the_store_when_the_holder_finishes(new_ledger: Any) -> None:
    first = new_ledger()
    second = new_ledger(first.schema)
    lock = first.download_lock("acme").acquire()
    threading.Timer(0.4, lock.release).start()
    with second.download_lock("acme", wait=5) as mine:
        assert mine.held


_HOLDER = """
import sys, time
from ecc_connectors.ledger.postgres import PostgresLedger
ledger = PostgresLedger(sys.argv[1], schema=sys.argv[2])
lock = ledger.download_lock("acme", owner="doomed").acquire()
print("held", flush=True)
time.sleep(120)
"""


def test_a_killed_holder_releases_the_store_at_once(new_ledger: Any, dsn: str) -> None:
    """SIGKILL a process holding the lock: its connection closes with it and another syncer takes the store
    over (the time is measured: well under a second on a live machine)."""
    ledger = new_ledger()
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, dsn, ledger.schema], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreBusy, match="doomed"):
            ledger.download_lock("acme").acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        killed = time.monotonic()
        with ledger.download_lock("acme", wait=10) as lock:
            took = time.monotonic() - killed
            assert lock.token == 2
        assert took < 5, f"take-over after a SIGKILL took {took:.2f} s"
    finally:
        if holder.poll() is None:
            holder.kill()


def test_a_holder_that_lost_its_lock_cannot_commit_a_page(new_ledger: Any, dsn: str) -> None:
    """The lock connection of a holder dies while its download goes on; another syncer takes the store. The
    old holder's next page is refused whole (fencing token) and the new holder's pages go in."""
    name = unique_name("ecc_app")
    old = new_ledger(connect_kwargs={"application_name": name})
    new = new_ledger(old.schema)
    lock = old.download_lock("acme").acquire()
    old.commit_page(PageBatch("acme", NOW, rows=[RowWrite(make_order(1), Tab.ORDERS, False, False)]))
    with psycopg.connect(dsn, autocommit=True) as admin:  # the lock's session dies (a network blip)
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = %s",
            (name,),
        ).fetchone()
    assert killed is not None
    assert killed[0] == 1
    with new.download_lock("acme", wait=5) as taken:
        with pytest.raises(DownloadLockLost, match="acme"):
            old.commit_page(
                PageBatch(
                    "acme",
                    NOW,
                    rows=[RowWrite(make_order(2), Tab.ORDERS, False, False)],
                    high_water=HighWater(NOW, "scope"),
                )
            )
        assert old.get("acme", "2") is None, "a fenced page left its row"
        assert old.high_water("acme") is None, "a fenced page moved the mark"
        new.commit_page(PageBatch("acme", NOW, rows=[RowWrite(make_order(3), Tab.ORDERS, False, False)]))
        assert taken.token == 2
    lock.release()  # harmless on a dead connection
    assert {r.order_id for r in new.orders("acme")} == {"1", "3"}


def test_post_backs_do_not_wait_for_the_download_lock(new_ledger: Any) -> None:
    """A web app posts back for a store a worker is downloading: the action lease, not the store lock."""
    worker = new_ledger()
    web = new_ledger(worker.schema)
    with worker.download_lock("acme"):
        action, go = web.begin_action("acme", "1", "ship", "ship:1", {}, NOW, owner="web")
        assert go
        web.finish_action(action.id, ok=True, now=NOW, owner="web")


# ---------------------------------------------------------------------------------------------------------
# The engine on top


POLICY = SyncPolicy(
    statuses=StatusMapping(
        (
            StatusRule("pending", process_payment=True, process_shipping=True),
            StatusRule("processing", process_payment=False, process_shipping=True),
            StatusRule("complete", process_payment=False, process_shipping=False),
        )
    ),
    range=DownloadRange(start=datetime(2000, 1, 1, tzinfo=timezone.utc)),
    unselected=Unselected.IGNORE_TAB,
)


def test_the_sync_and_async_engines_download_into_postgres_as_into_sqlite(new_ledger: Any) -> None:
    """The same fake store downloaded by Connector into PostgreSQL, by AsyncConnector into another schema and
    by Connector into SQLite: the three ledgers hold the same orders, tabs and marks."""
    with FakeMagentoStore(order_count=60, seed=3) as store:

        def driver() -> Magento2Driver:
            return Magento2Driver(store.base_url, auth=BearerToken(store.token))

        pg, pg_async, lite = new_ledger(), new_ledger(), SQLiteLedger()
        with Connector(driver(), POLICY, pg) as connector:
            report = connector.download()
        assert report.seen >= 60

        another_process = new_ledger(pg_async.schema)

        async def run_async() -> None:
            connector = AsyncConnector(driver(), POLICY, pg_async)
            async with connector, pg_async.download_lock(connector.store, owner="async") as lock:
                assert lock.held
                with pytest.raises(StoreBusy, match="async"):
                    await asyncio.to_thread(another_process.download_lock(connector.store).acquire)
                await connector.download()
            assert not lock.held

        asyncio.run(run_async())
        with Connector(driver(), POLICY, lite) as connector:
            connector.download()
        key = report.store

        def view(ledger: Any) -> Any:
            return (
                [(r.order_id, r.fingerprint, r.tab) for r in ledger.orders(key)],
                [(r.order_id, r.tab) for r in ledger.orders(key, Tab.IGNORE)],
                ledger.high_water(key),
                ledger.known_keys(key),
            )

        assert len(view(pg)[0]) + len(view(pg)[1]) == report.downloaded + report.ignored > 0
        assert view(pg) == view(lite)
        assert view(pg_async) == view(lite)
        lite.close()


def test_the_engine_takes_the_download_lock_itself(new_ledger: Any) -> None:
    """Connector.download and reconcile hold the store's lock: a syncer in another process is told it is busy,
    and a download started while another holds the store fails with StoreBusy before reading anything."""
    with FakeMagentoStore(order_count=12, seed=5) as store:

        def driver() -> Magento2Driver:
            return Magento2Driver(store.base_url, auth=BearerToken(store.token))

        ledger = new_ledger()
        other_process = new_ledger(ledger.schema)
        seen_busy: list[str] = []

        def progress(done: int, total: int | None) -> None:
            try:
                other_process.download_lock(key).acquire().release()
            except StoreBusy as busy:
                seen_busy.append(str(busy))

        with Connector(driver(), POLICY, ledger) as connector:
            key = connector.store
            connector.download(progress=progress)
            assert seen_busy, "the lock was not held during the download"
            with other_process.download_lock(key, owner="elsewhere"):
                before = len(store.requests)
                with pytest.raises(StoreBusy, match="elsewhere"):
                    connector.download()
                with pytest.raises(StoreBusy, match="elsewhere"):
                    connector.reconcile()
                assert len(store.requests) == before, "a busy store must not be read"
            connector.reconcile()  # free again

        async def nested() -> None:
            connector = AsyncConnector(driver(), POLICY, ledger)
            async with connector, ledger.download_lock(connector.store):
                await connector.download()  # the engine's own take nests in the same task

        asyncio.run(nested())
