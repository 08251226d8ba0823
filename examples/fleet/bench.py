"""The fleet benchmark: many fake stores synced by W Celery worker processes, then a worker SIGKILLed mid-run.

    python examples/fleet/bench.py --stores 200 --orders 300 --latency 0.1 --workers 1,2,4,8

Needs PostgreSQL and Redis (``ECC_TEST_PG_DSN``, ``ECC_TEST_REDIS_URL``; defaults: the project machines'). Each
run uses a schema, a queue and a Redis key prefix of its own, dropped at the end.

For each W: start W workers (``--pool solo``, one process each), wait until they answer, send one
``ecc.download`` per store and time until the last is done: orders/s, time to sync all, and two bounds:

* *latency bound*: a store's download is a chain of ``pages`` requests of ``latency`` each (plus one count
  request), so W serial workers need at least ``stores * (pages + 1) * latency / W``;
* *CPU bound*: the CPU seconds the W = 1 run spent per order (workers, fakes and the ledger server share the
  machine's cores) times the orders, over the cores.

Then the kill run (W = 4 by default): every store's download sent twice (two workers race for each store), one
worker SIGKILLed in the middle of a download; every store must end exact (0 missing, 0 duplicated), no store may
have been listed by two syncers at once (the fakes' record), and the take-over time is printed.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleet_fakes import FakeFleet

from ecc_connectors import Tab
from ecc_connectors.contrib.celery import create_app
from ecc_connectors.contrib.services import postgres_dsn, redis_url, unique_name
from ecc_connectors.ledger.postgres import PostgresLedger


def start_workers(count: int, env: dict[str, str], run: str, folder: Path) -> list[subprocess.Popen[bytes]]:
    workers = []
    for n in range(count):
        log = (folder / f"worker-{run}-{n}.log").open("wb")
        workers.append(
            subprocess.Popen(
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
                    run,
                    "-n",
                    f"w{n}-{run}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-l",
                    "WARNING",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()


def wait_ready(app: Any, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        if len(replies) >= count:
            return
    raise SystemExit(f"only some of {count} workers answered within {timeout} s")


def wait_done(results: list[Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not all(r.ready() for r in results):
        if time.monotonic() > deadline:
            raise SystemExit(f"{sum(not r.ready() for r in results)} downloads not done after {timeout} s")
        time.sleep(0.2)


def check_exact(fleet: FakeFleet, dsn: str, schema: str, reports: dict[str, str]) -> tuple[int, int]:
    """(missing, duplicated) orders over every store: the ledger against the fakes."""
    missing = duplicated = 0
    with PostgresLedger(dsn, schema=schema) as ledger:
        for n, fake in enumerate(fleet.fakes):
            store_id = reports[fleet.name(n)]
            expected = {str(i) for i in fake.order_ids()}
            rows = [r.order_id for tab in Tab for r in ledger.orders(store_id, tab)]
            missing += len(expected - set(rows))
            duplicated += len(rows) - len(set(rows)) + len(set(rows) - expected)
    return missing, duplicated


def one_run(
    fleet: FakeFleet, workers: int, args: argparse.Namespace, folder: Path, *, kill: bool = False
) -> dict[str, Any]:
    dsn, broker = postgres_dsn(), redis_url()
    run = unique_name("ecc_bench")
    registry = fleet.write_registry(folder / run, schema=run, per_second=args.rate, burst=args.burst)
    env = {
        **os.environ,
        "ECC_FLEET_REGISTRY": str(registry),
        "ECC_LEDGER_DSN": dsn,
        "ECC_REDIS_URL": broker,
        "ECC_BROKER_URL": broker,
        "ECC_RESULT_BACKEND": broker,
        "ECC_BROKER_PREFIX": f"{run}:",
        "ECC_QUEUE": run,
        "ECC_RESULT_EXPIRES": "600",
        "ECC_VISIBILITY_TIMEOUT": str(args.visibility),
        "FLEET_TOKEN": fleet.token,
    }
    PostgresLedger(dsn, schema=run).close()
    app = create_app(
        lambda: None,  # type: ignore[arg-type, return-value]  # this process only sends
        broker=broker,
        backend=broker,
        visibility_timeout=args.visibility,
        broker_options={"global_keyprefix": f"{run}:"},
    )
    procs = start_workers(workers, env, run, folder)
    killed: dict[str, Any] = {}
    try:
        wait_ready(app, workers)
        fleet.listings.clear()
        if kill:
            threshold = len(fleet.fakes) // 3
            pages = math.ceil(args.orders / args.page_size)
            pids = {p.pid for p in procs}

            def maybe_kill(name: str, tag: str, count: int) -> None:
                done = sum(1 for r in results if r.ready())
                if killed or done < threshold or count < min(2, pages):
                    return
                pid = int(tag.split(":")[1].split()[0]) if ":" in tag else -1
                if pid in pids:
                    os.kill(pid, signal.SIGKILL)
                    killed.update(pid=pid, store=name, at=time.monotonic(), task=tag.split()[-1])

            fleet.on_listing = maybe_kill
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        self_before = resource.getrusage(resource.RUSAGE_SELF)
        results: list[Any] = []
        started = time.monotonic()
        for n in range(len(fleet.fakes)):
            for _ in range(2 if kill else 1):
                results.append(app.send_task("ecc.download", args=(fleet.name(n),), queue=run))
        wait_done(results, timeout=args.timeout)
        took = time.monotonic() - started
        fleet.on_listing = None
        outcomes = [r.get(timeout=10) for r in results]
        stop_workers(procs)
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self_after = resource.getrusage(resource.RUSAGE_SELF)
        reports = {o["store"]: o["report"]["store"] for o in outcomes if o["ran"]}
        missing, duplicated = check_exact(fleet, dsn, run, reports)
        orders = sum(len(f.order_ids()) for f in fleet.fakes)
        row: dict[str, Any] = {
            "workers": workers,
            "seconds": took,
            "orders": orders,
            "orders_per_s": orders / took,
            "missing": missing,
            "duplicated": duplicated,
            "overlaps": len(fleet.overlaps()),
            "skipped_busy": sum(1 for o in outcomes if not o["ran"]),
            "worker_cpu": (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime),
            "fakes_cpu": (self_after.ru_utime + self_after.ru_stime) - (self_before.ru_utime + self_before.ru_stime),
        }
        if kill and killed:
            after = [at for at, tag in fleet.listings[killed["store"]] if at > killed["at"]]
            again = [
                at for at, tag in fleet.listings[killed["store"]] if at > killed["at"] and tag.endswith(killed["task"])
            ]
            row["takeover_s"] = after[0] - killed["at"] if after else None
            row["redelivered_s"] = again[0] - killed["at"] if again else None
            row["killed"] = killed["store"]
        return row
    finally:
        fleet.on_listing = None
        stop_workers(procs)
        app.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{run}" CASCADE')
        client = redis.Redis.from_url(broker)
        for key in client.scan_iter(f"{run}:*"):
            client.delete(key)
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--kill-workers", type=int, default=4)
    parser.add_argument("--no-kill", action="store_true")
    parser.add_argument("--rate", type=float, default=50, help="each store's shared quota, requests/s")
    parser.add_argument("--burst", type=int, default=10)
    parser.add_argument("--visibility", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    fleet = FakeFleet(args.stores, args.orders, args.latency, page_size=args.page_size).start()
    cores = os.cpu_count() or 1
    pages = math.ceil(args.orders / args.page_size)
    print(
        f"{args.stores} stores x {args.orders} orders, {args.latency * 1000:.0f} ms latency, {pages} pages "
        f"a store, {cores} cores (load average before: {os.getloadavg()[0]:.1f})"
    )
    print(
        "| W | time to sync all (s) | orders/s | latency bound (s) | CPU bound (s) | missing | duplicated | "
        "synced twice at once |"
    )
    print("|---|---|---|---|---|---|---|---|")
    cpu_per_order = None
    try:
        with TemporaryDirectory() as folder:
            for workers in [int(w) for w in args.workers.split(",")]:
                row = one_run(fleet, workers, args, Path(folder))
                if cpu_per_order is None:
                    cpu_per_order = (row["worker_cpu"] + row["fakes_cpu"]) / row["orders"]
                latency_bound = args.stores * (pages + 1) * args.latency / workers
                cpu_bound = cpu_per_order * row["orders"] / cores
                print(
                    f"| {workers} | {row['seconds']:.1f} | {row['orders_per_s']:.0f} | {latency_bound:.1f} | "
                    f"{cpu_bound:.1f} | {row['missing']} | {row['duplicated']} | {row['overlaps']} |",
                    flush=True,
                )
            if not args.no_kill:
                row = one_run(fleet, args.kill_workers, args, Path(folder), kill=True)
                print(
                    f"\nkill run, W = {args.kill_workers}, every download sent twice: {row['seconds']:.1f} s, "
                    f"missing {row['missing']}, duplicated {row['duplicated']}, stores synced twice at once "
                    f"{row['overlaps']}, skipped as busy {row['skipped_busy']}; worker killed mid-download of "
                    f"{row.get('killed')}: next syncer after {row.get('takeover_s')} s, its task redelivered "
                    f"after {row.get('redelivered_s')} s (visibility timeout {args.visibility} s)"
                )
    finally:
        fleet.stop()


if __name__ == "__main__":
    main()
