"""The SDK side of the benchmarks. Each mode runs in a fresh process started by ``run.py`` and prints one JSON
line with its figures.

    python benchmarks/_sdk.py network --url URL --token T --concurrency 8 [--rate 10] [--engine async|sync]
    python benchmarks/_sdk.py cpu --orders 50000
    python benchmarks/_sdk.py memory --orders 100000
    python benchmarks/_sdk.py recheck --url URL --token T [--ledger FILE]   (edits through run.py, see there)
    python benchmarks/_sdk.py churn --url URL --token T                     (the store edits while listing)
    python benchmarks/_sdk.py reconcile --url URL --token T [--ledger FILE] (reconcile a known ledger)

Every download is the full engine: the Magento driver's flows (parse + map), the rules, the fingerprint and an
``SQLiteLedger`` file in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import re
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import httpx
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _lazy_imports import import_first_use
from _orders import magento_order

from ecc_connectors import (
    AsyncConnector,
    Connector,
    DownloadRange,
    Limits,
    StatusMapping,
    StatusRule,
    SyncPolicy,
    Unselected,
)
from ecc_connectors.drivers.magento2 import BearerToken, Magento2Driver
from ecc_connectors.ledger import SQLiteLedger

PAGE_SIZE = 100
STORE_URL = "http://store.invalid"  # in-memory runs: never resolved, the transport answers

import_first_use()


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

_EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)
_FILTER = re.compile(r"searchCriteria\[filter_?[gG]roups\]\[(\d+)\]\[filters\]\[(\d+)\]\[(\w+)\]")


def _minutes(text: str) -> Fraction:
    moment = datetime.strptime(text.replace("T", " ")[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    return Fraction(int((moment - _EPOCH).total_seconds()), 60)


class MemoryPages:
    """``GET /V1/orders`` of ``total`` realistic orders, each page rendered when asked for.

    Order ``n`` has entity id ``n`` and ``updated_at`` = 2024-01-01 + (7n + 3) minutes (as ``_orders.py``
    stamps it), so ``(updated_at, entity_id)`` order is ``n`` order and every filter the keyset listing sends
    (``updated_at`` / ``entity_id`` with gt, gteq, lt, lteq, one group ORing two of them) is a range of ``n``:
    the handler answers keyset pages, one-row probes (``currentPage`` as offset, Magento's past-the-end page
    included) and the ``fields`` key listing like the store would. Filters on other fields are taken as
    matching every order (the benchmark's policy sends none that would not)."""

    def __init__(self, total: int, page_size: int = PAGE_SIZE) -> None:
        self.total = total
        self.page_size = page_size
        self.templates = [magento_order(n) for n in range(1, page_size + 1)]
        self.render_cpu = 0.0  # CPU spent rendering pages: the store's work, not the SDK's
        self._render_lock = threading.Lock()

    @staticmethod
    def stamp(n: int) -> str:
        return (_EPOCH + timedelta(minutes=7 * n + 3)).strftime("%Y-%m-%d %H:%M:%S")

    def orders(self, first: int, count: int) -> list[dict[str, Any]]:
        items = self.templates[:count]
        for offset, order in enumerate(items):
            n = first + offset
            order["entity_id"] = n
            order["increment_id"] = f"{n:09d}"
            order["updated_at"] = self.stamp(n)
        return items

    def body(self, page: int) -> bytes:
        first = (page - 1) * self.page_size + 1
        count = max(0, min(self.page_size, self.total - first + 1))
        return msgspec.json.encode({
            "items": self.orders(first, count),
            "search_criteria": {"filter_groups": [], "page_size": self.page_size, "current_page": page},
            "total_count": self.total,
        })

    def pages(self) -> Iterator[bytes]:
        for page in range(1, -(-self.total // self.page_size) + 1):
            yield self.body(page)

    def window(self, params: httpx.QueryParams) -> tuple[int, int]:
        """The orders ``low..high`` (inclusive) the request's filter groups match."""
        groups: dict[str, dict[str, dict[str, str]]] = {}
        for name, value in params.multi_items():
            found = _FILTER.fullmatch(name)
            if found:
                group, index, part = found.groups()
                groups.setdefault(group, {}).setdefault(index, {})[part] = value
        low, high = 1, self.total
        for filters in groups.values():
            lows, highs, other = [], [], False
            for flt in filters.values():
                field, value, condition = flt.get("field"), flt.get("value", ""), flt.get("condition_type", "eq")
                if field == "updated_at":  # 7n + 3 (minutes) against x
                    x = (_minutes(value) - 3) / 7
                    bounds = {"gteq": (math.ceil(x), None), "gt": (math.floor(x) + 1, None),
                              "lteq": (None, math.floor(x)), "lt": (None, math.ceil(x) - 1)}
                elif field == "entity_id":
                    a = int(value)
                    bounds = {"gteq": (a, None), "gt": (a + 1, None), "lteq": (None, a), "lt": (None, a - 1)}
                else:
                    other = True
                    continue
                lo, hi = bounds[condition]
                (lows if lo is not None else highs).append(lo if lo is not None else hi)
            if other or (lows and highs):
                if other and not lows and not highs:
                    continue
                raise ValueError(f"filter group not supported by the in-memory store: {filters}")
            if lows:
                low = max(low, min(lows))
            if highs:
                high = min(high, max(highs))
        return low, high

    def handler(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        started = time.thread_time()
        low, high = self.window(params)
        total = max(0, high - low + 1)
        size = int(params.get("searchCriteria[pageSize]", str(self.page_size)))
        page = int(params.get("searchCriteria[currentPage]", "1"))
        page = max(1, min(page, -(-total // size) if total else 1))  # past the end: the last page again
        first = low + (page - 1) * size
        count = max(0, min(size, high - first + 1))
        if "fields" in params:
            content = msgspec.json.encode({"items": [{"entity_id": n, "updated_at": self.stamp(n)}
                                              for n in range(first, first + count)], "total_count": total})
        else:
            with self._render_lock:  # the templates are shared
                content = msgspec.json.encode({
                    "items": self.orders(first, count),
                    "search_criteria": {"filter_groups": [], "page_size": size, "current_page": page},
                    "total_count": total,
                })
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


def _report(report: Any) -> dict[str, Any]:
    counts = {k: getattr(report, k) for k in ("seen", "pages", "downloaded", "ignored", "updates", "unchanged",
                                              "skipped", "failures")}
    return {**counts, "updated_to": report.updated_to.strftime("%Y-%m-%d %H:%M:%S")}


def _ask(message: dict[str, Any]) -> dict[str, Any]:
    """One line to run.py (which drives the store) and its one-line answer."""
    print(json.dumps(message), flush=True)
    answer: dict[str, Any] = json.loads(sys.stdin.readline())
    return answer


def mode_churn(args: argparse.Namespace) -> dict[str, Any]:
    """A download while the store edits and creates orders (run.py installs the store's hook first), then the
    next scheduled run, which must pick up what moved; the ledger's keys are returned for the zero-loss check."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ledger = SQLiteLedger(Path(tmp) / "ledger.sqlite3")
        drv = driver(args.url, args.token, args.concurrency)

        async def download() -> Any:
            async with AsyncConnector(drv, policy(), ledger) as connector:
                return await connector.download()

        cpu0 = time.process_time()
        start = time.perf_counter()
        first = asyncio.run(download())
        results["first"] = {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu0,
                            **_report(first)}
        _ask({"first": True})  # run.py stops the edits and reads the store's counters
        start = time.perf_counter()
        second = asyncio.run(download())
        results["second"] = {"seconds": time.perf_counter() - start, **_report(second)}
        with Connector(drv, policy(), ledger) as connector:
            store = connector.store
            results["pending_updates"] = sorted(u.order_id for u in connector.updates())
            results["ignore_tab"] = sorted(r.order_id for r in connector.ignored())
        results["ledger_keys"] = {k: v.strftime("%Y-%m-%d %H:%M:%S") for k, v in ledger.known_keys(store).items()}
        ledger.close()
    return results


def mode_reconcile(args: argparse.Namespace) -> dict[str, Any]:
    """Start from a ledger that knows every order (``--ledger``: the re-check worker's, already up to date; else
    download them first); then run.py adds latency and changes orders behind the mark; ``reconcile()`` (the key
    comparison); then run.py changes orders without moving their stamp; ``reconcile(compare_content=True)``.
    Each reconcile is timed alone, through the sync ``Connector``."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        given = Path(args.ledger) if args.ledger else None
        ledger = SQLiteLedger(given if given is not None else Path(tmp) / "ledger.sqlite3")
        drv = driver(args.url, args.token, args.concurrency)
        with Connector(drv, policy(), ledger) as connector:
            if given is None:
                start = time.perf_counter()
                first = connector.download()
                results["download"] = {"seconds": time.perf_counter() - start, **_report(first)}
            results["known_at_start"] = len(ledger.known_keys(connector.store))
            for name, compare in (("keys", False), ("content", True)):
                changed = {str(i) for i in _ask({"ready": name})["edited"]}
                before = {u.order_id for u in connector.updates()}
                cpu0 = time.process_time()
                start = time.perf_counter()
                report = connector.reconcile(compare_content=compare)
                seconds = time.perf_counter() - start
                cpu = time.process_time() - cpu0
                found = {u.order_id for u in connector.updates()} - before
                results[name] = {
                    "seconds": seconds, "cpu_seconds": cpu, "changed_in_store": len(changed),
                    "found": len(found), "exact": found == changed,
                    **{k: getattr(report, k) for k in ("listed", "known", "missing", "changed", "vanished",
                                                       "downloaded", "ignored", "updates", "unchanged",
                                                       "failures")},
                }
        print(json.dumps({"done": True}), flush=True)
        ledger.close()
    return results


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
    from ecc_connectors import Download, Ignore, RawJSON, Tab, rules
    from ecc_connectors.drivers.magento2._errors import decode_list_envelope
    from ecc_connectors.drivers.magento2._mapping import map_order
    from ecc_connectors.drivers.magento2._schema import _order_decoder as order_decoder
    from ecc_connectors.ledger import PageBatch, RowWrite
    from ecc_connectors.ledger import sqlite as ledger_module

    stages = {"parse": 0.0, "map": 0.0, "rules": 0.0, "fingerprint": 0.0, "ledger": 0.0}
    clock = time.process_time
    fingerprint_time = [0.0]
    # The ledger encodes each row's snapshot and fingerprint (one encoding) inside commit_page; timing the
    # function it calls splits them out of the ledger stage.
    hook = "snapshot_with_fingerprint"
    original_fingerprint: Callable[[Any], Any] = getattr(ledger_module, hook)

    def timed_fingerprint(order: Any) -> Any:
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
        ledger = SQLiteLedger(Path(args.ledger) if args.ledger else Path(tmp) / "ledger.sqlite3")
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
    parser.add_argument("mode", choices=("network", "cpu", "memory", "recheck", "churn", "reconcile"))
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--engine", choices=("async", "sync"), default="async")
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--engine-orders", type=int, default=20_000, help="cpu mode: orders for the engine run")
    parser.add_argument("--ledger", help="recheck, reconcile: the ledger file to use (and keep)")
    args = parser.parse_args(argv)
    mode = {"network": mode_network, "cpu": mode_cpu, "memory": mode_memory, "recheck": mode_recheck,
            "churn": mode_churn, "reconcile": mode_reconcile}
    result = mode[args.mode](args)
    print(json.dumps({"result": result}, default=lambda v: str(v) if isinstance(v, Decimal) else repr(v)),
          flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
