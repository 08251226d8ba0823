"""Quickstart on Shopify: download orders through a policy with two-axis status rows, then post back.

With no settings it starts the testing kit's fake Shopify store (which executes Shopify's published Admin
GraphQL schema) on 127.0.0.1 and runs everything against it:

    ECC_SHARED_DIR=../shared python examples/shopify_quickstart.py

With ``SHOPIFY_SHOP`` and ``SHOPIFY_ACCESS_TOKEN`` in the environment (see docs/drivers/shopify.md for the
scopes) it downloads the last 30 days from that shop instead, read-only: nothing is posted back unless
``ECC_QUICKSTART_WRITE=1`` is set too.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ecc_connectors import (
    Acknowledgement,
    Cancellation,
    Connector,
    DownloadRange,
    DownloadReport,
    ItemQuery,
    PostBack,
    SQLiteLedger,
    StatusMapping,
    StatusNotAllowed,
    StatusRule,
    SyncPolicy,
    Tracking,
    Unselected,
)
from ecc_connectors.drivers.shopify import ShopifyDriver
from ecc_connectors.testing.shopify import FakeShopify

POLICY = SyncPolicy(
    statuses=StatusMapping(
        (
            # A row names both axes, FINANCIAL|FULFILLMENT; "*" stands for a whole axis.
            StatusRule("PAID|UNFULFILLED", process_payment=False),  # paid, to ship
            StatusRule("PAID|PARTIALLY_FULFILLED", process_payment=False),
            StatusRule("PENDING|*"),  # unpaid, whatever the fulfilment
            StatusRule("AUTHORIZED|*"),
            StatusRule("CANCELLED|*", download=False, unselected=Unselected.SKIP),  # cancelled: never
            StatusRule("*|CLOSED", download=False),  # archived: to the Ignore tab
        )
    ),
    range=DownloadRange(start=datetime.now(timezone.utc) - timedelta(days=30)),
    unselected=Unselected.IGNORE_TAB,
    post_back=PostBack(status=None, send_email=True),  # Shopify sets the fulfilment status itself
    acknowledgement=Acknowledgement(status="UNFULFILLED", comment="Taken by the warehouse."),
    cancellation=Cancellation(status=None, send_email=True, comment="Cancelled at your request."),
)


def show_report(title: str, report: DownloadReport) -> None:
    print(
        f"{title}: {report.seen} orders in {report.pages} pages -> downloaded {report.downloaded}, "
        f"ignored {report.ignored}, skipped {report.skipped}, updates {report.updates}, unchanged {report.unchanged}"
    )


def show_tabs(connector: Connector) -> None:
    orders, ignored = connector.orders(), connector.ignored()
    print(f"\nOrders tab ({len(orders)})")
    for record in orders[:6]:
        total = record.order.totals.grand_total
        print(f"  {record.number:<7} {record.status:<28} {total:>9} {record.order.currency}")
    print(f"Ignore tab ({len(ignored)}): " + ", ".join(sorted({r.status for r in ignored})))


@contextmanager
def shop_driver() -> Iterator[tuple[ShopifyDriver, FakeShopify | None]]:
    if os.environ.get("SHOPIFY_SHOP") and os.environ.get("SHOPIFY_ACCESS_TOKEN"):
        driver = ShopifyDriver.from_env()
        print(f"Real shop: {driver.shop} (Admin API {driver.api_version})")
        yield driver, None
        return
    with FakeShopify(orders=40, seed=7, restore_rate=1000) as store:
        print(f"Fake Shopify at {store.base_url} (set SHOPIFY_SHOP and SHOPIFY_ACCESS_TOKEN for a real shop)")
        yield ShopifyDriver(store.shop_domain, store.token, base_url=store.base_url), store


def post_back(connector: Connector) -> None:
    orders = connector.orders()
    to_ship = next(r for r in orders if r.status == "PAID|UNFULFILLED")
    tracking = Tracking("1Z999AA10123456784", carrier_code="ups", title="UPS")
    result = connector.ship(to_ship.order_id, tracking)
    print(f"\nShipped {to_ship.number}: fulfilment {result.shipment_id}, tracking {tracking.number}, email on")
    print(f"  now {connector.get_order(to_ship.order_id).status}")

    to_ack = next(r for r in orders if r.status.endswith("|UNFULFILLED") and r.order_id != to_ship.order_id)
    connector.acknowledge(to_ack.order_id)
    print(f"Acknowledged {to_ack.number}: tagged and noted (Shopify has no custom status)")

    to_cancel = next(r for r in orders if r.status == "PENDING|UNFULFILLED" and r.order_id != to_ack.order_id)
    connector.cancel(to_cancel.order_id)
    print(f"Cancelled {to_cancel.number}: now {connector.get_order(to_cancel.order_id).status}")

    try:
        connector.set_status(to_ack.order_id, "PAID", comment="mark as paid?")
    except StatusNotAllowed as exc:
        print(f"Refused before writing, as expected: {exc}")

    items = connector.search_items(ItemQuery(text="mug"))
    print(f"Catalogue search 'mug': {[(i.sku, str(i.price), str(i.available)) for i in items]}")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, shop_driver() as (driver, store):
        ledger = SQLiteLedger(Path(folder) / "shopify.sqlite3")
        with Connector(driver, POLICY, ledger) as connector:
            problems = connector.check_policy()
            print(f"Policy checked against the shop's statuses: {problems or 'no problem'}")
            show_report("Download", connector.download())
            show_tabs(connector)
            if store is not None or os.environ.get("ECC_QUICKSTART_WRITE") == "1":
                post_back(connector)
            if store is not None:
                edited = next(r for r in connector.orders() if r.status.startswith("PENDING|"))
                with store.lock:
                    store.shop.edit_lines(int(edited.order_id), {}, add=(("MUG-001", 1),))
                print(f"\nIn the shop: order {edited.number} is edited (a line added; Shopify keeps the id)")
                show_report("Download again", connector.download())
                for update in connector.updates():
                    print(f"  Update for order {update.order_id}: {[c.path for c in update.changes][:5]}")
            print(
                f"Cost points used: {driver.pacer.points_used:.0f}, waited {driver.pacer.waited:.2f} s for the bucket"
            )
        ledger.close()


if __name__ == "__main__":
    main()
