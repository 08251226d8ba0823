"""Quickstart: download orders from a Magento 2 store through a policy, then post back.

With no settings it starts the testing kit's fake Magento store on 127.0.0.1 and runs everything against it:

    python examples/quickstart.py

With ``MAGENTO_BASE_URL`` and credentials in the environment (see docs/drivers/magento2.md) it downloads from
that store instead, read-only: nothing is posted back unless ``ECC_QUICKSTART_WRITE=1`` is set too.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ecc_connectors import (
    Acknowledgement,
    Cancellation,
    Connector,
    DownloadRange,
    DownloadReport,
    PostBack,
    SQLiteLedger,
    StatusMapping,
    StatusRule,
    StoreError,
    SyncPolicy,
    Tracking,
    Unselected,
)
from ecc_connectors.drivers.magento2 import BearerToken, Magento2Driver
from ecc_connectors.testing import FakeMagentoStore

POLICY = SyncPolicy(
    statuses=StatusMapping(
        (
            # status        download  "process payment" (True: arrives unpaid)  "process shipping"
            StatusRule("pending", process_payment=True, process_shipping=True),
            StatusRule("processing", process_payment=False, process_shipping=True),
            StatusRule("complete", process_payment=False, process_shipping=False),
            StatusRule("holded", download=False, unselected=Unselected.IGNORE_TAB),
            StatusRule("canceled", download=False, unselected=Unselected.SKIP),
        )
    ),
    range=DownloadRange(start=datetime.now(timezone.utc) - timedelta(days=365)),
    unselected=Unselected.IGNORE_TAB,  # statuses without a row (closed, pending_payment, ...) go to Ignore
    post_back=PostBack(status="complete", send_email=True),
    acknowledgement=Acknowledgement(status="processing", comment="Taken by the warehouse."),
    cancellation=Cancellation(status="canceled", send_email=True, comment="Cancelled at your request."),
)


def progress_bar() -> tuple[Callable[[int, int | None], None], Callable[[], None]]:
    """A tqdm bar when tqdm is installed and the output is a terminal; otherwise nothing."""
    try:
        from tqdm import tqdm
    except ImportError:
        return (lambda done, total: None), (lambda: None)
    bar = tqdm(unit=" orders", disable=not sys.stderr.isatty(), leave=False)

    def update(done: int, total: int | None) -> None:
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    return update, bar.close


def download(connector: Connector) -> DownloadReport:
    update, close = progress_bar()
    try:
        return connector.download(progress=update)
    finally:
        close()


def show_report(title: str, report: DownloadReport) -> None:
    print(
        f"{title}: {report.seen} orders in {report.pages} pages -> downloaded {report.downloaded}, "
        f"ignored {report.ignored}, skipped {report.skipped}, updates {report.updates}, "
        f"unchanged {report.unchanged}, unreadable {report.failures}"
    )


def show_tabs(connector: Connector, rows: int = 4) -> None:
    orders, ignored = connector.orders(), connector.ignored()
    print(f"\nOrders tab ({len(orders)})")
    for status in ("pending", "processing", "complete"):
        sample = [r for r in orders if r.status == status][:1]
        for record in sample:
            total = record.order.totals.grand_total
            print(
                f"  #{record.number}  {record.status:<10} {total:>9} {record.order.currency}  "
                f"{'paid' if record.paid else 'UNPAID':<6} {'shipped' if record.shipped else 'UNSHIPPED'}"
            )
    print(f"Ignore tab ({len(ignored)})")
    for record in ignored[:rows]:
        print(f"  #{record.number}  {record.status}")
    show_updates(connector)


def show_updates(connector: Connector) -> None:
    updates = connector.updates()
    print(f"Updates tab ({len(updates)})")
    for update in updates:
        how = f" (edited in the admin: new order #{update.order.number})" if update.replaces else ""
        print(f"  order {update.order_id}{how}")
        for change in update.changes[:6]:
            print(f"    {change.kind.value:<16} {change.path}: {change.old!r} -> {change.new!r}")
        if len(update.changes) > 6:
            print(f"    ... and {len(update.changes) - 6} more")


@contextmanager
def store_driver() -> Iterator[tuple[Magento2Driver, FakeMagentoStore | None]]:
    if os.environ.get("MAGENTO_BASE_URL"):
        print(f"Real store: {os.environ['MAGENTO_BASE_URL']}")
        yield Magento2Driver.from_env(), None
        return
    with FakeMagentoStore(order_count=120, seed=7) as store:
        print(f"Fake Magento store at {store.base_url} (set MAGENTO_BASE_URL to use a real one)")
        yield Magento2Driver(store.base_url, auth=BearerToken(store.token)), store


def post_back(connector: Connector) -> None:
    orders = connector.orders()
    to_ship = next(r for r in orders if r.status == "processing" and not r.shipped)
    tracking = Tracking("1Z999AA10123456784", carrier_code="ups", title="UPS Ground")
    result = connector.ship(to_ship.order_id, tracking)
    print(f"\nShipped #{to_ship.number}: shipment {result.shipment_id}, tracking {tracking.number}, email on")
    again = connector.ship(to_ship.order_id, tracking)
    print(f"  shipped again (a retry): shipment {again.shipment_id}, no second shipment created")

    to_ack = next(r for r in orders if r.status == "processing" and r.order_id != to_ship.order_id)
    connector.acknowledge(to_ack.order_id)
    print(f"Acknowledged #{to_ack.number}: status 'processing' with comment")

    to_cancel = next(r for r in orders if r.status == "pending")
    connector.cancel(to_cancel.order_id)
    print(f"Cancelled #{to_cancel.number}: status 'canceled', cancellation email on")

    # A status that does not belong to the order's state is refused by Magento 2.4.7+: a clear, typed error.
    try:
        connector.set_status(to_cancel.order_id, "processing", comment="reopen?")
    except StoreError as exc:
        print(f"Refused by the store, as expected: {exc}")


def edit_in_store(connector: Connector, store: FakeMagentoStore) -> None:
    target = next(r for r in connector.orders() if r.status == "complete")
    entity = int(target.order_id)
    store.edit_order(entity, {"shipping_address": {"city": "Springfield", "postcode": "62701"}})
    print(f"\nIn the store: order #{target.number} gets a new shipping address")
    pending = next(r for r in connector.orders() if r.status == "pending")
    store.admin_edit(int(pending.order_id), {"customer_email": "new.address@example.com"})
    print(f"In the store: order #{pending.number} is edited in the admin (Magento makes it a new order)")
    show_report("Download again", download(connector))
    show_updates(connector)
    for update in connector.updates():
        connector.redownload(update.order_id)
    print(f"Re-downloaded; Updates tab now holds {len(connector.updates())} orders")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, store_driver() as (driver, store):
        ledger = SQLiteLedger(Path(folder) / "quickstart.sqlite3")
        with Connector(driver, POLICY, ledger) as connector:
            show_report("Download", download(connector))
            show_tabs(connector)
            if store is not None or os.environ.get("ECC_QUICKSTART_WRITE") == "1":
                post_back(connector)
            if store is not None:
                edit_in_store(connector, store)
        ledger.close()


if __name__ == "__main__":
    main()
