"""A download from the fake BigCommerce store, timed against its physical bound.

    python benchmarks/bigcommerce.py --orders 8000 --latency 0.25 --concurrency 8 [--sync]

Starts ``FakeBigCommerce`` with ``--orders`` seeded orders and ``--latency`` seconds on every answer (no quota),
downloads them all through ``AsyncConnector`` (``--sync``: ``Connector``) with the BigCommerce driver, and prints
one JSON line: the seconds taken, the requests by kind (listing pages, one-row count and probe pages, and the
per-order sub-resource requests: ``shipments``, or ``products`` / ``shipping_addresses`` when a store answers
without consignments), and the physical bound ``requests x latency / concurrency`` with the ratio to it.

The bound counts every request the store answered, sub-resources included: nothing can finish faster with that
many requests, that latency and that many in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import logging
import sys
import time
from datetime import datetime, timezone

from ecc_connectors import (
    AsyncConnector,
    Connector,
    DownloadRange,
    DownloadReport,
    SQLiteLedger,
    StatusMapping,
    StatusRule,
    SyncPolicy,
    Unselected,
)
from ecc_connectors.drivers.bigcommerce import BigCommerceDriver
from ecc_connectors.testing.bigcommerce import FakeBigCommerce

POLICY = SyncPolicy(
    statuses=StatusMapping((StatusRule("*"),)),
    range=DownloadRange(start=datetime(2020, 1, 1, tzinfo=timezone.utc)),
    unselected=Unselected.IGNORE_TAB,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sync", action="store_true", help="use Connector instead of AsyncConnector")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    store = FakeBigCommerce(args.orders, seed=args.seed, latency=args.latency, request_log_size=1_000_000).start()
    try:
        driver = BigCommerceDriver(
            store.store_hash, store.token, base_url=store.base_url, requests_per_30s=0, concurrency=args.concurrency
        )
        started = time.perf_counter()
        report = _sync(driver) if args.sync else asyncio.run(_async(driver))
        took = time.perf_counter() - started
        kinds: collections.Counter[str] = collections.Counter()
        for request in store.requests:
            last = request.path.rsplit("/", 1)[-1]
            if last == "orders":
                kinds["one-row" if request.param("limit") == "1" else "pages"] += 1
            else:
                kinds[last] += 1
        requests = sum(kinds.values())
        bound = requests * args.latency / args.concurrency
        print(
            json.dumps(
                {
                    "orders": args.orders,
                    "shell": "sync" if args.sync else "async",
                    "latency": args.latency,
                    "concurrency": args.concurrency,
                    "seconds": round(took, 2),
                    "requests": requests,
                    "by_kind": dict(kinds),
                    "bound_seconds": round(bound, 2),
                    "ratio": round(took / bound, 2) if bound else None,
                    "read": report.downloaded + report.ignored + report.skipped + report.failures,
                    "peak_in_flight": store.peak_concurrent_latency,
                }
            )
        )
        return 0 if report.downloaded + report.ignored + report.skipped + report.failures == args.orders else 1
    finally:
        store.stop()


def _sync(driver: BigCommerceDriver) -> DownloadReport:
    with Connector(driver, POLICY, SQLiteLedger()) as connector:
        return connector.download()


async def _async(driver: BigCommerceDriver) -> DownloadReport:
    async with AsyncConnector(driver, POLICY, SQLiteLedger()) as connector:
        return await connector.download()


if __name__ == "__main__":
    sys.exit(main())
