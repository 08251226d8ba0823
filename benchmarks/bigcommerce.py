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

import collections
import json
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path

from ecc_connectors.drivers.bigcommerce import BigCommerceDriver
from ecc_connectors.testing.bigcommerce import FakeBigCommerce

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or through runpy: _cart_download beside

from _cart_download import every_status_since, orders_read, parse_arguments, timed_download

POLICY = every_status_since(datetime(2020, 1, 1, tzinfo=timezone.utc))


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(__doc__.splitlines()[0] if __doc__ else None, argv)
    logging.disable(logging.WARNING)
    store = FakeBigCommerce(args.orders, seed=args.seed, latency=args.latency, request_log_size=1_000_000).start()
    try:
        driver = BigCommerceDriver(
            store.store_hash, store.token, base_url=store.base_url, requests_per_30s=0, concurrency=args.concurrency
        )
        report, took = timed_download(driver, POLICY, args.sync)
        read = orders_read(report)
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
                    "read": read,
                    "peak_in_flight": store.peak_concurrent_latency,
                }
            )
        )
        return 0 if read == args.orders else 1
    finally:
        store.stop()


if __name__ == "__main__":
    sys.exit(main())
