"""A download from the fake WooCommerce store, timed against its physical bound.

    python benchmarks/woocommerce.py --orders 8000 --latency 0.25 --concurrency 8 [--sync]

Starts ``FakeWooCommerce`` with ``--orders`` seeded orders and ``--latency`` seconds on every answer, downloads
them all through ``AsyncConnector`` (``--sync``: ``Connector``) with the WooCommerce driver at 100 orders a
page, and prints one JSON line: the seconds taken, the requests by kind (listing pages, and the one-row
``per_page=1`` requests that count a window and probe the cuts between slices), the physical bound and the
ratio to it.

The bound is the offset listing's: ``(1 + ceil((pages - 1) / c)) x latency``, the fewest round trips any client
can read that many pages in with ``c`` requests in flight (the same bound as the Magento table's). The keyset
listing adds its probes on top, so it cannot quite reach it.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from datetime import datetime, timezone
from pathlib import Path

from ecc_connectors import Limits
from ecc_connectors.drivers.woocommerce import WooCommerceDriver
from ecc_connectors.testing.woocommerce import FakeWooCommerce

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or through runpy: _cart_download beside

from _cart_download import every_status_since, orders_read, parse_arguments, timed_download

POLICY = every_status_since(datetime(2000, 1, 1, tzinfo=timezone.utc))
PAGE = 100


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(__doc__.splitlines()[0] if __doc__ else None, argv)
    logging.disable(logging.WARNING)
    store = FakeWooCommerce(args.orders, seed=args.seed, latency=args.latency, request_log_size=1_000_000).start()
    try:
        driver = WooCommerceDriver(
            store.url, store.consumer_key, store.consumer_secret, page_size=PAGE,
            limits=Limits(concurrency=args.concurrency),
        )
        report, took = timed_download(driver, POLICY, args.sync)
        kinds = {"pages": 0, "one-row": 0, "other": 0}
        for request in store.requests:
            if not request.path.endswith("/orders"):
                kinds["other"] += 1
            elif request.param("per_page") == "1":
                kinds["one-row"] += 1
            else:
                kinds["pages"] += 1
        pages = math.ceil(args.orders / PAGE)
        bound = (1 + math.ceil((pages - 1) / args.concurrency)) * args.latency
        read = orders_read(report)
        print(json.dumps({
            "cart": "woocommerce",
            "orders": args.orders,
            "shell": "sync" if args.sync else "async",
            "latency": args.latency,
            "concurrency": args.concurrency,
            "seconds": round(took, 2),
            "requests": sum(kinds.values()),
            "by_kind": kinds,
            "bound_seconds": round(bound, 4),
            "of_bound": round(bound / took, 3),
            "read": read,
        }))
        return 0 if read == args.orders else 1
    finally:
        store.stop()


if __name__ == "__main__":
    sys.exit(main())
