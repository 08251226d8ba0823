"""The SDK side of the benchmarks. Each mode runs in a fresh process started by ``run.py`` and prints one JSON
line with its figures.

    python benchmarks/_sdk.py network --url URL --token T --concurrency 8 [--rate 10] [--engine async|sync]
    python benchmarks/_sdk.py cpu --orders 50000
    python benchmarks/_sdk.py memory --orders 100000
    python benchmarks/_sdk.py recheck --url URL --token T --control   (edits through run.py, see there)

Every download is the full engine: the Magento driver's flows (parse + map), the rules, the fingerprint and an
``SQLiteLedger`` file in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _orders import magento_order

from ecc_connectors import (
    DownloadRange,
    Limits,
    StatusMapping,
    StatusRule,
    SyncPolicy,
    Unselected,
)
from ecc_connectors._engine import AsyncConnector, Connector
from ecc_connectors.drivers.magento2 import BearerToken, Magento2Driver
from ecc_connectors.ledger import SQLiteLedger

PAGE_SIZE = 100
STORE_URL = "http://store.invalid"  # in-memory runs: never resolved, the transport answers


def policy() -> SyncPolicy:
    """A usual setup: paid orders arrive paid, pending ones unpaid, held and fraud orders to the Ignore tab,
    change detection on for every kind."""
    return SyncPolicy(
        statuses=StatusMapping((
            StatusRule("pending"),
            StatusRule("processing", process_payment=False),
            StatusRule("complete", process_payment=False, process_shipping=False),
            StatusRule("closed", download=False),
            StatusRule("canceled", download=False),
        )),
        range=DownloadRange(start=datetime(2000, 1, 1, tzinfo=timezone.utc)),
        unselected=Unselected.IGNORE_TAB,
    )


def driver(url: str, token: str, concurrency: int, rate: float | None = None) -> Magento2Driver:
    base, _, code = url.rstrip("/").rpartition("/rest/")
    return Magento2Driver(
        base or url,
        store_code=code or "default",
        auth=BearerToken(token),
        limits=Limits(concurrency=concurrency, rate=rate),
        page_size=PAGE_SIZE,
    )


def peak_rss_mb() -> float:
    """The process's peak resident set (VmHWM), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------------------------------------
# In-memory store: pages rendered on demand from 100 template orders, so the transport itself holds O(1)


class MemoryPages:
    """``GET /V1/orders`` pages of ``total`` realistic orders, each page rendered when asked for."""

    def __init__(self, total: int, page_size: int = PAGE_SIZE) -> None:
        self.total = total
        self.page_size = page_size
        self.templates = [magento_order(n) for n in range(1, page_size + 1)]
        self.render_cpu = 0.0  # CPU spent rendering pages: the store's work, not the SDK's
        self._render_lock = threading.Lock()

    def body(self, page: int) -> bytes:
        first = (page - 1) * self.page_size + 1
        count = max(0, min(self.page_size, self.total - first + 1))
        items = self.templates[:count]
        for offset, order in enumerate(items):
            n = first + offset
            order["entity_id"] = n
            order["increment_id"] = f"{n:09d}"
        return orjson.dumps({
            "items": items,
            "search_criteria": {"filter_groups": [], "page_size": self.page_size, "current_page": page},
            "total_count": self.total,
        })

    def pages(self) -> Iterator[bytes]:
        for page in range(1, -(-self.total // self.page_size) + 1):
            yield self.body(page)

    def handler(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        page = int(params.get("searchCriteria[currentPage]", "1"))
        started = time.thread_time()
        with self._render_lock:  # the templates are shared
            content = self.body(page)
        self.render_cpu += time.thread_time() - started
        return httpx.Response(200, content=content, headers={"Content-Type": "application/json"})


def memory_connector(total: int, ledger: SQLiteLedger, concurrency: int = 1) -> tuple[Connector, MemoryPages]:
    pages = MemoryPages(total)
    client = httpx.Client(transport=httpx.MockTransport(pages.handler))
    connector = Connector(driver(f"{STORE_URL}/rest/default", "t", concurrency), policy(), ledger, client=client)
    return connector, pages


# ---------------------------------------------------------------------------------------------------------
# Modes


def mode_network(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        ledger = SQLiteLedger(Path(tmp) / "ledger.sqlite3")
        drv = driver(args.url, args.token, args.concurrency, args.rate)
        cpu0 = time.process_time()
        start = time.perf_counter()
        if args.engine == "async":
            async def go() -> Any:
                async with AsyncConnector(drv, policy(), ledger) as connector:
                    return await connector.download()

            report = asyncio.run(go())
        else:
            with Connector(drv, policy(), ledger) as connector:
                report = connector.download()
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu0
        ledger.close()
    return {"seconds": seconds, "cpu_seconds": cpu, "orders": report.seen, "pages": report.pages,
            "downloaded": report.downloaded, "ignored": report.ignored, "failures": report.failures}


def mode_memory(args: argparse.Namespace) -> dict[str, Any]:
    baseline = peak_rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        ledger = SQLiteLedger(Path(tmp) / "ledger.sqlite3")
        connector, _ = memory_connector(args.orders, ledger)
        cpu0 = time.process_time()
        start = time.perf_counter()
        with connector:
            report = connector.download()
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu0
        ledger.close()
    return {"orders": report.seen, "seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": peak_rss_mb(),
            "baseline_rss_mb": baseline}


def mode_cpu(args: argparse.Namespace) -> dict[str, Any]:
    """Each stage timed on its own, calling the functions the engine calls, page by page; then the whole
    engine over the same pages (MockTransport, one worker) for the end-to-end figure."""
    from ecc_connectors import RawJSON, rules
    from ecc_connectors._outcomes import Download, Ignore, Tab
    from ecc_connectors.drivers.magento2._errors import decode_list_envelope
    from ecc_connectors.drivers.magento2._mapping import map_order
    from ecc_connectors.drivers.magento2._schema import _order_decoder as order_decoder
    from ecc_connectors.ledger import PageBatch, RowWrite
    from ecc_connectors.ledger import sqlite as ledger_module

    stages = {"parse": 0.0, "map": 0.0, "rules": 0.0, "fingerprint": 0.0, "ledger": 0.0}
    clock = time.process_time
    fingerprint_time = [0.0]
    # The ledger computes the fingerprint inside commit_page; timing the function it calls splits it out.
    hook = "fingerprint"
    original_fingerprint: Callable[[Any], str] = getattr(ledger_module, hook)

    def timed_fingerprint(order: Any) -> str:
        t = clock()
        try:
            return original_fingerprint(order)
        finally:
            fingerprint_time[0] += clock() - t

    pol = policy()
    source = MemoryPages(args.orders)
    store = "magento2:bench/default"
    request = httpx.Request("GET", f"{STORE_URL}/rest/default/V1/orders")
    now = datetime.now(timezone.utc)
    count = 0
    gc.collect()
    setattr(ledger_module, hook, timed_fingerprint)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ledger = SQLiteLedger(Path(tmp) / "ledger.sqlite3")
            for body in source.pages():
                response = httpx.Response(200, content=body, request=request)
                t0 = clock()
                _, items = decode_list_envelope(response.content)
                assert items is not None
                decoded = [(order_decoder.decode(item), RawJSON(item.decode())) for item in items]
                t1 = clock()
                orders = [map_order(data, store, raw) for data, raw in decoded]
                t2 = clock()
                known = ledger.seen(store, [o.order_id for o in orders])
                t3 = clock()
                batch = PageBatch(store, now)
                for order in orders:
                    outcome = rules.decide(order, pol, None)
                    if isinstance(outcome, Download):
                        batch.rows.append(RowWrite(order, Tab.ORDERS, outcome.paid, outcome.shipped))
                    elif isinstance(outcome, Ignore):
                        batch.rows.append(RowWrite(order, Tab.IGNORE, False, False))
                t4 = clock()
                before = fingerprint_time[0]
                ledger.commit_page(batch)
                t5 = clock()
                in_fingerprint = fingerprint_time[0] - before
                stages["parse"] += t1 - t0
                stages["map"] += t2 - t1
                stages["rules"] += t4 - t3
                stages["fingerprint"] += in_fingerprint
                stages["ledger"] += (t3 - t2) + (t5 - t4) - in_fingerprint
                count += len(orders)
                assert not known
            ledger.close()
    finally:
        setattr(ledger_module, hook, original_fingerprint)
    total = sum(stages.values())

    # The whole engine, same pages, one core: what an application sees.
    gc.collect()
    with tempfile.TemporaryDirectory() as tmp:
        ledger = SQLiteLedger(Path(tmp) / "ledger.sqlite3")
        connector, source_pages = memory_connector(args.engine_orders, ledger)
        cpu0 = clock()
        wall0 = time.perf_counter()
        with connector:
            report = connector.download()
        # The in-memory "store" renders its pages in this process; that CPU is not the SDK's.
        engine_cpu = clock() - cpu0 - source_pages.render_cpu
        engine_wall = time.perf_counter() - wall0
        ledger.close()
    return {
        "orders": count,
        "stages_seconds": stages,
        "stages_us_per_order": {k: v / count * 1e6 for k, v in stages.items()},
        "harness_orders_per_s": count / total,
        "engine_orders": report.seen,
        "engine_cpu_seconds": engine_cpu,
        "engine_wall_seconds": engine_wall,
        "engine_orders_per_cpu_s": report.seen / engine_cpu,
    }


def mode_recheck(args: argparse.Namespace) -> dict[str, Any]:
    """First download, then ask run.py (over stdin/stdout) to edit orders in the store, then download again:
    incrementally (what a scheduled run does) and as a full pass over every known order."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ledger = SQLiteLedger(Path(tmp) / "ledger.sqlite3")
        drv = driver(args.url, args.token, args.concurrency)

        async def download(pol: SyncPolicy) -> Any:
            async with AsyncConnector(drv, pol, ledger) as connector:
                return await connector.download()

        start = time.perf_counter()
        first = asyncio.run(download(policy()))
        results["first"] = {"seconds": time.perf_counter() - start, "orders": first.seen,
                            "downloaded": first.downloaded, "ignored": first.ignored}
        print(json.dumps({"edit": True}), flush=True)
        edited = {str(i) for i in json.loads(sys.stdin.readline())["edited"]}
        start = time.perf_counter()
        second = asyncio.run(download(policy()))
        seconds = time.perf_counter() - start
        with Connector(drv, policy(), ledger) as connector:
            pending = {u.order_id for u in connector.updates()}
        results["incremental"] = {"seconds": seconds, "orders": second.seen, "updates": second.updates,
                                  "unchanged": second.unchanged, "pending": len(pending),
                                  "exact": pending == edited}
        # A full pass: the range start moved back one second, so the high-water mark no longer applies and
        # every known order is read, compared and found unchanged, except the edited ones.
        earlier = attrs.evolve(
            policy(), range=DownloadRange(start=datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone.utc))
        )
        start = time.perf_counter()
        third = asyncio.run(download(earlier))
        seconds = time.perf_counter() - start
        with Connector(drv, policy(), ledger) as connector:
            pending_full = {u.order_id for u in connector.updates()}
        results["full"] = {"seconds": seconds, "orders": third.seen, "updates": third.updates,
                           "unchanged": third.unchanged, "pending": len(pending_full),
                           "exact": pending_full == edited}
        results["edited"] = len(edited)
        ledger.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("network", "cpu", "memory", "recheck"))
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--engine", choices=("async", "sync"), default="async")
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--engine-orders", type=int, default=20_000, help="cpu mode: orders for the engine run")
    args = parser.parse_args(argv)
    mode = {"network": mode_network, "cpu": mode_cpu, "memory": mode_memory, "recheck": mode_recheck}
    result = mode[args.mode](args)
    print(json.dumps({"result": result}, default=lambda v: str(v) if isinstance(v, Decimal) else repr(v)),
          flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
