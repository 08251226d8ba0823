"""The fleet with real Celery workers, Redis as the broker and PostgreSQL as the ledger: 20 fake Magento stores,
4 worker processes, every store's download sent twice at once (two workers race for each store), and one worker
SIGKILLed in the middle of a download.

What must hold, seen from the fakes' side (each request carries the syncer's ``host:pid task`` header):
every store ends exact in the ledger (0 missing, 0 duplicated), no store's listing was ever served to two
syncers at once, the killed worker's task is delivered again and completes, and the take-over time is measured.

Isolation: a PostgreSQL schema, a Celery queue and a Redis key prefix of this run only. Without the servers the
test skips; under ``ECC_REQUIRE_SERVICES=1`` (CI) it fails.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from ecc_connectors import DownloadRange, StatusMapping, StatusRule, SyncPolicy, Tab, Unselected, policy_to_toml
from ecc_connectors.contrib.celery import SYNCER_HEADER, create_app
from ecc_connectors.contrib.services import require_postgres, require_redis, unique_name
from ecc_connectors.ledger.postgres import PostgresLedger
from ecc_connectors.testing import FakeMagentoStore
from ecc_connectors.testing.base import ReceivedRequest

STORES = 20
WORKERS = 4
ORDERS = 40
VISIBILITY = 4.0  # seconds before a dead worker's message goes to another

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


class Recorder:
    """Listing requests per store and syncer, as the fakes saw them; SIGKILLs the first worker found in the
    middle of a download (its second listing request of one store)."""

    def __init__(self, workers: dict[int, subprocess.Popen[bytes]]) -> None:
        self.lock = threading.Lock()
        self.listings: dict[str, list[tuple[float, str]]] = defaultdict(list)
        self.workers = workers
        self.killed: tuple[int, str, float] | None = None

    def hook(self, name: str) -> Any:
        def on_request(request: ReceivedRequest) -> None:
            if request.method != "GET" or not request.path.rstrip("/").endswith("/V1/orders"):
                return
            tag = request.headers.get(SYNCER_HEADER) or request.headers.get(SYNCER_HEADER.lower()) or "untagged"
            now = time.monotonic()
            with self.lock:
                self.listings[name].append((now, tag))
                if self.killed is not None:
                    return
                pid = int(tag.split(":")[1].split()[0]) if ":" in tag else -1
                if pid in self.workers and sum(1 for _, t in self.listings[name] if t == tag) >= 2:
                    os.kill(pid, signal.SIGKILL)
                    self.killed = (pid, name, now)

        return on_request

    def intervals(self, name: str) -> dict[str, tuple[float, float]]:
        spans: dict[str, tuple[float, float]] = {}
        for at, tag in self.listings[name]:
            first, last = spans.get(tag, (at, at))
            spans[tag] = (min(first, at), max(last, at))
        return spans


@pytest.fixture
def services() -> tuple[str, str]:
    return require_postgres(), require_redis()


@pytest.fixture
def run_id(services: tuple[str, str]) -> Iterator[str]:
    dsn, redis_url = services
    run = unique_name("ecc_fleet")
    yield run
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{run}" CASCADE')
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{run}:*"):
        client.delete(key)
    client.close()


def write_registry(folder: Path, stores: list[FakeMagentoStore], run: str) -> Path:
    (folder / "policy.toml").write_text(policy_to_toml(POLICY), encoding="utf-8")
    lines = [
        "[fleet]",
        'ledger = "env:ECC_LEDGER_DSN"',
        f'ledger_schema = "{run}"',
        'redis = "env:ECC_REDIS_URL"',
        "tag_requests = true",
        "",
    ]
    for n, store in enumerate(stores):
        lines += [
            f'[stores."shop-{n:02d}"]',
            'driver = "magento2"',
            'policy = "policy.toml"',
            "rate = { per_second = 200, burst = 20 }",
            f'settings = {{ base_url = "{store.base_url}", access_token = "env:FLEET_TOKEN", page_size = "10" }}',
            "",
        ]
    path = folder / "fleet.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_twenty_stores_four_workers_one_killed_every_store_exact(
    services: tuple[str, str], run_id: str, tmp_path: Path
) -> None:
    dsn, redis_url = services
    stores = [FakeMagentoStore(order_count=ORDERS, seed=n, edited_pairs=0, latency=0.03).start() for n in range(STORES)]
    workers: dict[int, subprocess.Popen[bytes]] = {}
    recorder = Recorder(workers)
    logs: list[Path] = []
    try:
        for n, store in enumerate(stores):
            store.on_request(recorder.hook(f"shop-{n:02d}"))
        registry = write_registry(tmp_path, stores, run_id)
        env = {
            **os.environ,
            "ECC_FLEET_REGISTRY": str(registry),
            "ECC_LEDGER_DSN": dsn,
            "ECC_REDIS_URL": redis_url,
            "ECC_BROKER_URL": redis_url,
            "ECC_RESULT_BACKEND": redis_url,
            "ECC_BROKER_PREFIX": f"{run_id}:",
            "ECC_QUEUE": run_id,
            "ECC_RESULT_EXPIRES": "600",
            "ECC_VISIBILITY_TIMEOUT": str(VISIBILITY),
            "FLEET_TOKEN": stores[0].token,
        }
        PostgresLedger(dsn, schema=run_id).close()  # migrate once, before the workers race to
        for n in range(WORKERS):
            log = tmp_path / f"worker-{n}.log"
            logs.append(log)
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "ecc_connectors.contrib.celery.app",
                        "worker",
                        "--pool",
                        "solo",
                        "-Q",
                        run_id,
                        "-n",
                        f"w{n}-{run_id}@%h",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                        "-l",
                        "WARNING",
                    ],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            workers[process.pid] = process

        app = create_app(
            lambda: pytest.fail("the test process runs no task"),
            broker=redis_url,
            backend=redis_url,
            visibility_timeout=VISIBILITY,
            broker_options={"global_keyprefix": f"{run_id}:"},
        )
        sent: list[tuple[str, Any]] = []
        started = time.monotonic()
        for n in range(STORES):
            for _ in range(2):  # two messages per store, back to back: two workers race for it
                sent.append((f"shop-{n:02d}", app.send_task("ecc.download", args=(f"shop-{n:02d}",), queue=run_id)))

        deadline = time.monotonic() + 120
        while not all(result.ready() for _, result in sent):
            assert time.monotonic() < deadline, (
                f"{sum(not r.ready() for _, r in sent)} tasks not done after 120 s; worker logs: "
                + " | ".join(p.read_text(errors="replace")[-800:] for p in logs)
            )
            time.sleep(0.25)
        outcomes = [(name, result.get(timeout=5)) for name, result in sent]
        took_all = time.monotonic() - started
        app.close()

        # One worker was killed in the middle of a download, and its task was delivered again and completed.
        assert recorder.killed is not None, "no worker was killed mid-download"
        victim, victim_store, killed_at = recorder.killed
        assert workers[victim].wait(10) == -signal.SIGKILL
        ran = [o for _, o in outcomes if o["ran"]]
        skipped = [o for _, o in outcomes if not o["ran"]]
        assert all(o["skipped"] == "busy" for o in skipped)
        assert skipped, "no two workers ever raced for a store: the lock was not exercised"
        assert {o["store"] for o in ran} == {f"shop-{n:02d}" for n in range(STORES)}

        # Every store exact in the ledger: the fake's orders, no more, no fewer.
        with PostgresLedger(dsn, schema=run_id) as ledger:
            for n, store in enumerate(stores):
                store_id = next(o["report"]["store"] for o in ran if o["store"] == f"shop-{n:02d}")
                keys = ledger.known_keys(store_id)
                expected = {str(i) for i in store.order_ids()}
                assert set(keys) == expected, (
                    f"shop-{n:02d}: missing {expected - set(keys)}, extra {set(keys) - expected}"
                )
                held = ledger.orders(store_id) + ledger.orders(store_id, Tab.IGNORE)
                assert len(held) == len(expected) == ORDERS

        # No store's listing was ever served to two syncers at once (the fakes' own record).
        for n in range(STORES):
            spans = sorted(recorder.intervals(f"shop-{n:02d}").values())
            for (_, end), (start, _) in itertools.pairwise(spans):
                assert start > end, f"shop-{n:02d}: two syncers listed it at once: {spans}"
        # Take-over: the next syncer of the victim's store listed it this long after the kill.
        after = [at for at, _ in recorder.listings[victim_store] if at > killed_at]
        assert after, "nobody synced the victim's store after the kill"
        takeover = after[0] - killed_at
        # The killed task itself was delivered again (same task id, another worker) and finished well.
        victim_tags = {t for _, t in recorder.listings[victim_store] if t.split(":")[1].split()[0] == str(victim)}
        victim_task = next(iter(victim_tags)).split()[-1]
        assert dict((r.id, r.state) for _, r in sent)[victim_task] == "SUCCESS"
        again = [at for at, t in recorder.listings[victim_store] if t.endswith(victim_task) and t not in victim_tags]
        redelivered = f"{again[0] - killed_at:.2f} s" if again else "found the store synced already"
        print(
            f"\nkilled worker {victim} mid-download of {victim_store}; take-over after {takeover:.2f} s, "
            f"its task redelivered: {redelivered}; "
            f"{len(ran)} downloads ran, {len(skipped)} skipped as busy; all done in {took_all:.1f} s"
        )
        assert takeover < VISIBILITY + 15
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in workers.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        for store in stores:
            store.stop()
