"""A large Shopify back-fill two ways, bulk operation and pages, into two ledgers that must be identical.

Against the testing kit's fake Shopify store (which executes Shopify's published Admin GraphQL schema)::

    ECC_SHARED_DIR=../shared python examples/shopify_backfill.py 20000

prints, for each path, the wall time, the requests sent, the query-cost points used (as the shop reported
them), the peak memory of the Python heap (tracemalloc) and the orders downloaded, then checks that the two
ledgers hold the same orders. With ``SHOPIFY_SHOP`` and ``SHOPIFY_ACCESS_TOKEN`` set it runs the bulk path
only, read-only, over the last ``ECC_BACKFILL_DAYS`` days (default 365) of that shop.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from typing import Any

from ecc_connectors import Connector, DownloadRange, Order, SQLiteLedger, StatusMapping, StatusRule, SyncPolicy
from ecc_connectors.drivers.shopify import ShopifyDriver
from ecc_connectors.testing.shopify import FakeShopify


def policy(days: int) -> SyncPolicy:
    return SyncPolicy(
        statuses=StatusMapping((StatusRule("*|*"),)),
        range=DownloadRange(start=datetime.now(timezone.utc) - timedelta(days=days)),
    )


def run(driver: ShopifyDriver, days: int, requests: Any) -> tuple[dict[str, Order], dict[str, float]]:
    before = requests()
    tracemalloc.start()
    started = time.perf_counter()
    with Connector(driver, policy(days), SQLiteLedger()) as connector:
        report = connector.download()
        orders = {r.order_id: r.order for r in connector.orders()}
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    figures = {
        "seconds": seconds,
        "requests": requests() - before,
        "cost points": driver.pacer.points_used,
        "peak MiB": peak / 2**20,
        "orders": float(report.downloaded),
    }
    return orders, figures


def show(name: str, figures: dict[str, float]) -> None:
    print(
        f"{name:<6} {figures['orders']:>8.0f} orders  {figures['seconds']:>8.1f} s"
        f"  {figures['requests']:>7.0f} requests  {figures['cost points']:>10.0f} cost points"
        f"  {figures['peak MiB']:>7.1f} MiB peak"
    )


def main() -> None:
    # A long bulk run is polled every bulk_poll_seconds, and the engine logs each poll as a retry: keep it quiet.
    logging.getLogger("ecc_connectors").setLevel(logging.ERROR)
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    if os.environ.get("SHOPIFY_SHOP") and os.environ.get("SHOPIFY_ACCESS_TOKEN"):
        days = int(os.environ.get("ECC_BACKFILL_DAYS", "365"))
        driver = ShopifyDriver.from_env()
        driver.bulk_threshold = 1
        _, figures = run(driver, days, lambda: driver.pacer.requests)
        show("bulk", figures)
        return
    print(f"Seeding a fake shop with {count} orders ...")
    with FakeShopify(orders=count, seed=20, bucket_size=20_000, restore_rate=20_000, request_log_size=10) as store:
        store.bulk(steps=3)

        def sent() -> int:
            return store.request_count

        bulk_driver = ShopifyDriver(
            store.shop_domain, store.token, base_url=store.base_url, bulk_threshold=1000, bulk_poll_seconds=1.0
        )
        bulk, bulk_figures = run(bulk_driver, 60, sent)
        paged_driver = ShopifyDriver(
            store.shop_domain, store.token, base_url=store.base_url, bulk_threshold=0, page_size=6
        )
        paged, paged_figures = run(paged_driver, 60, sent)
    show("bulk", bulk_figures)
    show("paged", paged_figures)
    same = bulk == paged
    print(f"identical ledgers: {same} ({len(bulk)} orders)")
    if not same:
        raise SystemExit("the two paths disagree")


if __name__ == "__main__":
    main()
